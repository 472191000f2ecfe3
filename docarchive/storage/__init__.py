"""Blob storage backends, chosen by URL: ``file://``, ``memory://``, or registered ones."""

from __future__ import annotations

from ..registry import Registry
from .base import BlobInfo, BlobStorage

__all__ = ["BlobInfo", "BlobStorage", "open_storage", "registry"]

registry = Registry(
    "storage",
    builtins={
        "file": "docarchive.storage.local:LocalStorage",
        "memory": "docarchive.storage.memory:MemoryStorage",
        "s3": "docarchive.storage.s3:S3Storage",
    },
    extras={"s3": "s3"},
)


def open_storage(url: str) -> BlobStorage:
    """The storage backend for ``url``."""
    storage = registry.resolve(url).from_url(url)
    assert isinstance(storage, BlobStorage)
    return storage
