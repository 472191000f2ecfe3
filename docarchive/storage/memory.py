"""Blobs in memory: ``memory://`` (tests and throwaway archives).

Every ``memory://NAME`` URL in one process shares one store, so an archive
opened twice sees the same blobs, as with a real server.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import BinaryIO, ClassVar
from urllib.parse import urlsplit

from ..errors import ConfigurationError, StorageError
from .base import BlobInfo, BlobStorage, check_key, sha256_of

__all__ = ["MemoryStorage"]


class MemoryStorage(BlobStorage):
    """Content-addressed blobs in a dict, shared per name within the process."""

    _stores: ClassVar[dict[str, dict[str, bytes]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str = "") -> None:
        self.url = f"memory://{name}"
        with self._lock:
            self._blobs = self._stores.setdefault(name, {})

    @classmethod
    def from_url(cls, url: str, **options: str) -> MemoryStorage:
        if options or urlsplit(url).query:
            raise ConfigurationError(f"memory:// storage takes no options: {url}")
        parts = urlsplit(url)
        return cls(parts.netloc + parts.path)

    def _put_stream(self, stream: BinaryIO) -> BlobInfo:
        data = stream.read()
        sha, size = sha256_of(io.BytesIO(data))
        with self._lock:
            if sha in self._blobs:
                return BlobInfo(sha, size, created=False)
            self._blobs[sha] = bytes(data)
        return BlobInfo(sha, size, created=True)

    def open(self, sha256: str) -> BinaryIO:
        check_key(sha256, self.url)
        try:
            return io.BytesIO(self._blobs[sha256])
        except KeyError:
            raise StorageError("blob is missing", url=self.url, key=sha256) from None

    def stat(self, sha256: str) -> BlobInfo:
        check_key(sha256, self.url)
        try:
            return BlobInfo(sha256, len(self._blobs[sha256]))
        except KeyError:
            raise StorageError("blob is missing", url=self.url, key=sha256) from None

    def keys(self) -> Iterator[str]:
        yield from list(self._blobs)

    def corrupt(self, sha256: str, data: bytes) -> None:
        """Replace stored bytes behind the store's back: for tests of ``verify`` only."""
        self._blobs[check_key(sha256, self.url)] = data
