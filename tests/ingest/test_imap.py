"""IMAP: fetching from a real dovecot on 127.0.0.1, only new mail on a rerun, passwords."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from docarchive import Archive, ConfigurationError, IngestError, Limits
from docarchive.ingest.imap import ImapSource, _utf7, password_for


def subjects(result) -> list[str]:
    return [r.subject for r in result.ingested if r.kind == "mail"]


def test_fetch_then_rerun_fetches_only_new_mail(
    kit, dovecot, mailbox, imap_password, tmp_path: Path
):
    report = kit.pdf(["Expenditure reached 61 percent"])
    dovecot.append(
        mailbox,
        [
            kit.mail(subject="الأولى", message_id="<i1@x>"),
            kit.mail(
                subject="الثانية",
                message_id="<i2@x>",
                attachments=[(report, "application/pdf", "تقرير.pdf")],
            ),
        ],
    )
    url = dovecot.url(mailbox)
    with Archive.open(tmp_path / "archive") as archive:
        first = archive.ingest_mails([url])
        assert subjects(first) == ["الأولى", "الثانية"] and first.quarantined == []
        second = next(r for r in first.ingested if r.subject == "الثانية")
        origin = second.meta["origin"]
        assert origin["imap"] == url and origin["uid"] == 2 and origin["uidvalidity"] > 0
        assert archive.search("expenditure").hits[0].record.kind == "attachment"

        again = archive.ingest_mails([url])  # nothing new: nothing fetched at all
        assert again.ingested == [] and again.duplicates == [] and again.quarantined == []

        dovecot.append(mailbox, [kit.mail(subject="الثالثة", message_id="<i3@x>")])
        third = archive.ingest_mails([url])
        assert subjects(third) == ["الثالثة"] and third.duplicates == []
        cursor = json.loads(archive.catalog.cursor(ImapSource.parse(url).cursor_name) or "")
        assert cursor == {"uidvalidity": origin["uidvalidity"], "uid": 3}
        assert archive.verify().ok


def test_fetching_leaves_the_mailbox_unread(kit, dovecot, mailbox, imap_password, tmp_path):
    dovecot.append(mailbox, [kit.mail(subject="غير مقروءة")])
    with Archive.open(tmp_path / "archive") as archive:
        assert subjects(archive.ingest_mails([dovecot.url(mailbox)])) == ["غير مقروءة"]
    conn = dovecot.connect()
    try:
        conn.select(f'"{mailbox}"', readonly=True)
        typ, data = conn.uid("FETCH", "1:*", "(FLAGS)")
    finally:
        conn.logout()
    assert typ == "OK" and b"\\Seen" not in data[0]


def test_since_skips_older_mail(kit, dovecot, mailbox, imap_password, tmp_path):
    old = datetime(2025, 6, 1, 10, 0, tzinfo=UTC).timestamp()
    dovecot.append(mailbox, [kit.mail(subject="قديمة")], when=old)
    dovecot.append(mailbox, [kit.mail(subject="حديثة")], when=time.time())
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([dovecot.url(mailbox)], since="2026-01-01")
    assert subjects(result) == ["حديثة"]


def test_duplicates_across_mailboxes_and_a_new_uidvalidity(
    kit, dovecot, mailbox, imap_password, tmp_path
):
    data = kit.mail(subject="مكررة", message_id="<dup@x>")
    dovecot.append(mailbox, [data])
    dovecot.append(mailbox + "-copy", [data])
    with Archive.open(tmp_path / "archive") as archive:
        assert subjects(archive.ingest_mails([dovecot.url(mailbox)])) == ["مكررة"]
        copy = archive.ingest_mails([dovecot.url(mailbox + "-copy")])
        assert copy.ingested == [] and len(copy.duplicates) == 1
        # the mailbox is deleted and made again: new UIDVALIDITY, read from the start
        assert dovecot.call("delete", f'"{mailbox}"')[0] == "OK"
        dovecot.append(mailbox, [data, kit.mail(subject="جديدة")])
        result = archive.ingest_mails([dovecot.url(mailbox)])
        assert subjects(result) == ["جديدة"] and len(result.duplicates) == 1


def test_an_arabic_mailbox_name(kit, dovecot, imap_password, tmp_path):
    name = "الوارد من وزارة المالية"  # with spaces: quoted
    assert _utf7("الوارد") == "&BicGRAZIBicGMQYv-"
    dovecot.append(name, [kit.mail(subject="في مجلد عربي")])
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([dovecot.url(name)])
    assert subjects(result) == ["في مجلد عربي"]


def test_bad_messages_on_the_server_are_quarantined_and_passed(
    kit, dovecot, mailbox, imap_password, tmp_path, monkeypatch
):
    big = kit.mail(subject="كبيرة", body="x" * 20_000)
    dovecot.append(mailbox, [big, b"X-Garbage: 1\r\n\r\n\x00\x01", kit.mail(subject="سليمة")])
    monkeypatch.setenv("DOCARCHIVE_LIMIT_MAIL_BYTES", "10000")
    url = dovecot.url(mailbox)
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([url])
        assert subjects(result) == ["سليمة"]
        reasons = [q["reason"] for q in result.quarantined]
        assert reasons[0].startswith("mail_bytes is ") and "over the limit of 10000" in reasons[0]
        assert reasons[1].startswith("not a mail message")
        assert result.quarantined[0]["file"].startswith(url + ";UIDVALIDITY=")
        rerun = archive.ingest_mails([url])  # what was quarantined is not fetched again
        assert rerun.quarantined == [] and rerun.ingested == []
    kept = sorted((tmp_path / "archive" / "quarantine").iterdir())
    assert len(kept) == 2
    assert [(k / "input").exists() for k in kept].count(True) == 1  # the big one stayed there


def test_imap_maildir_as_dovecot_writes_it(kit, dovecot, mailbox, imap_password, tmp_path):
    """dovecot's own Maildir (cur/new/tmp, .folder subfolders) read from disk."""
    dovecot.append(mailbox, [kit.mail(subject="من القرص")])
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([dovecot.maildir_root])
        found = [r for r in result.ingested if r.subject == "من القرص"]
        assert len(found) == 1 and found[0].meta["origin"]["folder"] == mailbox


def test_login_refused_and_no_server(kit, dovecot, mailbox, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCARCHIVE_IMAP_PASSWORD", "wrong")
    with Archive.open(tmp_path / "archive") as archive:
        with pytest.raises(IngestError, match="the server refused the login"):
            archive.ingest_mails([dovecot.url(mailbox)])
        with pytest.raises(IngestError, match="cannot connect to the IMAP server"):
            archive.ingest_mails(["imap://archive@127.0.0.1:1/INBOX"])
        with pytest.raises(IngestError, match="cannot open the mailbox"):
            monkeypatch.setenv("DOCARCHIVE_IMAP_PASSWORD", dovecot.password)
            archive.ingest_mails([dovecot.url("no-such-mailbox")])
        assert list(archive.catalog.records()) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("imap://archive:secret@host/INBOX", "keep the password out of the URL"),
        ("imap://host/INBOX", "no user name"),
        ("imaps://archive@/INBOX", "no server name"),
        ("imap://archive@host:port/INBOX", "the port is not a number"),
        ("imap://archive@host/INBOX?x=1", "IMAP URLs take no options"),
        ("pop3://archive@host/INBOX", "not an IMAP URL"),
    ],
)
def test_bad_urls(url: str, message: str):
    with pytest.raises(ConfigurationError, match=message):
        ImapSource.parse(url)


def test_url_parts():
    source = ImapSource.parse("imaps://archive%40mop@mail.mop.gov.iq/Archive%2F2026")
    assert (source.secure, source.port, source.user, source.mailbox) == (
        True,
        993,
        "archive@mop",
        "Archive/2026",
    )
    assert source.url == "imaps://archive%40mop@mail.mop.gov.iq:993/Archive/2026"
    assert ImapSource.parse("imap://a@h").mailbox == "INBOX"


def test_password_from_environment_or_netrc(tmp_path: Path):
    source = ImapSource.parse("imaps://archive@mail.mop.gov.iq/INBOX")
    assert password_for(source, {"DOCARCHIVE_IMAP_PASSWORD": "from-env"}) == "from-env"
    netrc = tmp_path / "netrc"
    netrc.write_text("machine mail.mop.gov.iq login archive password from-netrc\n")
    netrc.chmod(0o600)
    assert password_for(source, {"NETRC": str(netrc)}) == "from-netrc"
    other = ImapSource.parse("imaps://someone@mail.mop.gov.iq/INBOX")
    with pytest.raises(ConfigurationError, match="no IMAP password for someone@mail.mop.gov.iq"):
        password_for(other, {"NETRC": str(netrc)})
    with pytest.raises(ConfigurationError, match="set DOCARCHIVE_IMAP_PASSWORD"):
        password_for(source, {"NETRC": str(tmp_path / "none")})


def test_cli_ingest_mail_from_imap(kit, dovecot, mailbox, imap_password, tmp_path, cli):
    dovecot.append(mailbox, [kit.mail(subject="عبر سطر الأوامر", message_id="<cli@x>")])
    root = tmp_path / "archive"
    proc = cli("ingest", "mail", dovecot.url(mailbox), "--json", root=root)
    assert proc.returncode == 0, proc.stderr
    assert [r["subject"] for r in json.loads(proc.stdout)["ingested"]] == ["عبر سطر الأوامر"]
    again = json.loads(cli("ingest", "mail", dovecot.url(mailbox), "--json", root=root).stdout)
    assert again == {"ingested": [], "duplicates": [], "quarantined": []}


def test_limits_are_respected_before_download(kit, dovecot, mailbox, imap_password):
    from docarchive.ingest.imap import fetch

    dovecot.append(mailbox, [kit.mail(body="x" * 5000), kit.mail(body="y")])
    source = ImapSource.parse(dovecot.url(mailbox))
    items = list(fetch(source, dovecot.password, Limits(mail_bytes=3000)))
    assert [i.data is None for i in items] == [True, False]
    assert items[0].reason.startswith("mail_bytes is ")
