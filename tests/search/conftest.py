"""For the search tests: the benchmark's letter generator on the path, the CLI in a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


def run_search_cli(
    *args: str, root: Path | None = None, user: str | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m docarchive`` for real, as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCARCHIVE_")}
    env["DOCARCHIVE_ISSUE_PDF"] = "0"
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
