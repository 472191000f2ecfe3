"""Run the command line for real, in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
