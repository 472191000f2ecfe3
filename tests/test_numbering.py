"""Series formats: placeholders, padding, Arabic-Indic digits, resets, bad configs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docarchive.errors import ConfigurationError
from docarchive.numbering import DEFAULT_SERIES, SeriesConfig, to_arabic_digits

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
TO_ASCII = str.maketrans(ARABIC_INDIC, "0123456789")


# -- formats ------------------------------------------------------------------------------


def test_default_format() -> None:
    series = DEFAULT_SERIES["circular"]
    assert series.format_number(17, year=2026, office_code="م.و") == "م.و/ت/17/2026"


@pytest.mark.parametrize(
    ("config", "seq", "expected"),
    [
        (SeriesConfig("letter", kind_code="ص"), 5, "م.و/ص/5/2026"),
        (SeriesConfig("decision", format="{kind_code}-{year}-{seq}", kind_code="ق"), 9, "ق-2026-9"),
        (SeriesConfig("x", format="{seq}"), 123, "123"),
        (SeriesConfig("x", format="{seq}", padding=5), 42, "00042"),
        (SeriesConfig("x", format="{seq}", padding=2), 12345, "12345"),
        (SeriesConfig("x", format="No. {{{seq}}}"), 3, "No. {3}"),
        (
            SeriesConfig("x", format="{office_code}/{seq}/{year}", digits="arabic"),
            17,
            "م.و/١٧/٢٠٢٦",
        ),
        (
            SeriesConfig("x", format="{seq}/{year}", padding=4, digits="arabic"),
            7,
            "٠٠٠٧/٢٠٢٦",
        ),
    ],
)
def test_format_number(config: SeriesConfig, seq: int, expected: str) -> None:
    assert config.format_number(seq, year=2026, office_code="م.و") == expected


def test_defaults_cover_the_built_in_kinds() -> None:
    assert sorted(DEFAULT_SERIES) == [
        "assignment",
        "circular",
        "decision",
        "incoming",
        "letter",
        "letter_en",
    ]
    assert {s.kind_code for s in DEFAULT_SERIES.values()} == {"ت", "ق", "ح", "ص", "و"}


def test_yearly_reset_uses_the_year_as_period() -> None:
    assert SeriesConfig("x").period(2026) == "2026"


def test_reset_never_has_one_period() -> None:
    series = SeriesConfig("x", reset="never")
    assert series.period(2025) == series.period(2026) == ""


def test_from_settings_overrides_defaults() -> None:
    series = SeriesConfig.from_settings("circular", {"padding": 3, "digits": "arabic"})
    assert (series.kind_code, series.format, series.padding, series.digits) == (
        "ت",
        DEFAULT_SERIES["circular"].format,
        3,
        "arabic",
    )
    assert series.format_number(4, year=2026, office_code="م.و") == "م.و/ت/٠٠٤/٢٠٢٦"


def test_from_settings_new_series_takes_its_initial_as_kind_code() -> None:
    series = SeriesConfig.from_settings("memo", {"reset": "never"})
    assert (series.name, series.kind_code, series.reset) == ("memo", "M", "never")


# -- bad configurations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"format": "{seq}/{month}"},
            "series s: unknown placeholder {month} in format '{seq}/{month}' "
            "(known: kind_code, office_code, seq, year)",
        ),
        ({"format": "{}/{seq}"}, "series s: unknown placeholder {} in format"),
        ({"format": "{0}/{seq}"}, "series s: unknown placeholder {0} in format"),
        ({"format": "{seq.real}"}, "series s: unknown placeholder {seq.real}"),
        ({"format": "{office_code}/{year}"}, "series s: format '{office_code}/{year}' lacks {seq}"),
        ({"format": "{seq"}, "series s: bad format '{seq'"),
        ({"format": "{seq}}"}, "series s: bad format '{seq}}'"),
        ({"digits": "hindi"}, "series s: digits must be 'ascii' or 'arabic'"),
        ({"reset": "monthly"}, "series s: reset must be 'yearly' or 'never'"),
        ({"padding": -1}, "series s: padding must be 0..12"),
        ({"padding": 13}, "series s: padding must be 0..12"),
    ],
)
def test_bad_config(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        SeriesConfig("s", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"formt": "{seq}"},
            "series s: unknown setting 'formt' (known: digits, format, kind_code, padding, reset)",
        ),
        ({"padding": "3"}, "series s: padding must be a whole number"),
        ({"padding": 2.5}, "series s: padding must be a whole number"),
        ({"format": "{seq}-{day}"}, "unknown placeholder {day}"),
        ({"digits": "roman"}, "digits must be 'ascii' or 'arabic'"),
    ],
)
def test_bad_settings(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        SeriesConfig.from_settings("s", table)


@pytest.mark.parametrize("fmt", ["{seq!x}", "{seq:d}"])
def test_format_spec_that_cannot_render_is_refused_up_front(fmt: str) -> None:
    with pytest.raises(ConfigurationError, match="series s"):
        SeriesConfig("s", format=fmt).format_number(1, year=2026, office_code="X")


def test_boolean_padding_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="padding must be a whole number"):
        SeriesConfig.from_settings("s", {"padding": True})


# -- properties -----------------------------------------------------------------------------

seqs = st.integers(min_value=1, max_value=10**12)
years = st.integers(min_value=1900, max_value=2200)
paddings = st.integers(min_value=0, max_value=12)
formats = st.sampled_from(
    [
        "{office_code}/{kind_code}/{seq}/{year}",
        "{seq}",
        "{kind_code}-{year}-{seq}",
        "رقم {seq} لسنة {year}",
        "{{{seq}}}",
    ]
)
# Office and kind codes are letters and punctuation: no digits of either kind.
codes = st.text(
    alphabet=st.characters(
        categories=["L", "P", "Zs"], exclude_characters="{}" + ARABIC_INDIC + "0123456789"
    ),
    max_size=8,
)


@given(seq=seqs, year=years, padding=paddings, fmt=formats, office=codes, kind=codes)
def test_number_contains_its_seq(
    seq: int, year: int, padding: int, fmt: str, office: str, kind: str
) -> None:
    ascii_series = SeriesConfig("s", format=fmt, kind_code=kind, padding=padding)
    arabic_series = SeriesConfig("s", format=fmt, kind_code=kind, padding=padding, digits="arabic")
    ascii_number = ascii_series.format_number(seq, year=year, office_code=office)
    arabic_number = arabic_series.format_number(seq, year=year, office_code=office)
    assert str(seq) in ascii_number
    assert to_arabic_digits(str(seq)) in arabic_number
    assert not re.search(r"[0-9]", arabic_number)
    assert arabic_number.translate(TO_ASCII) == ascii_number


@given(seq=seqs, padding=paddings)
def test_padding_gives_at_least_that_width(seq: int, padding: int) -> None:
    number = SeriesConfig("s", format="{seq}", padding=padding).format_number(
        seq, year=2026, office_code=""
    )
    assert len(number) >= padding
    assert len(number) == max(padding, len(str(seq)))
    assert int(number) == seq


@given(seq=seqs, year=years)
def test_distinct_seqs_give_distinct_numbers(seq: int, year: int) -> None:
    series = DEFAULT_SERIES["circular"]
    assert series.format_number(seq, year=year, office_code="م.و") != series.format_number(
        seq + 1, year=year, office_code="م.و"
    )


@given(text=st.text(alphabet=st.characters(exclude_characters=ARABIC_INDIC)))
def test_to_arabic_digits_round_trips(text: str) -> None:
    arabic = to_arabic_digits(text)
    assert len(arabic) == len(text)
    assert not re.search(r"[0-9]", arabic)
    assert arabic.translate(TO_ASCII) == text


def test_to_arabic_digits() -> None:
    assert to_arabic_digits("0123456789") == ARABIC_INDIC
    assert to_arabic_digits("كتاب 17/2026") == "كتاب ١٧/٢٠٢٦"
