"""Mail: parsing against the stdlib, attachments, duplicates, threads, limits, batches."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
import unicodedata
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docarchive import Archive, IngestError, Limits
from docarchive.catalog.sqlite import MIGRATIONS, SQLiteCatalog
from docarchive.ingest import html_to_text, parse_mail, read_inputs
from docarchive.ingest.mail import message_ids, safe_name
from docarchive.ingest.text import decode_text, extract_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REPORT = ["Ministry of Planning - Minister's Office", "Expenditure reached 61 percent"]


def mails_of(archive: Archive) -> list:
    return [r for r in archive.catalog.records() if r.kind == "mail"]


# -- parsing ------------------------------------------------------------------------------


def test_arabic_headers_and_the_plain_alternative(kit):
    data = kit.mail(
        body="يرجى تزويدنا بنسخة من القرار.",
        html="<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>نسخة <b>HTML</b> فقط</p></body></html>",
        headers={"Cc": "دائرة التخطيط <planning@mop.gov.iq>"},
    )
    assert b"=?utf-8?" in data  # the subject really is RFC 2047 encoded
    mail = parse_mail(data, Limits())
    assert mail.subject == "طلب تزويدنا بنسخة من قرار تشكيل لجنة فتح العطاءات"
    assert mail.sender == "مكتب الوكيل الفني <deputy.office@mop.gov.iq>"
    assert mail.sender_address == "deputy.office@mop.gov.iq"
    assert mail.recipients == [
        "أرشيف مكتب الوزير <archive@mop.gov.iq>",
        "دائرة التخطيط <planning@mop.gov.iq>",
    ]
    assert mail.body == "يرجى تزويدنا بنسخة من القرار." and mail.body_type == "plain"
    assert mail.date is not None and mail.date.isoformat() == "2026-03-10T09:30:00+03:00"
    assert mail.attachments == [] and mail.date_error == ""


def test_html_only_mail_becomes_text_without_scripts_or_styles(kit):
    html = (
        "<html><head><title>t</title><style>.x{}</style></head><body>"
        "<script>document.write('secret')</script><div>الفقرة الأولى</div>"
        "<p>Second&nbsp;paragraph &amp; more</p><ul><li>بند</li></ul></body></html>"
    )
    mail = parse_mail(kit.mail(body=None, html=html), Limits())
    assert mail.body_type == "html"
    assert mail.body == "الفقرة الأولى\nSecond paragraph & more\nبند"


def test_raw_utf8_and_windows_1256_headers_are_decoded():
    raw = (
        "From: وزارة المالية <mof@mof.gov.iq>\r\nSubject: كتاب خام\r\n"
        "Message-ID: <raw@x>\r\n\r\nنص\r\n"
    ).encode()
    mail = parse_mail(raw, Limits())
    assert (mail.subject, mail.sender) == ("كتاب خام", "وزارة المالية <mof@mof.gov.iq>")
    legacy = b"Subject: " + "كتاب قديم".encode("cp1256") + b"\r\nFrom: a@b\r\n\r\nx\r\n"
    assert parse_mail(legacy, Limits()).subject == "كتاب قديم"


@pytest.mark.parametrize(
    ("date", "error"),
    [
        ("yesterday afternoon", "unparseable Date header: 'yesterday afternoon'"),
        ("Tue, 45 Foo 2026 99:99:99 +0300", "unparseable Date header"),
        (None, "no Date header"),
    ],
)
def test_unparseable_dates_are_kept_raw_and_flagged(kit, tmp_path: Path, date, error):
    fixed = datetime.fromisoformat("2026-11-01T10:00:00+03:00")
    with Archive.open(tmp_path / "archive", clock=lambda: fixed) as archive:
        record = archive.ingest_mail(kit.mail(date=date))
    assert error in record.meta["date_error"]
    assert record.meta.get("date_raw", "") == (date or "")
    assert record.dates["received"] == "2026-11-01T10:00:00+03:00"  # when it was archived
    assert "sent" not in record.dates


def test_message_ids():
    assert message_ids("<a@x> <b@y>\r\n <a@x>") == ["a@x", "b@y"]
    assert message_ids("bare@id") == ["bare@id"]
    assert message_ids("") == []


def test_html_to_text_and_decode_text():
    assert html_to_text("<p>a</p><p>b<br>c</p><!-- x --><style>p{}</style>") == "a\nb\nc"
    assert html_to_text("<b>unclosed <i>tags") == "unclosed tags"
    assert decode_text("نص".encode("cp1256"), None) == "نص"
    assert decode_text("نص".encode("utf-16"), None) == "نص"
    assert decode_text(b"\x00\x01\x02binary", None) is None
    assert decode_text("نص".encode(), "no-such-charset") == "نص"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../../../etc/cron.d/evil", "evil"),
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("/abs/path/قرار.pdf", "قرار.pdf"),
        ("..", ""),
        (".hidden", "hidden"),
        ("a\u202egnp.exe", "agnp.exe"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
    ],
)
def test_safe_names_have_no_folders(name: str, shown: str):
    assert safe_name(name) == shown


# -- attachments --------------------------------------------------------------------------


def test_attachments_become_records_with_text(kit, archive: Archive):
    csv = "الاسم,الصفة\nأحمد,منسق\n".encode("cp1256")
    data = kit.mail(
        subject="Workshop agenda and participants",
        attachments=[
            (kit.pdf(REPORT), "application/pdf", "تقرير الإنفاق.pdf"),
            (csv, "text/csv", "participants.csv"),
            (kit.docx(["محضر اجتماع لجنة الأرشفة", "Minutes of the meeting"]), kit.DOCX, "m.docx"),
        ],
    )
    mail = archive.ingest_mail(data)
    assert mail.kind == "mail" and mail.source == "mail"
    assert [f.role for f in mail.files] == ["original", "attachment", "attachment", "attachment"]
    assert [f.name for f in mail.files[1:]] == ["تقرير الإنفاق.pdf", "participants.csv", "m.docx"]
    assert archive.blob(mail.files[0].sha256) == data  # the message, byte for byte
    attachments = [archive.get(i) for i in mail.meta["attachments"]]
    assert all(
        a.kind == "attachment" and a.links == {"attachment_of": mail.id} for a in attachments
    )
    pdf, table, docx = attachments
    assert "Expenditure reached 61 percent" in pdf.text and pdf.meta["pages"] == 1
    assert table.text.startswith("الاسم,الصفة") and table.files[0].media_type == "text/csv"
    assert "محضر اجتماع لجنة الأرشفة" in docx.text and docx.files[0].media_type == kit.DOCX
    assert all(a.meta["text_searchable"] for a in attachments)
    assert {f.sha256 for f in mail.files[1:]} == {a.files[0].sha256 for a in attachments}
    hits = archive.search("expenditure")
    assert [h.record.id for h in hits.hits] == [pdf.id]
    assert archive.search("محضر الاجتماع").hits[0].record.id == docx.id
    assert archive.search("منسق").hits[0].record.id == table.id
    assert archive.search("تقرير", kind="attachment").total == 1  # by the file name
    assert archive.verify().ok


def test_hostile_attachment_names_never_become_paths(kit, tmp_path: Path):
    root = tmp_path / "archive"
    with Archive.open(root) as archive:
        before = kit.files_under(tmp_path)
        data = kit.mail(
            attachments=[
                (b"* * * * * root rm -rf /\n", "text/plain", "../../../../etc/cron.d/evil"),
                (b"MZ\x90\x00", "application/octet-stream", "/tmp/evil.exe"),
            ]
        )
        mail = archive.ingest_mail(data)
        attachments = [archive.get(i) for i in mail.meta["attachments"]]
    assert [a.subject for a in attachments] == ["evil", "evil.exe"]
    assert attachments[0].meta["filename"] == "../../../../etc/cron.d/evil"
    new = kit.files_under(tmp_path) - before
    assert new and all(root in p.parents for p in new)
    assert not any("evil" in str(p) for p in new)
    assert not Path("/etc/cron.d/evil").exists() and not Path("/tmp/evil.exe").exists()


def test_wrong_content_types_are_kept_and_flagged(kit, archive: Archive):
    gif = b"GIF89a" + b"\0" * 20
    data = kit.mail(
        attachments=[
            (gif, "application/pdf", "scan.pdf"),
            (b"%PDF-1.4 broken", "application/octet-stream", "x.bin"),
            (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png", "photo.png"),
            (b"not a zip at all", kit.DOCX, "letter.docx"),
        ]
    )
    mail = archive.ingest_mail(data)
    found = {a.subject: a for a in (archive.get(i) for i in mail.meta["attachments"])}
    assert found["scan.pdf"].meta["text_error"] == "declared a PDF, but its content is GIF image"
    assert found["scan.pdf"].files[0].media_type == "image/gif"
    assert found["x.bin"].meta["text_error"].startswith("broken PDF")
    assert found["photo.png"].meta["text_error"] == (
        "broken PNG image: its content cannot be decoded"
    )
    assert found["letter.docx"].meta["text_searchable"] is False
    assert archive.blob(found["scan.pdf"].files[0].sha256) == gif  # kept as it came


def test_a_docx_zip_bomb_is_kept_but_not_opened(kit, tmp_path: Path, monkeypatch):
    bomb = kit.docx_bomb(8 * 1024 * 1024)
    assert len(bomb) < 20_000
    started = time.monotonic()
    found = extract_text(bomb, kit.DOCX, "bomb.docx", Limits(docx_member_bytes=1024 * 1024))
    assert time.monotonic() - started < 2
    assert not found.searchable
    assert found.reason.startswith("refused: docx_member_bytes is ")
    assert "over the limit of 1048576" in found.reason
    monkeypatch.setenv("DOCARCHIVE_LIMIT_DOCX_MEMBER_BYTES", str(1024 * 1024))
    with Archive.open(tmp_path / "archive") as archive:
        mail = archive.ingest_mail(kit.mail(attachments=[(bomb, kit.DOCX, "bomb.docx")]))
        attachment = archive.get(mail.meta["attachments"][0])
        assert attachment.meta["text_error"].startswith("refused: docx_member_bytes is ")
        assert attachment.meta["text_searchable"] is False and attachment.text == ""
        assert archive.blob(attachment.files[0].sha256) == bomb  # kept as it came
        assert archive.verify().ok


def test_forwarded_message_is_one_attachment(kit, archive: Archive):
    inner = BytesParser(policy=policy.default).parsebytes(
        kit.mail(subject="الكتاب الأصلي", body="نص الكتاب الأصلي")
    )
    outer = EmailMessage(policy=policy.SMTP)
    outer["From"], outer["To"], outer["Subject"] = "a@b.iq", "c@d.iq", "Fwd: الكتاب الأصلي"
    outer.set_content("انظر أدناه")
    outer.add_attachment(inner)
    mail = archive.ingest_mail(outer)
    attached = archive.get(mail.meta["attachments"][0])
    assert attached.files[0].media_type == "message/rfc822"
    assert "نص الكتاب الأصلي" in attached.text and "الكتاب الأصلي" in attached.text


# -- refusals and limits ------------------------------------------------------------------


def nested(depth: int) -> bytes:
    part = "Content-Type: text/plain\r\n\r\nhello\r\n"
    for level in range(depth - 1):
        b = f"b{level}"
        part = (
            f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n--{b}\r\n{part}\r\n--{b}--\r\n'
        )
    return ("From: a@b\r\nSubject: deep\r\nMIME-Version: 1.0\r\n" + part).encode()


@pytest.mark.parametrize(
    ("data", "limits", "reason"),
    [
        (b"", Limits(), "empty file (0 bytes)"),
        (b"\x00\x01garbage without any header lines\r\n\r\n\xff\xfe", Limits(), "no header lines"),
        (b"%PDF-1.4\n%...", Limits(), "not a mail message: no header lines (PDF)"),
        (b"X-Nothing: here\r\n\r\nbody", Limits(), "no From, To, Subject, Date or Message-ID"),
        (b"Subject: a\x00b\r\n\r\nbody", Limits(), "binary data (NUL bytes) in the headers"),
        ("a mail", Limits(mail_bytes=100), "mail_bytes is "),
        (
            "a mail with 4 attachments",
            Limits(mail_attachments=3),
            "mail_attachments is 4, over the limit of 3",
        ),
        (nested(25), Limits(), "mime_depth is 25, over the limit of 20"),
        (nested(3000), Limits(mime_depth=5000), "MIME parts are nested too deeply to parse"),
    ],
)
def test_refusals_name_the_reason(kit, data: bytes | str, limits: Limits, reason: str):
    if data == "a mail":
        data = kit.mail()
    elif data == "a mail with 4 attachments":
        data = kit.mail(attachments=[(b"a", "text/plain", f"{i}.txt") for i in range(4)])
    with pytest.raises(IngestError, match=re.escape(reason)) as info:
        parse_mail(data, limits, "in.eml")
    assert info.value.file == "in.eml" and "\n" not in str(info.value)


def test_nesting_within_the_limit_is_fine():
    assert parse_mail(nested(20), Limits()).body == "hello"


def test_a_truncated_mbox_keeps_the_whole_messages(kit, tmp_path: Path):
    messages = [
        kit.mail(subject=f"رسالة {i}", attachments=[(kit.pdf(REPORT), "application/pdf", "r.pdf")])
        for i in range(3)
    ]
    box = kit.mbox(tmp_path / "inbox.mbox", messages)
    box.write_bytes(box.read_bytes()[: -len(messages[-1]) // 2])  # cut inside the last one
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([box])
        assert [r.subject for r in result.ingested if r.kind == "mail"] == ["رسالة 0", "رسالة 1"]
        assert result.quarantined == [
            {
                "file": f"{box}#3",
                "reason": "truncated: a multipart part has no closing boundary "
                "(the message is cut off)",
            }
        ]
        assert archive.verify().ok
    (kept,) = (tmp_path / "archive" / "quarantine").iterdir()
    assert (kept / "input").read_bytes().startswith(b"Date: ")  # the message, not the mbox
    assert (kept / "reason.txt").read_text("utf-8").startswith(f"{box}#3\ntruncated")


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_any_bytes_parse_or_are_refused_with_a_reason(data: bytes):
    try:
        mail = parse_mail(data, Limits(), "fuzz")
    except IngestError as exc:
        assert exc.reason and "\n" not in exc.reason
    else:
        assert isinstance(mail.subject, str)


@given(st.floats(0, 1), st.binary(max_size=8), st.floats(0, 1))
@settings(max_examples=200, deadline=None)
def test_damaged_messages_parse_or_are_refused(kit, cut: float, junk: bytes, where: float):
    sample = kit.mail(
        html="<p>x</p>",
        attachments=[
            (b"a,b\r\n1,2\r\n", "text/csv", "t.csv"),
            (b"%PDF-1.4", "application/pdf", "p.pdf"),
        ],
    )
    cut_at, at = int(cut * len(sample)), int(where * len(sample))
    data = sample[:at] + junk + sample[at:cut_at] if at < cut_at else sample[:cut_at]
    try:
        parse_mail(data, Limits(), "fuzz")
    except IngestError as exc:
        assert exc.reason


header_text = (
    st.text(
        st.characters(
            whitelist_categories=("Lu", "Ll", "Lo", "Nd", "Zs"),
            whitelist_characters="ـًٌٍَُِّْ٠١٢٣-_.,'",
            max_codepoint=0x6FF,
        ),
        min_size=1,
        max_size=80,
    )
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)


@given(subject=header_text, name=header_text, body=st.text(max_size=300))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_headers_and_body_match_the_stdlib(kit, subject: str, name: str, body: str):
    data = kit.mail(subject=subject, sender=f'"{name}" <a@mop.gov.iq>', body=body or "x")
    reference = BytesParser(policy=policy.default).parsebytes(data)
    mail = parse_mail(data, Limits())
    assert mail.subject == " ".join(str(reference["subject"]).split())
    assert mail.sender_address == "a@mop.gov.iq"
    # the name as written: the stdlib's own address parser puts a space between two
    # adjacent encoded words of a long name (seen with "0000 " + "ª" * 20), RFC 2047 says not
    assert mail.sender == f"{unicodedata.normalize('NFC', name)} <a@mop.gov.iq>"
    expected = reference.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert mail.body == normalized(expected)


def normalized(text: str) -> str:
    """What docarchive does to a text body, as documented: no NULs, LF line ends, no bidi
    embedding controls, NFC, no space at either end."""
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub("[\u202a-\u202e\u2066-\u2069]", "", text)
    return unicodedata.normalize("NFC", text).strip()


# -- archiving: duplicates, sources, threads ----------------------------------------------


def test_one_message_is_archived_once(kit, archive: Archive, tmp_path: Path):
    data = kit.mail(message_id="<once@mop.gov.iq>")
    first = archive.ingest_mail(data)
    assert archive.ingest_mail(data).id == first.id  # the same bytes
    resent = data.replace(b"Subject:", b"X-Resent: yes\r\nSubject:")  # same Message-ID
    assert archive.ingest_mail(resent).id == first.id
    box = kit.mbox(tmp_path / "box.mbox", [kit.mail(message_id="<m1@x>"), data, data])
    result = archive.ingest_mails([box])
    assert [r.meta["message_id"] for r in result.ingested] == ["m1@x"]
    assert [d["file"] for d in result.duplicates] == [f"{box}#2", f"{box}#3"]
    assert {d["id"] for d in result.duplicates} == {first.id}
    assert len(mails_of(archive)) == 2


def test_message_objects_bytes_and_files(kit, archive: Archive, tmp_path: Path):
    msg = BytesParser(policy=policy.SMTP).parsebytes(kit.mail(subject="كائن"))
    assert archive.ingest_mail(msg).subject == "كائن"
    path = tmp_path / "one.eml"
    path.write_bytes(kit.mail(subject="ملف"))
    record = archive.ingest_mail(path)
    assert record.subject == "ملف" and record.files[0].name == "one.eml"
    assert archive.ingest_mail(kit.mail(subject="بايتات")).subject == "بايتات"
    box = kit.mbox(tmp_path / "two.mbox", [kit.mail(), kit.mail()])
    with pytest.raises(IngestError, match="holds more than one message: use ingest_mails"):
        archive.ingest_mail(box)
    garbage = tmp_path / "garbage.eml"
    garbage.write_bytes(b"\x00\x01garbage\r\n\r\n\xff\xfe")
    with pytest.raises(IngestError, match="not a mail message") as info:
        archive.ingest_mail(garbage)
    assert info.value.file == str(garbage)
    assert sum(1 for _ in (archive.settings.root / "quarantine").iterdir()) == 1


def test_folders_maildirs_and_mbox_files_are_walked(kit, tmp_path: Path):
    inbox = tmp_path / "incoming"
    maildir = inbox / "Maildir"
    for folder in (maildir, maildir / ".Spam"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True)
    (maildir / "new" / "1700000000.M1P1.host").write_bytes(kit.mail(subject="جديد"))
    (maildir / "cur" / "1700000001.M2P1.host:2,S").write_bytes(kit.mail(subject="مقروء"))
    (maildir / "tmp" / "1700000002.M3P1.host").write_bytes(kit.mail(subject="half"))
    (maildir / ".Spam" / "cur" / "1700000003.M4P1.host:2,").write_bytes(kit.mail(subject="مزعج"))
    (inbox / "letter.eml").write_bytes(kit.mail(subject="رسالة"))
    kit.mbox(inbox / "archive", [kit.mail(subject="من صندوق"), kit.mail(subject="ثانية")])
    (inbox / "notes.txt").write_text("not mail")
    (inbox / "garbage.eml").write_bytes(b"\x00\x01garbage")
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([inbox])
    subjects = sorted(r.subject for r in result.ingested)
    assert subjects == sorted(["جديد", "مقروء", "مزعج", "رسالة", "من صندوق", "ثانية"])
    spam = next(r for r in result.ingested if r.subject == "مزعج")
    assert spam.meta["origin"] == {"maildir": str(maildir), "folder": "Spam"}
    assert [Path(q["file"]).name for q in result.quarantined] == ["garbage.eml"]


def test_read_inputs_labels(kit, tmp_path: Path):
    box = kit.mbox(tmp_path / "box", [kit.mail(), kit.mail()])
    items = list(read_inputs([box, tmp_path / "missing.eml"], Limits()))
    assert [i.label for i in items] == [f"{box}#1", f"{box}#2", str(tmp_path / "missing.eml")]
    assert items[-1].reason == "no such file" and items[0].data is not None
    big = kit.mbox(tmp_path / "big", [kit.mail(body="x" * 5000), kit.mail(body="y")])
    items = list(read_inputs([big], Limits(mail_bytes=3000)))
    assert items[0].data is None and items[1].data is not None
    assert re.fullmatch(r"mail_bytes is \d+, over the limit of 3000 .*", items[0].reason)
    assert int(items[0].reason.split()[2].rstrip(",")) > 5000  # the real size, not read whole


def test_replies_are_linked_and_threads_listed(kit, archive: Archive):
    root = kit.mail(subject="طلب", message_id="<root@mop.gov.iq>")
    reply = kit.mail(
        subject="رد: طلب",
        date="Tue, 10 Mar 2026 13:30:00 +0300",
        message_id="<reply@mop.gov.iq>",
        in_reply_to="<root@mop.gov.iq>",
        references=["<root@mop.gov.iq>"],
        attachments=[(kit.pdf(REPORT), "application/pdf", "r.pdf")],
    )
    # a reply to the reply that only carries In-Reply-To, archived before the others
    late = kit.mail(
        subject="رد: رد: طلب",
        date="Wed, 11 Mar 2026 08:00:00 +0300",
        message_id="<late@mop.gov.iq>",
        in_reply_to="<reply@mop.gov.iq>",
    )
    other = kit.mail(subject="موضوع آخر", message_id="<other@mop.gov.iq>")
    late_r = archive.ingest_mail(late)
    root_r = archive.ingest_mail(root)
    reply_r = archive.ingest_mail(reply)
    archive.ingest_mail(other)
    assert reply_r.links == {"reply_to": root_r.id}
    assert late_r.links == {}  # its parent was not archived yet; the thread still finds it
    expected = [root_r.id, reply_r.id, late_r.id]
    for member in (root_r.id, reply_r.id, late_r.id, reply_r.meta["attachments"][0]):
        assert [r.id for r in archive.thread(member)] == expected
    assert [r.id for r in archive.thread(archive.ingest_mail(other).id)] != expected


def test_thread_respects_clearance(kit, archive: Archive):
    root = archive.ingest_mail(kit.mail(message_id="<r@x>"))
    secret = archive.ingest_mail(
        kit.mail(
            message_id="<s@x>",
            in_reply_to="<r@x>",
            references=["<r@x>"],
            date="Tue, 10 Mar 2026 10:00:00 +0300",
        ),
        classification="secret",
    )
    assert [r.id for r in archive.thread(root.id, clearance="secret")] == [root.id, secret.id]
    assert [r.id for r in archive.thread(root.id)] == [root.id]


# -- batches ------------------------------------------------------------------------------


def test_batch_goes_on_after_bad_messages_and_verifies(kit, tmp_path: Path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.eml").write_bytes(kit.mail(subject="الميزانية"))
    (inbox / "b.eml").write_bytes(b"\x00\x01garbage without any header lines\r\n\r\n\xff\xfe")
    (inbox / "c.eml").write_bytes(nested(40))
    (inbox / "d.eml").write_bytes(kit.mail(subject="المتابعة"))
    seen: list[str] = []
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([inbox], progress=seen.append)
        assert sorted(r.subject for r in result.ingested) == ["المتابعة", "الميزانية"]
        reasons = {Path(q["file"]).name: q["reason"] for q in result.quarantined}
        assert reasons["b.eml"].startswith("not a mail message: no header lines")
        assert reasons["c.eml"].startswith("mime_depth is 40")
        assert len(seen) == 4
        assert archive.verify().ok
        assert archive.search("الميزانيه").hits[0].record.subject == "الميزانية"
    kept = sorted((tmp_path / "archive" / "quarantine").iterdir())
    assert len(kept) == 2 and all((k / "input").exists() for k in kept)


def test_since_is_for_imap_only(archive: Archive, tmp_path: Path):
    from docarchive import ConfigurationError

    with pytest.raises(ConfigurationError, match="since applies to imap"):
        archive.ingest_mails([tmp_path], since="2026-01-01")


def test_catalog_lookups_and_cursors(tmp_path: Path):
    catalog = SQLiteCatalog(tmp_path / "c.sqlite")
    assert catalog.find_by_meta("message_id", "nothing") == []
    assert catalog.cursor("imap:x") is None
    with catalog.transaction("t") as tx:
        tx.set_cursor("imap:x", '{"uid": 1}')
    with catalog.transaction("t") as tx:
        tx.set_cursor("imap:x", '{"uid": 2}')
    assert catalog.cursor("imap:x") == '{"uid": 2}'
    assert catalog.last_change() == 0  # a cursor is not audited
    with pytest.raises(ValueError, match="not a metadata key"):
        catalog.find_by_meta("x') OR 1=1 --", "")
    plan = catalog._db.execute(
        "EXPLAIN QUERY PLAN SELECT doc FROM records "
        "WHERE json_extract(doc, '$.meta.message_id') = ?",
        ("x",),
    ).fetchall()
    assert "records_message_id" in plan[0][3]
    catalog.close()


def test_an_old_catalog_is_migrated(tmp_path: Path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.commit()
    db.close()
    catalog = SQLiteCatalog(path)
    assert catalog.schema_version() == len(MIGRATIONS) >= 2
    assert catalog.cursor("x") is None
    catalog.close()


KILLED_BATCH = textwrap.dedent(
    """
    import sys
    from docarchive import Archive
    with Archive.open(sys.argv[1]) as archive:
        archive.ingest_mails([sys.argv[2]], actor="batch", progress=lambda l: print(l, flush=True))
    """
)


def test_sigkill_mid_batch_then_rerun_finishes_without_duplicates(kit, tmp_path: Path, cli):
    inbox = tmp_path / "in"
    inbox.mkdir()
    pdf = kit.pdf(REPORT)
    count = 240  # enough that the kill lands mid-batch even on a loaded machine
    for i in range(count):
        attachments = [(pdf + str(i).encode(), "application/pdf", f"r{i}.pdf")] if i % 3 else []
        data = kit.mail(subject=f"رسالة رقم {i}", message_id=f"<m{i}@x>", attachments=attachments)
        (inbox / f"{i:04d}.eml").write_bytes(data)
    root = tmp_path / "archive"
    Archive.open(root).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_BATCH, str(root), str(inbox)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    printed = [proc.stdout.readline() for _ in range(30)]
    time.sleep(0.03)
    proc.kill()
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -9 and all(printed)

    rerun = cli("ingest", "mail", str(inbox), "--json", root=root, check=True)
    result = json.loads(rerun.stdout)
    mails = [r for r in result["ingested"] if r["kind"] == "mail"]
    assert len(result["duplicates"]) >= 30
    assert len(mails) + len(result["duplicates"]) == count and result["quarantined"] == []
    with Archive.open(root) as archive:
        assert archive.verify().ok
        archived = mails_of(archive)
        assert sorted(r.meta["message_id"] for r in archived) == sorted(
            f"m{i}@x" for i in range(count)
        )
        attachments = [r for r in archive.catalog.records() if r.kind == "attachment"]
        assert len(attachments) == sum(1 for i in range(count) if i % 3)
        assert archive.search("رسالة", kind="mail", page_size=1000).total == count


# -- the command line ---------------------------------------------------------------------


def test_cli_ingest_mail_and_show_thread(kit, tmp_path: Path, cli):
    root = tmp_path / "archive"
    cli("init", str(root), check=True)
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "1.eml").write_bytes(kit.mail(message_id="<q@x>"))
    (inbox / "2.eml").write_bytes(
        kit.mail(
            subject="رد: طلب",
            message_id="<a@x>",
            in_reply_to="<q@x>",
            references=["<q@x>"],
            date="Wed, 11 Mar 2026 08:00:00 +0300",
        )
    )
    (inbox / "3.eml").write_bytes(b"\x00garbage")
    proc = cli("ingest", "mail", str(inbox), "--json", root=root)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"ingested", "duplicates", "quarantined"}
    assert [Path(q["file"]).name for q in result["quarantined"]] == ["3.eml"]
    assert "1 of 3 messages quarantined" in proc.stderr
    reply = next(r for r in result["ingested"] if r["subject"] == "رد: طلب")
    shown = json.loads(cli("show", reply["id"], "--json", root=root, check=True).stdout)
    assert [t["subject"] for t in shown["thread"]] == [
        "طلب تزويدنا بنسخة من قرار تشكيل لجنة فتح العطاءات",
        "رد: طلب",
    ]
    text = cli("show", reply["id"], root=root, check=True).stdout
    assert "reply_to: " in text and text.count("thread: ") == 2 and "thread: * " in text

    again = cli("ingest", "mail", str(inbox / "3.eml"), root=root)
    assert again.returncode == 1 and "1 of 1 messages quarantined" in again.stderr
    assert "Traceback" not in again.stderr
    missing = cli("ingest", "mail", str(tmp_path / "nope"), root=root)
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr
    since = cli("ingest", "mail", str(inbox), "--since", "2026-01-01", root=root)
    assert since.returncode == 1 and "since applies to imap" in since.stderr
    assert cli("verify", root=root).returncode == 0


# -- the example mail ---------------------------------------------------------------------


def test_example_mail_is_what_make_mail_writes_and_ingests(tmp_path: Path, cli):
    folder = EXAMPLES / "data" / "mail"
    committed = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    subprocess.run(
        [sys.executable, str(EXAMPLES / "make_mail.py"), str(tmp_path / "made")],
        check=True,
        capture_output=True,
    )
    made = {p.name: p.read_bytes() for p in sorted((tmp_path / "made").iterdir())}
    assert made == committed
    root = tmp_path / "archive"
    result = json.loads(cli("ingest", "mail", str(folder), "--json", root=root, check=True).stdout)
    assert result["quarantined"] == [] and len(result["ingested"]) == 2  # the mails
    request = next(r for r in result["ingested"] if not r["subject"].startswith("رد"))
    assert [f["name"] for f in request["files"]] == [
        "request.eml",
        "تقرير_الإنفاق.pdf",
        "أعضاء_اللجنة.csv",
    ]
    found = json.loads(cli("search", "الأرشفة", "--json", root=root, check=True).stdout)
    assert found["facets"]["kind"] == {"mail": 2}
    found = json.loads(cli("search", "سعاد", "--json", root=root, check=True).stdout)
    assert [h["subject"] for h in found["hits"]] == ["أعضاء_اللجنة.csv"]
    found = json.loads(cli("search", "expenditure", "--json", root=root, check=True).stdout)
    assert [h["subject"] for h in found["hits"]] == ["تقرير_الإنفاق.pdf"]
    shown = cli("show", request["id"], root=root, check=True).stdout
    assert shown.count("thread: ") == 2  # reply.eml came first; the thread is found anyway


def test_a_scan_attached_to_a_mail_is_read_by_ocr(kit, archive: Archive, example_data):
    png = (example_data / "scans" / "letter_circular.png").read_bytes()
    mail = archive.ingest_mail(kit.mail(attachments=[(png, "image/png", "كتاب_وارد.png")]))
    (attachment,) = (archive.get(i) for i in mail.meta["attachments"])
    assert attachment.meta["text_searchable"] is True, attachment.meta
    assert "الدوام" in attachment.text or "الوزارة" in attachment.text
    assert attachment.id in {h.record.id for h in archive.search("الدوام").hits}
