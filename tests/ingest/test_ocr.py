"""OCR quality, measured: the example scans (examples/make_scans.py draws them from known
text) are read by tesseract and the character error rate (CER) is checked against a bound
set with some slack above what was measured (figures in the README).

OCR takes about 2 s a page; these tests read each example page once."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docarchive import Archive, Limits
from docarchive.ingest import read_scan
from docarchive.ingest.ocr import cer, normalize_for_cer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCANS = EXAMPLES / "data" / "scans"
sys.path.insert(0, str(EXAMPLES))

from make_scans import truth  # noqa: E402

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract is not installed (scripts/system-deps.sh)"
)

# measured with tesseract 5.3.0 ara+eng: PNG 0.079, JPEG 0.13, TIFF 0.089, PDF (English) 0.005
BOUNDS = {
    "letter_circular.png": 0.15,
    "letter_decision.jpg": 0.20,
    "letter_assignment.tiff": 0.15,
    "letter_en_image_only.pdf": 0.05,
}


@needs_tesseract
@pytest.mark.parametrize(
    "name", ["letter_decision.jpg", "letter_assignment.tiff", "letter_en_image_only.pdf"]
)
def test_ocr_character_error_rate(name: str):
    scan = read_scan(SCANS / name, Limits())
    assert scan.searchable and scan.ocr and scan.reason == ""
    rate = cer(truth(name), scan.text)
    print(f"\nCER {name}: {rate:.3f} ({scan.pages} pages)")
    assert rate < BOUNDS[name]


@needs_tesseract
def test_an_ocred_scan_is_archived_searchable(tmp_path: Path):
    with Archive.open(tmp_path / "archive") as archive:
        record = archive.ingest_scan(SCANS / "letter_circular.png")
        rate = cer(truth("letter_circular.png"), record.text)
        print(f"\nCER letter_circular.png: {rate:.3f}")
        assert rate < BOUNDS["letter_circular.png"]
        assert record.meta["text_searchable"] is True and record.meta["ocr"] == "ara+eng"
        hits = archive.search("الأرشفة الإلكترونية").hits
        assert [h.record.id for h in hits] == [record.id]


def test_missing_language_data_is_a_reason_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from PIL import Image

    monkeypatch.setenv("DOCARCHIVE_OCR_LANG", "xyz")
    path = tmp_path / "blank.png"
    Image.new("L", (200, 100), 255).save(path)
    scan = read_scan(path, Limits())
    assert not scan.searchable and scan.rendition is not None
    if shutil.which("tesseract"):
        assert (
            scan.reason
            == "tesseract has no language data for xyz (apt-get install tesseract-ocr-xyz)"
        )
    else:
        assert scan.reason.startswith("tesseract is not installed")


def test_cer_normalizes_before_counting():
    assert cer("وزارة التخطيط", "وزارة التخطيط") == 0.0
    assert cer("مُدِيرُ  الوزارة", "مـدير\nالوزارة") == 0.0  # diacritics, tatweel, spaces
    assert cer("ﻻ", "لا") == 0.0  # presentation forms (NFKC)
    assert cer("abcd", "abed") == 0.25
    assert cer("abcd", "") == 1.0
    assert normalize_for_cer("\u200fقسم\u200e  العقود ") == "قسم العقود"


@given(st.text(max_size=40), st.text(max_size=40))
def test_cer_is_an_edit_distance(a: str, b: str):
    rate = cer(a, b)
    ref = normalize_for_cer(a)
    assert rate >= 0
    if ref:
        assert rate * len(ref) == pytest.approx(round(rate * len(ref)))
        assert rate <= max(len(ref), len(normalize_for_cer(b))) / len(ref)
    assert cer(a, a) == 0.0
