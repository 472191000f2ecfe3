"""Regenerate the example mail in examples/data/mail/ (needs reportlab: pip install -e .[dev]).

    python examples/make_mail.py [FOLDER]

Two messages as a ministry mailbox holds them: a request from the deputy
minister's office (Arabic subject in RFC 2047, plain and HTML alternatives, a
PDF report and a CSV list attached) and the archive's reply to it (In-Reply-To
and References, so the two form a thread). The output is the same bytes every
time; the files are committed, so the demo and the tests do not need reportlab.

    docarchive ingest mail examples/data/mail
    docarchive search "الأرشفة"
"""

from __future__ import annotations

import sys
import tempfile
from email import policy
from email.message import EmailMessage
from pathlib import Path

from make_data import REPORT_LINES, text_pdf

HERE = Path(__file__).resolve().parent / "data" / "mail"
REQUEST_ID = "<20260310093000.4411@mop.gov.iq>"

PARTICIPANTS = """الاسم,الدائرة,الصفة
م. سعاد كاظم حسن,دائرة التخطيط,رئيس اللجنة
أ. علي جاسم محمد,قسم الأرشيف,عضو
Dr. Layla Hassan,UNDP Iraq,Adviser
"""


def _finish(msg: EmailMessage, tag: str) -> bytes:
    """Fixed MIME boundaries, so that the same message gives the same bytes."""
    parts = [msg]
    number = 0
    while parts:
        part = parts.pop(0)
        if part.is_multipart():
            number += 1
            part.set_boundary(f"=_docarchive-example-{tag}-{number}")
            parts.extend(p for p in part.iter_parts() if isinstance(p, EmailMessage))
    return msg.as_bytes(policy=policy.SMTP.clone(linesep="\n"))  # as on disk: LF


def request(report_pdf: bytes) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = "مكتب الوكيل الفني <deputy.office@mop.gov.iq>"
    msg["To"] = "أرشيف مكتب الوزير <archive@mop.gov.iq>"
    msg["Cc"] = "دائرة التخطيط <planning@mop.gov.iq>"
    msg["Subject"] = "طلب تزويدنا بقائمة أعضاء لجنة الأرشفة الإلكترونية وتقرير الإنفاق"
    msg["Date"] = "Tue, 10 Mar 2026 09:30:00 +0300"
    msg["Message-ID"] = REQUEST_ID
    msg.set_content(
        "السلام عليكم،\n"
        "يرجى تزويدنا بقائمة أعضاء لجنة الأرشفة الإلكترونية للمراسلات الرسمية، "
        "مع تقرير الإنفاق على مشاريع الموازنة الاستثمارية للربع الثالث.\n"
        "مع التقدير.\n"
        "مكتب الوكيل الفني\n"
    )
    msg.add_alternative(
        "<html dir='rtl'><head><style>p{font-family:Amiri}</style></head><body>"
        "<p>السلام عليكم،</p><p>يرجى تزويدنا بقائمة أعضاء <b>لجنة الأرشفة الإلكترونية</b> "
        "للمراسلات الرسمية، مع تقرير الإنفاق على مشاريع الموازنة الاستثمارية للربع الثالث.</p>"
        "<p>مع التقدير.</p></body></html>\n",
        subtype="html",
    )
    msg.add_attachment(
        report_pdf, maintype="application", subtype="pdf", filename="تقرير_الإنفاق.pdf"
    )
    msg.add_attachment(
        PARTICIPANTS.encode("utf-8"), maintype="text", subtype="csv", filename="أعضاء_اللجنة.csv"
    )
    return _finish(msg, "request")


def reply() -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = "أرشيف مكتب الوزير <archive@mop.gov.iq>"
    msg["To"] = "مكتب الوكيل الفني <deputy.office@mop.gov.iq>"
    msg["Subject"] = "رد: طلب تزويدنا بقائمة أعضاء لجنة الأرشفة الإلكترونية وتقرير الإنفاق"
    msg["Date"] = "Tue, 10 Mar 2026 13:15:00 +0300"
    msg["Message-ID"] = "<20260310131500.4412@mop.gov.iq>"
    msg["In-Reply-To"] = REQUEST_ID
    msg["References"] = REQUEST_ID
    msg.set_content(
        "تم استلام طلبكم وتسجيله في الأرشيف. ستُرسل القائمة المحدثة بعد اجتماع اللجنة "
        "يوم الأحد ١٥/٣/٢٠٢٦.\n"
    )
    return _finish(msg, "reply")


def main(folder: Path = HERE) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "report.pdf"
        text_pdf(pdf, REPORT_LINES)
        report = pdf.read_bytes()
    for name, data in (("request.eml", request(report)), ("reply.eml", reply())):
        (folder / name).write_bytes(data)
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
