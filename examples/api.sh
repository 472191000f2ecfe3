#!/bin/sh
# Issue a circular over the HTTP API and fetch its stamped PDF: what a ministry system
# written in any language does, here with curl.
#
#   examples/api.sh URL TOKEN [DATA.json] [OUT.pdf]
#
# URL is the server (docarchive serve), TOKEN one made by `docarchive tokens create`.
# Prints the issued number; writes the PDF to OUT.pdf (default circular.pdf).
set -eu
URL=${1:?the server, e.g. http://127.0.0.1:8000}
TOKEN=${2:?a token from: docarchive tokens create NAME --label L}
DATA=${3:-$(dirname "$0")/data/circular.json}
OUT=${4:-circular.pdf}

record=$(curl --fail-with-body -sS -X POST \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    --data-binary @"$DATA" "$URL/api/v1/issue/circular") || {
    # the server's answer names what was wrong: {"error": {"code": ..., "message": ...}}
    printf '%s\n' "$record" >&2
    exit 1
}
# the record is JSON; take its id and number (python3 reads JSON; jq would do as well)
id=$(printf '%s' "$record" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
number=$(printf '%s' "$record" | python3 -c 'import json, sys; print(json.load(sys.stdin)["number"])')

curl --fail-with-body -sS -H "Authorization: Bearer $TOKEN" -o "$OUT" \
    "$URL/api/v1/records/$id/files/rendition"
echo "$number"
