"""Blobs in a local folder: ``file:///srv/archive/blobs``.

Layout: ``ab/cd/abcd…`` (the first two pairs of hex digits as folders). A write
goes to a temporary file in ``tmp/``, is hashed while copied, fsynced, then
hard-linked into place — ``link`` fails if the blob exists, so stored bytes are
never rewritten — and the folder is fsynced. Stored files are read-only.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from ..errors import ConfigurationError, StorageError
from .base import CHUNK, BlobInfo, BlobStorage, check_key

__all__ = ["LocalStorage"]


class LocalStorage(BlobStorage):
    """Content-addressed blobs in one folder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.url = self.path.as_uri() if self.path.is_absolute() else f"file:{self.path}"
        self._tmp = self.path / "tmp"

    @classmethod
    def from_url(cls, url: str, **options: str) -> LocalStorage:
        if options:
            raise ConfigurationError(
                f"file:// storage takes no options, got {sorted(options)[0]!r}"
            )
        parts = urlsplit(url)
        if parts.query:
            raise ConfigurationError(f"file:// storage takes no options: {url}")
        if parts.netloc not in ("", "localhost"):
            raise ConfigurationError(f"file:// storage must be local, not on {parts.netloc!r}")
        return cls(unquote(parts.path))

    def _blob_path(self, sha256: str) -> Path:
        check_key(sha256, self.url)
        return self.path / sha256[:2] / sha256[2:4] / sha256

    def _put_stream(self, stream: BinaryIO) -> BlobInfo:
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        except OSError as exc:
            raise StorageError(f"cannot write blob: {exc.strerror}", url=self.url) from exc
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self._blob_path(sha)
            if final.exists():
                return BlobInfo(sha, size, created=False)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, final)
            except FileExistsError:
                return BlobInfo(sha, size, created=False)
            _fsync_dir(final.parent)
            return BlobInfo(sha, size, created=True)
        except OSError as exc:
            raise StorageError(f"cannot write blob: {exc.strerror or exc}", url=self.url) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self._blob_path(sha256).open("rb")
        except FileNotFoundError:
            raise StorageError("blob is missing", url=self.url, key=sha256) from None
        except OSError as exc:
            raise StorageError(
                f"cannot read blob: {exc.strerror}", url=self.url, key=sha256
            ) from exc

    def stat(self, sha256: str) -> BlobInfo:
        try:
            st = self._blob_path(sha256).stat()
        except FileNotFoundError:
            raise StorageError("blob is missing", url=self.url, key=sha256) from None
        return BlobInfo(sha256, st.st_size)

    def keys(self) -> Iterator[str]:
        if not self.path.is_dir():
            return
        for first in sorted(self.path.iterdir()):
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                for blob in sorted(second.iterdir()):
                    yield blob.name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
