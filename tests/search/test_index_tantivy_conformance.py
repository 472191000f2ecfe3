"""The tantivy backend (``tantivy:///path``) against the index conformance suite."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from docarchive.testing import IndexConformance


def _segment(path: Path) -> Path:
    return max(
        (p for p in path.iterdir() if p.suffix in (".idx", ".pos", ".store", ".term")),
        key=lambda p: p.stat().st_size,
    )


def truncate(path: Path) -> None:
    seg = _segment(path)
    seg.write_bytes(seg.read_bytes()[: seg.stat().st_size // 2])


def garble(path: Path) -> None:
    seg = _segment(path)
    data = bytearray(seg.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = os.urandom(64)
    seg.write_bytes(bytes(data))


def no_meta(path: Path) -> None:
    (path / "meta.json").unlink()


def junk_meta(path: Path) -> None:
    (path / "meta.json").write_text("{not json")


def junk_manifest(path: Path) -> None:
    (path / "manifest.json").write_text("[1, 2")


#: Damage done to a tantivy index folder behind its back.
DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncate": truncate,
    "garble": garble,
    "no-meta": no_meta,
    "junk-meta": junk_meta,
    "junk-manifest": junk_manifest,
}


class TestTantivyIndex(IndexConformance):
    def index_url(self, location: Path) -> str:
        return f"tantivy://{location}"

    def damages(self) -> dict[str, Callable[[Path], None]]:
        return DAMAGES
