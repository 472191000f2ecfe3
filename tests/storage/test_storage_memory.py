"""MemoryStorage: the conformance suite, then sharing by name."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from docarchive.errors import ConfigurationError
from docarchive.storage import open_storage
from docarchive.storage.base import BlobStorage
from docarchive.storage.memory import MemoryStorage
from docarchive.testing import StorageConformance


@pytest.fixture(autouse=True)
def _forget_new_stores() -> Iterator[None]:
    """Drop the stores a test created, so large blobs do not outlive it."""
    before = set(MemoryStorage._stores)
    yield
    for name in set(MemoryStorage._stores) - before:
        del MemoryStorage._stores[name]


class TestMemoryStorage(StorageConformance):
    def make_storage(self, location: Path) -> BlobStorage:
        # One name per test (tmp_path is unique); the same folder reopens the same store.
        return MemoryStorage(f"conformance-{location}")

    def corrupt(self, storage: BlobStorage, key: str, data: bytes) -> None:
        assert isinstance(storage, MemoryStorage)
        storage.corrupt(key, data)


def unique_name() -> str:
    return f"test-{uuid.uuid4().hex}"


def test_same_name_shares_blobs() -> None:
    name = unique_name()
    first = open_storage(f"memory://{name}")
    key = first.put(b"shared").sha256
    second = open_storage(f"memory://{name}")
    assert isinstance(second, MemoryStorage)
    assert second.get(key) == b"shared"
    assert second.put(b"shared").created is False


def test_other_names_are_isolated() -> None:
    key = MemoryStorage(unique_name()).put(b"private").sha256
    assert MemoryStorage(unique_name()).exists(key) is False


def test_url_round_trips() -> None:
    store = MemoryStorage.from_url(f"memory://{unique_name()}/sub/path")
    assert MemoryStorage.from_url(store.url).url == store.url


def test_from_url_rejects_options() -> None:
    with pytest.raises(ConfigurationError, match="memory:// storage takes no options"):
        MemoryStorage.from_url(f"memory://{unique_name()}?size=10")
    with pytest.raises(ConfigurationError, match="memory:// storage takes no options"):
        MemoryStorage.from_url(f"memory://{unique_name()}", size="10")
