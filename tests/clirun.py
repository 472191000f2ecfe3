"""Run the command line for real, in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str,
    root: Path | None = None,
    user: str | None = None,
    check: bool = False,
    isolated: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m docarchive`` for real, as a user would.

    ``isolated``: no ``DOCARCHIVE_*`` variable of the test's own environment reaches the
    command (documents are issued without the PDF, as in most tests).
    """
    env = dict(os.environ)
    if isolated:
        env = {k: v for k, v in env.items() if not k.startswith("DOCARCHIVE_")}
        env["DOCARCHIVE_ISSUE_PDF"] = "0"
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
