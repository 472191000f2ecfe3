"""DOCX templates: the built-in ones, rendering in a sandbox, filters, and DOCX → PDF."""

from __future__ import annotations

from .external import ExternalReference, find_external
from .filters import DEFAULT_DATE_FORMAT
from .pdf import PdfConverter, docx_to_pdf
from .render import (
    TemplateFields,
    builtin_templates,
    check_docx,
    docx_text,
    render_docx,
    template_fields,
)
from .resident import ConverterPool, ResidentConverter, shared_converter

__all__ = [
    "DEFAULT_DATE_FORMAT",
    "ConverterPool",
    "ExternalReference",
    "PdfConverter",
    "ResidentConverter",
    "TemplateFields",
    "builtin_templates",
    "check_docx",
    "docx_text",
    "docx_to_pdf",
    "find_external",
    "render_docx",
    "shared_converter",
    "template_fields",
]
