"""Reading what arrives at the office: paper scans and electronic mail."""

from __future__ import annotations

from .imap import ImapSource, is_imap_url
from .mail import Attachment, Mail, MailInput, parse_mail, read_inputs
from .scans import Scan, read_scan, sniff
from .text import Extracted, extract_text, html_to_text

__all__ = [
    "Attachment",
    "Extracted",
    "ImapSource",
    "Mail",
    "MailInput",
    "Scan",
    "extract_text",
    "html_to_text",
    "is_imap_url",
    "parse_mail",
    "read_inputs",
    "read_scan",
    "sniff",
]
