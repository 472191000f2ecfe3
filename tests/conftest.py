"""Shared fixtures: archives in temporary folders, the example data, PDFs made on the fly."""

from __future__ import annotations

import json
import os
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


def run_cli(
    *args: str, root: Path | None = None, user: str | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m docarchive`` for real, as a user would."""
    env = dict(os.environ)
    env.pop("DOCARCHIVE_ROOT", None)
    if root is not None:
        env["DOCARCHIVE_ROOT"] = str(root)
    if user is not None:
        env["DOCARCHIVE_USER"] = user
    proc = subprocess.run(
        [sys.executable, "-m", "docarchive", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docarchive {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
    return proc


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli
