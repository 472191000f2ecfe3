"""DOCX templates: the built-in ones and rendering in a sandbox."""

from __future__ import annotations

from .render import builtin_templates, check_docx, docx_text, render_docx

__all__ = ["builtin_templates", "check_docx", "docx_text", "render_docx"]
