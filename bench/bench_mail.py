"""Mail ingest benchmark: docarchive against bare stdlib parsing, same messages, same run.

    python bench/bench_mail.py [N_MESSAGES]      (default 5000; needs reportlab: .[dev])

Generates N messages as .eml files — Arabic and English subjects (RFC 2047),
plain and HTML bodies, a third of them with a PDF attachment that has a text
layer, every PDF different — then times:

(a) the baseline: for each file, read it, parse it with the stdlib ``email``
    package (``policy.default``, its current API), take its subject, sender,
    date, Message-ID, body text and attachment bytes, and write the message to a
    file; and the same with the legacy ``compat32`` API, headers left encoded;
(b) docarchive: ``Archive.ingest_mails([folder])`` into a new folder archive
    (default backends): duplicate checks, header decoding, PDF text extraction,
    blobs written atomically and fsynced, one catalog transaction per message,
    and the search index brought up to date at the end.

Prints messages per second for each and the ratios (docarchive / baseline);
the target is 0.3 or more against the policy.default baseline.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from make_data import text_pdf

from docarchive import Archive

SUBJECTS = [
    "طلب تزويدنا بنسخة من قرار تشكيل لجنة فتح العطاءات",
    "تعميم بشأن اعتماد الأرشفة الإلكترونية للمراسلات الرسمية",
    "Monthly report on the investment budget",
    "دعوة لحضور اجتماع لجنة المتابعة يوم الأحد",
    "SES governance model workshop - agenda and participants",
]
SENDERS = [
    "مكتب الوكيل الفني <deputy.office@mop.gov.iq>",
    "دائرة التخطيط <planning@mop.gov.iq>",
    "UNDP Iraq <programme@undp.example.org>",
    "وزارة المالية <mof@mof.gov.iq>",
]
BODY = (
    "السلام عليكم،\nيرجى الاطلاع على المرفق واتخاذ ما يلزم بشأن المشاريع المتأخرة في "
    "الموازنة الاستثمارية، وإعلامنا بالنتائج قبل نهاية الشهر.\n"
    "Please review the attached report and reply before the end of the month.\n"
)
PDF_VARIANTS = 40


def generate(folder: Path, count: int) -> int:
    rng = random.Random(7)
    pdfs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(PDF_VARIANTS):
            path = Path(tmp) / f"{n}.pdf"
            text_pdf(
                path,
                [
                    "Ministry of Planning - Follow-up Department",
                    f"No. {1000 + n}/MO",
                    f"Expenditure reached {40 + n} percent of the annual allocation.",
                    "The delays concern the electronic archiving project.",
                ],
            )
            pdfs.append(path.read_bytes())
    total = 0
    for i in range(count):
        msg = EmailMessage(policy=policy.SMTP)
        msg["From"] = rng.choice(SENDERS)
        msg["To"] = "أرشيف مكتب الوزير <archive@mop.gov.iq>"
        msg["Subject"] = f"{rng.choice(SUBJECTS)} ({i})"
        msg["Date"] = f"Tue, {1 + i % 28:02d} Mar 2026 09:{i % 60:02d}:00 +0300"
        msg["Message-ID"] = f"<bench-{i}@mop.gov.iq>"
        msg.set_content(BODY + f"Ref {i}\n")
        if i % 2:
            msg.add_alternative(f"<html><body><p>{BODY}</p><p>Ref {i}</p></body></html>", "html")
        if i % 3 == 0:
            pdf = pdfs[i % PDF_VARIANTS] + f"\n% copy {i}\n".encode()  # every PDF different
            msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"r{i}.pdf")
        data = msg.as_bytes()
        (folder / f"{i:05d}.eml").write_bytes(data)
        total += len(data)
    return total


def baseline(folder: Path, out: Path) -> float:
    parser = BytesParser(policy=policy.default)
    started = time.perf_counter()
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        msg = parser.parsebytes(data)
        fields = [str(msg[h]) for h in ("subject", "from", "date", "message-id")]
        body = msg.get_body(("plain", "html"))
        text = body.get_content() if body is not None else ""
        attached = [part.get_content() for part in msg.iter_attachments()]
        assert fields and isinstance(text, str) and isinstance(attached, list)
        (out / path.name).write_bytes(data)
    return time.perf_counter() - started


def baseline_compat32(folder: Path, out: Path) -> float:
    """The same with the legacy API (``policy.compat32``): headers left undecoded."""
    parser = BytesParser(policy=policy.compat32)
    started = time.perf_counter()
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        msg = parser.parsebytes(data)
        fields = [msg.get(h) for h in ("subject", "from", "date", "message-id")]
        parts = [p.get_payload(decode=True) for p in msg.walk() if not p.is_multipart()]
        assert fields and parts
        (out / path.name).write_bytes(data)
    return time.perf_counter() - started


def docarchive_run(folder: Path, root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with Archive.open(root) as archive:
        result = archive.ingest_mails([folder], actor="bench")
    elapsed = time.perf_counter() - started
    assert not result.quarantined, result.quarantined[:3]
    return elapsed, len(result.ingested)


def main(count: int = 5000) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    try:
        folder = work / "mail"
        folder.mkdir()
        size = generate(folder, count)
        print(f"{count} messages, {size / 1e6:.1f} MB, {count // 3 + 1} with a PDF attached")
        out = work / "baseline"
        out.mkdir()
        base = baseline(folder, out)
        legacy = baseline_compat32(folder, out)
        ours, ingested = docarchive_run(folder, work / "archive")
        assert ingested == count
        rows = [
            ("stdlib email, policy.default, + write", base),
            ("stdlib email, compat32 (undecoded), + write", legacy),
            ("docarchive ingest_mails (all of it)", ours),
        ]
        for label, seconds in rows:
            print(f"{label:45} {seconds:7.2f} s  {count / seconds:6.0f} messages/s")
        print(f"ratio docarchive / policy.default baseline: {base / ours:.2f}  (target >= 0.3)")
        print(f"ratio docarchive / compat32 baseline:       {legacy / ours:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
