"""Relevance, measured: a judged query set over the project's own letters and generated ones.

The archive holds the example circular (issued, rendered from its template), the
example scan (ingested from its PDF), a few hundred generated letters
(``bench/corpus.py``: realistic wording over a Zipf vocabulary) and the judged
letters below, each written one way while the queries write the same words
another: with and without ال/و/ب prefixes, plurals in ات/ون/ين, taa marbuta as
haa, hamza forms, harakat, tatweel, Arabic-Indic digits, presentation forms,
Kurdish keyboard letters, English inflections, reference numbers, senders and
dates. Every query lists the records it must return in its top 10.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backends import backend_archive
from corpus import Corpus

from docarchive import Archive
from docarchive.records import Classification, FileRef, Record

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
GENERATED = 300


def _letter(
    rid: str,
    subject: str,
    text: str,
    *,
    kind: str = "letter",
    sender: str = "مكتب الوزير",
    day: str = "2025-03-10",
    number: str | None = None,
    level: Classification = Classification.INTERNAL,
    files: tuple[str, ...] = (),
    office: str = "م.و",
) -> Record:
    meta: dict[str, Any] = {}
    if number:
        meta = {"seq": int(number.split("/")[2]), "period": day[:4], "office_code": office}
    return Record(
        id=rid,
        kind=kind,
        subject=subject,
        text=text,
        number=number,
        series=kind if number else None,
        sender=sender,
        recipients=["الدائرة الإدارية"],
        office=office,
        dates={"issued" if kind != "scan" else "received": f"{day}T10:00:00"},
        classification=level,
        files=[
            FileRef("attachment", f"{i:064x}", 10, "application/pdf", name)
            for i, name in enumerate(files)
        ],
        source="scan" if kind == "scan" else "issued",
        meta=meta,
    )


#: The judged letters: id -> record. Their wording is what the queries must reach.
JUDGED = [
    _letter(
        "hospital",
        "صيانة المولدات الكهربائية في المستشفيات",
        "تقرر إجراء الصيانة الدورية لمولدات مستشفى الكرامة والمستشفيات التابعة لدائرة الصحة.",
    ),
    _letter(
        "engineers",
        "تكليف المهندسين المقيمين",
        "يكلف المهندسون المقيمون بمتابعة أعمال المقاول في موقع المشروع وتقديم تقرير أسبوعي.",
    ),
    _letter(
        "meetings",
        "جدول الاجتماعات الدورية",
        "تعقد الاجتماعات الدورية للجنة التخطيط في قاعة الوزارة أول كل شهر.",
    ),
    _letter(
        "female-staff",
        "إجازات الموظفات",
        "تمنح الموظفات إجازة أمومة براتب تام وفق قانون الخدمة المدنية.",
    ),
    _letter(
        "budget-haa",
        "الموازنه الاستثماريه لعام ٢٠٢٥",
        "تم إعداد الموازنه الاستثماريه للمشاريع المستمره وارسالها الى وزارة الماليه.",
    ),
    _letter(
        "hamza",
        "آليات تنفيذ أعمال الإعمار",
        "إن آليات الإعمار المعتمدة تشمل أعمال إعادة تأهيل المدارس.",
    ),
    _letter(
        "harakat",
        "عَقْدُ المُتَعَاقِدِ الجَدِيدِ",
        "يُجَدَّدُ عَقْدُ المُتَعَاقِدِ لِمُدَّةِ سَنَةٍ وَاحِدَةٍ بَعْدَ مُوَافَقَةِ اللَّجْنَةِ.",
    ),
    _letter(
        "tatweel",
        "مطالبة الـمـقـاول بالـتـعـويـض",
        "قدم الـمـقـاول مـطـالـبـة بـالـتـعـويـض عن تأخر صرف السلف.",
    ),
    _letter(
        "digits",
        "كتاب المحافظة المرقم ٣٤١٢/م.و",
        "إشارة إلى كتابكم المرقم ٣٤١٢/م.و في ٢٠٢٥/٠٢/١٧ بخصوص تبليط طريق الحي الصناعي.",
        number="م.و/ك/17/2025",
    ),
    _letter(
        "ascii-ref",
        "الرد على الاستفسار 17/2026",
        "جواباً على استفساركم ذي العدد 17/2026 نعلمكم بأن ملف القطعة 452 قيد التدقيق.",
    ),
    _letter(
        "qaf-ref",
        "طلب نسخة من القرار ق/٤٥٢",
        "يرجى تزويدنا بنسخة مصدقة من القرار ق/٤٥٢ الخاص بتوزيع قطع الأراضي.",
    ),
    _letter(
        "presentation",
        "ﺗﻌﻤﻴﻢ ﺍﻟﺪﻭﺍﻡ ﺍﻟﺼﻴﻔﻲ",
        "ﻳﺒﺪﺃ ﺍﻟﺪﻭﺍﻡ ﺍﻟﺼﻴﻔﻲ ﻓﻲ ﺍﻟﺴﺎﻋﺔ ﺍﻟﺴﺎﺑﻌﺔ ﺻﺒﺎﺣﺎً",
        kind="scan",
    ),
    _letter(
        "kurdish",
        "کتاب وزیر التربیة",
        "وجه وزیر التربیة بتوزیع الکتب المدرسیة على المدارس قبل بدء العام الدراسی.",
    ),
    _letter(
        "english",
        "Inspection of the generators",
        "The committee inspected the generators and reported that two inspections failed.",
        kind="mail",
        sender="Ahmed Kareem <ahmed@example.iq>",
    ),
    _letter(
        "english-budget",
        "Quarterly budget review",
        "Budgeting for the archiving programme was reviewed; the reviewers approved it.",
        kind="mail",
        sender="Sara Jawad <sara@example.iq>",
    ),
    _letter(
        "sender-legal",
        "رأي قانوني في دعوى التعويض",
        "نرفق لكم الرأي القانوني في الدعوى المقامة ضد الوزارة.",
        sender="الدائرة القانونية",
        office="د.ق",
    ),
    _letter(
        "old-circular",
        "تعميم الدوام الشتوي",
        "يبدأ الدوام الشتوي في الساعة الثامنة والنصف صباحاً.",
        kind="circular",
        day="2019-11-03",
    ),
    _letter(
        "new-circular",
        "تعميم الدوام الشتوي الجديد",
        "يبدأ الدوام الشتوي في الساعة الثامنة صباحاً اعتباراً من الأسبوع القادم.",
        kind="circular",
        day="2024-11-05",
    ),
    _letter(
        "exact-phrase",
        "مستحقات المتقاعدين",
        "قررت اللجنة صرف مستحقات الموظفين المتقاعدين قبل نهاية السنة.",
    ),
    _letter(
        "stem-phrase",
        "صرف المستحقات",
        "تصرف مستحقات الموظفون المتقاعدون بعد تدقيق الملفات. والموظفون المتقاعدون كثيرون.",
    ),
    _letter(
        "with-wa",
        "والتوصيات النهائية",
        "وبالتوصيات النهائية للجنة وبالملاحظات المرفقة نعلمكم بالموافقة.",
    ),
    _letter(
        "attachment",
        "إرسال جداول الرواتب",
        "نرفق لكم جداول الرواتب للشهر الماضي.",
        files=("salaries_march.xlsx",),
    ),
    _letter(
        "secret",
        "خطة تأمين المنشآت النفطية",
        "خطة سرية لتأمين المنشآت النفطية في محافظة البصرة.",
        level=Classification.SECRET,
    ),
    _letter(
        "names",
        "ترشيح السيد علي حسين الموسوي",
        "نرشح السيد علي حسين الموسوي لعضوية لجنة المشتريات.",
    ),
]

# (query, search options, ids that must be in the top 10)
JUDGMENTS: list[tuple[str, dict[str, Any], set[str]]] = [
    # prefixes ال / و / ب / لل and none
    ("مستشفى", {}, {"hospital"}),
    ("المستشفيات", {}, {"hospital"}),
    ("بالمستشفى", {}, {"hospital"}),
    ("مولدات المستشفيات", {}, {"hospital"}),
    ("توصيات", {}, {"with-wa"}),
    ("التوصيات النهائية", {}, {"with-wa"}),
    ("ملاحظات", {}, {"with-wa"}),
    # sound plurals ات / ون / ين
    ("مهندس مقيم", {}, {"engineers"}),
    ("المهندسين", {}, {"engineers"}),
    ("اجتماع", {}, {"meetings"}),
    ("موظفة", {}, {"female-staff"}),
    ("إجازة الموظفات", {}, {"female-staff"}),
    # taa marbuta vs haa, both ways
    ("الموازنة الاستثمارية", {}, {"budget-haa"}),
    ("المستمرة", {}, {"budget-haa"}),
    ("المشاريع المستمرة الموازنة", {}, {"budget-haa"}),
    # hamza forms
    ("اليات الاعمار", {}, {"hamza"}),
    ("إعادة تأهيل", {}, {"hamza"}),
    ("اعاده تاهيل المدارس", {}, {"hamza"}),
    # diacritics, in the letter or in the query
    ("المتعاقد", {}, {"harakat"}),
    ("عقد المتعاقد", {}, {"harakat"}),
    ("مُوافَقة اللجنة", {}, {"harakat"}),
    # tatweel
    ("المقاول التعويض", {}, {"tatweel"}),
    ("مـطـالـبة", {}, {"tatweel"}),
    # Arabic-Indic and ASCII digits, reference numbers whole and by their digits
    ("3412/م.و", {}, {"digits"}),
    ("٣٤١٢", {}, {"digits"}),
    ("3412", {}, {"digits"}),
    ("2025/2/17", {}, {"digits"}),
    ("number:17/2025", {}, {"digits"}),
    ("17/2026", {}, {"ascii-ref"}),
    ("١٧/٢٠٢٦", {}, {"ascii-ref"}),
    ("ق/452", {}, {"qaf-ref"}),
    ("٤٥٢", {}, {"qaf-ref", "ascii-ref"}),
    # presentation forms in the letter, plain letters in the query (and the other way)
    ("الدوام الصيفي", {}, {"presentation"}),
    ("ﺍﻟﺼﻴﻔﻲ", {}, {"presentation"}),
    # Kurdish keyboard letters (ی ک) in the letter
    ("وزير التربية", {}, {"kurdish"}),
    ("الكتب المدرسية", {}, {"kurdish"}),
    # English stems
    ("inspection", {}, {"english"}),
    ("generator inspected", {}, {"english"}),
    ("budgets reviewing", {}, {"english-budget"}),
    ("approve", {}, {"english-budget"}),
    # senders: the filter (exact) and the field
    ("الرأي القانوني", {"sender": "الدائرة القانونية"}, {"sender-legal"}),
    ("sender:القانونية AND تعويض", {}, {"sender-legal"}),
    ("from:Ahmed", {}, {"english"}),
    ("تعويض", {"office": "د.ق"}, {"sender-legal"}),
    # dates: filters and the query language
    ("الدوام الشتوي", {"date_to": "2020-12-31"}, {"old-circular"}),
    ("الدوام الشتوي", {"date_from": "2024-01-01", "date_to": "2024-12-31"}, {"new-circular"}),
    ("الدوام الشتوي", {"sort": "newest"}, {"new-circular", "old-circular"}),
    ("issued:2019 AND الدوام", {}, {"old-circular"}),
    ("الدوام الشتوي", {"kind": "circular"}, {"old-circular", "new-circular"}),
    # phrases, boolean operators, fields, wildcards
    ('"الموظفين المتقاعدين"', {}, {"exact-phrase", "stem-phrase"}),
    ('exact:"الموظفين المتقاعدين"', {}, {"exact-phrase"}),
    ("subject:الرواتب", {}, {"attachment"}),
    ("attachments:salaries", {}, {"attachment"}),
    ("جداول AND الرواتب", {}, {"attachment"}),
    ("المشتريات OR الرواتب", {}, {"names", "attachment"}),
    ("علي حسين الموسوي", {}, {"names"}),
    ("تبليط*", {}, {"digits"}),
    ("مستشف*", {}, {"hospital"}),
    # the project's own letters: the example circular and the example scan
    ("الأرشفة الإلكترونية", {}, {"circular"}),
    ("الارشفه الالكترونيه", {}, {"circular"}),
    ("والمراسلات", {}, {"circular"}),
    ("٣٤١٢/م.و", {}, {"circular", "digits"}),
    ("expenditure", {}, {"scan"}),
    ("expenditures quarter", {}, {"scan"}),
    ("rehabilitation Basra", {}, {"scan"}),
]


#: Every index backend; PostgreSQL's keeps the index in the catalog's database (a real
#: server, started once per session).
BACKENDS = ["tantivy", "whoosh", "postgresql"]


@pytest.fixture(scope="module", params=BACKENDS)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Archive, dict[str, str]]]:
    with backend_archive(request, tmp_path_factory, "relevance") as arc:
        yield arc, fill(arc)


def open_archive(root: Path, index: str | None = None, **options: Any) -> Archive:
    return Archive.open(root, issue_pdf=False, index=index, **options)


def fill(arc: Archive) -> dict[str, str]:
    """Put the judged letters, the generated ones and the project's own into ``arc``."""
    data = json.loads((EXAMPLES / "circular.json").read_text("utf-8"))
    own = {
        "circular": arc.issue("circular", data).id,
        "scan": arc.ingest_scan(EXAMPLES / "scans" / "monthly_report.pdf").id,
    }
    with arc.catalog.transaction("relevance-test") as tx:
        for record in Corpus(seed=42).records(GENERATED):
            tx.add_record(record)
        for record in JUDGED:
            tx.add_record(record)
    arc.catch_up()
    return own


def _ids(archive: Archive, own: dict[str, str], query: str, **options: Any) -> list[str]:
    back = {v: k for k, v in own.items()}
    options.setdefault("clearance", "top-secret")
    found = archive.search(query, **options)
    return [back.get(h.record.id, h.record.id) for h in found.hits]


def test_the_judged_set_is_large_enough() -> None:
    assert len(JUDGMENTS) >= 40
    assert len({q for q, _, _ in JUDGMENTS}) >= 40


@pytest.mark.parametrize(("query", "options", "expected"), JUDGMENTS, ids=[j[0] for j in JUDGMENTS])
def test_judged_query_finds_its_records_in_the_top_10(
    archive: tuple[Archive, dict[str, str]], query: str, options: dict[str, Any], expected: set[str]
) -> None:
    arc, own = archive
    top = _ids(arc, own, query, **options)
    assert expected <= set(top), f"{query!r} {options}: top 10 = {top}"


def test_exact_phrase_ranks_above_stem_match(archive: tuple[Archive, dict[str, str]]) -> None:
    arc, own = archive
    # stem-phrase holds the phrase (stemmed) twice, exact-phrase once but as written
    top = _ids(arc, own, '"الموظفين المتقاعدين"')
    assert top.index("exact-phrase") < top.index("stem-phrase")
    top = _ids(arc, own, '"الموظفون المتقاعدون"')
    assert top.index("stem-phrase") < top.index("exact-phrase")


def test_exact_field_keeps_only_the_exact_form(archive: tuple[Archive, dict[str, str]]) -> None:
    arc, own = archive
    assert "stem-phrase" not in _ids(arc, own, 'exact:"الموظفين المتقاعدين"')
    assert _ids(arc, own, "exact:المتقاعدين") == ["exact-phrase"]


def test_filters_exclude_what_they_should(archive: tuple[Archive, dict[str, str]]) -> None:
    arc, own = archive
    assert "new-circular" not in _ids(arc, own, "الدوام الشتوي", date_to="2020-12-31")
    assert "old-circular" not in _ids(arc, own, "الدوام الشتوي", date_from="2024-01-01")
    newest = _ids(arc, own, "الدوام الشتوي", sort="newest", kind="circular")
    assert newest.index("new-circular") < newest.index("old-circular")
    assert "attachment" not in _ids(arc, own, "الرواتب NOT جداول")


def test_clearance_applies_to_judged_records(archive: tuple[Archive, dict[str, str]]) -> None:
    arc, own = archive
    assert "secret" in _ids(arc, own, "المنشآت النفطية", clearance="secret")
    found = arc.search("المنشآت النفطية", clearance="confidential")
    assert "secret" not in {h.record.id for h in found.hits}
    everything = arc.search("المنشآت النفطية", clearance="top-secret")
    assert found.total < everything.total
