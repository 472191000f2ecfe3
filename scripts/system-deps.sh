#!/bin/sh
# Install the Debian packages docarchive needs, where missing (apt-get update first).
# The folder archive needs none beyond Python's venv; later features add packages here.
set -e
need=""
python3 -c "import ensurepip, venv" 2>/dev/null || need="$need python3-venv"
[ -z "$need" ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need
