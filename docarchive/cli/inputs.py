"""Reading what the user gives: data files, days, output paths, files to ingest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import DocArchiveError


def load_data(path: Path) -> dict[str, Any]:
    """DATA.json: a JSON object of fields."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocArchiveError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise DocArchiveError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocArchiveError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise DocArchiveError(f"{path}: the data must be a JSON object of fields")
    return data


def document_format(output: Path, what: str) -> str:
    """``docx`` or ``pdf``, from the name of the file to write (``what`` names it in the
    message when it is neither)."""
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("docx", "pdf"):
        raise DocArchiveError(f"{output}: the {what} must be a .docx or a .pdf file")
    return fmt


def day(value: str | None) -> str | None:
    """A --as-of, --from or --to day as YYYY-MM-DD (None when not given)."""
    from ..followup import parse_day

    return parse_day(value).isoformat() if value else None


def require_existing(
    paths: Iterable[str | Path], elsewhere: Callable[[str], bool] = lambda _: False
) -> None:
    """Refuse the batch when a file or folder to ingest is missing (unless ``elsewhere``
    says it is not a path, like an IMAP URL)."""
    missing = [str(p) for p in paths if not elsewhere(str(p)) and not Path(p).exists()]
    if missing:
        raise DocArchiveError(f"{missing[0]}: no such file or folder")
