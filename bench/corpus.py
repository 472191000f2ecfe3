"""Generated ministry correspondence: realistic letters for benchmarks and relevance tests.

    from corpus import Corpus
    corpus = Corpus(seed=7)
    for record in corpus.records(100_000): ...

Each letter is 150–600 words: a subject line, a salutation, paragraphs that mix
real administrative sentences (with their slots filled: numbers, dates, names,
offices) and sentences drawn from a Zipf-distributed vocabulary, and a closing
with the signatory and copies. The vocabulary is built the way Arabic builds
words: some 300 real roots poured into about 30 real patterns (فاعل، مفعول،
تفعيل، استفعال …) and then prefixed (ال و ب ل ف …) and suffixed (ة ات ون ين ي
ها …), which gives tens of thousands of distinct surface words whose frequencies
fall off like those of real text; function words (في، من، على …) come from their
own, more frequent, list. A quarter of the letters mix in English sentences over an
English vocabulary built the same way (bases and suffixes).

Letters are written the ways Iraqi offices write them: some with harakat, some
with tatweel, taa marbuta as haa, hamza dropped from alef, Arabic-Indic digits,
presentation forms (text pasted from old PDFs) or Kurdish keyboard letters (ی ک).

Deterministic: ``records(n, start=k)`` gives the same records for the same seed
and index, so two engines can be fed the same corpus chunk by chunk.
"""

from __future__ import annotations

import bisect
import itertools
import random
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta

from docarchive.records import Classification, FileRef, Record

__all__ = ["ENGLISH_BASES", "OFFICES", "ROOTS", "Corpus", "arabic_digits", "vary"]

# --------------------------------------------------------------------------- vocabulary

#: Real Arabic roots common in administrative writing (triliteral, a few quadriliteral).
ROOTS = """
كتب عمل درس وزر دور قسم نظم شرك عقد نفذ حسب مول صرف وظف علم طلب رسل وجه قرر حكم شرع نقل سجل
رقم خدم صحح علج بني هندس زرع صنع تجر نفط كهرب نشر جمع فرق عرض قدم أخر حضر غيب سفر رجع وصل
خرج دخل فتح غلق بحث فحص راقب دقق حقق ثبت نسخ طبع وقع ختم صدر ورد حفظ رتب صنف ربط تبع شكل لجن
رأس عضو مثل شهد كفل ضمن أمن حرس دفع قبض سلف قرض ربح خسر زود شري بيع أجر سكن نزل رفع خفض زيد
نقص كمل تمم بدأ ختم أنهي وفق رفض قبل سمح منع حظر عفو جزي عقب نذر لفت نبه حذر أكد أيد دعم سند
سعد وعد عهد نجز أخذ عطي منح وهب فوض خول حدد عين نصب عزل قيل رقي درج فصل وقف جدد مدد أجل قدر
قيم نتج حصل جهز عدد بلغ حول كلف ترجم وثق رشف صور مسح بصم فهرس بوب نسق عمم خصص ولي سلم دوم
غرب شرق نصف ربع ثلث خمس طبب مرض صحو شفي دوي لقح وبأ وقي نظف بيئ مطر سقي ري نهر سدد جسر طرق
عبد سير نقل شحن ميناء جمرك ضرب رسم جبي وزن كيل قيس معر خطط برمج صمم أسس نمو ربي علم تعلم درب
أهل كفأ خبر مهن حرف عمر رمم بلد حفظ أمر نهي قضي حكم دعو شكو نزع خلف وثق قرن طعن محكم قنن نصص
فقر بند مدة وقت زمن يوم شهر سنة عوم خصص عون غوث أوي هجر نزح عود وطن جنس هوي سكن أسر ولد زوج
طلق وفي ورث ملك عقر أرض بنك نقد صكك سند حول حسب دين ودع قرض فوتر سعر كلف ميز وزع حصص نسب ضرب
ضبط خلل عطل صلح وصف شرح فسر بين وضح علن نشر بث ذيع صحف خبر علق ردد جوب سأل نقش حور ناظر قرأ
كتب دون
""".split()  # noqa: SIM905

#: Patterns: 1, 2, 3 (and 4) are the root's letters.
PATTERNS = [
    "123",
    "1ا23",
    "م12و3",
    "م123",
    "م123ة",
    "ت12ي3",
    "ا1ت2ا3",
    "است12ا3",
    "ان12ا3",
    "ت1ا23",
    "12ي3",
    "12ا3",
    "12ا3ة",
    "م1ا23ة",
    "إ12ا3",
    "12و3",
    "أ123",
    "ي123",
    "ت123",
    "123ة",
    "123ي",
    "م1ا23",
    "مت123",
    "مست123",
    "م1ت23",
    "م1ا2ي3",
    "أ12ا3",
    "1ا23ة",
    "ت12ي3ي",
    "12ا3ي",
]
QUAD_PATTERNS = ["1234", "م1234", "ت1234", "1234ة", "م1234ة", "1234ي"]

# (prefix, weight), (suffix, weight): how often a content word carries each affix.
PREFIXES = [
    ("", 44),
    ("ال", 30),
    ("و", 5),
    ("وال", 7),
    ("ب", 3),
    ("بال", 4),
    ("ل", 2),
    ("لل", 3),
    ("ف", 1),
    ("كال", 1),
]
SUFFIXES = [
    ("", 52),
    ("ة", 14),
    ("ات", 8),
    ("ون", 3),
    ("ين", 4),
    ("ي", 4),
    ("ية", 6),
    ("ها", 3),
    ("هم", 2),
    ("ان", 2),
    ("نا", 1),
    ("كم", 1),
]

#: Function words, most frequent first (they make up about a third of real text).
FUNCTION_WORDS = """
في من على إلى أن عن مع هذا التي الذي ما لا كما قد بعد قبل بين إذ حيث وفي ومن ذلك هذه كل أو
ثم لم لن إن كان تكون يكون عند خلال ضمن لدى حول نحو منذ أي بعض غير حتى لكن بل هو هي
""".split()  # noqa: SIM905

#: Real sentences of Iraqi official correspondence; {slots} are filled per letter.
SENTENCES = [
    "إشارة إلى كتابكم المرقم {ref} في {date} بخصوص {topic}",
    "نرفق لكم طياً نسخة من كتاب {office} المرقم {ref} في {date}",
    "يرجى التفضل بالاطلاع واتخاذ ما يلزم وإعلامنا مع التقدير",
    "بناءً على الصلاحيات المخولة لنا تقرر ما يأتي",
    "تشكل لجنة برئاسة السيد {person} وعضوية كل من السيد {person2} والسيدة {person3}",
    "على أن تنجز اللجنة أعمالها خلال مدة أقصاها ثلاثون يوماً من تاريخ صدور هذا الأمر",
    "تقرر اعتماد {topic} في دوائر الوزارة كافة اعتباراً من {date}",
    "يتولى قسم {dept} متابعة تنفيذ ما ورد في هذا التعميم",
    "على الدوائر كافة الالتزام بالتعليمات النافذة وعدم التأخر في إرسال البيانات",
    "لا مانع من نقل خدمات الموظف {person} إلى {office} لحاجة الدائرة إلى خدماته",
    "يمنح الموظف {person} إجازة اعتيادية براتب تام لمدة {n} أيام",
    "تحال المناقصة المرقمة {ref} إلى الشركة {company} بمبلغ قدره {money} دينار",
    "تسدد المستحقات المالية بعد تقديم كشف الإنجاز المصادق عليه من المهندس المقيم",
    "يرجى الإجابة خلال مدة أقصاها ثلاثة أيام من تاريخ استلام الكتاب",
    "استناداً إلى أحكام قانون الخدمة المدنية رقم {n2} لسنة 1960 المعدل",
    "نود إعلامكم بأن الاجتماع الدوري سيعقد في قاعة {dept} يوم {weekday} الساعة العاشرة صباحاً",
    "للتفضل بالاطلاع والعمل بموجبه",
    "نسخة منه إلى الإضبارة العامة",
    "تقرر أن يبدأ الدوام الرسمي في دوائر الوزارة من الساعة الثامنة صباحاً",
    "ظهر من خلال التدقيق وجود مبالغ غير مسددة في حسابات {dept}",
    "يعاد النظر في جدول الكميات بعد موافقة اللجنة الفنية",
    "تم استلام المواد المدرجة أدناه بموجب مستند الإدخال المرقم {ref}",
    "ندرج أدناه أسماء المرشحين للمشاركة في الدورة التدريبية الخاصة بـ{topic}",
    "بالنظر لانتهاء العقد المرقم {ref} تقرر تمديده لمدة ستة أشهر",
    "يرجى تزويدنا بالموقف الحالي للمشاريع المتلكئة في محافظة {province}",
    "تعمم الوزارة على جميع التشكيلات ضرورة الحفاظ على سرية المراسلات الرسمية",
    "وجه السيد الوزير بضرورة إنجاز المعاملات المتأخرة قبل نهاية الشهر الحالي",
    "تستوفى أجور الخدمة وفق التسعيرة المعتمدة من وزارة المالية",
]

TOPICS = [
    "الأرشفة الإلكترونية للمراسلات الرسمية",
    "تحديث إجراءات العمل الإداري",
    "صيانة المولدات الكهربائية",
    "تأهيل مستشفى الكرامة التعليمي",
    "مشروع تبليط الطرق الريفية",
    "تدريب موظفي الأقسام على النظام",
    "احتساب المخصصات المهنية",
    "توزيع الحصة التموينية",
    "مكافحة التصحر في المحافظات الجنوبية",
    "إنشاء محطة معالجة مياه الصرف الصحي",
    "جرد الموجودات الثابتة",
    "الموازنة الاستثمارية للعام الحالي",
]
DEPTS = [
    "الشؤون القانونية",
    "الموارد البشرية",
    "تقنية المعلومات",
    "الشؤون المالية",
    "التخطيط والمتابعة",
    "العقود الحكومية",
    "الرقابة والتدقيق الداخلي",
    "الأرشفة",
]
PROVINCES = ["بغداد", "البصرة", "نينوى", "أربيل", "النجف", "كربلاء", "ذي قار", "الأنبار", "ديالى"]
COMPANIES = ["الرافدين العامة", "دجلة للمقاولات", "الفرات الهندسية", "بابل للتجهيزات"]
WEEKDAYS = ["الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس"]
FIRST_NAMES = """
أحمد محمد علي حسين حسن عباس جاسم كاظم مصطفى عمر خالد سعد فاضل رعد باسم ضياء زيد كريم
عبد_الله عبد_الرحمن مهدي صادق جعفر ياسين نور هدى زينب فاطمة مريم سارة رشا إيمان
""".split()  # noqa: SIM905
FAMILY_NAMES = """
الجبوري العبيدي الدليمي التميمي الساعدي الخفاجي الموسوي الحسيني الربيعي الزبيدي الشمري
العزاوي الكعبي البياتي الطائي السامرائي الحلي البصري النعيمي العاني
""".split()  # noqa: SIM905

#: (code, name) of sending offices.
OFFICES = [
    ("م.و", "مكتب الوزير"),
    ("د.ق", "الدائرة القانونية"),
    ("د.م", "الدائرة المالية"),
    ("د.إ", "الدائرة الإدارية"),
    ("ق.ت", "قسم تقنية المعلومات"),
    ("ق.ع", "قسم العقود"),
    ("م.ع", "المديرية العامة للتخطيط"),
    ("ق.أ", "قسم الأرشفة"),
]
KINDS = [
    # kind, source, kind code of its numbers, weight
    ("circular", "issued", "ت", 20),
    ("decision", "issued", "ق", 12),
    ("assignment", "issued", "إ", 6),
    ("letter", "issued", "ك", 22),
    ("scan", "scan", "", 25),
    ("mail", "mail", "", 15),
]
CLASSIFICATIONS = [
    (Classification.PUBLIC, 30),
    (Classification.INTERNAL, 50),
    (Classification.CONFIDENTIAL, 12),
    (Classification.SECRET, 6),
    (Classification.TOP_SECRET, 2),
]

ENGLISH_BASES = """
report budget project committee ministry office department contract tender payment invest
expenditure archive record document letter request approve review decide meeting schedule
deliver supply equipment maintain repair generator hospital school road bridge water station
network system train employee salary allowance leave transfer appoint audit account finance
plan follow delay progress complete quarter annual month province district director minister
deputy general technical legal procure purchase order invoice receive store inventory asset
vehicle fuel electric power health education agriculture industry trade oil export import
customs tax revenue loan grant fund allocate estimate cost price quantity specify standard
quality inspect test certify license permit register notify inform instruct direct
coordinate implement execute monitor evaluate assess consult advise recommend propose submit
prepare draft sign stamp issue copy file index scan mail attach reply refer
""".split()  # noqa: SIM905
ENGLISH_SUFFIXES = ["", "s", "ed", "ing"]
ENGLISH_FUNCTION = """
the of and to in for on with by from at as is are was be this that
""".split()  # noqa: SIM905
ENGLISH_SENTENCES = [
    "Please find attached the monthly report of the department",
    "The quarterly expenditure of the investment budget reached {n} percent",
    "The committee reviewed the bids submitted for tender {ref}",
    "Kindly confirm receipt of this letter and the attached documents",
    "The electronic archiving project is behind schedule",
    "Payment will be released after the final inspection",
]

HARAKAT = "\u064e\u064f\u0650\u0652\u0651\u064b"
TATWEEL = "\u0640"
_AR_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def arabic_digits(text: str) -> str:
    """``text`` with ASCII digits written as Arabic-Indic digits."""
    return text.translate(_AR_DIGITS)


def _english_form(base: str, suffix: str) -> str:
    if suffix in ("ed", "ing") and base.endswith("e"):
        base = base[:-1]
    elif suffix == "s" and base.endswith(("s", "x", "ch", "sh")):
        suffix = "es"
    elif suffix == "s" and base.endswith("y") and base[-2:-1] not in "aeiou":
        base, suffix = base[:-1], "ies"
    return base + suffix


def _fill(pattern: str, root: str) -> str:
    out = pattern
    for i, letter in enumerate(root, start=1):
        out = out.replace(str(i), letter)
    return out


def _zipf_cum(n: int, s: float = 1.05, offset: float = 2.7) -> list[float]:
    """Cumulative Zipf–Mandelbrot weights for ranks 1..n."""
    return list(itertools.accumulate(1.0 / (r + offset) ** s for r in range(1, n + 1)))


def _weighted(pairs: list[tuple[str, int]]) -> tuple[list[str], list[float]]:
    values = [v for v, _ in pairs]
    return values, list(itertools.accumulate(float(w) for _, w in pairs))


class _Words:
    """The Zipf-ranked lemma list with its affixes."""

    def __init__(self, rng: random.Random) -> None:
        lemmas: list[str] = []
        seen: set[str] = set()
        for root in dict.fromkeys(ROOTS):
            patterns = QUAD_PATTERNS if len(root) == 4 else PATTERNS
            for pattern in patterns:
                word = _fill(pattern, root)
                if word not in seen:
                    seen.add(word)
                    lemmas.append(word)
        rng.shuffle(lemmas)
        self.lemmas = lemmas
        self.cum = _zipf_cum(len(lemmas))
        self.prefixes, self.prefix_cum = _weighted(PREFIXES)
        self.suffixes, self.suffix_cum = _weighted(SUFFIXES)
        eng = [_english_form(b, s) for b in ENGLISH_BASES for s in ENGLISH_SUFFIXES]
        rng.shuffle(eng)
        self.english = eng
        self.english_cum = _zipf_cum(len(eng), s=1.0)

    def lemma_index(self, rng: random.Random) -> int:
        return bisect.bisect(self.cum, rng.random() * self.cum[-1])

    def surface(self, rng: random.Random, lemma: str) -> str:
        prefix = self.prefixes[bisect.bisect(self.prefix_cum, rng.random() * self.prefix_cum[-1])]
        suffix = self.suffixes[bisect.bisect(self.suffix_cum, rng.random() * self.suffix_cum[-1])]
        if lemma.endswith("ة") and suffix:
            lemma = lemma[:-1] + ("ت" if suffix in ("ها", "هم", "نا", "كم", "ان") else "")
            if suffix in ("ة", "ية"):
                suffix = ""
        return prefix + lemma + suffix

    def english_word(self, rng: random.Random) -> str:
        return self.english[bisect.bisect(self.english_cum, rng.random() * self.english_cum[-1])]


# --------------------------------------------------------------------------- variation


def vary(word: str, rng: random.Random, style: dict[str, float]) -> str:
    """One Arabic word written the way a given office writes it (``style`` rates)."""
    if not style["any"]:
        return word
    if style["harakat"] and rng.random() < style["harakat"]:
        word = "".join(ch + (rng.choice(HARAKAT) if rng.random() < 0.5 else "") for ch in word)
    if style["tatweel"] and len(word) > 3 and rng.random() < style["tatweel"]:
        i = rng.randrange(1, len(word) - 1)
        if "\u0621" <= word[i - 1] <= "\u064a" and word[i - 1] not in "اأإآدذرزوؤةء":
            word = word[:i] + TATWEEL * rng.randint(1, 3) + word[i:]
    if style["haa"] and word.endswith("ة"):
        word = word[:-1] + "ه"
    if style["hamza"]:
        word = word.replace("أ", "ا").replace("إ", "ا")
    if style["kurdish"]:
        word = word.replace("ي", "ی").replace("ك", "ک")
    return word


def _presentation_forms(text: str) -> str:
    """Arabic text as an old PDF's text layer gives it: isolated presentation forms."""
    out = []
    for ch in text:
        iso = _ISOLATED.get(ch)
        out.append(iso if iso else ch)
    return "".join(out)


_ISOLATED: dict[str, str] = {}
for _cp in range(0xFE70, 0xFEFF):
    _name = unicodedata.name(chr(_cp), "")
    if _name.endswith("ISOLATED FORM"):
        _base = unicodedata.normalize("NFKC", chr(_cp))
        if len(_base) == 1 and _base not in _ISOLATED:
            _ISOLATED[_base] = chr(_cp)


# --------------------------------------------------------------------------- letters


class Corpus:
    """A deterministic generator of archive records."""

    def __init__(self, seed: int = 20261122, start: datetime | None = None) -> None:
        self.seed = seed
        self.words = _Words(random.Random(seed))
        self.start = start or datetime(2016, 1, 1, 8, 0)
        self.kinds, self.kind_cum = _weighted([(k[0], k[3]) for k in KINDS])
        self._kind_info = {k[0]: k for k in KINDS}
        levels = [(str(int(c)), w) for c, w in CLASSIFICATIONS]
        self.levels, self.level_cum = _weighted(levels)

    # -- pieces ---------------------------------------------------------------------------

    def person(self, rng: random.Random) -> str:
        first = rng.choice(FIRST_NAMES).replace("_", " ")
        return f"{first} {rng.choice(FIRST_NAMES).replace('_', ' ')} {rng.choice(FAMILY_NAMES)}"

    def reference(self, rng: random.Random) -> str:
        code = rng.choice(OFFICES)[0]
        form = rng.random()
        if form < 0.4:
            return f"{rng.randint(1, 9999)}/{code}"
        if form < 0.7:
            return f"{rng.randint(1, 999)}/{rng.randint(2010, 2026)}"
        if form < 0.85:
            return f"{rng.choice('قكتإ')}/{rng.randint(1, 999)}"
        return f"{code}/{rng.choice('قكتإ')}/{rng.randint(1, 999)}/{rng.randint(2016, 2026)}"

    def _fill_sentence(self, rng: random.Random, template: str, when: datetime) -> str:
        day = when - timedelta(days=rng.randint(1, 90))
        values = {
            "ref": self.reference(rng),
            "date": f"{day.year}/{day.month}/{day.day}",
            "topic": rng.choice(TOPICS),
            "office": rng.choice(OFFICES)[1],
            "person": self.person(rng),
            "person2": self.person(rng),
            "person3": self.person(rng),
            "dept": rng.choice(DEPTS),
            "n": str(rng.randint(2, 90)),
            "n2": str(rng.randint(1, 60)),
            "company": rng.choice(COMPANIES),
            "money": f"{rng.randint(1, 900)},{rng.randint(0, 999):03d},000",
            "weekday": rng.choice(WEEKDAYS),
            "province": rng.choice(PROVINCES),
        }
        return template.format(**values)

    def _generated_sentence(
        self, rng: random.Random, topic_words: list[str], style: dict[str, float]
    ) -> str:
        words = self.words
        out = []
        for _ in range(rng.randint(8, 24)):
            r = rng.random()
            if r < 0.3:
                out.append(FUNCTION_WORDS[min(int(rng.expovariate(0.12)), len(FUNCTION_WORDS) - 1)])
            elif r < 0.42 and topic_words:
                out.append(vary(words.surface(rng, rng.choice(topic_words)), rng, style))
            else:
                lemma = words.lemmas[words.lemma_index(rng)]
                out.append(vary(words.surface(rng, lemma), rng, style))
        return " ".join(out)

    def _english_sentence(self, rng: random.Random, when: datetime) -> str:
        if rng.random() < 0.3:
            return self._fill_sentence(rng, rng.choice(ENGLISH_SENTENCES), when)
        out = []
        for _ in range(rng.randint(8, 20)):
            if rng.random() < 0.35:
                out.append(rng.choice(ENGLISH_FUNCTION))
            else:
                out.append(self.words.english_word(rng))
        out[0] = out[0].capitalize()
        return " ".join(out)

    def letter(self, rng: random.Random, when: datetime, n_words: int) -> tuple[str, str]:
        """(subject, body) of one letter of about ``n_words`` words."""
        style = {
            "harakat": 0.04 if rng.random() < 0.3 else 0.0,
            "tatweel": 0.03 if rng.random() < 0.15 else 0.0,
            "haa": float(rng.random() < 0.2),
            "hamza": float(rng.random() < 0.3),
            "kurdish": float(rng.random() < 0.04),
        }
        style["any"] = float(any(style.values()))
        words = self.words
        topic_words = [words.lemmas[words.lemma_index(rng)] for _ in range(rng.randint(3, 7))]
        english = rng.random() < 0.25
        topic = rng.choice(TOPICS)
        subject_words = [vary(words.surface(rng, w), rng, style) for w in topic_words[:3]]
        subject = f"م/ {topic} " + " ".join(subject_words)
        paragraphs = [f"السيد مدير {rng.choice(DEPTS)} المحترم", "تحية طيبة"]
        count = 0
        while count < n_words:
            r = rng.random()
            if english and r < 0.3:
                sentence = self._english_sentence(rng, when)
            elif r < 0.55:
                sentence = self._fill_sentence(rng, rng.choice(SENTENCES), when)
            else:
                sentence = self._generated_sentence(rng, topic_words, style)
            paragraphs.append(sentence + ".")
            count += sentence.count(" ") + 1
        paragraphs += [
            "مع التقدير",
            self.person(rng),
            f"مدير {rng.choice(DEPTS)}",
            "نسخة منه إلى: " + rng.choice(OFFICES)[1],
        ]
        body = "\n".join(paragraphs)
        if rng.random() < 0.6:
            body = arabic_digits(body)
        if rng.random() < 0.03:
            body = _presentation_forms(body)
        return subject, body

    # -- records --------------------------------------------------------------------------

    def record(self, i: int) -> Record:
        """Record number ``i`` (the same for the same seed)."""
        rng = random.Random(self.seed * 1_000_003 + i)
        kind = self.kinds[bisect.bisect(self.kind_cum, rng.random() * self.kind_cum[-1])]
        _, source, kind_code, _ = self._kind_info[kind]
        when = self.start + timedelta(minutes=int(i * 50 + rng.randint(0, 40)))
        code, office_name = rng.choice(OFFICES)
        subject, body = self.letter(rng, when, rng.randint(150, 600))
        level = Classification(
            int(self.levels[bisect.bisect(self.level_cum, rng.random() * self.level_cum[-1])])
        )
        number = series = None
        meta: dict[str, object] = {}
        if source == "issued":  # unique: the sequence is the record's index
            number = f"{code}/{kind_code}/{i + 1}/{when.year}"
            series = kind
            meta = {"seq": i + 1, "period": str(when.year), "office_code": code}
        sender = office_name if source == "issued" else self.person(rng)
        date_key = "issued" if source == "issued" else "received"
        files = [FileRef("original", f"{i:064x}", len(body) * 2, "application/pdf", f"{kind}.pdf")]
        if rng.random() < 0.2:
            files.append(
                FileRef(
                    "attachment",
                    f"{i + 1:064x}",
                    1000,
                    "application/pdf",
                    f"{rng.choice(['جدول', 'كشف', 'report', 'invoice'])}_{rng.randint(1, 99)}.pdf",
                )
            )
        links = {"reply_to": f"r{rng.randrange(max(i, 1)):09d}"} if rng.random() < 0.1 else {}
        return Record(
            id=f"r{i:09d}",
            kind=kind,
            subject=subject,
            text=body,
            number=number,
            series=series,
            sender=sender,
            recipients=[rng.choice(OFFICES)[1]],
            office=code,
            dates={date_key: when.isoformat(), "created": when.isoformat()},
            classification=level,
            files=files,
            source=source,
            links=links,
            meta=meta,
        )

    def records(self, n: int, start: int = 0) -> Iterator[Record]:
        for i in range(start, start + n):
            yield self.record(i)


if __name__ == "__main__":
    import sys

    corpus = Corpus()
    for rec in corpus.records(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
        print(rec.id, rec.kind, rec.number, rec.classification.label, rec.dates)
        print(rec.subject)
        print(rec.text)
        print()
