"""Which index an archive uses: tantivy for a new one, whoosh for one made with whoosh,
and the switch of an existing archive by its settings and ``docarchive reindex``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import tomli_w
from clirun import run_cli

from docarchive import Archive
from docarchive.search.index import WhooshIndex
from docarchive.search.tantivy_index import TantivyIndex

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def cli(*args: str, root: Path) -> dict:  # type: ignore[type-arg]
    proc = run_cli(*args, "--json", root=root, user="owner", isolated=True, check=True)
    out: dict = json.loads(proc.stdout)  # type: ignore[type-arg]
    return out


def test_a_new_archive_uses_tantivy(tmp_path: Path) -> None:
    info = cli("init", str(tmp_path / "a"), root=tmp_path / "a")
    assert info["index"] == f"tantivy://{tmp_path / 'a' / 'index'}"
    with Archive.open(tmp_path / "a") as archive:
        assert isinstance(archive.index, TantivyIndex)
        assert (tmp_path / "a" / "index" / "meta.json").exists()


def test_an_archive_made_with_whoosh_stays_whoosh(tmp_path: Path) -> None:
    """An archive made before tantivy was the default: no index URL in its settings and
    a whoosh index in its folder."""
    root = tmp_path / "old"
    with Archive.open(root, index=f"whoosh://{root / 'index'}") as archive:
        archive.issue("circular", json.loads((EXAMPLES / "circular.json").read_text("utf-8")))
    settings = tomllib.loads((root / "docarchive.toml").read_text("utf-8"))
    del settings["backends"]  # as the settings of such an archive read
    (root / "docarchive.toml").write_text(tomli_w.dumps(settings), encoding="utf-8")
    with Archive.open(root) as archive:
        assert isinstance(archive.index, WhooshIndex)
        assert archive.search("الأرشفة", clearance="top-secret").total == 1


def test_switch_an_archive_from_whoosh_to_tantivy_and_back(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    cli("init", str(root), "--index", f"whoosh://{root / 'index'}", root=root)
    data = str(EXAMPLES / "circular.json")
    issued = cli("issue", "circular", data, root=root)
    found = cli("search", "الأرشفة الإلكترونية", root=root)
    assert [h["id"] for h in found["hits"]] == [issued["id"]]

    settings = tomllib.loads((root / "docarchive.toml").read_text("utf-8"))
    settings["backends"]["index"] = f"tantivy://{root / 'index-tantivy'}"
    (root / "docarchive.toml").write_text(tomli_w.dumps(settings), encoding="utf-8")
    assert cli("reindex", root=root) == {"indexed": 1}
    found = cli("search", "الأرشفة الإلكترونية", root=root)
    assert [h["id"] for h in found["hits"]] == [issued["id"]]
    assert "<mark>" in found["hits"][0]["snippet"]
    with Archive.open(root) as archive:
        assert isinstance(archive.index, TantivyIndex)
        assert archive.index.applied() == archive.catalog.last_change()
    second = cli("issue", "circular", data, root=root)  # new records reach the new index
    found = cli("search", "الأرشفة الإلكترونية", root=root)
    assert {h["id"] for h in found["hits"]} == {issued["id"], second["id"]}

    # the same folder as the old whoosh index: the tantivy index replaces it on reindex
    settings["backends"]["index"] = f"tantivy://{root / 'index'}"
    (root / "docarchive.toml").write_text(tomli_w.dumps(settings), encoding="utf-8")
    assert cli("reindex", root=root) == {"indexed": 2}
    assert cli("search", "الأرشفة الإلكترونية", root=root)["total"] == 2
    assert (root / "index" / "meta.json").exists()
