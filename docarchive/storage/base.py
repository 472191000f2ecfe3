"""The storage protocol: immutable blobs addressed by their SHA-256.

A backend implements four primitives — :meth:`BlobStorage._put_stream`,
:meth:`BlobStorage.open`, :meth:`BlobStorage.stat` and :meth:`BlobStorage.keys` —
and inherits the rest. Keys are always 64 lowercase hex digits, checked before
any backend sees them, so no key can name a path outside the store.
"""

from __future__ import annotations

import hashlib
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import StorageError

__all__ = ["BlobInfo", "BlobStorage", "check_key", "sha256_of"]

CHUNK = 1024 * 1024
_KEY = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class BlobInfo:
    """What storage knows of one blob; ``created`` is False when it was already there."""

    sha256: str
    size: int
    created: bool = False


def check_key(sha256: str, url: str = "") -> str:
    if not isinstance(sha256, str) or not _KEY.fullmatch(sha256):
        raise StorageError(f"not a SHA-256 blob key: {sha256!r}", url=url)
    return sha256


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of everything left in ``stream``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class BlobStorage(ABC):
    """Content-addressed, write-once blob storage."""

    url: str = ""

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, **options: str) -> BlobStorage:
        """Build the backend from its URL (see the backend's docstring for options)."""

    @abstractmethod
    def _put_stream(self, stream: BinaryIO) -> BlobInfo:
        """Store the stream atomically under its SHA-256; never rewrite an existing blob."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A readable binary stream of the blob; StorageError when it is missing."""

    @abstractmethod
    def stat(self, sha256: str) -> BlobInfo:
        """Size of the stored blob; StorageError when it is missing."""

    @abstractmethod
    def keys(self) -> Iterator[str]:
        """Every stored key, in no particular order."""

    def put(self, data: bytes | BinaryIO) -> BlobInfo:
        """Store bytes or a binary stream; returns its key.

        Storing the same bytes again is a no-op (``created`` is False).
        """
        stream = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
        return self._put_stream(stream)

    def get(self, sha256: str) -> bytes:
        with self.open(sha256) as fh:
            return fh.read()

    def exists(self, sha256: str) -> bool:
        try:
            self.stat(sha256)
        except StorageError:
            return False
        return True

    def verify(self, sha256: str) -> bool:
        """Re-hash the stored bytes; True when they still match their key."""
        with self.open(sha256) as fh:
            actual, _ = sha256_of(fh)
        return actual == sha256

    def close(self) -> None:
        """Release connections; the default has none."""
