"""Blobs in a local folder: ``file:///srv/archive/blobs``.

Layout: ``ab/cd/abcd…`` (the first two pairs of hex digits as folders). A write
goes to a temporary file in ``tmp/`` — unnamed (Linux ``O_TMPFILE``) where the file
system allows, so a crash leaves nothing behind — is hashed while copied, fsynced, then
hard-linked into place — ``link`` fails if the blob exists, so stored bytes are
never rewritten — and the folder is fsynced. Stored files are read-only.

Permissions follow :attr:`LocalStorage.permissions` (:mod:`docarchive.permissions`; the
archive hands it its policy): blobs 0400 and folders 0700 by default (0440 and 2750 or
2770 for a group), set on the open file and on each folder made, whatever the umask.

A put costs what any durable new file costs that must never be seen half-written (a
temporary copy, fsync, rename, folder fsync): one fsync of the data, one of the folder.
The SHA-256 of a blob of 64 KiB or more is computed by a helper thread while the copy
and its fsync run. Fan-out folders made for a new blob are not fsynced one by one:
journaling file systems (ext4, XFS, btrfs) commit them with the fsync of the blob's
folder; each further fsync would cost a cache flush.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from ..errors import ConfigurationError, StorageError
from ..permissions import Policy
from .base import BlobInfo, BlobStorage, check_key
from .hashcopy import write_hashed

__all__ = ["LocalStorage"]

#: Flags of an unnamed temporary file (Linux ``O_TMPFILE``), 0 where there is none. Read
#: and write: the hashing thread reads back what ``sendfile`` copied.
_UNNAMED = (os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC) if hasattr(os, "O_TMPFILE") else 0


class LocalStorage(BlobStorage):
    """Content-addressed blobs in one folder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.url = self.path.as_uri() if self.path.is_absolute() else f"file:{self.path}"
        self._tmp = self.path / "tmp"
        self._tmp_ready = False
        self._unnamed = _UNNAMED != 0 and os.path.isdir("/proc/self/fd")
        #: The modes (and group) of the blobs and folders written; owner only by default.
        self.permissions = Policy()

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
            fd, tmp = self._temp_file()
        except OSError as exc:
            raise StorageError(f"cannot write blob: {exc.strerror}", url=self.url) from exc
        try:
            sha, size = write_hashed(stream, fd, sync=True)  # ends with the file's fsync
            final = self._blob_path(sha)
            source = str(tmp) if tmp is not None else f"/proc/self/fd/{fd}"
            return BlobInfo(sha, size, created=self._link(source, final))
        except OSError as exc:
            raise StorageError(f"cannot write blob: {exc.strerror or exc}", url=self.url) from exc
        finally:
            os.close(fd)
            if tmp is not None:
                tmp.unlink(missing_ok=True)

    def _temp_file(self) -> tuple[int, Path | None]:
        """A new read-only file in ``tmp/`` open for writing: unnamed (``O_TMPFILE``, so
        nothing is left behind and no name is created and removed) where the system allows,
        else a named temporary file."""
        if not self._tmp_ready:
            self.permissions.folder(self._tmp)
            self._tmp_ready = True
        if self._unnamed:
            try:
                fd = os.open(self._tmp, _UNNAMED, 0o400)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
                self._unnamed = False  # this file system has no O_TMPFILE
            else:
                self._private(fd)
                return fd, None
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        self._private(fd)
        return fd, Path(name)

    def _private(self, fd: int) -> None:
        """The blob mode (and group) on a new temporary file, before its first byte."""
        try:
            self.permissions.apply_fd(fd, "blob")
        except BaseException:
            os.close(fd)
            raise

    def _link(self, source: str, final: Path) -> bool:
        """Give the written file its name (``link`` never replaces an existing blob) and make
        the name durable (fsync of its folder); False when the blob was already there."""
        try:
            folder = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            self.permissions.folder(final.parent)
            folder = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            try:
                os.link(source, final.name, dst_dir_fd=folder, follow_symlinks=True)
            except FileExistsError:
                return False
            os.fsync(folder)
            return True
        finally:
            os.close(folder)

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
