"""What a parser's failure means for one input: a one-line reason, never a traceback.

Every per-file step of a batch (type detection, text layer, OCR, image decoding, the PDF
rendition, the stamp; mail parsing, attachment text) reads untrusted bytes with parsers
that are ours or a library's (PDFium, Pillow, pypdf, the stdlib ``email`` package). Any
exception such a step raises — ``PdfiumError``, ``PIL.UnidentifiedImageError``, a pypdf
error, ``struct.error``, ``zlib.error``, ``UnicodeDecodeError``, ``RecursionError``,
``MemoryError`` — is that input's failure: it becomes an
:class:`~docarchive.errors.IngestError` naming the file, and the batch goes on. Only a
failure of the archive itself (storage, catalog, numbering) stops a batch; those steps
are never wrapped here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import IngestError

__all__ = ["REASON_CHARS", "parser_step", "reason_for"]

REASON_CHARS = 300  # a reason is one line of at most this many characters


def one_line(text: str) -> str:
    """``text`` on one line (whitespace runs collapsed), at most REASON_CHARS long."""
    line = " ".join(str(text).split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def reason_for(exc: BaseException, what: str = "") -> str:
    """The one-line reason for a parser's exception; ``what`` says what was being read
    ("broken PDF", "broken PNG image"...), else the reason names the exception."""
    if isinstance(exc, IngestError):
        return one_line(exc.reason)
    if isinstance(exc, MemoryError):
        detail = "ran out of memory while parsing"
    elif isinstance(exc, RecursionError):
        detail = "nested too deeply to parse (RecursionError)"
    else:
        message = str(exc).strip()
        name = type(exc).__name__
        if what:  # what was being read says enough: the library's message, or its error
            return one_line(f"{what}: {message or name}")
        detail = f"{name}: {message}" if message else name
    return one_line(f"{what}: {detail}" if what else f"cannot be read: {detail}")


@contextmanager
def parser_step(label: str, what: str = "") -> Iterator[None]:
    """Run a parsing step: an IngestError passes, any other exception (not a
    KeyboardInterrupt or SystemExit) becomes IngestError(label, one-line reason)."""
    try:
        yield
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(label, reason_for(exc, what)) from exc
