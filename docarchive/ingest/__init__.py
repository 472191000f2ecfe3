"""Reading what arrives at the office: paper scans (and, later, mail)."""

from __future__ import annotations

from .scans import Scan, read_scan, sniff

__all__ = ["Scan", "read_scan", "sniff"]
