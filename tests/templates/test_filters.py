"""The filters official letters need: digits, dates, Hijri dates, amounts, amounts in words."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hijridate import Gregorian, Hijri
from hypothesis import given
from hypothesis import strategies as st
from num2words import num2words

from docarchive import TemplateError
from docarchive.templates.filters import (
    MAX_AMOUNT,
    amount,
    amount_words,
    arabic_digits,
    article,
    days,
    format_date,
    hijri,
    latin_digits,
    lines,
    ordinal,
    words,
)

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"


# -- digits -----------------------------------------------------------------------------------


def test_arabic_digits():
    assert arabic_digits("العدد 17/2026") == "العدد ١٧/٢٠٢٦"
    assert arabic_digits(1250) == "١٢٥٠"
    assert latin_digits("١٢٥٠ و ۱۲") == "1250 و 12"


@given(st.text())
def test_digits_round_trip(text: str):
    shown = arabic_digits(text)
    assert not re.search(r"[0-9]", shown)
    assert latin_digits(shown) == latin_digits(text)
    assert len(shown) == len(text)


@given(st.integers(min_value=0, max_value=10**20))
def test_arabic_digits_of_numbers_read_back(n: int):
    shown = arabic_digits(n)
    assert set(shown) <= set(ARABIC_INDIC)
    assert int(latin_digits(shown)) == n


# -- amounts ----------------------------------------------------------------------------------


def test_amount_separators():
    assert amount(1250000000) == "1,250,000,000"
    assert amount("١٣٧٠٠٠٠٠٠") == "137,000,000"
    assert amount("4,250,000") == "4,250,000"
    assert amount(1234.5, 2) == "1,234.50"
    assert amount(Decimal("0.125"), 2) == "0.13"  # half up, not banker's rounding
    assert amount(-7500) == "-7,500"
    for bad in ("abc", None, True, float("nan"), [1]):
        with pytest.raises(TemplateError, match="filter amount: not a"):
            amount(bad)


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_amount_round_trips_integers(n: int):
    shown = amount(n)
    assert shown == f"{n:,}"  # the reference: Python's own grouping
    assert int(shown.replace(",", "")) == n
    assert amount(shown) == shown  # text with separators reads back
    assert amount(arabic_digits(shown)) == shown


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False))
def test_amount_round_trips_decimals(value: Decimal):
    shown = amount(value, 2)
    assert Decimal(shown.replace(",", "")) == value
    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d\d", shown)


# -- amounts in words -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (137000000, "مائة وسبعة وثلاثون مليون دينار عراقي"),
        (1250000000, "مليار ومئتان وخمسون مليون دينار عراقي"),
        (387500000, "ثلاثمائة وسبعة وثمانون مليوناً وخمسمائة ألف دينار عراقي"),
        (1000001, "مليون وواحد دينار عراقي"),
        (1, "دينار عراقي واحد"),
        (2, "ديناران عراقيان"),
        (0, "صفر دينار عراقي"),
        ("1,500.25", "ألف وخمسمائة دينار عراقي ومئتان وخمسون فلس"),
        (10**15 - 1, None),
    ],
)
def test_amount_words(value: Any, expected: str | None):
    text = amount_words(value)
    if expected is not None:
        assert text == expected
    assert text.count("دينار عراقي") == 1 or text == "ديناران عراقيان"


def test_amount_words_refuses_what_it_cannot_say():
    for bad in (-1, MAX_AMOUNT, 10**18, "abc"):
        with pytest.raises(TemplateError, match="filter amount_words"):
            amount_words(bad)
    assert amount_words(5000, currency="دولار أمريكي") == "خمسة آلاف دولار أمريكي"


@given(st.integers(min_value=3, max_value=MAX_AMOUNT - 1))
def test_amount_words_for_any_amount(n: int):
    text = amount_words(n)
    assert text.endswith(" دينار عراقي")
    assert " و " not in text  # the conjunction is joined to its word
    assert not re.search(r"[0-9٠-٩]", text)
    # the words num2words gives, none lost (only the spaces after و differ)
    assert text.removesuffix(" دينار عراقي").replace(" ", "") == num2words(n, lang="ar").replace(
        " ", ""
    )


def test_words():
    assert words(90) == "تسعون"
    assert words(1250000000) == "مليار ومئتان وخمسون مليون"
    with pytest.raises(TemplateError, match="filter words: not a whole number"):
        words(1.5)


# -- dates ------------------------------------------------------------------------------------


def test_date_formats():
    assert format_date("2026-11-22") == "2026/11/22"
    assert format_date(date(2026, 11, 22), "%d/%m/%Y") == "22/11/2026"
    assert format_date(datetime(2026, 11, 22, 9, 30)) == "2026/11/22"
    assert format_date("٢٠٢٦/١١/٢٢", "%Y-%m-%d") == "2026-11-22"
    assert format_date("22/11/2026") == "2026/11/22"
    assert format_date("22.11.2026", office_format="%d.%m.%Y") == "22.11.2026"
    assert format_date("2026-11-22", "%d %B %Y") == "22 November 2026"
    with pytest.raises(TemplateError, match="filter date: not a date"):
        format_date("next Tuesday")


def test_hijri_beside_gregorian():
    assert hijri("2026-11-22") == "١٤٤٨/٠٦/١٢ هـ"
    assert hijri(date(2026, 3, 20)) == "١٤٤٧/١٠/٠١ هـ"  # the first of Shawwal 1447
    assert hijri("2026/11/22", "long") == "١٢ جمادى الآخرة ١٤٤٨ هـ"
    with pytest.raises(TemplateError, match="filter hijri: outside the Umm al-Qura calendar"):
        hijri("1900-01-01")
    with pytest.raises(TemplateError, match="style must be"):
        hijri("2026-11-22", "short")


@given(st.dates(min_value=date(1924, 8, 1), max_value=date(2077, 11, 16)))
def test_hijri_round_trips(day: date):
    shown = hijri(day)
    match = re.fullmatch(r"(\d{4})/(\d\d)/(\d\d) هـ", latin_digits(shown))
    assert match, shown
    year, month, dd = map(int, match.groups())
    assert Hijri(year, month, dd).to_gregorian() == Gregorian.fromdate(day)
    following = hijri(day + timedelta(days=1)) if day < date(2077, 11, 16) else None
    assert following != shown


# -- counting and numbering -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "يوم واحد"),
        (2, "يومان"),
        (7, "٧ أيام"),
        (10, "١٠ أيام"),
        (14, "١٤ يوماً"),
        (90, "٩٠ يوماً"),
        (100, "١٠٠ يوم"),
        (103, "١٠٣ أيام"),
        (120, "١٢٠ يوماً"),
    ],
)
def test_days(n: int, expected: str):
    assert days(n) == expected


def test_ordinals_and_articles():
    assert [ordinal(i) for i in (1, 2, 10, 11, 20, 21)] == [
        "أولاً",
        "ثانياً",
        "عاشراً",
        "حادي عشر",
        "عشرون",
        "٢١",
    ]
    assert article("تشكيل لجنة.", 1) == "أولاً: تشكيل لجنة."
    assert article("ثانياً: تتولى اللجنة.", 2) == "ثانياً: تتولى اللجنة."
    assert article("3- يُنفذ القرار.", 3) == "3- يُنفذ القرار."


def test_lines():
    assert lines("جمهورية العراق — وزارة التخطيط") == ["جمهورية العراق", "وزارة التخطيط"]
    assert lines("Republic of Iraq\nMinistry of Planning") == [
        "Republic of Iraq",
        "Ministry of Planning",
    ]
