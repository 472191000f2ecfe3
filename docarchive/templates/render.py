"""Render DOCX templates with Jinja placeholders (docxtpl) in a sandbox.

Templates are untrusted input: before docxtpl opens one, the zip is checked
against the DOCX limits of :mod:`docarchive.limits` (member count, and the
real decompressed size of each member and of the whole). Rendering runs in a
:class:`jinja2.sandbox.SandboxedEnvironment` with autoescaping, so a template
cannot reach Python internals and data with ``<`` or ``&`` cannot corrupt the
document XML.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..errors import LimitExceededError, MissingFieldError, TemplateError
from ..limits import Limits, check
from ..numbering import to_arabic_digits

__all__ = ["builtin_templates", "check_docx", "docx_text", "environment", "render_docx"]

_READ = 1024 * 1024


def builtin_templates() -> dict[str, Path]:
    """Kind → path of each template shipped with the package."""
    folder = resources.files("docarchive.templates") / "builtin"
    return {
        Path(entry.name).stem: Path(str(entry))
        for entry in folder.iterdir()
        if entry.name.endswith(".docx")
    }


def _amount(value: Any, decimals: int = 0) -> str:
    """1234567 → 1,234,567 (thousands separators)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:,.{decimals}f}"


def environment() -> SandboxedEnvironment:
    """The Jinja environment every template renders in: sandboxed, autoescaped."""
    env = SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["arabic_digits"] = lambda v: to_arabic_digits(str(v))
    env.filters["amount"] = _amount
    return env


def check_docx(data: bytes, name: str, limits: Limits) -> None:
    """Refuse a non-zip, a broken zip, or one over the DOCX limits, naming the reason."""
    if not data.startswith(b"PK"):
        raise TemplateError(f"{name}: not a .docx file (not a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            check(limits, "docx_members", len(members))
            if "word/document.xml" not in zf.namelist():
                raise TemplateError(f"{name}: not a .docx file (no word/document.xml)")
            total = 0
            for info in members:
                size = 0
                with zf.open(info) as fh:
                    while chunk := fh.read(_READ):
                        size += len(chunk)
                        total += len(chunk)
                        check(limits, "docx_member_bytes", size)
                        check(limits, "docx_total_bytes", total)
    except LimitExceededError as exc:
        raise TemplateError(f"{name}: refused: {exc}") from exc
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise TemplateError(f"{name}: broken .docx file: {exc}") from exc


def render_docx(template: Path, context: Mapping[str, Any], limits: Limits) -> bytes:
    """Render ``template`` with ``context``; the rendered .docx as bytes."""
    from docxtpl import DocxTemplate

    name = template.name
    try:
        data = template.read_bytes()
    except OSError as exc:
        raise TemplateError(f"{template}: cannot read the template: {exc.strerror}") from exc
    check_docx(data, name, limits)
    env = environment()
    try:
        tpl = DocxTemplate(io.BytesIO(data))
        needed = tpl.get_undeclared_template_variables(env)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{name}: template syntax error: {exc.message}") from exc
    except Exception as exc:  # docxtpl/python-docx raise many kinds on broken files
        raise TemplateError(f"{name}: cannot read the template: {exc}") from exc
    missing = sorted(set(needed) - set(context))
    if missing:
        raise MissingFieldError(missing[0], name)
    try:
        tpl.render(dict(context), jinja_env=env)
        out = io.BytesIO()
        tpl.save(out)
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"{name}: refused by the template sandbox: {exc}") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{name}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{name}: cannot render: {exc}") from exc
    return out.getvalue()


def docx_text(data: bytes) -> str:
    """The text of a .docx: paragraphs, then table cells, in document order per part."""
    from docx import Document

    doc = Document(io.BytesIO(data))
    lines = [p.text for p in doc.paragraphs if p.text.strip()]
    for table in doc.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(cells))
    return "\n".join(lines)
