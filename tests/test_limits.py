"""Caps on untrusted input: defaults, [limits] table, environment, and the error users read."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

import docarchive.limits as limits_module
from docarchive.errors import ConfigurationError, LimitExceededError
from docarchive.limits import Limits, check

NAMES = sorted(f.name for f in fields(Limits))


def test_defaults() -> None:
    limits = Limits.load({}, {})
    assert limits == Limits()
    assert limits.pdf_pages == 2000
    assert limits.input_bytes == 512 * 1024 * 1024


def test_every_limit_is_documented() -> None:
    doc = limits_module.__doc__ or ""
    for name in NAMES:
        assert f"``{name}``" in doc, f"{name} is missing from the table in docarchive.limits"


def test_table_overrides_defaults() -> None:
    limits = Limits.load({"pdf_pages": 50, "mail_bytes": "1_000_000"}, {})
    assert (limits.pdf_pages, limits.mail_bytes) == (50, 1_000_000)
    assert limits.scan_pixels == Limits().scan_pixels


def test_environment_overrides_table() -> None:
    limits = Limits.load(
        {"pdf_pages": 50, "mail_attachments": 7}, {"DOCARCHIVE_LIMIT_PDF_PAGES": "5_000"}
    )
    assert (limits.pdf_pages, limits.mail_attachments) == (5000, 7)


@pytest.mark.parametrize("name", NAMES)
def test_every_limit_has_an_environment_variable(name: str) -> None:
    limits = Limits.load(None, {f"DOCARCHIVE_LIMIT_{name.upper()}": "12345"})
    assert getattr(limits, name) == 12345


def test_unknown_limit_lists_known_ones() -> None:
    with pytest.raises(
        ConfigurationError,
        match=re.escape(f"unknown limit 'pdf_page' in [limits] (known: {', '.join(NAMES)})"),
    ):
        Limits.load({"pdf_page": 10}, {})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", "limit pdf_pages must be a whole number, not 'lots'"),
        (2.5, "limit pdf_pages must be a whole number, not 2.5"),
        ("", "limit pdf_pages must be a whole number, not ''"),
        (0, "limit pdf_pages must be positive, not 0"),
        (-5, "limit pdf_pages must be positive, not -5"),
    ],
)
def test_bad_values(value: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Limits.load({"pdf_pages": value}, {})


def test_bad_environment_value() -> None:
    with pytest.raises(ConfigurationError, match="limit scan_pixels must be a whole number"):
        Limits.load({}, {"DOCARCHIVE_LIMIT_SCAN_PIXELS": "200MP"})


def test_check_at_the_limit_passes() -> None:
    check(Limits(), "pdf_pages", 2000)


def test_check_over_the_limit_says_how_to_raise_it() -> None:
    with pytest.raises(
        LimitExceededError,
        match=re.escape(
            "pdf_pages is 2001, over the limit of 2000 (raise it with "
            "DOCARCHIVE_LIMIT_PDF_PAGES or [limits] pdf_pages in docarchive.toml)"
        ),
    ) as excinfo:
        check(Limits(), "pdf_pages", 2001)
    assert (excinfo.value.limit, excinfo.value.value, excinfo.value.maximum) == (
        "pdf_pages",
        2001,
        2000,
    )


def test_check_uses_the_loaded_limit() -> None:
    limits = Limits.load({}, {"DOCARCHIVE_LIMIT_MAIL_ATTACHMENTS": "3"})
    check(limits, "mail_attachments", 3)
    with pytest.raises(LimitExceededError, match="mail_attachments is 4, over the limit of 3"):
        check(limits, "mail_attachments", 4)


@given(name=st.sampled_from(NAMES), maximum=st.integers(1, 10**12), value=st.integers(0, 10**13))
def test_check_raises_exactly_when_over(name: str, maximum: int, value: int) -> None:
    limits = Limits.load({name: maximum}, {})
    if value > maximum:
        with pytest.raises(LimitExceededError, match=f"DOCARCHIVE_LIMIT_{name.upper()}"):
            check(limits, name, value)
    else:
        check(limits, name, value)
