"""Official numbers: how a series is configured and how its numbers look.

A series hands out numbers per office and (usually) per year. The catalog keeps
the counters and takes the next one in the same transaction that creates the
record; this module only knows the rules and the format. A series is set in
``docarchive.toml``::

    [series.circular]
    format = "{office_code}/{kind_code}/{seq}/{year}"
    kind_code = "ت"
    padding = 0          # zero-pad seq to this width
    digits = "ascii"     # or "arabic" for Arabic-Indic digits (٠-٩)
    reset = "yearly"     # or "never"

Placeholders: ``{seq}``, ``{year}``, ``{office_code}``, ``{kind_code}``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigurationError

__all__ = ["DEFAULT_SERIES", "SeriesConfig", "to_arabic_digits"]

_PLACEHOLDERS = {"seq", "year", "office_code", "kind_code"}
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def to_arabic_digits(text: str) -> str:
    """ASCII digits to Arabic-Indic digits (٠١٢٣٤٥٦٧٨٩); everything else unchanged."""
    return text.translate(_ARABIC_DIGITS)


@dataclass(frozen=True)
class SeriesConfig:
    """The rules of one numbering series."""

    name: str
    format: str = "{office_code}/{kind_code}/{seq}/{year}"
    kind_code: str = ""
    padding: int = 0
    digits: str = "ascii"
    reset: str = "yearly"

    def __post_init__(self) -> None:
        try:
            used = {f for _, f, _, _ in string.Formatter().parse(self.format) if f is not None}
        except ValueError as exc:
            raise ConfigurationError(
                f"series {self.name}: bad format {self.format!r}: {exc}"
            ) from None
        unknown = used - _PLACEHOLDERS
        if unknown:
            raise ConfigurationError(
                f"series {self.name}: unknown placeholder {{{sorted(unknown)[0]}}} in format "
                f"{self.format!r} (known: {', '.join(sorted(_PLACEHOLDERS))})"
            )
        if "seq" not in used:
            raise ConfigurationError(f"series {self.name}: format {self.format!r} lacks {{seq}}")
        if self.digits not in ("ascii", "arabic"):
            raise ConfigurationError(f"series {self.name}: digits must be 'ascii' or 'arabic'")
        if self.reset not in ("yearly", "never"):
            raise ConfigurationError(f"series {self.name}: reset must be 'yearly' or 'never'")
        if isinstance(self.padding, bool) or not isinstance(self.padding, int):
            raise ConfigurationError(f"series {self.name}: padding must be a whole number")
        if not 0 <= self.padding <= 12:
            raise ConfigurationError(f"series {self.name}: padding must be 0..12")
        try:  # conversions and format specs ({seq!x}, {seq:d}) must render too
            self.format_number(1, year=2026, office_code="X")
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            raise ConfigurationError(
                f"series {self.name}: format {self.format!r} cannot render: {exc}"
            ) from None

    @classmethod
    def from_settings(cls, name: str, table: Mapping[str, object]) -> SeriesConfig:
        known = {"format", "kind_code", "padding", "digits", "reset"}
        unknown = set(table) - known
        if unknown:
            raise ConfigurationError(
                f"series {name}: unknown setting {sorted(unknown)[0]!r} "
                f"(known: {', '.join(sorted(known))})"
            )
        base = DEFAULT_SERIES.get(name, cls(name=name, kind_code=name[:1].upper()))
        padding = table.get("padding", base.padding)
        if isinstance(padding, bool) or not isinstance(padding, int):
            raise ConfigurationError(f"series {name}: padding must be a whole number")
        return cls(
            name=name,
            format=str(table.get("format", base.format)),
            kind_code=str(table.get("kind_code", base.kind_code)),
            padding=padding,
            digits=str(table.get("digits", base.digits)),
            reset=str(table.get("reset", base.reset)),
        )

    def period(self, year: int) -> str:
        """The counter a number is taken from: the year, or '' for series that never reset."""
        return str(year) if self.reset == "yearly" else ""

    def format_number(self, seq: int, *, year: int, office_code: str) -> str:
        """The printed number, e.g. ``م.و/ت/17/2026``."""
        text = self.format.format(
            seq=str(seq).zfill(self.padding),
            year=year,
            office_code=office_code,
            kind_code=self.kind_code,
        )
        return to_arabic_digits(text) if self.digits == "arabic" else text


DEFAULT_SERIES: dict[str, SeriesConfig] = {
    "circular": SeriesConfig("circular", kind_code="ت"),
    "decision": SeriesConfig("decision", kind_code="ق"),
    "assignment": SeriesConfig("assignment", kind_code="ح"),
    "letter": SeriesConfig("letter", kind_code="ص"),
    "letter_en": SeriesConfig("letter_en", kind_code="ص"),
    "incoming": SeriesConfig("incoming", kind_code="و"),
}
