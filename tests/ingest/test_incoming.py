"""The incoming register (سجل الوارد): scans and mail take registration numbers, scans get
the incoming stamp (ختم الوارد) on their PDF rendition, failures never leave a gap.

OCR is switched off (a tesseract that does not exist) so these run fast; the scans are
still archived and flagged, which is part of what is tested."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from docarchive import Archive
from docarchive.catalog import open_catalog
from docarchive.errors import StorageError
from docarchive.search import open_index
from docarchive.storage.base import BlobInfo
from docarchive.storage.memory import MemoryStorage

SCANS = Path(__file__).resolve().parents[2] / "examples" / "data" / "scans"
INK = (13, 46, 140)  # the stamp's blue, as rendered


@pytest.fixture(autouse=True)
def _no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCARCHIVE_TESSERACT", "/nonexistent/tesseract")


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    """A copy of the example scans (with the circular's sidecar)."""
    folder = tmp_path / "in"
    shutil.copytree(SCANS, folder)
    return folder


def _render(pdf_bytes: bytes, page: int = 0) -> Any:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        return pdf[page].render(scale=2).to_pil().convert("RGB")
    finally:
        pdf.close()


def _ink(image: Any, box: tuple[int, int, int, int]) -> int:
    """Pixels of stamp blue in ``box``."""
    raw = image.crop(box).tobytes()
    return sum(
        1
        for i in range(0, len(raw), 3)
        if abs(raw[i] - INK[0]) < 40
        and abs(raw[i + 1] - INK[1]) < 40
        and abs(raw[i + 2] - INK[2]) < 40
    )


def _pdf_text(data: bytes) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def _file(archive: Archive, record: Any, role: str) -> bytes:
    ref = next(f for f in record.files if f.role == role)
    return archive.blob(ref.sha256)


def test_a_scan_takes_the_next_incoming_number_and_is_stamped(archive: Archive, scans: Path):
    year = archive.now().year
    record = archive.ingest_scan(scans / "letter_decision.jpg", department="قسم العقود")
    assert record.number == f"م.و/و/1/{year}" and record.series == "incoming"
    assert record.meta["seq"] == 1 and record.meta["department"] == "قسم العقود"
    assert record.meta["text_searchable"] is False
    assert "tesseract is not installed" in record.meta["text_error"]
    assert record.meta["stamped"] is True
    original = _file(archive, record, "original")
    assert original == (scans / "letter_decision.jpg").read_bytes()  # byte for byte
    rendition = _file(archive, record, "rendition")
    page = _render(rendition)
    width, height = page.size
    assert _ink(page, (0, 0, width // 2, height // 4)) > 500  # the stamp, top left
    assert _ink(page, (width // 2, 0, width, height)) == 0
    entry = archive.register("incoming")[0]
    assert (entry.number, entry.status, entry.record_id) == (record.number, "issued", record.id)
    assert archive.get(record.number).id == record.id


def test_no_stamp_leaves_the_rendition_clean(archive: Archive, scans: Path):
    record = archive.ingest_scan(scans / "letter_decision.jpg", stamp=False)
    assert record.number is not None and "stamped" not in record.meta
    page = _render(_file(archive, record, "rendition"))
    assert _ink(page, (0, 0, page.size[0], page.size[1])) == 0


def test_a_pdf_scan_keeps_its_original_and_gets_a_stamped_copy(archive: Archive, make_pdf):
    pdf = make_pdf("report.pdf", ["Quarterly expenditure of the investment budget"])
    record = archive.ingest_scan(pdf, received="2026-03-15", sender="Ministry of Finance")
    assert _file(archive, record, "original") == pdf.read_bytes()
    stamped = _file(archive, record, "rendition")
    assert stamped != pdf.read_bytes()
    assert "Quarterly expenditure" in _pdf_text(stamped)  # the page's own text survives
    page = _render(stamped)
    assert _ink(page, (0, 0, page.size[0] // 2, page.size[1] // 4)) > 500
    assert record.dates["received"].startswith("2026-03-15T00:00:00")
    assert record.sender == "Ministry of Finance"
    assert record.meta["text_searchable"] is True and "text_error" not in record.meta


def test_an_encrypted_pdf_is_archived_numbered_and_flagged(archive: Archive, make_pdf, tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(make_pdf("p.pdf", ["secret figures"])))
    writer.encrypt(user_password="secret", algorithm="AES-256")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as out:
        writer.write(out)
    record = archive.ingest_scan(locked)
    assert record.number is not None and record.meta["encrypted"] is True
    assert record.meta["text_searchable"] is False
    assert record.meta["text_error"] == "the PDF is encrypted with a password"
    assert "encrypted" in record.meta["stamp_error"]
    assert [f.role for f in record.files] == ["original"]
    assert _file(archive, record, "original") == locked.read_bytes()


def test_sidecar_metadata_and_arguments(archive: Archive, scans: Path):
    record = archive.ingest_scan(scans / "letter_circular.png")
    sidecar = json.loads((scans / "letter_circular.png.json").read_text("utf-8"))
    assert record.sender == sidecar["sender"] and record.subject == sidecar["subject"]
    assert record.meta["department"] == sidecar["department"]
    assert record.dates["received"].startswith(sidecar["received"])
    other = scans / "copy.png"  # arguments win over the sidecar
    other.write_bytes((scans / "letter_circular.png").read_bytes() + b"\0")
    (scans / "copy.json").write_text(json.dumps({"sender": "x", "department": "y"}), "utf-8")
    second = archive.ingest_scan(other, department="قسم الحسابات")
    assert second.sender == "x" and second.meta["department"] == "قسم الحسابات"


def test_a_batch_numbers_without_gaps_and_refusals_take_none(archive: Archive, scans: Path):
    (scans / "broken.jpg").write_bytes((scans / "letter_decision.jpg").read_bytes()[:5000])
    (scans / "empty.png").write_bytes(b"")
    (scans / "fake.pdf").write_bytes(b"GIF89a not a pdf")
    (scans / "bad_meta.tiff").write_bytes((scans / "letter_assignment.tiff").read_bytes())
    (scans / "bad_meta.tiff.json").write_text('{"colour": "blue"}', "utf-8")
    (scans / "again").mkdir()
    shutil.copy(scans / "letter_decision.jpg", scans / "again" / "same.jpg")
    result = archive.ingest_scans([scans])
    names = sorted(Path(q["file"]).name for q in result.quarantined)
    assert names == ["bad_meta.tiff", "broken.jpg", "empty.png", "fake.pdf"]
    assert len(result.ingested) == 5 and len(result.duplicates) == 1  # 4 letters + report
    assert not any(str(r.files[0].name).endswith(".json") for r in result.ingested)
    register = archive.register("incoming")
    assert [e.status for e in register] == ["issued"] * 5
    seqs = sorted(int(e.number.split("/")[2]) for e in register)
    assert seqs == [1, 2, 3, 4, 5]
    assert {e.record_id for e in register} == {r.id for r in result.ingested}
    again = archive.ingest_scans([scans / "letter_decision.jpg"])
    assert again.duplicates and len(archive.register("incoming")) == 5


def test_mail_takes_a_number_from_the_same_register(archive: Archive, scans: Path, kit):
    scan = archive.ingest_scan(scans / "letter_decision.jpg")
    attached = (kit.pdf(["Attached report"]), "application/pdf", "report.pdf")
    mail = archive.ingest_mail(kit.mail(attachments=[attached]))
    year = archive.now().year
    assert (scan.number, mail.number) == (f"م.و/و/1/{year}", f"م.و/و/2/{year}")
    attachment = archive.get(mail.meta["attachments"][0])
    assert attachment.number is None  # attachments are part of the mail, not registered
    duplicate = archive.ingest_mails([_eml(archive, mail)])
    assert len(duplicate.duplicates) == 1
    assert [e.number for e in archive.register("incoming")] == [scan.number, mail.number]


def _eml(archive: Archive, mail: Any) -> Path:
    path = archive.settings.root.parent / "again.eml"
    path.write_bytes(_file(archive, mail, "original"))
    return path


class _FailingPdfStorage(MemoryStorage):
    """Memory storage that fails to store PDFs: the rendition of an image scan."""

    def _put_stream(self, stream: BinaryIO) -> BlobInfo:
        data = stream.read()
        if data.startswith(b"%PDF-"):
            raise StorageError("disk full", url="memory://", key="")
        return super()._put_stream(BytesIO(data))


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(tmp_path / "arc") as made:
        settings = made.settings
    catalog = open_catalog(settings.catalog_url)
    arc = Archive(settings, _FailingPdfStorage(), catalog, open_index(settings.index_url))
    yield arc
    arc.close()


def test_a_failure_after_the_number_was_taken_voids_it(failing: Archive, scans: Path, kit):
    for _ in range(2):  # the rendition (a PDF) cannot be stored
        with pytest.raises(StorageError, match="disk full"):
            failing.ingest_scan(scans / "letter_decision.jpg", stamp=False)
    mail = failing.ingest_mail(kit.mail())
    register = failing.register("incoming")
    assert [e.status for e in register] == ["void", "void", "issued"]
    assert all("disk full" in e.reason for e in register[:2])
    assert register[2].record_id == mail.id and mail.meta["seq"] == 3


def test_cli_ingest_scan_with_options_and_register(cli, tmp_path: Path, scans: Path):
    root = tmp_path / "cliarc"
    proc = cli(
        "ingest",
        "scan",
        str(scans / "letter_decision.jpg"),
        str(scans / "letter_circular.png"),
        "--department",
        "قسم العقود",
        "--received",
        "2026-03-15",
        "--sender",
        "وزارة المالية",
        "--json",
        root=root,
        check=True,
    )
    ingested = json.loads(proc.stdout)["ingested"]
    assert [r["number"].split("/")[2] for r in ingested] == ["1", "2"]
    assert all(r["sender"] == "وزارة المالية" for r in ingested)
    assert all(r["meta"]["department"] == "قسم العقود" for r in ingested)
    assert ingested[0]["dates"]["received"].startswith("2026-03-15")
    plain = cli(
        "ingest",
        "scan",
        str(scans / "letter_en_image_only.pdf"),
        "--no-stamp",
        root=root,
        check=True,
    )
    assert "م.و/و/3/" in plain.stdout
    register = json.loads(cli("register", "incoming", "--json", root=root, check=True).stdout)
    assert [e["status"] for e in register] == ["issued"] * 3
    bad = cli("ingest", "scan", str(scans), "--received", "someday", root=root)
    assert bad.returncode == 1 and "received must be a date (YYYY-MM-DD)" in bad.stderr
