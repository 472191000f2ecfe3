"""The whoosh backend (``whoosh:///path``) against the index conformance suite."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from docarchive.search.index import STATE_FILE
from docarchive.testing import IndexConformance


def _segment(path: Path) -> Path:
    return max(path.glob("*.seg"), key=lambda p: p.stat().st_size)


def truncate(path: Path) -> None:
    seg = _segment(path)
    seg.write_bytes(seg.read_bytes()[: seg.stat().st_size // 2])


def garble(path: Path) -> None:
    seg = _segment(path)
    data = bytearray(seg.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = os.urandom(64)
    seg.write_bytes(bytes(data))


def no_toc(path: Path) -> None:
    for toc in path.glob("*.toc"):
        toc.unlink()


def junk_state(path: Path) -> None:
    (path / STATE_FILE).write_text("{not json")


def state_says_more(path: Path) -> None:
    state = json.loads((path / STATE_FILE).read_text())
    state["files"] = {}
    state["applied"] = 10**6
    (path / STATE_FILE).write_text(json.dumps(state))


#: Damage done to a whoosh index folder behind its back (also used by test_index.py).
DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncate": truncate,
    "garble": garble,
    "no-toc": no_toc,
    "junk-state": junk_state,
}


class TestWhooshIndex(IndexConformance):
    def index_url(self, location: Path) -> str:
        return f"whoosh://{location}"

    def damages(self) -> dict[str, Callable[[Path], None]]:
        return DAMAGES
