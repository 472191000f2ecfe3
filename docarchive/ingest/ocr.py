"""Optical character recognition of scanned pages with tesseract (``ara+eng``).

OCR is best effort: a scan whose text cannot be recognised is still archived,
flagged as not text-searchable with the reason (:attr:`OcrResult.error`). The
engine is the ``tesseract`` command (Debian: ``tesseract-ocr tesseract-ocr-ara``)
driven by pytesseract (``pip install docarchive[ocr]``).

Two environment variables tune it:

- ``DOCARCHIVE_TESSERACT``: the tesseract command (default ``tesseract`` on PATH);
- ``DOCARCHIVE_OCR_LANG``: tesseract's languages (default ``ara+eng``; ``ara`` alone is
  about 40 % faster and reads Arabic-Indic digits better, but drops English words).

Tesseract's OpenMP threads make it up to 7× slower on a busy two-core machine, so each
page runs on one thread (``OMP_THREAD_LIMIT=1`` unless set otherwise); run several
ingest processes to use more cores.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from .worker import tick

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    "DEFAULT_LANG",
    "OCR_DPI",
    "OcrResult",
    "cer",
    "check_engine",
    "normalize_for_cer",
    "ocr_images",
    "ocr_lang",
]

DEFAULT_LANG = "ara+eng"
OCR_DPI = 300  # PDF pages without a text layer are rendered at this resolution for OCR
PAGE_TIMEOUT_S = 120  # a page that takes longer is given up (tesseract is killed)
_BIDI = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


@dataclass(frozen=True)
class OcrResult:
    """The text of some pages, or why there is none."""

    text: str
    pages: int
    error: str = ""


def ocr_lang() -> str:
    return os.environ.get("DOCARCHIVE_OCR_LANG", "").strip() or DEFAULT_LANG


def _command() -> str:
    return os.environ.get("DOCARCHIVE_TESSERACT", "").strip() or "tesseract"


@cache
def _check(command: str, lang: str) -> str:
    """'' when tesseract at ``command`` can read ``lang``, else the reason (cached)."""
    try:
        import pytesseract
    except ImportError:
        return "OCR needs pytesseract: pip install 'docarchive[ocr]'"
    pytesseract.pytesseract.tesseract_cmd = command
    try:
        installed = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, FileNotFoundError, PermissionError):
        return (
            f"tesseract is not installed ({command!r} not found): "
            "apt-get install tesseract-ocr tesseract-ocr-ara"
        )
    except (pytesseract.TesseractError, OSError) as exc:
        return f"tesseract does not run: {exc}".splitlines()[0]
    missing = [code for code in lang.split("+") if code not in installed]
    if missing:
        return (
            f"tesseract has no language data for {'+'.join(missing)} "
            f"(apt-get install tesseract-ocr-{missing[0]})"
        )
    return ""


def check_engine() -> str:
    """'' when OCR can run with the current settings, otherwise why not."""
    return _check(_command(), ocr_lang())


def ocr_images(images: Iterable[Image], *, max_chars: int | None = None) -> OcrResult:
    """OCR each page image in turn; stops early once ``max_chars`` were read.

    Never raises for an engine problem: the result carries the reason in ``error`` and
    the text of the pages read before it.
    """
    reason = check_engine()
    if reason:
        return OcrResult("", 0, reason)
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = _command()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    texts: list[str] = []
    total = 0
    for number, image in enumerate(images, start=1):
        try:
            raw = pytesseract.image_to_string(
                image, lang=ocr_lang(), config="--psm 3", timeout=PAGE_TIMEOUT_S
            )
        except RuntimeError as exc:  # pytesseract's timeout
            return OcrResult("\n\f".join(texts), len(texts), f"OCR of page {number}: {exc}")
        except Exception as exc:  # tesseract failed, or the image could not be handed to it
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            return OcrResult(
                "\n\f".join(texts), len(texts), f"OCR failed on page {number}: {detail}"[:300]
            )
        text = clean(raw)
        tick()  # a page recognised: the parser worker's step deadline moves on
        texts.append(text)
        total += len(text)
        if max_chars is not None and total > max_chars:
            break
    return OcrResult("\n\f".join(texts), len(texts))


def clean(text: str) -> str:
    """Tesseract's output without bidi marks, NFC, trailing blanks and form feeds."""
    text = unicodedata.normalize("NFC", str(text).translate(_BIDI)).replace("\f", "")
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


# -- measuring OCR quality ------------------------------------------------------------------

_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_SPACE = re.compile(r"\s+")


def normalize_for_cer(text: str) -> str:
    """NFKC, bidi marks, Arabic diacritics and tatweel dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text.translate(_BIDI))
    return _SPACE.sub(" ", _MARKS.sub("", text)).strip()


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance / reference length, both normalized first."""
    ref, hyp = normalize_for_cer(reference), normalize_for_cer(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / len(ref)
