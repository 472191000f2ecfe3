"""Jinja filters that official letters need.

==================  ==========================================  ===============================
filter              what it does                                example
==================  ==========================================  ===============================
``arabic_digits``   ASCII digits to Arabic-Indic digits         ``2026`` → ``٢٠٢٦``
``latin_digits``    Arabic-Indic (and Persian) digits to ASCII  ``٢٠٢٦`` → ``2026``
``date``            a date in the office's format               ``2026-11-22`` → ``2026/11/22``
``hijri``           the Hijri (Umm al-Qura) date                ``2026-11-22`` → ``١٤٤٨/٠٦/١٢ هـ``
``amount``          thousands separators                        ``1250000`` → ``1,250,000``
``amount_words``    an amount in Arabic words, in dinars        ``137000000`` → ``مائة وسبعة
                                                                وثلاثون مليون دينار عراقي``
``words``           a whole number in Arabic words              ``90`` → ``تسعون``
``days``            a count of days, with the noun's number     ``90`` → ``٩٠ يوماً``
``ordinal``         the ordinal of an article                   ``3`` → ``ثالثاً``
``article``         an article numbered with its ordinal,       ``("نص", 2)`` → ``ثانياً: نص``
                    unless it is numbered already
``lines``           text split on new lines and " — "           for letterhead lines
==================  ==========================================  ===============================

Dates may be given as :class:`datetime.date`/:class:`datetime.datetime` or as
text: ISO (``2026-11-22``), ``2026/11/22``, ``22/11/2026`` or the office's own
format, with ASCII or Arabic-Indic digits. Amounts may be numbers or text with
separators. A value a filter cannot read raises :class:`~docarchive.errors.TemplateError`
naming the filter and the value: an official letter must not print a wrong
amount or date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..errors import TemplateError
from ..numbering import to_arabic_digits

__all__ = [
    "DEFAULT_DATE_FORMAT",
    "MAX_AMOUNT",
    "amount",
    "amount_words",
    "arabic_digits",
    "article",
    "as_date",
    "days",
    "filters",
    "format_date",
    "hijri",
    "latin_digits",
    "lines",
    "ordinal",
    "words",
]

DEFAULT_DATE_FORMAT = "%Y/%m/%d"
#: Amounts in words stop below a quadrillion (10¹⁵): far beyond any state budget line.
MAX_AMOUNT = 10**15
DINAR = "دينار عراقي"
FILS = "فلس"

_TO_LATIN = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ORDINALS = (
    "أولاً",
    "ثانياً",
    "ثالثاً",
    "رابعاً",
    "خامساً",
    "سادساً",
    "سابعاً",
    "ثامناً",
    "تاسعاً",
    "عاشراً",
    "حادي عشر",
    "ثاني عشر",
    "ثالث عشر",
    "رابع عشر",
    "خامس عشر",
    "سادس عشر",
    "سابع عشر",
    "ثامن عشر",
    "تاسع عشر",
    "عشرون",
)
_NUMBERED = re.compile(
    r"^\s*(?:" + "|".join(map(re.escape, _ORDINALS)) + r"|[0-9٠-٩]+)\s*[:\-.)–—]"
)
_TEXT_DATES = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%Y.%m.%d", "%d.%m.%Y")


def _fail(filter_name: str, value: Any, why: str) -> TemplateError:
    return TemplateError(f"filter {filter_name}: {why}: {value!r}")


# -- digits -----------------------------------------------------------------------------------


def arabic_digits(value: Any) -> str:
    """ASCII digits to Arabic-Indic digits (٠-٩); everything else unchanged."""
    return to_arabic_digits(str(value))


def latin_digits(value: Any) -> str:
    """Arabic-Indic and Persian digits to ASCII digits; everything else unchanged."""
    return str(value).translate(_TO_LATIN)


# -- dates ------------------------------------------------------------------------------------


def as_date(value: Any, office_format: str = DEFAULT_DATE_FORMAT, name: str = "date") -> date:
    """Read a date from a date, a datetime or text in a common or the office's format."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, value, "not a date")
    text = latin_digits(value.strip())
    for fmt in (office_format, *_TEXT_DATES):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise _fail(name, value, "not a date (use YYYY-MM-DD)") from None


def format_date(
    value: Any, fmt: str | None = None, *, office_format: str = DEFAULT_DATE_FORMAT
) -> str:
    """A date in ``fmt``, by default the office's format (``%Y/%m/%d`` unless set)."""
    day = as_date(value, office_format)
    return day.strftime(fmt or office_format)


def hijri(value: Any, style: str = "numeric", *, office_format: str = DEFAULT_DATE_FORMAT) -> str:
    """The Hijri date (Umm al-Qura calendar) in Arabic-Indic digits, with هـ.

    ``numeric``: ``١٤٤٨/٠٦/١٢ هـ``; ``long``: ``١٢ جمادى الآخرة ١٤٤٨ هـ``. The Umm
    al-Qura tables cover 1343-1500 AH (1924-2077 CE); a date outside them is refused.
    """
    from hijridate import Gregorian

    day = as_date(value, office_format, "hijri")
    try:
        h = Gregorian(day.year, day.month, day.day).to_hijri()
    except (ValueError, OverflowError) as exc:
        raise _fail("hijri", value, f"outside the Umm al-Qura calendar ({exc})") from None
    if style == "long":
        text = f"{h.day} {h.month_name('ar')} {h.year} هـ"
    elif style == "numeric":
        text = f"{h.year:04d}/{h.month:02d}/{h.day:02d} هـ"
    else:
        raise _fail("hijri", style, "style must be 'numeric' or 'long'")
    return to_arabic_digits(text)


# -- amounts ----------------------------------------------------------------------------------


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise _fail(name, value, "not a number")
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = latin_digits(value.strip()).replace(",", "").replace("٬", "").replace("٫", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _fail(name, value, "not a number") from None
    else:
        raise _fail(name, value, "not a number")
    if not number.is_finite():
        raise _fail(name, value, "not a finite number")
    return number


def amount(value: Any, decimals: int = 0) -> str:
    """``1250000`` → ``1,250,000``; ``decimals`` digits after the point, rounded half up."""
    number = _number(value, "amount")
    if not 0 <= decimals <= 6:
        raise _fail("amount", decimals, "decimals must be 0..6")
    quantum = Decimal(1).scaleb(-decimals)
    return f"{number.quantize(quantum, rounding=ROUND_HALF_UP):,.{decimals}f}"


def words(value: Any) -> str:
    """A whole number in Arabic words (num2words), the conjunction و joined to its word."""
    from num2words import num2words  # type: ignore[import-untyped]

    number = _number(value, "words")
    if number != number.to_integral_value() or not 0 <= number < MAX_AMOUNT:
        raise _fail("words", value, f"not a whole number from 0 to {MAX_AMOUNT - 1:,}")
    text = str(num2words(int(number), lang="ar"))
    return re.sub(r"\s+", " ", text.replace(" و ", " و")).strip()


def amount_words(value: Any, currency: str = DINAR, fraction: str = FILS) -> str:
    """An amount in Arabic words with its currency, e.g. for 1,250,000,000:
    ``مليار ومئتان وخمسون مليون دينار عراقي``.

    Fractions are read in thousandths (fils): ``1500.25`` → ``ألف وخمسمائة دينار عراقي
    ومائتان وخمسون فلس``. Negative amounts and amounts of a quadrillion or more are refused.
    """
    number = _number(value, "amount_words")
    if not 0 <= number < MAX_AMOUNT:
        raise _fail("amount_words", value, f"amount must be from 0 to {MAX_AMOUNT - 1:,}")
    thousandths = int(number.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) * 1000)
    whole, fils = divmod(thousandths, 1000)
    if whole >= MAX_AMOUNT:
        raise _fail("amount_words", value, f"amount must be from 0 to {MAX_AMOUNT - 1:,}")
    if whole == 1:
        text = f"{currency} واحد"
    elif whole == 2 and currency == DINAR:
        text = "ديناران عراقيان"
    else:
        text = f"{words(whole)} {currency}".strip()
    if fils:
        text += f" و{words(fils)} {fraction}".rstrip()
    return text


# -- counting and numbering -------------------------------------------------------------------


def days(value: Any, digits: str = "arabic") -> str:
    """A count of days with the noun in its right number: يوم واحد، يومان، ٣ أيام، ٩٠ يوماً."""
    number = _number(value, "days")
    if number != number.to_integral_value() or number < 1:
        raise _fail("days", value, "not a whole number of days")
    n = int(number)
    if n == 1:
        return "يوم واحد"
    if n == 2:
        return "يومان"
    shown = to_arabic_digits(str(n)) if digits == "arabic" else str(n)
    tail = n % 100
    if 3 <= tail <= 10:
        noun = "أيام"
    elif 11 <= tail <= 99:
        noun = "يوماً"
    else:
        noun = "يوم"
    return f"{shown} {noun}"


def ordinal(value: Any) -> str:
    """1 → أولاً … 20 → عشرون, the ordinals of a decision's articles; beyond, the number."""
    number = _number(value, "ordinal")
    if number != number.to_integral_value() or number < 1:
        raise _fail("ordinal", value, "not a positive whole number")
    n = int(number)
    return _ORDINALS[n - 1] if n <= len(_ORDINALS) else to_arabic_digits(str(n))


def article(text: Any, index: Any) -> str:
    """``text`` numbered ``أولاً: …`` by ``index``, unless it starts with a number already."""
    body = str(text)
    if _NUMBERED.match(body):
        return body
    return f"{ordinal(index)}: {body}"


def lines(value: Any) -> list[str]:
    """Text split on new lines and on " — " (as in "جمهورية العراق — وزارة التخطيط")."""
    parts = re.split(r"\n|\s+[—–]\s+", str(value))
    return [p.strip() for p in parts if p.strip()]


def filters(date_format: str = DEFAULT_DATE_FORMAT) -> dict[str, Callable[..., Any]]:
    """All filters by name, the date filters bound to the office's date format."""

    def date_filter(value: Any, fmt: str | None = None) -> str:
        return format_date(value, fmt, office_format=date_format)

    def hijri_filter(value: Any, style: str = "numeric") -> str:
        return hijri(value, style, office_format=date_format)

    return {
        "arabic_digits": arabic_digits,
        "latin_digits": latin_digits,
        "date": date_filter,
        "hijri": hijri_filter,
        "amount": amount,
        "amount_words": amount_words,
        "words": words,
        "days": days,
        "ordinal": ordinal,
        "article": article,
        "lines": lines,
    }
