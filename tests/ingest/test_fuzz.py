"""The fuzz harness: valid samples of every ingest path mutated (tests/ingest/fuzz.py)
and ingested as real batches. What must hold for every file: archived, a duplicate or
quarantined with a one-line reason; no traceback; the batch finishes; verify is clean;
the incoming register's numbers stay consecutive.

CI runs a bounded, seeded pass (FUZZ_COUNT files per path, default 24; FUZZ_SEED,
default 17). ``make fuzz`` runs a longer one with a new seed each time; a failure prints
the seed, and FUZZ_SEED=<it> makes the same files again. OCR is off (a tesseract that
does not exist) unless FUZZ_OCR=1: tesseract is slow, and what it reads is an image that
was already decoded.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
from pathlib import Path

import fuzz
import hostile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docarchive import Archive, IngestError, Limits
from docarchive.ingest import extract_text, parse_mail, read_inputs
from docarchive.ingest.scans import scan_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
COUNT = int(os.environ.get("FUZZ_COUNT", "24"))
SEED = int(os.environ.get("FUZZ_SEED", "17"))
EXAMPLES_MAX = int(os.environ.get("FUZZ_EXAMPLES", "60"))


@pytest.fixture(autouse=True)
def _ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("FUZZ_OCR") != "1":
        monkeypatch.setenv("DOCARCHIVE_TESSERACT", "/nonexistent/tesseract")
    monkeypatch.setenv("DOCARCHIVE_LIMIT_PARSE_SECONDS", os.environ.get("FUZZ_SECONDS", "30"))


def _image(fmt: str, **options: object) -> bytes:
    from PIL import Image, ImageDraw

    page = Image.new("L", (320, 200), 255)
    draw = ImageDraw.Draw(page)
    draw.rectangle((20, 20, 300, 60), outline=0, width=3)
    draw.text((30, 90), "No. 2291/MO  2026-10-05", fill=0)
    out = io.BytesIO()
    if fmt == "TIFF":
        pages = [page.convert("1"), page.rotate(90, expand=True).convert("1")]
        pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], **options)
    else:
        page.save(out, fmt, **options)
    return out.getvalue()


def samples(kind: str, kit) -> list[bytes]:
    """The valid files mutated for ``kind``."""
    if kind == "pdf":
        return [
            (EXAMPLES / "scans" / "monthly_report.pdf").read_bytes(),
            (EXAMPLES / "scans" / "letter_en_image_only.pdf").read_bytes(),
            hostile.encrypted(
                (EXAMPLES / "scans" / "monthly_report.pdf").read_bytes(), user="", owner="o"
            ),
        ]
    if kind == "png":
        return [_image("PNG"), _image("PNG", optimize=True)]
    if kind == "jpeg":
        return [_image("JPEG", quality=80), _image("JPEG", progressive=True)]
    if kind == "tiff":
        return [_image("TIFF", compression="group4"), _image("TIFF", compression="tiff_lzw")]
    return [  # mail
        (EXAMPLES / "mail" / "request.eml").read_bytes(),
        (EXAMPLES / "mail" / "reply.eml").read_bytes(),
        kit.mail(
            subject="إرسال نسخة من الكتاب الرسمي مع المرفقات",
            attachments=[
                (kit.pdf(["Ministry of Planning", "No. 2291/MO"]), "application/pdf", "كتاب.pdf"),
                (_image("PNG"), "image/png", "ختم.png"),
                ("الاسم,المبلغ\nوزارة المالية,١٢٠٠\n".encode(), "text/csv", "جدول.csv"),
            ],
        ),
    ]


def corpus(kind: str, kit, count: int, seed: int) -> list[bytes]:
    rng = random.Random(f"{seed}-{kind}")
    valid = samples(kind, kit)
    return [fuzz.mutate(rng.choice(valid), kind, rng) for _ in range(count)]


SUFFIX = {"pdf": ".pdf", "png": ".png", "jpeg": ".jpg", "tiff": ".tif"}


@pytest.mark.parametrize("kind", ["pdf", "png", "jpeg", "tiff"])
def test_every_mutated_scan_is_archived_or_quarantined(kind: str, kit, tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    labels = []
    for number, data in enumerate(corpus(kind, kit, COUNT, SEED)):
        path = folder / f"{number:04d}{SUFFIX[kind]}"
        path.write_bytes(data)
        labels.append(str(path))
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_scans([folder])  # never raises: the batch finishes
        assert_accounted(archive, result, labels, f"FUZZ_SEED={SEED} {kind}")


def test_every_mutated_mail_is_archived_or_quarantined(kit, tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    messages = corpus("mail", kit, COUNT, SEED)
    labels = []
    for number, data in enumerate(messages[: COUNT // 2]):
        path = folder / f"{number:04d}.eml"
        path.write_bytes(data)
        labels.append(str(path))
    box = kit.mbox(folder / "box.mbox", messages[COUNT // 2 :])
    truncated = folder / "cut.mbox"
    truncated.write_bytes(box.read_bytes()[: box.stat().st_size * 2 // 3])
    labels += [i.label for i in read_inputs([box, truncated], Limits())]
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([folder])
        assert_accounted(archive, result, labels, f"FUZZ_SEED={SEED} mail")


def test_the_command_line_never_shows_a_traceback(kit, cli, tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    for kind in ("pdf", "png"):
        for number, data in enumerate(corpus(kind, kit, 6, SEED + 1)):
            (folder / f"{kind}-{number}{SUFFIX[kind]}").write_bytes(data)
    for number, data in enumerate(corpus("mail", kit, 6, SEED + 1)):
        (folder / f"mail-{number}.eml").write_bytes(data)
    root = tmp_path / "archive"
    assert cli("init", str(root)).returncode == 0
    scans = cli("--root", str(root), "ingest", "scan", str(folder), "--json")
    mails = cli("--root", str(root), "ingest", "mail", str(folder), "--json")
    for done in (scans, mails):
        assert "Traceback" not in done.stderr, done.stderr
        batch = json.loads(done.stdout)
        assert all(q["reason"] and "\n" not in q["reason"] for q in batch["quarantined"])
    assert cli("--root", str(root), "verify").returncode == 0


def assert_accounted(archive: Archive, result, labels: list[str], seed: str) -> None:
    try:
        hostile.assert_batch_accounted(archive, result, labels)
    except AssertionError as exc:
        raise AssertionError(f"{seed}: {exc}") from exc


# -- property-based: the mutators, and the parsers in-process against them -----------------

kinds = st.sampled_from(sorted(fuzz.BY_KIND))


@given(st.binary(max_size=300), kinds, st.integers(0, 2**32))
def test_mutators_are_deterministic_and_total(data: bytes, kind: str, seed: int):
    first = fuzz.mutate(data, kind, random.Random(seed))
    assert first == fuzz.mutate(data, kind, random.Random(seed))
    assert isinstance(first, bytes)


@given(st.binary(min_size=1, max_size=300), st.integers(0, 2**32))
def test_each_generic_mutator_does_what_it_says(data: bytes, seed: int):
    assert len(fuzz.truncate(data, random.Random(seed))) < len(data)
    flipped = fuzz.flip_bits(data, random.Random(seed))
    assert len(flipped) == len(data)
    assert sum(bin(a ^ b).count("1") for a, b in zip(data, flipped, strict=True)) <= 8
    assert sorted(fuzz.swap_chunks(data, random.Random(seed))) == sorted(data)


def test_png_huge_size_is_read_as_declared():
    from docarchive.ingest.precheck import image_size

    rng = random.Random(5)
    sizes = {image_size(fuzz.png_huge_size(_image("PNG"), rng)) for _ in range(20)}
    assert any(w * h > Limits().scan_pixels for w, h in (s for s in sizes if s))


@settings(max_examples=EXAMPLES_MAX, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["pdf", "png", "jpeg", "tiff"]), st.integers(0, 2**32))
def test_reading_a_mutated_scan_only_ever_raises_ingest_error(kind: str, seed: int):
    rng = random.Random(seed)
    data = fuzz.mutate(rng.choice(_SCAN_SAMPLES[kind]), kind, rng)
    try:
        scan_bytes(f"fuzzed{SUFFIX[kind]}", data, Limits(), ocr=False)
    except IngestError as exc:
        assert exc.reason and "\n" not in exc.reason


@settings(max_examples=EXAMPLES_MAX * 3, deadline=None)
@given(st.integers(0, 2**32))
def test_parsing_a_mutated_mail_only_ever_raises_ingest_error(seed: int):
    rng = random.Random(seed)
    data = fuzz.mutate(rng.choice(_MAIL_SAMPLES), "mail", rng)
    try:
        mail = parse_mail(data, Limits(), "fuzzed.eml")
    except IngestError as exc:
        assert exc.reason and "\n" not in exc.reason
    else:
        for attachment in mail.attachments:
            assert "\n" not in attachment.reason


@settings(max_examples=EXAMPLES_MAX, deadline=None)
@given(st.integers(0, 2**32))
def test_reading_a_mutated_docx_never_raises(seed: int):
    rng = random.Random(seed)
    data = fuzz.mutate(_DOCX_SAMPLE, "docx", rng)
    found = extract_text(data, _Kit.DOCX, "fuzzed.docx", Limits())
    assert found.searchable or (found.reason and "\n" not in found.reason)
    assert len(found.reason) <= 300


class _Kit:  # the samples for the property tests, made once (no fixtures in @given)
    def __init__(self) -> None:
        # tests/ingest/conftest.py, the mail builders, by its path: ``import conftest``
        # gives whichever conftest was imported first (tests/conftest.py in a full run)
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "ingest_conftest", Path(__file__).with_name("conftest.py")
        )
        assert spec is not None and spec.loader is not None
        ingest_conftest = sys.modules.get("ingest_conftest")
        if ingest_conftest is None:
            ingest_conftest = importlib.util.module_from_spec(spec)
            sys.modules["ingest_conftest"] = ingest_conftest  # its dataclasses look it up
            spec.loader.exec_module(ingest_conftest)
        self.mail = ingest_conftest.build_mail
        self.pdf = ingest_conftest.pdf_bytes
        self.docx = ingest_conftest.docx_bytes

    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


_SCAN_SAMPLES = {k: samples(k, None) for k in ("pdf", "png", "jpeg", "tiff")}
_MAIL_SAMPLES = samples("mail", _Kit())
_DOCX_SAMPLE = _Kit().docx(["كتاب وزارة التخطيط المرقم 2291", "Ministry of Planning"])
