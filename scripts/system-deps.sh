#!/bin/sh
# Install the Debian packages docarchive needs, where missing (apt-get update first).
#   sh scripts/system-deps.sh demo   what the folder archive and `make demo` use
#   sh scripts/system-deps.sh test   that, and the servers and tools only the tests use
set -e
what=${1:-test}
case "$what" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac
need=""
python3 -c "import ensurepip, venv" 2>/dev/null || need="$need python3-venv"
# templates: DOCX -> PDF with LibreOffice, and the Amiri font it renders Arabic with
command -v soffice >/dev/null 2>&1 || need="$need libreoffice-writer-nogui"
[ -f /usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf ] \
    || fc-list 2>/dev/null | grep -q "Amiri" || need="$need fonts-hosny-amiri"
# the long-running converter drives LibreOffice over UNO from the system Python
/usr/bin/python3 -c "import uno" 2>/dev/null || need="$need python3-uno"
# OCR of scans: tesseract with Arabic (and English) language data
{ command -v tesseract && tesseract --list-langs 2>/dev/null | grep -qx ara; } >/dev/null 2>&1 \
    || need="$need tesseract-ocr tesseract-ocr-ara"
if [ "$what" = test ]; then
    # the tests read rendered PDFs back with poppler's tools
    { command -v pdftoppm && command -v pdftotext; } >/dev/null 2>&1 || need="$need poppler-utils"
    # PostgreSQL catalog: the tests start a throwaway cluster with initdb/pg_ctl
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
        || need="$need postgresql"
    # IMAP ingest: the tests start a real dovecot on 127.0.0.1
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need="$need dovecot-imapd"
    # the web pages: a real headless Chromium driven by selenium takes their screenshots
    command -v chromium >/dev/null 2>&1 || need="$need chromium"
    command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
fi
[ -z "$need" ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need
