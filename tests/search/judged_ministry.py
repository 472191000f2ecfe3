"""The judged ministry set: letters written the way Iraqi ministry offices write them, and
queries written the way their staff search, each with the records it must bring back.

Data only: :mod:`test_relevance_ministry` runs it on every index backend and
``bench/bench_relevance.py`` measures it (recall and precision at 3, before and after the
lexicon). Issue 18, "Search that knows Arabic words".

Every judgment is ``Judgment(query, options, must, must_not, category)``:

- ``must``: the records a ministry user expects at the top: all of them in the top 3 (in
  the top ``len(must)`` when there are more than 3);
- ``must_not``: records that share a light stem, a surface form or a proclitic-looking
  first letter with the query but not its meaning (``بشكل تام`` for ``تأمين``, ``بعقوبة``
  for ``عقوبة``, ``police`` for ``policy``): none of them may be on the first page of hits
  (the top 10, what the user sees);
- ``category``: what the query tests (:data:`CATEGORIES`).

The letters' senders and recipients are indexed with their text, so every letter goes to
the same neutral office (:data:`RECIPIENT`); no query asks for its words.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from test_relevance import _letter

from docarchive.records import Record

__all__ = ["CATEGORIES", "JUDGMENTS", "LETTERS", "RECIPIENT", "Judgment"]

#: What a judgment tests:
#: ``plural``: broken plurals (and irregular ones), singular query -> plural text and back;
#: ``proclitic``: و ب ك ف ل attached to a word without ال (لتأمين, بتوجيه, وبكتاب, للجان);
#: ``no-cut``: words whose letters look like a proclitic or a suffix but belong to the
#: word (تأمين is not تام, بعقوبة is not عقوبة, لبنان is not لبن), and must not match
#: the word that cutting them gives;
#: ``variant``: hamza forms (هيأة/هيئة, مسؤول/مسئول), taa marbuta as haa, alef maksura,
#: harakat, tatweel, Kurdish keyboard letters, مائة/مئة;
#: ``number``: reference numbers, Arabic-Indic and Eastern digits, amounts, dates;
#: ``english``: English inflections and look-alike stems (policy/police).
CATEGORIES = ("plural", "proclitic", "no-cut", "variant", "number", "english")

#: Every judged letter is addressed here (indexed with the letter; no query uses its words).
RECIPIENT = "مكتب الوكيل الفني"


def _judged(rid: str, subject: str, text: str, **options: Any) -> Record:
    """A letter built like test_relevance's, sent to :data:`RECIPIENT`."""
    return dataclasses.replace(_letter(rid, subject, text, **options), recipients=[RECIPIENT])


def _mail(rid: str, subject: str, text: str, sender: str) -> Record:
    return _judged(rid, subject, text, kind="mail", sender=sender)


LETTERS: list[Record] = [
    # --- broken plurals: the plural in the letter ------------------------------------------
    _judged(
        "stalled-projects",
        "متابعة المشاريع المتلكئة",
        "إلى/ الدوائر والأقسام كافة في ديوان الوزارة والمحافظات\n"
        "م/ المشاريع المتلكئة\n"
        "بالنظر لتأخر إنجاز عدد من المشاريع المتلكئة المدرجة ضمن الخطة الاستثمارية لعام "
        "٢٠٢٥، يرجى تزويدنا بنسب الإنجاز الفعلية وأسباب التلكؤ والإجراءات المتخذة بحق "
        "الشركات المنفذة خلال مدة أقصاها عشرة أيام من تاريخه.",
    ),
    _judged(
        "inventory-committees",
        "تشكيل لجان الجرد السنوي",
        "استناداً إلى تعليمات تنفيذ الموازنة العامة الاتحادية، تقرر تشكيل لجان الجرد السنوي "
        "في المخازن الرئيسية والفرعية لجرد المواد المخزنية والموجودات الثابتة كما في "
        "٢٠٢٥/١٢/٣١، وتقديم محاضر الجرد موقعة من الأعضاء كافة.",
        kind="decision",
    ),
    _judged(
        "all-directorates",
        "ترشيد استهلاك الوقود",
        "إلى/ الدوائر كافة\nم/ ترشيد استهلاك الوقود\n"
        "نظراً لارتفاع كلف الوقود المجهز للمولدات والعجلات الحكومية، يرجى الالتزام بالحصص "
        "المقررة وعدم صرف أي كمية إضافية إلا بموافقة مسبقة من السيد المعاون الإداري.",
        kind="circular",
    ),
    _judged(
        "admin-sections",
        "إعادة هيكلة الأقسام الإدارية",
        "تقرر دمج الأقسام الإدارية في مديرية الموارد البشرية وتوزيع الشعب التابعة لها وفق "
        "الهيكل التنظيمي الجديد، ونقل الموظفين إلى مواقع عملهم الجديدة اعتباراً من "
        "٢٠٢٦/٤/١.",
        kind="decision",
    ),
    _judged(
        "thanks-books",
        "منح كتب الشكر والتقدير",
        "تقرر منح كتب شكر وتقدير للموظفين المتميزين في قسم الحسابات لجهودهم في إنجاز "
        "الحسابات الختامية قبل الموعد المحدد، وتحتسب لأغراض الترفيع والعلاوة السنوية.",
        kind="decision",
    ),
    _judged(
        "monthly-reports",
        "التقارير الشهرية عن نسب الإنجاز",
        "يرجى من مديري المشاريع إرسال التقارير الشهرية عن نسب الإنجاز المادي والمالي إلى "
        "قسم التخطيط والمتابعة في موعد أقصاه الخامس من كل شهر، مع الصور الفوتوغرافية "
        "للمواقع.",
        kind="circular",
    ),
    _judged(
        "schools",
        "صيانة المدارس الابتدائية",
        "تقرر إدراج صيانة المدارس الابتدائية في مناطق الرصافة الأولى والثانية ضمن خطة "
        "الصيانة الصيفية، على أن تنجز الأعمال قبل بدء العام الدراسي الجديد.",
    ),
    _judged(
        "documents",
        "إتلاف الوثائق المنتهية المدة",
        "تقرر تشكيل لجنة لإتلاف الوثائق والسجلات التي انتهت مدة الاحتفاظ بها وفق نظام "
        "الحفظ، بعد تصويرها ضوئياً وحفظ نسخها في منظومة الأرشفة الإلكترونية.",
        kind="decision",
    ),
    _judged(
        "refunds",
        "استرداد المبالغ المصروفة خلافاً للضوابط",
        "بناءً على تقرير ديوان الرقابة المالية الاتحادي، يرجى استرداد المبالغ المصروفة "
        "خلافاً للضوابط إلى عدد من المنتسبين وقيدها إيراداً نهائياً لخزينة الدولة.",
    ),
    _judged(
        "computers",
        "إحالة تجهيز أجهزة الحاسوب",
        "تمت إحالة تجهيز أجهزة الحاسوب والطابعات الليزرية لقسم الأرشفة إلى شركة بابل "
        "للتجارة العامة، بمبلغ إجمالي قدره (٤٥٠٠٠٠٠٠) خمسة وأربعون مليون دينار عراقي.",
        kind="assignment",
    ),
    _judged(
        "gov-contracts",
        "مراجعة العقود الحكومية",
        "تتولى اللجنة مراجعة العقود الحكومية المبرمة خلال عام ٢٠٢٥ والتحقق من مطابقة "
        "شروطها لتعليمات تنفيذ العقود الحكومية رقم (٢) لسنة ٢٠١٤.",
        kind="decision",
    ),
    _judged(
        "arab-ministers",
        "اجتماع التخطيط العربي في عمان",
        "يشارك السيد الوزير في الاجتماع الدوري لوزراء التخطيط العرب المنعقد في عمان "
        "للفترة من ١٠ إلى ١٢ آذار ٢٠٢٦، ويرافقه مدير عام العلاقات الاقتصادية.",
    ),
    _judged(
        "daily-workers",
        "تثبيت العمال بأجر يومي",
        "يرجى تزويدنا بأسماء العمال بأجر يومي المستمرين بالخدمة في دوائركم ممن أمضوا ثلاث "
        "سنوات فأكثر لغرض شمولهم بقرار التثبيت على الملاك الدائم.",
    ),
    _judged(
        "purchasing-members",
        "استبدال أحد أعضاء لجنة المشتريات",
        "تقرر استبدال أحد أعضاء لجنة المشتريات المركزية بسبب إحالته على التقاعد، وتسمية "
        "السيدة بنان كاظم جواد عضواً بدلاً عنه.",
        kind="decision",
    ),
    _judged(
        "archive-tasks",
        "توزيع المهام على منتسبي قسم الأرشفة",
        "تقرر توزيع المهام على منتسبي قسم الأرشفة وفق الجدول المرفق، ويتولى كل منتسب "
        "فهرسة الكتب الواردة وتصويرها وإدخالها في المنظومة يومياً.",
    ),
    _judged(
        "medicine-store",
        "حريق محدود في دائرة صحة الكرخ",
        "نعلمكم بنشوب حريق محدود في مخزن الأدوية التابع لدائرة صحة الكرخ فجر يوم "
        "٢٠٢٦/٢/١٤، وقد تمت السيطرة عليه من قبل فرق الدفاع المدني دون خسائر بشرية.",
    ),
    _judged(
        "energy",
        "ترشيد استهلاك الطاقة الكهربائية",
        "حرصاً على ترشيد استهلاك الطاقة الكهربائية، يرجى إطفاء أجهزة التكييف والإنارة في "
        "الغرف غير المشغولة بعد انتهاء الدوام الرسمي.",
        kind="circular",
    ),
    _judged(
        "population",
        "التعداد العام للسكان والمساكن",
        "تستعد الوزارة لإجراء التعداد العام للسكان والمساكن في المحافظات، ويتطلب ذلك "
        "تفريغ عدد من المنتسبين للعمل عدادين ميدانيين لمدة شهرين.",
    ),
    _judged(
        "pavement",
        "إزالة التجاوزات في ساحة الميدان",
        "بالإشارة إلى كتاب أمانة بغداد، تقرر إزالة التجاوزات على الأرصفة في ساحة الميدان "
        "ومنطقة الشورجة بالتعاون مع الجهات الأمنية.",
    ),
    # --- broken plurals: the singular in the letter ----------------------------------------
    _judged(
        "water-project",
        "إحالة تأهيل محطة ماء الوحدة",
        "نرفق لكم نسخة من كتاب إحالة مشروع تأهيل محطة ماء الوحدة في قضاء المحاويل إلى "
        "شركة الفرات العامة، على أن يباشر المقاول العمل خلال أسبوعين من تاريخ توقيع العقد.",
        kind="assignment",
    ),
    _judged(
        "tender-committee",
        "تشكيل لجنة فتح العطاءات",
        "تقرر تشكيل لجنة فتح العطاءات الخاصة بالمناقصة العامة لتجهيز الوزارة بالمولدات "
        "الكهربائية برئاسة مدير العقود وعضوية ممثل عن الدائرة القانونية وممثل عن التدقيق.",
        kind="decision",
    ),
    _judged(
        "inquiry-report",
        "نتائج التحقيق الإداري",
        "نرفق لكم تقرير لجنة التحقيق الإداري المشكلة بموجب الأمر الوزاري ذي العدد ٤٤١٩ في "
        "٢٠٢٦/٢/٣ بخصوص فقدان ملف المناقصة، وقد أوصت اللجنة بفرض عقوبة لفت النظر على "
        "الموظف المقصر.",
    ),
    _judged(
        "karkh-school",
        "ترميم مدرسة المتميزين في الكرخ",
        "تم الكشف على بناية مدرسة المتميزين في الكرخ من قبل المهندس المقيم، وتبين وجود "
        "تشققات في السقف تستوجب الترميم العاجل.",
    ),
    _judged(
        "graduation-document",
        "تصديق وثيقة تخرج",
        "يرجى تصديق وثيقة التخرج الصادرة من جامعة بغداد للموظف المذكور أعلاه لغرض إكمال "
        "إجراءات تعيينه على الملاك الدائم.",
    ),
    _judged(
        "generator-contract",
        "تمديد عقد تشغيل المولدات",
        "تقرر تمديد عقد تشغيل وصيانة المولدات الأهلية في مجمع الوزارة لمدة ستة أشهر أخرى "
        "بالشروط والأسعار نفسها.",
        kind="decision",
    ),
    _judged(
        "liaison-officer",
        "تسمية ضابط ارتباط",
        "نسمي السيد الرائد حسن عبد الكريم ضابط ارتباط بين الوزارة وقيادة عمليات العاصمة "
        "لتنسيق الإجراءات الأمنية الخاصة بحماية المنشآت الحكومية.",
    ),
    _judged(
        "database",
        "قاعدة بيانات المنتسبين",
        "تقرر تكوين قاعدة بيانات موحدة للمنتسبين تتضمن المؤهل العلمي وتاريخ التعيين "
        "ومكان العمل وعنوان السكن ورقم الهاتف.",
    ),
    _judged(
        "technical-offer",
        "تقييم العرض الفني",
        "تبين للجنة أن العرض الفني المقدم من الشركة يتضمن ميزة إضافية تتمثل في تدريب "
        "الكادر مجاناً لمدة شهر بعد التنصيب.",
    ),
    # --- proclitics without ال ---------------------------------------------------------------
    _judged(
        "entrances",
        "خطة حماية مبنى الوزارة",
        "تعد خطة لتأمين المداخل الرئيسية والفرعية لمبنى الوزارة خلال أيام الدوام الرسمي، "
        "وتكلف شركة الحماية بتفتيش العجلات الداخلة إلى المرآب.",
    ),
    _judged(
        "directive",
        "الحضور في أيام العطل الرسمية",
        "بتوجيه من السيد الوزير، يلتزم مديرو الدوائر بتأمين الحضور في أيام العطل الرسمية "
        "بنسبة لا تقل عن عشرة بالمائة من المنتسبين لإنجاز المعاملات العاجلة.",
        kind="circular",
    ),
    _judged(
        "pilot",
        "اعتماد الأرشفة الإلكترونية في الموارد البشرية",
        "تقرر اعتماد منظومة الأرشفة الإلكترونية كمشروع تجريبي في قسم الموارد البشرية لمدة "
        "ثلاثة أشهر، يعمم بعدها على الأقسام الأخرى في حال نجاحه.",
        kind="decision",
    ),
    _judged(
        "rewards",
        "صرف مكافأة مالية",
        "تقرر صرف مكافأة مالية لأعضاء لجنة التحليل ولجنة المشتريات المركزية وللجان الفحص "
        "والاستلام عن الأعمال المنجزة خارج أوقات الدوام الرسمي.",
        kind="decision",
    ),
    _judged(
        "advances",
        "تسوية السلف المصروفة",
        "وبكتاب وزارة المالية/ دائرة الموازنة المرقم ١٢٠٤ في ٢٠٢٦/١/٢٠ تقرر تسوية السلف "
        "المصروفة للمنتسبين قبل نهاية السنة المالية، وعدم صرف سلف جديدة قبل تسوية القديمة.",
    ),
    _judged(
        "grievance",
        "الرد على التظلم",
        "نود إعلامكم بأن التظلم المقدم من الموظف المذكور قد رد، فالقرار الصادر بنقله إلى "
        "دائرة صحة ميسان مستند إلى حاجة الخدمة.",
    ),
    _judged(
        "nasiriya-sewers",
        "التخصيصات المالية لعام ٢٠٢٦ - مجاري الناصرية",
        "تم إدراج مبلغ (١٢٥٠٠٠٠٠٠٠) مليار ومائتان وخمسون مليون دينار ضمن التخصيصات "
        "المالية لمشروع مجاري مدينة الناصرية للسنة المالية ٢٠٢٦.",
    ),
    _judged(
        "service-transfer",
        "طلب نقل خدمات",
        "يرجى رفع الطلب لمدير عام دائرة الموارد البشرية مشفوعاً بموافقة الجهة المنسوب "
        "منها والمنسوب إليها لغرض استكمال نقل الخدمات.",
    ),
    _judged(
        "investment-conference",
        "المشاركة في مؤتمر الاستثمار",
        "يرجى ترشيح اثنين من ذوي الخبرة للمشاركة في مؤتمر الاستثمار الثالث المنعقد ببغداد "
        "يومي ٢٠ و٢١ نيسان ٢٠٢٦، وإرسال أسمائهم إلى قسم العلاقات العامة.",
    ),
    _judged(
        "fingerprint",
        "تعميم بشأن البصمة الإلكترونية",
        "يُلْزَمُ المُوَظَّفُونَ كَافَّةً بِتَسْجِيلِ الحُضُورِ وَالانْصِرَافِ بِالبَصْمَةِ "
        "الإِلِكْتُرُونِيَّةِ اعْتِبَارًا مِنْ بِدَايَةِ الشَّهْرِ القَادِمِ.",
        kind="circular",
    ),
    # --- words that must stay whole, and the words cutting them would give ----------------
    _judged(
        "works-done",
        "استلام أعمال صيانة المداخل",
        "تم إنجاز أعمال صيانة المداخل الرئيسية لمبنى الوزارة بشكل تام، وتسلمت لجنة "
        "الاستلام الأعمال دون ملاحظات.",
    ),
    _judged(
        "car-insurance",
        "تجديد وثيقة التأمين على العجلات",
        "يرجى تجديد وثيقة التأمين الشامل على العجلات الحكومية لدى شركة التأمين الوطنية "
        "لسنة ٢٠٢٦ وتسديد القسط من تخصيصات الدائرة.",
    ),
    _judged(
        "contractor-delay",
        "إنذار المقاول",
        "نظراً لكون المقاول قد تأخر في المباشرة بالعمل، يرجى إنذاره رسمياً على أن تكون "
        "المدة الممنوحة له خمسة عشر يوماً.",
    ),
    _judged(
        "lebanon",
        "تسهيل سفر الوفد العراقي إلى لبنان",
        "يرجى مفاتحة سفارة جمهورية العراق في بيروت لتسهيل إجراءات سفر الوفد العراقي المشارك "
        "في معرض إعادة الإعمار المقام في لبنان خلال شهر نيسان ٢٠٢٦.",
    ),
    _judged(
        "dairy",
        "تجهيز مادة اللبن للأقسام الداخلية",
        "تقرر تجهيز الأقسام الداخلية للطلبة بمادة اللبن والحليب المعقم يومياً من معامل "
        "الشركة العامة للمنتجات الغذائية.",
    ),
    _judged(
        "baquba",
        "افتتاح فرع مصرف الرافدين في بعقوبة",
        "نعلمكم بافتتاح فرع مصرف الرافدين في مدينة بعقوبة مركز محافظة ديالى لتوطين رواتب "
        "موظفي الدوائر الحكومية في المحافظة.",
    ),
    _judged(
        "discipline",
        "فرض عقوبة الإنذار",
        "تقرر فرض عقوبة الإنذار بحق الموظف المذكور لتكرار غيابه عن الدوام الرسمي دون إذن "
        "مسبق، استناداً إلى قانون انضباط موظفي الدولة والقطاع العام رقم (١٤) لسنة ١٩٩١.",
        kind="decision",
    ),
    _judged(
        "ration-card",
        "تحديث بيانات البطاقة التموينية",
        "يرجى من المنتسبين كافة تحديث بيانات بطاقة السكن والبطاقة التموينية لدى شعبة "
        "الذاتية لغرض تدقيق استحقاق المخصصات.",
        kind="circular",
    ),
    _judged(
        "guarantee",
        "تمديد خطاب الضمان",
        "يرجى تمديد خطاب ضمان حسن التنفيذ المقدم من شركة دجلة للمقاولات العامة لمدة تسعين "
        "يوماً لحين إكمال الأعمال المتبقية.",
    ),
    _judged(
        "merger",
        "ضم شعبة الإحصاء",
        "تقرر ضم شعبة الإحصاء إلى قسم التخطيط والمتابعة ونقل منتسبيها وموجوداتها إليه.",
        kind="decision",
    ),
    _judged(
        "trial-balance",
        "ميزان المراجعة لشهر كانون الثاني",
        "نرفق لكم ميزان المراجعة الشهري لحسابات الدائرة لشهر كانون الثاني ٢٠٢٦ مصادقاً "
        "عليه من قبل مدير الحسابات.",
    ),
    _judged(
        "railway",
        "نقل المواد الإنشائية",
        "يرجى التنسيق مع الشركة العامة للسكك الحديد العراقية لنقل المواد الإنشائية من "
        "ميناء أم قصر بقطارات السكة إلى المخازن المركزية.",
    ),
    _judged(
        "civil-aviation",
        "إذن الهبوط لطائرة الوفد",
        "يرجى مفاتحة سلطة الطيران المدني بشأن منح إذن الهبوط لطائرة الوفد الرسمي القادم "
        "إلى المطار الدولي.",
    ),
    _judged(
        "promotion-sultan",
        "ترفيع الموظف سلطان عبد الرزاق",
        "تقرر ترفيع الموظف سلطان عبد الرزاق مهدي إلى الدرجة الخامسة اعتباراً من تاريخ استحقاقه.",
        kind="decision",
    ),
    _judged(
        "nomination-kamal",
        "ترشيح السيد كمال حميد عباس",
        "نرشح السيد كمال حميد عباس لمنصب معاون مدير عام دائرة الاستثمار لما يتمتع به من "
        "خبرة طويلة.",
    ),
    _judged(
        "public-money",
        "الحفاظ على المال العام",
        "يتحمل مديرو الوحدات مسؤولية الحفاظ على المال العام ومنع الهدر في النفقات التشغيلية.",
        kind="circular",
    ),
    _judged(
        "notary",
        "وكالة مصدقة من كاتب العدل",
        "يرجى جلب وكالة عامة مصدقة من كاتب العدل في الكرخ لإكمال معاملة بيع العقار المسجل "
        "باسم الدائرة.",
    ),
    # --- hamza, taa marbuta, harakat, Kurdish letters ----------------------------------------
    _judged(
        "integrity",
        "طلب هيأة النزاهة الاتحادية",
        "إشارة إلى كتاب هيأة النزاهة الاتحادية/ دائرة التحقيقات، يرجى تزويدها بنسخ مصدقة من "
        "أوليات المناقصة رقم (٩) لسنة ٢٠٢٥ خلال ثلاثة أيام.",
    ),
    _judged(
        "martyrs",
        "التعاون مع مؤسسه الشهداء",
        "نرجو التعاون مع مؤسسه الشهداء في تعيين ذوي الشهداء وفق النسب المقرره قانوناً، "
        "وارسال قوائم المتقدمين الى مكتبنا.",
    ),
    _judged(
        "outgoing-registry",
        "تسمية مسئول الصادرة",
        "نسمي السيد كريم داود سلمان مسئولاً عن شعبة الصادرة والواردة اعتباراً من تاريخه، "
        "ويكون مسئولاً عن ترقيم الكتاب الصادر وحفظ نسخته.",
    ),
    _judged(
        "citizens",
        "شئون المواطنين",
        "تستقبل شعبة شئون المواطنين طلبات المراجعين يومياً من الساعة التاسعة صباحاً حتى "
        "الثانية عشرة ظهراً.",
    ),
    _judged(
        "overpass",
        "المباشرة بانشاء مجسر الجادرية",
        "تمت المباشرة باعمال انشاء مجسر تقاطع الجادرية بكلفة اجمالية قدرها (٨٧٠٠٠٠٠٠٠٠) "
        "دينار، على ان تنجز خلال سنتين.",
    ),
    _judged(
        "kirkuk-grid",
        "صیانة شبکة الکهرباء فی کرکوک",
        "یرجی إکمال صیانة شبکة الکهرباء فی حی الواسطي بمحافظة کرکوک قبل حلول فصل الصیف، "
        "وذلك وفق کتابنا المؤرخ فی ۲۰۲۶/۳/۵.",
    ),
    # --- numbers ---------------------------------------------------------------------------
    _judged(
        "ref-5618",
        "متابعة تبليط الطرق الفرعية",
        "إشارة إلى كتابنا المرقم ٥٦١٨/م.و في ٢٠٢٦/١/١٢، نؤكد ضرورة إكمال تبليط الطرق "
        "الفرعية في ناحية الراشدية قبل موسم الأمطار.",
    ),
    _judged(
        "ref-3412",
        "تخصيص قطعة أرض",
        "جواباً على كتابكم المرقم ٣٤١٢/م.و في ٢٠٢٦/٢/١٧ بخصوص تخصيص قطعة أرض لبناء مدرسة، "
        "نعلمكم بموافقة الوزارة على التخصيص.",
    ),
    _judged(
        "plot-34120",
        "تمليك قطعة سكنية",
        "تقرر تمليك القطعة المرقمة ٣٤١٢٠ مقاطعة ١٥ الكرادة الشرقية إلى جمعية الإسكان "
        "التعاونية للمنتسبين.",
        kind="decision",
    ),
    _judged(
        "tender-2026",
        "إعلان المناقصة العامة رقم ١٧/٢٠٢٦",
        "تعلن الوزارة عن المناقصة العامة المرقمة ١٧/٢٠٢٦ لتجهيز منظومة الطاقة الشمسية "
        "لمبنى الوزارة، وتباع وثائق المناقصة بمبلغ (١٥٠٠٠٠) مائة وخمسون ألف دينار غير "
        "قابل للرد.",
        kind="circular",
    ),
    _judged(
        "tender-2025",
        "إلغاء المناقصة رقم ١٧/٢٠٢٥",
        "تقرر إلغاء المناقصة العامة المرقمة ١٧/٢٠٢٥ الخاصة بتجهيز الأثاث المكتبي لعدم "
        "تقديم عطاءات مستوفية للشروط، وإعادة إعلانها لاحقاً.",
        kind="decision",
    ),
    _judged(
        "salaries-amount",
        "تمويل رواتب شهر آذار",
        "تم تحويل مبلغ قدره ٣٬٢٥٠٬٠٠٠٬٠٠٠ دينار لتمويل رواتب المنتسبين لشهر آذار ٢٠٢٦ "
        "بموجب الصك المرقم ٧٧٠٣٤.",
    ),
    # --- English ---------------------------------------------------------------------------
    _mail(
        "en-tenders",
        "Evaluation of tenders for solar panels",
        "The evaluation committee opened the tenders submitted for the supply of solar panels "
        "and recommended awarding the contract to the lowest compliant bidder.",
        "Hassan Ali <hassan.ali@planning.gov.iq>",
    ),
    _mail(
        "en-committees",
        "Committees of the reconstruction fund",
        "The ministry formed two committees to oversee disbursements from the reconstruction "
        "fund; each committee reports monthly to the deputy minister.",
        "Noor Saad <noor.saad@planning.gov.iq>",
    ),
    _mail(
        "en-policy",
        "Data protection policy",
        "The new data protection policy applies to all scanned correspondence; staff must not "
        "share personal records outside the archive.",
        "Records Section <records@planning.gov.iq>",
    ),
    _mail(
        "en-police",
        "Security coordination for the delegation",
        "The police directorate in Basra asked for the list of visitors forty-eight hours "
        "before the delegation arrives.",
        "Protocol Office <protocol@planning.gov.iq>",
    ),
    _mail(
        "en-ports",
        "Shipment of transformers",
        "The General Company for Ports of Iraq confirmed that the transformers were shipped "
        "from Umm Qasr on the third of March.",
        "Logistics <logistics@planning.gov.iq>",
    ),
    _mail(
        "en-donors",
        "Thanks to the donors",
        "We thank the donors for their generous contribution to the school rehabilitation "
        "programme in Mosul.",
        "Partnerships <partners@planning.gov.iq>",
    ),
    _mail(
        "en-inspections",
        "Inspection of water treatment plants",
        "Engineers inspected three water treatment plants in Babylon and found the chlorine "
        "dosing pumps out of order.",
        "Water Directorate <water@planning.gov.iq>",
    ),
]


class Judgment(NamedTuple):
    """One judged query: see the module's docstring."""

    query: str
    options: dict[str, Any]
    must: frozenset[str]
    must_not: frozenset[str]
    category: str


def _j(category: str, query: str, must: str, must_not: str = "", **options: Any) -> Judgment:
    """A judgment; ``must`` and ``must_not`` are record ids separated by spaces."""
    return Judgment(query, options, frozenset(must.split()), frozenset(must_not.split()), category)


_P, _C, _N, _V, _D, _E = CATEGORIES

JUDGMENTS: list[Judgment] = [
    # --- broken plurals: singular query, plural letter ------------------------------------
    _j(_P, "مشروع متلكئ", "stalled-projects"),
    _j(_P, "المشروع المتلكئ", "stalled-projects"),
    _j(_P, "أسباب تلكؤ المشروع", "stalled-projects"),
    _j(_P, "لجنة الجرد السنوي", "inventory-committees"),
    _j(_P, "لجنة جرد", "inventory-committees"),
    _j(_P, "جرد المخزن الرئيسي", "inventory-committees"),
    _j(_P, "مادة مخزنية", "inventory-committees"),
    _j(_P, "محضر الجرد", "inventory-committees"),
    _j(_P, "عضو لجنة الجرد", "inventory-committees"),
    _j(_P, "دائرة ترشيد الوقود", "all-directorates"),
    _j(_P, "كلفة الوقود", "all-directorates"),
    _j(_P, "قسم إداري", "admin-sections"),
    _j(_P, "دمج القسم الإداري", "admin-sections"),
    _j(_P, "نقل الموظف موقع جديد", "admin-sections"),
    _j(_P, "شعبة تابعة للموارد البشرية", "admin-sections"),
    _j(_P, "كتاب شكر وتقدير", "thanks-books"),
    _j(_P, "كتاب شكر للموظفين المتميزين", "thanks-books"),
    _j(_P, "تقرير شهري", "monthly-reports"),
    _j(_P, "مدير المشروع التقرير الشهري", "monthly-reports"),
    _j(_P, "نسبة الإنجاز المادي", "monthly-reports"),
    _j(_P, "صورة فوتوغرافية للموقع", "monthly-reports"),
    _j(_P, "مدرسة ابتدائية", "schools"),
    _j(_P, "منطقة الرصافة", "schools"),
    _j(_P, "وثيقة منتهية المدة", "documents"),
    _j(_P, "إتلاف الوثيقة", "documents"),
    _j(_P, "استرداد مبلغ مصروف", "refunds"),
    _j(_P, "المبلغ المصروف خلافاً للضوابط", "refunds"),
    _j(_P, "جهاز حاسوب", "computers"),
    _j(_P, "عقد حكومي مبرم", "gov-contracts"),
    _j(_P, "شرط العقد الحكومي", "gov-contracts"),
    _j(_P, "وزير التخطيط العربي", "arab-ministers"),
    _j(_P, "عامل بأجر يومي", "daily-workers"),
    _j(_P, "تثبيت عامل الأجر اليومي", "daily-workers"),
    _j(_P, "اسم العامل", "daily-workers"),
    _j(_P, "عضو لجنة المشتريات", "purchasing-members"),
    _j(_P, "مهمة منتسب الأرشفة", "archive-tasks"),
    _j(_P, "فهرسة الكتاب الوارد", "archive-tasks"),
    _j(_P, "مخزن الدواء", "medicine-store"),
    _j(_P, "فريق الدفاع المدني", "medicine-store"),
    _j(_P, "جهاز التكييف", "energy"),
    _j(_P, "غرفة غير مشغولة", "energy"),
    _j(_P, "مسكن التعداد", "population"),
    _j(_P, "رصيف ساحة الميدان", "pavement"),
    _j(_P, "منطقة الشورجة الرصيف", "pavement"),
    _j(_P, "طالب القسم الداخلي", "dairy"),
    # broken plurals: plural query, singular letter
    _j(_P, "مشاريع تأهيل محطات الماء", "water-project"),
    _j(_P, "مشاريع المحاويل", "water-project"),
    _j(_P, "لجان فتح العطاءات", "tender-committee"),
    _j(_P, "تقارير لجان التحقيق", "inquiry-report"),
    _j(_P, "الأوامر الوزارية فقدان ملف", "inquiry-report"),
    _j(_P, "مدارس الكرخ", "karkh-school"),
    _j(_P, "ترميم المدارس", "karkh-school"),
    _j(_P, "وثائق التخرج", "graduation-document"),
    _j(_P, "عقود تشغيل المولدات", "generator-contract"),
    _j(_P, "تمديد عقود الصيانة", "generator-contract"),
    _j(_P, "ضباط الارتباط", "liaison-officer"),
    _j(_P, "قواعد البيانات", "database"),
    _j(_P, "عناوين السكن", "database"),
    _j(_P, "مزايا العرض الفني", "technical-offer"),
    _j(_P, "تدريب الكوادر", "technical-offer"),
    _j(_P, "كتب وزارة المالية تسوية", "advances"),
    _j(_P, "قرارات نقل الموظفين إلى ميسان", "grievance"),
    _j(_P, "مجاري المدن", "nasiriya-sewers"),
    _j(_P, "قائمة المتقدمين", "martyrs"),
    _j(_P, "ترقيم الكتب الصادرة", "outgoing-registry"),
    _j(_P, "فروع مصرف الرافدين", "baquba"),
    _j(_P, "أذونات الهبوط", "civil-aviation"),
    _j(_P, "طريق فرعي", "ref-5618"),
    _j(_P, "موسم المطر", "ref-5618"),
    # --- proclitics attached without ال --------------------------------------------------------
    _j(_C, "تأمين المداخل", "entrances", "works-done"),
    _j(_C, "تأمين المداخل الرئيسية", "entrances", "works-done"),
    _j(_C, "لتأمين المداخل", "entrances", "works-done"),
    _j(_C, "مبنى الوزارة", "entrances works-done"),
    _j(_C, "توجيه", "directive"),
    _j(_C, "توجيه السيد الوزير", "directive"),
    _j(_C, "توجيه الوزير العطل الرسمية", "directive"),
    _j(_C, "بتوجيه من الوزير", "directive"),
    _j(_C, "تأمين الحضور", "directive"),
    _j(_C, "مشروع تجريبي", "pilot"),
    _j(_C, "كمشروع تجريبي", "pilot"),
    _j(_C, "لجنة المشتريات المركزية", "purchasing-members rewards"),
    _j(_C, "لجنة الفحص والاستلام", "rewards"),
    _j(_C, "لجان الفحص", "rewards"),
    _j(_C, "للجان الفحص", "rewards"),
    _j(_C, "كتاب وزارة المالية", "advances"),
    _j(_C, "وبكتاب وزارة المالية", "advances"),
    _j(_C, "القرار الصادر بنقل الموظف", "grievance"),
    _j(_C, "مشروع مجاري الناصرية", "nasiriya-sewers"),
    _j(_C, "لمشروع المجاري", "nasiriya-sewers"),
    _j(_C, "مدير عام دائرة الموارد البشرية", "service-transfer"),
    _j(_C, "مؤتمر الاستثمار بغداد", "investment-conference"),
    _j(_C, "تسجيل الحضور والانصراف", "fingerprint"),
    _j(_C, "بصمة إلكترونية", "fingerprint"),
    _j(_C, "موافقة مسبقة", "all-directorates"),
    _j(_C, "لإتلاف السجلات", "documents"),
    _j(_C, "إتلاف السجلات", "documents"),
    _j(_C, "وزراء التخطيط العرب", "arab-ministers"),
    _j(_C, "تجهيز الأقسام الداخلية باللبن", "dairy"),
    _j(_C, "تفتيش العجلات", "entrances"),
    _j(_C, "قيادة عمليات العاصمة", "liaison-officer"),
    _j(_C, "محافظة كركوك", "kirkuk-grid"),
    _j(_C, "حماية المنشآت الحكومية", "liaison-officer"),
    # --- words that stay whole --------------------------------------------------------------
    _j(_N, "تأمين", "entrances car-insurance directive", "works-done"),
    _j(_N, "خطة تأمين", "entrances", "works-done"),
    _j(_N, "التأمين الشامل", "car-insurance", "works-done"),
    _j(_N, "بشكل تام", "works-done", "entrances car-insurance directive"),
    _j(_N, "تكوين قاعدة البيانات", "database", "contractor-delay"),
    _j(_N, "تكوين", "database", "contractor-delay"),
    _j(_N, "كون المقاول", "contractor-delay", "database"),
    _j(_N, "تاريخ التعيين", "database"),
    _j(_N, "تعيين على الملاك الدائم", "graduation-document"),
    _j(_N, "عنوان السكن", "database"),
    _j(_N, "لبنان", "lebanon", "dairy purchasing-members"),
    _j(_N, "معرض لبنان", "lebanon", "dairy"),
    _j(_N, "مادة اللبن", "dairy", "lebanon"),
    _j(_N, "بنان", "purchasing-members", "lebanon"),
    _j(_N, "بعقوبة", "baquba", "discipline inquiry-report"),
    _j(_N, "عقوبة", "discipline inquiry-report", "baquba"),
    _j(_N, "عقوبة لفت النظر", "inquiry-report", "baquba"),
    _j(_N, "قانون انضباط موظفي الدولة", "discipline"),
    _j(_N, "بطاقة", "ration-card", "energy tender-2026"),
    _j(_N, "بطاقة السكن", "ration-card", "energy"),
    _j(_N, "طاقة", "energy tender-2026", "ration-card"),
    _j(_N, "الطاقة الشمسية", "tender-2026", "ration-card"),
    _j(_N, "ضمان", "guarantee", "merger"),
    _j(_N, "خطاب ضمان حسن التنفيذ", "guarantee", "merger"),
    _j(_N, "ضم شعبة", "merger", "guarantee"),
    _j(_N, "ميزان المراجعة", "trial-balance", "technical-offer"),
    _j(_N, "ميزان", "trial-balance", "technical-offer"),
    _j(_N, "ميزة", "technical-offer", "trial-balance"),
    _j(_N, "سكان", "population", "railway"),
    _j(_N, "تعداد السكان", "population", "railway"),
    _j(_N, "سكة", "railway", "population"),
    _j(_N, "سلطان", "promotion-sultan", "civil-aviation"),
    _j(_N, "سلطة الطيران المدني", "civil-aviation", "promotion-sultan"),
    _j(_N, "عمان", "arab-ministers", "daily-workers"),
    _j(_N, "عمال", "daily-workers", "arab-ministers"),
    _j(_N, "كمال", "nomination-kamal", "public-money"),
    _j(_N, "المال العام", "public-money", "nomination-kamal"),
    _j(_N, "كاتب العدل", "notary", "thanks-books archive-tasks"),
    _j(_N, "كاتب", "notary", "thanks-books archive-tasks outgoing-registry"),
    _j(_N, "جامعة بغداد", "graduation-document"),
    _j(_N, "ساحة الميدان", "pavement"),
    _j(_N, "ديوان الرقابة المالية", "refunds"),
    _j(_N, "بيروت", "lebanon"),
    # --- hamza, taa marbuta, alef maksura, harakat, Kurdish letters -------------------------
    _j(_V, "هيئة النزاهة", "integrity"),
    _j(_V, "هيئه النزاهه", "integrity"),
    _j(_V, "هيأة النزاهة", "integrity"),
    _j(_V, "اوليات المناقصة", "integrity"),
    _j(_V, "مؤسسة الشهداء", "martyrs"),
    _j(_V, "النسب المقررة قانوناً", "martyrs"),
    _j(_V, "إرسال قوائم المتقدمين", "martyrs"),
    _j(_V, "مسؤول شعبة الصادرة", "outgoing-registry"),
    _j(_V, "مسؤول عن ترقيم الكتاب", "outgoing-registry"),
    _j(_V, "شؤون المواطنين", "citizens"),
    _j(_V, "إنشاء مجسر الجادرية", "overpass"),
    _j(_V, "كلفة إجمالية", "overpass"),
    _j(_V, "المباشرة بإنشاء المجسر", "overpass"),
    _j(_V, "المنشأة الحكومية", "liaison-officer"),
    _j(_V, "مكافآت اللجان", "rewards"),
    _j(_V, "مئتان وخمسون مليون", "nasiriya-sewers"),
    _j(_V, "مائة وخمسون ألف", "tender-2026"),
    _j(_V, "مئة وخمسون ألف", "tender-2026"),
    _j(_V, "محافظة ديالي", "baquba"),
    _j(_V, "البَصْمَة الإِلِكْتُرُونِيَّة", "fingerprint"),
    _j(_V, "الموظفون كافة بالبصمة", "fingerprint"),
    _j(_V, "شبكة الكهرباء كركوك", "kirkuk-grid"),
    _j(_V, "صيانة شبكة الكهرباء", "kirkuk-grid"),
    _j(_V, "حي الواسطي", "kirkuk-grid"),
    _j(_V, "امانة بغداد", "pavement"),
    _j(_V, "المتلكئه", "stalled-projects"),
    _j(_V, "الـمـشـاريـع الـمـتـلـكـئـة", "stalled-projects"),
    _j(_V, "الاجراءات الامنية", "liaison-officer"),
    # --- numbers ------------------------------------------------------------------------------
    _j(_D, "5618/م.و", "ref-5618"),
    _j(_D, "٥٦١٨", "ref-5618"),
    _j(_D, "5618", "ref-5618"),
    _j(_D, "2026/1/12", "ref-5618"),
    _j(_D, "3412", "ref-3412", "plot-34120"),
    _j(_D, "٣٤١٢/م.و", "ref-3412", "plot-34120"),
    _j(_D, "34120", "plot-34120", "ref-3412"),
    _j(_D, "17/2026", "tender-2026", "tender-2025"),
    _j(_D, "١٧/٢٠٢٥", "tender-2025", "tender-2026"),
    _j(_D, "المناقصة 17/2025", "tender-2025", "tender-2026"),
    _j(_D, "150000", "tender-2026"),
    _j(_D, "45000000", "computers"),
    _j(_D, "٤٥٠٠٠٠٠٠ دينار", "computers"),
    _j(_D, "1250000000", "nasiriya-sewers"),
    _j(_D, "8700000000", "overpass"),
    _j(_D, "3,250,000,000", "salaries-amount"),
    _j(_D, "رواتب آذار ٢٠٢٦", "salaries-amount"),
    _j(_D, "الصك 77034", "salaries-amount"),
    _j(_D, "1204", "advances"),
    _j(_D, "4419", "inquiry-report"),
    _j(_D, "2026/2/14", "medicine-store"),
    _j(_D, "2026/3/5", "kirkuk-grid"),
    _j(_D, "٢٠٢٦/٣/٥", "kirkuk-grid"),
    _j(_D, "قانون رقم 14 لسنة 1991", "discipline"),
    # --- English ------------------------------------------------------------------------------
    _j(_E, "tender evaluation", "en-tenders"),
    _j(_E, "evaluating tenders", "en-tenders"),
    _j(_E, "solar panel", "en-tenders"),
    _j(_E, "award contract bidder", "en-tenders"),
    _j(_E, "committee disbursement", "en-committees"),
    _j(_E, "committees report", "en-committees"),
    _j(_E, "policies", "en-policy", "en-police"),
    _j(_E, "data protection policy", "en-policy", "en-police"),
    _j(_E, "police", "en-police", "en-policy"),
    _j(_E, "police directorate Basra", "en-police", "en-policy"),
    _j(_E, "general company ports", "en-ports"),
    _j(_E, "general", "en-ports", "en-donors"),
    _j(_E, "generous contribution", "en-donors"),
    _j(_E, "generous", "en-donors", "en-ports"),
    _j(_E, "transformer shipment", "en-ports"),
    _j(_E, "inspection treatment plant", "en-inspections"),
    _j(_E, "pump", "en-inspections"),
]
