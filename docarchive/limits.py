"""Caps on untrusted input.

Scans, mail and templates come from outside the office. Each parser runs under
these caps; going over one raises :class:`~docarchive.errors.LimitExceededError`
naming the limit, the value seen and how to raise it. Every cap can be changed
in ``docarchive.toml`` (``[limits]`` table) or by a ``DOCARCHIVE_LIMIT_<NAME>``
environment variable, e.g. ``DOCARCHIVE_LIMIT_PDF_PAGES=5000``.

========================  =============  ===============================================
name                      default        what it caps
========================  =============  ===============================================
``input_bytes``           512 MiB        size of one input file (scan, mail, template)
``pdf_pages``             2,000          pages read from one PDF (also: the largest page
                                         count a PDF declares, checked before parsing)
``pdf_depth``             100            nesting of arrays and dictionaries in a PDF
``scan_pixels``           200 MP         pixels in one scanned image page (also: the
                                         size an image or a PDF's image declares)
``mail_bytes``            64 MiB         size of one mail message
``mail_attachments``      200            attachments in one mail message
``mime_depth``            20             nesting depth of MIME parts in one mail message
``docx_members``          2,000          files inside one DOCX (zip) archive
``docx_member_bytes``     64 MiB         decompressed size of one DOCX member
``docx_total_bytes``      256 MiB        decompressed size of a whole DOCX
``indexed_text_chars``    2,000,000      characters of text indexed per record
``parse_seconds``         120            seconds a parser in the parser worker may take
                                         without finishing a step (opening a file, one
                                         page's text, rendering or OCR, a stamp)
``parse_memory_mb``       4,096          address space of the parser worker (MiB)
========================  =============  ===============================================

Declared sizes, page counts and nesting depths are checked on the raw bytes before any
parser reads them (:mod:`docarchive.ingest.precheck`). The native parsers (PDFium,
Pillow's decoders, tesseract, the stamp's pypdf) run in a parser worker process
(:mod:`docarchive.ingest.worker`) under ``parse_seconds`` and ``parse_memory_mb``: a
file that crashes, hangs or exhausts it is quarantined with the reason, and the worker
is restarted for the next file.

Text beyond ``indexed_text_chars`` is kept in the stored file but not indexed
(a warning is logged); every other cap refuses the input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from .errors import ConfigurationError, LimitExceededError

__all__ = ["Limits", "check"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The caps in force for one archive; see the module docstring."""

    input_bytes: int = 512 * MiB
    pdf_pages: int = 2000
    scan_pixels: int = 200_000_000
    mail_bytes: int = 64 * MiB
    mail_attachments: int = 200
    mime_depth: int = 20
    docx_members: int = 2000
    docx_member_bytes: int = 64 * MiB
    docx_total_bytes: int = 256 * MiB
    indexed_text_chars: int = 2_000_000
    pdf_depth: int = 100
    parse_seconds: int = 120
    parse_memory_mb: int = 4096

    @classmethod
    def load(
        cls, settings: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
    ) -> Limits:
        """Defaults, overridden by the ``[limits]`` table, overridden by the environment."""
        environ = os.environ if environ is None else environ
        known = {f.name for f in fields(cls)}
        values: dict[str, int] = {}
        for name, value in (settings or {}).items():
            if name not in known:
                raise ConfigurationError(
                    f"unknown limit {name!r} in [limits] (known: {', '.join(sorted(known))})"
                )
            values[name] = _as_int(name, value)
        for name in known:
            env = environ.get(f"DOCARCHIVE_LIMIT_{name.upper()}")
            if env is not None:
                values[name] = _as_int(name, env)
        return replace(cls(), **values)


def _as_int(name: str, value: object) -> int:
    try:
        number = int(str(value).replace("_", ""))
    except ValueError:
        raise ConfigurationError(f"limit {name} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise ConfigurationError(f"limit {name} must be positive, not {number}")
    return number


def check(limits: Limits, name: str, value: int) -> None:
    """Raise :class:`LimitExceededError` when ``value`` is over the cap ``name``."""
    maximum = int(getattr(limits, name))
    if value > maximum:
        raise LimitExceededError(name, value, maximum)
