"""Shared fixtures: archives in temporary folders, the example data, PDFs made on the fly."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from docarchive import Archive

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

from clirun import run_cli  # noqa: E402
from make_data import text_pdf  # noqa: E402  (examples/make_data.py: the one PDF writer)


@pytest.fixture
def example_data() -> Path:
    return EXAMPLES / "data"


@pytest.fixture
def circular_data(example_data: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((example_data / "circular.json").read_text("utf-8"))
    return data


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(tmp_path / "archive") as arc:
        yield arc


@pytest.fixture
def make_pdf(tmp_path: Path) -> Callable[..., Path]:
    """A PDF with a real text layer holding ``lines``."""

    def make(name: str, lines: list[str]) -> Path:
        path = tmp_path / name
        text_pdf(path, lines)
        return path

    return make


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


@pytest.fixture(autouse=True)
def _no_pdf_unless_asked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issuing converts to PDF with LibreOffice (~1 s a document). Tests that are not about
    the official PDF issue DOCX only; tests marked ``official_pdf`` run the whole pipeline."""
    if request.node.get_closest_marker("official_pdf") is None:
        monkeypatch.setenv("DOCARCHIVE_ISSUE_PDF", "0")
