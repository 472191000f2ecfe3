"""Every script in examples/ runs, against a fresh archive, as its docstring says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_examples_issue_file_and_search(tmp_path: Path):
    root = str(tmp_path / "archive")
    assert run(str(EXAMPLES / "issue_from_system.py"), root).startswith("issued م.و/ت/1/")
    scans = tmp_path / "incoming"
    scans.mkdir()
    (scans / "monthly_report.pdf").write_bytes(
        (EXAMPLES / "data" / "scans" / "monthly_report.pdf").read_bytes()
    )
    (scans / "photo_of_a_letter.pdf").write_bytes(b"\xff\xd8\xff\xe0 a JPEG named .pdf")
    out = run(str(EXAMPLES / "file_a_folder.py"), str(scans), root)
    assert out.startswith("1 archived, 0 already archived, 1 quarantined")
    assert "photo_of_a_letter.pdf: not a PDF: its content is JPEG image" in out
    found = run(str(EXAMPLES / "search_archive.py"), "الإجازات", root)
    assert found.startswith("1 found") and "مواعيد تقديم طلبات الإجازات" in found
    found = run(str(EXAMPLES / "search_archive.py"), "expenditure", root)
    assert found.startswith("1 found") and "investment budget" in found
