"""Backends chosen by URL scheme: lookup, registration, missing extras, entry points."""

from __future__ import annotations

from pathlib import Path

import pytest

from docarchive.catalog import open_catalog
from docarchive.errors import ConfigurationError
from docarchive.registry import Registry, scheme_of
from docarchive.storage import open_storage
from docarchive.storage.local import LocalStorage
from docarchive.storage.memory import MemoryStorage


def fresh() -> Registry:
    return Registry(
        "storage",
        builtins={
            "file": "docarchive.storage.local:LocalStorage",
            "memory": "docarchive.storage.memory:MemoryStorage",
        },
        extras={"fake": "fakeextra"},
    )


def test_builtin_schemes_resolve(tmp_path: Path) -> None:
    registry = fresh()
    assert registry.resolve("file:///srv/blobs") is LocalStorage
    assert registry.resolve("MEMORY://x") is MemoryStorage
    assert isinstance(open_storage((tmp_path / "b").as_uri()), LocalStorage)
    assert isinstance(open_storage("memory://registry-test"), MemoryStorage)


def test_unknown_scheme_lists_known_schemes() -> None:
    with pytest.raises(
        ConfigurationError, match=r"no storage backend for ftp:// \(known: file, memory\)"
    ):
        fresh().resolve("ftp://host/blobs")


def test_open_storage_unknown_scheme() -> None:
    with pytest.raises(ConfigurationError, match=r"no storage backend for gopher:// \(known: .*"):
        open_storage("gopher://host/x")


def test_open_catalog_unknown_scheme() -> None:
    with pytest.raises(ConfigurationError, match=r"no catalog backend for mongodb:// .*sqlite"):
        open_catalog("mongodb://host/db")


@pytest.mark.parametrize("url", ["/srv/archive/blobs", "blobs", ""])
def test_not_a_url(url: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a backend URL"):
        scheme_of(url)


def test_registering_a_taken_scheme_needs_clobber() -> None:
    registry = fresh()
    with pytest.raises(
        ConfigurationError,
        match=r"storage scheme 'file' is already registered .*pass clobber=True to replace it",
    ):
        registry.register("file", MemoryStorage)
    with pytest.raises(ConfigurationError, match="already registered"):
        registry.register("FILE", "mypackage:OtherStorage")
    assert registry.resolve("file:///x") is LocalStorage
    registry.register("file", MemoryStorage, clobber=True)
    assert registry.resolve("file:///x") is MemoryStorage


def test_registering_the_same_target_again_is_harmless() -> None:
    registry = fresh()
    registry.register("mem2", MemoryStorage)
    registry.register("mem2", MemoryStorage)
    assert registry.resolve("mem2://x") is MemoryStorage
    assert "mem2" in registry.schemes()


def test_registered_class_and_string_targets() -> None:
    registry = fresh()
    registry.register("Vault", "docarchive.storage.memory:MemoryStorage")
    assert registry.resolve("vault://x") is MemoryStorage


def test_missing_extra_names_the_pip_command() -> None:
    registry = fresh()
    registry.register("fake", "no_such_module_xyz:Cls")
    with pytest.raises(
        ConfigurationError,
        match=r"the storage backend fake:// needs a package that is missing "
        r"\(no_such_module_xyz\); install it with: pip install 'docarchive\[fakeextra\]'",
    ) as excinfo:
        registry.resolve("fake://bucket")
    assert isinstance(excinfo.value.__cause__, ImportError)


def test_missing_s3_extra() -> None:
    registry = Registry(
        "storage", builtins={"s3": "no_such_module_xyz.s3:S3Storage"}, extras={"s3": "s3"}
    )
    with pytest.raises(ConfigurationError, match=r"pip install 'docarchive\[s3\]'"):
        registry.resolve("s3://bucket/prefix")


def test_missing_module_without_extra_has_no_pip_hint() -> None:
    registry = fresh()
    registry.register("other", "no_such_module_xyz:Cls")
    with pytest.raises(ConfigurationError, match=r"missing \(no_such_module_xyz\)$"):
        registry.resolve("other://x")


def test_target_that_is_not_a_class() -> None:
    registry = fresh()
    registry.register("chunk", "docarchive.storage.base:CHUNK")
    with pytest.raises(ConfigurationError, match="docarchive.storage.base:CHUNK is not a class"):
        registry.resolve("chunk://x")


def test_target_naming_a_missing_class() -> None:
    registry = fresh()
    registry.register("typo", "docarchive.storage.memory:MemroyStorage")
    with pytest.raises(ConfigurationError, match="MemroyStorage"):
        registry.resolve("typo://x")


def test_entry_points_add_schemes_but_never_replace_builtins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "site" / "thirdparty_backend-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: thirdparty-backend\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[docarchive.storage]\n"
        "vaultfs = docarchive.storage.memory:MemoryStorage\n"
        "file = docarchive.storage.memory:MemoryStorage\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry = fresh()
    assert registry.resolve("vaultfs://x") is MemoryStorage
    assert registry.resolve("file:///x") is LocalStorage
    assert registry.schemes() == ["file", "memory", "vaultfs"]
