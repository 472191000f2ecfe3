"""No input stops a batch (issue 17): whatever a parser raises on a file — PDFium's
"Failed to load page.", a Pillow decoder error, a codec error — is that file's failure,
quarantined with a one-line reason naming it; the batch goes on, the incoming register
stays consecutive and verify stays clean."""

from __future__ import annotations

import json
from pathlib import Path

import hostile
import pytest

from docarchive import Archive, IngestError, Limits
from docarchive.ingest import extract_text


@pytest.fixture(autouse=True)
def _no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCARCHIVE_TESSERACT", "/nonexistent/tesseract")


PAGE_FAILS = "broken PDF: page 1: Failed to load page."
BROKEN_PDFS = {
    "circular.pdf": (hostile.circular_page_tree, PAGE_FAILS),
    "circular-two.pdf": (hostile.circular_two_nodes, PAGE_FAILS),
    "count-lies.pdf": (hostile.count_lies, PAGE_FAILS),
    "kid-not-a-page.pdf": (hostile.kid_not_a_page, PAGE_FAILS),
    "bad-encryption.pdf": (
        hostile.bad_encryption,
        "broken PDF: cannot open the PDF (PDFium: Unsupported security scheme",
    ),
}


def test_a_batch_of_broken_pdfs_quarantines_each_and_goes_on(
    archive: Archive, make_pdf, tmp_path: Path
):
    folder = tmp_path / "in"
    folder.mkdir()
    good = make_pdf("good.pdf", ["Ministry of Planning", "No. 2291/MO Date: 2026-10-05"])
    (folder / "01-good.pdf").write_bytes(good.read_bytes())
    for name, (make, _) in BROKEN_PDFS.items():
        (folder / name).write_bytes(make())
    (folder / "locked.pdf").write_bytes(
        hostile.encrypted(good.read_bytes(), user="secret", owner="owner")
    )
    (folder / "owner-only.pdf").write_bytes(
        hostile.encrypted(good.read_bytes(), user="", owner="owner", algorithm="RC4-128")
    )
    (folder / "zz-good.pdf").write_bytes(good.read_bytes() + b"\n% another copy\n")
    result = archive.ingest_scans([folder])
    reasons = {Path(q["file"]).name: q["reason"] for q in result.quarantined}
    assert set(reasons) == set(BROKEN_PDFS)
    for name, (_, reason) in BROKEN_PDFS.items():
        assert reasons[name].startswith(reason), reasons[name]
    archived = {r.files[0].name: r for r in result.ingested}
    assert set(archived) == {"01-good.pdf", "locked.pdf", "owner-only.pdf", "zz-good.pdf"}
    assert archived["locked.pdf"].meta["encrypted"] is True
    assert "2291/MO" in archived["owner-only.pdf"].text  # no user password: readable
    hostile.assert_batch_accounted(archive, result, [str(p) for p in folder.iterdir()])
    kept = sorted((archive.settings.root / "quarantine").iterdir())
    assert len(kept) == len(BROKEN_PDFS)
    for entry in kept:
        label, reason = (entry / "reason.txt").read_text("utf-8").splitlines()
        assert reasons[Path(label).name] == reason
        assert (entry / "input").read_bytes() == (folder / Path(label).name).read_bytes()


def test_one_broken_pdf_refused_alone_names_the_page(archive: Archive, tmp_path: Path):
    path = tmp_path / "circular.pdf"
    path.write_bytes(hostile.circular_page_tree())
    with pytest.raises(IngestError, match=r"circular\.pdf: broken PDF: page 1: .*Failed to load"):
        archive.ingest_scan(path)
    assert archive.register("incoming") == []


def test_the_command_line_lists_each_refusal_without_a_traceback(cli, tmp_path: Path, make_pdf):
    root = tmp_path / "archive"
    assert cli("init", str(root)).returncode == 0
    (tmp_path / "circular.pdf").write_bytes(hostile.circular_page_tree())
    (tmp_path / "count.pdf").write_bytes(hostile.count_lies())
    good = make_pdf("good.pdf", ["Ministry of Planning"])
    done = cli(
        "--root", str(root), "ingest", "scan", str(tmp_path / "circular.pdf"),
        str(tmp_path / "count.pdf"), str(good), "--json",
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    batch = json.loads(done.stdout)
    assert [Path(r["files"][0]["name"]).name for r in batch["ingested"]] == ["good.pdf"]
    assert [Path(q["file"]).name for q in batch["quarantined"]] == ["circular.pdf", "count.pdf"]
    assert cli("--root", str(root), "verify").returncode == 0


def test_a_mail_whose_attachment_breaks_its_parser_is_archived(archive: Archive, kit):
    data = kit.mail(
        subject="إرسال كتاب الدائرة المالية",
        attachments=[
            (hostile.circular_page_tree(), "application/pdf", "كتاب.pdf"),
            (hostile.png_declaring(64, 64), "image/png", "ختم.png"),
        ],
    )
    record = archive.ingest_mail(data)
    attachments = [archive.get(i) for i in record.meta["attachments"]]
    reasons = {a.subject: a.meta["text_error"] for a in attachments}
    assert reasons["كتاب.pdf"].startswith("broken PDF: page 1: Failed to load page.")
    assert reasons["ختم.png"].startswith("broken PNG image: image file is truncated")
    assert all(a.meta["text_searchable"] is False for a in attachments)


def test_a_mail_dated_at_the_end_of_time_is_archived_with_the_date_flagged(
    archive: Archive, kit, tmp_path: Path
):
    (tmp_path / "late.eml").write_bytes(kit.mail(date="Fri, 31 Dec 9999 23:00:00 -1200"))
    (tmp_path / "utc.eml").write_bytes(kit.mail(date="Fri, 31 Dec 9999 23:00:00 +0000"))
    result = archive.ingest_mails([tmp_path])
    assert len(result.ingested) == 2, result.quarantined
    for record in result.ingested:
        assert record.meta["date_error"].startswith("Date header out of range")
    hostile.assert_batch_accounted(archive, result, [str(p) for p in tmp_path.glob("*.eml")])


def test_deeply_nested_mime_is_refused_with_the_limit(archive: Archive, tmp_path: Path):
    (tmp_path / "deep.eml").write_bytes(hostile.nested_mail(5000))
    (tmp_path / "fine.eml").write_bytes(hostile.nested_mail(3))
    result = archive.ingest_mails([tmp_path])
    assert [r.text for r in result.ingested] == ["يرجى الاطلاع واتخاذ ما يلزم."]
    [refused] = result.quarantined
    assert refused["file"].endswith("deep.eml") and "mime_depth" in refused["reason"]
    hostile.assert_batch_accounted(archive, result, [str(p) for p in tmp_path.glob("*.eml")])


def test_a_forwarded_message_without_text_is_kept_with_the_reason(archive: Archive):
    """An attached message with no headers and no body was kept unsearchable without saying
    why (the public corpus's IMAP pass found it in a bounce, CPython's msg_43)."""
    outer = (
        b"From: planning@mop.gov.iq\r\nTo: archive@mop.gov.iq\r\nSubject: forwarded\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee the attached message\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n\r\n--b--\r\n"
    )
    record = archive.ingest_mail(outer)
    [attached] = [archive.get(i) for i in record.meta["attachments"]]
    assert attached.meta["text_searchable"] is False
    assert attached.meta["text_error"] == "the attached message has no text"


PUBLIC = Path(__file__).resolve().parents[1] / "data" / "public-corpus"


def test_a_bounce_keeps_its_whole_delivery_status_as_text(archive: Archive):
    """CPython's msg_43 (a real bounce, from the public corpus): its message/delivery-status
    part, one block of fields per recipient, was kept as its first block only and with no
    text; now whole, and searchable."""
    record = archive.ingest_mail((PUBLIC / "cpython-email" / "msg_43.eml").read_bytes())
    attachments = {a.meta["declared_type"]: a for a in map(archive.get, record.meta["attachments"])}
    status = attachments["message/delivery-status"]
    assert status.meta["text_searchable"] is True and "text_error" not in status.meta
    assert status.text.count("Final-Recipient: rfc822;") == status.text.count("Action: failed")
    assert status.text.count("Final-Recipient: rfc822;") > 10
    assert "Message content rejected" in status.text
    stored = archive.storage.get(status.files[0].sha256)
    assert stored.count(b"Final-Recipient:") == status.text.count("Final-Recipient:")
    assert archive.search("BANNED", clearance="top-secret").total >= 1


def test_a_long_parser_message_is_cut_to_one_line(kit):
    """Found by the fuzz pass on .docx attachments: zipfile's message for a member whose
    names differ quotes both names, and came back as a reason of 756 characters."""
    found = extract_text(hostile.names_differ(kit.docx(["نص"])), kit.DOCX, "a.docx", Limits())
    assert found.reason.startswith("broken .docx file: File name in directory")
    assert len(found.reason) <= 300 and "\n" not in found.reason
