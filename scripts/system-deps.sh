#!/bin/sh
# Install the Debian packages docarchive needs, where missing (apt-get update first).
# The folder archive needs none beyond Python's venv; later features add packages here.
set -e
need=""
python3 -c "import ensurepip, venv" 2>/dev/null || need="$need python3-venv"
# templates: DOCX -> PDF with LibreOffice, poppler's tools (tests), the Amiri font
command -v soffice >/dev/null 2>&1 || need="$need libreoffice-writer-nogui"
{ command -v pdftoppm && command -v pdftotext; } >/dev/null 2>&1 || need="$need poppler-utils"
[ -f /usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf ] \
    || fc-list 2>/dev/null | grep -q "Amiri" || need="$need fonts-hosny-amiri"
# PostgreSQL catalog: the tests start a throwaway cluster with initdb/pg_ctl
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || need="$need postgresql"
# OCR of scans: tesseract with Arabic (and English) language data
{ command -v tesseract && tesseract --list-langs 2>/dev/null | grep -qx ara; } >/dev/null 2>&1 \
    || need="$need tesseract-ocr tesseract-ocr-ara"
# IMAP ingest: the tests start a real dovecot on 127.0.0.1
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need="$need dovecot-imapd"
[ -z "$need" ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need
