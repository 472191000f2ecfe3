"""Blobs in a local folder: ``file:///srv/archive/blobs``.

Layout: ``ab/cd/abcd…`` (the first two pairs of hex digits as folders). A write
goes to a temporary file in ``tmp/`` — unnamed (Linux ``O_TMPFILE``) where the file
system allows, so a crash leaves nothing behind — is hashed while copied, fsynced, then
hard-linked into place — ``link`` fails if the blob exists, so stored bytes are
never rewritten — and the folder is fsynced. Stored files are read-only.

A put costs what any durable new file costs that must never be seen half-written (a
temporary copy, fsync, rename, folder fsync): one fsync of the data, one of the folder.
The SHA-256 of a blob of 64 KiB or more is computed by a helper thread while the copy
and its fsync run. Fan-out folders made for a new blob are not fsynced one by one:
journaling file systems (ext4, XFS, btrfs) commit them with the fsync of the blob's
folder; each further fsync would cost a cache flush.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from ..errors import ConfigurationError, StorageError
from .base import CHUNK, BlobInfo, BlobStorage, check_key

__all__ = ["LocalStorage"]

_HASH_ALONGSIDE = 64 * 1024
"""From this size on, a helper thread hashes while the writing thread copies and fsyncs."""

_KERNEL_CHUNK = 4 * 1024 * 1024
"""Bytes of a file on disk copied by one ``sendfile`` call, then hashed from the copy."""

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
            sha, size = _write_hashed(stream, fd)  # ends with the file's fsync
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
            self._tmp.mkdir(parents=True, exist_ok=True)
            self._tmp_ready = True
        if self._unnamed:
            try:
                return os.open(self._tmp, _UNNAMED, 0o444), None
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
                self._unnamed = False  # this file system has no O_TMPFILE
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        os.fchmod(fd, 0o444)
        return fd, Path(name)

    def _link(self, source: str, final: Path) -> bool:
        """Give the written file its name (``link`` never replaces an existing blob) and make
        the name durable (fsync of its folder); False when the blob was already there."""
        try:
            folder = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            final.parent.mkdir(parents=True, exist_ok=True)
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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_hashed(stream: BinaryIO, fd: int) -> tuple[str, int]:
    """Copy ``stream`` to ``fd``, hashing it, and fsync it; returns the SHA-256 and size.

    A blob of 64 KiB or more is hashed by the process's hashing thread while this one
    copies and fsyncs (``hashlib`` and ``os.write`` release the GIL), so a large put
    costs about what the copy costs rather than the copy plus the hash.
    """
    copied = _copy_file(stream, fd)
    if copied is not None:
        return copied
    digest = hashlib.sha256()
    chunk = stream.read(_HASH_ALONGSIDE)
    if len(chunk) < _HASH_ALONGSIDE:
        digest.update(chunk)
        _write_all(fd, chunk)
        os.fsync(fd)
        return digest.hexdigest(), len(chunk)
    job = _HASHER.start(digest)
    size = 0
    try:
        while chunk:
            job.add(chunk)
            _write_all(fd, chunk)
            size += len(chunk)
            chunk = stream.read(CHUNK)
        os.fsync(fd)
    finally:
        job.finish()  # waits for the hashing thread, also when the copy failed
    return digest.hexdigest(), size


def _copy_file(stream: BinaryIO, fd: int) -> tuple[str, int] | None:
    """Copy a file on disk of 64 KiB or more with ``sendfile`` (in the kernel, as
    ``shutil.copyfile`` does) while the hashing thread hashes each piece *read back from
    the copy*, so the key is always that of the stored bytes, even if the source changes
    meanwhile; fsync. None (nothing written) when the stream is not such a file or the
    system cannot ``sendfile`` it: the caller copies through memory. The stream is left
    at its end, as reading it would."""
    try:
        source = stream.fileno()
        start = stream.tell()
        info = os.fstat(source)
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size - start < _HASH_ALONGSIDE:
        return None
    try:
        copied = os.sendfile(fd, source, start, _KERNEL_CHUNK)
    except OSError:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        return None
    digest = hashlib.sha256()
    job = _HASHER.start(digest)
    size = 0
    try:
        while copied:
            job.add_range(fd, size, copied)
            size += copied
            copied = os.sendfile(fd, source, start + size, _KERNEL_CHUNK)
        os.fsync(fd)
    finally:
        job.finish()
    stream.seek(start + size)
    return digest.hexdigest(), size


class _HashJob:
    """The chunks of one blob, handed to the hashing thread in order."""

    def __init__(self, digest: hashlib._Hash, jobs: queue.SimpleQueue[_Chunk]) -> None:
        self._digest = digest
        self._jobs = jobs
        self._done = threading.Event()
        self.error: BaseException | None = None

    def add(self, chunk: bytes) -> None:
        self._jobs.put((self, chunk))

    def add_range(self, fd: int, offset: int, length: int) -> None:
        """Bytes ``offset`` to ``offset + length`` of the file open as ``fd``, read by the
        hashing thread (``fd`` stays open until :meth:`finish` returns)."""
        self._jobs.put((self, (fd, offset, length)))

    def finish(self) -> None:
        self._jobs.put((self, None))
        self._done.wait()
        if self.error is not None:
            raise self.error

    def run(self, piece: bytes | tuple[int, int, int] | None) -> None:
        if piece is None:
            self._done.set()
        elif self.error is None:
            try:
                if isinstance(piece, tuple):
                    fd, offset, length = piece
                    data = os.pread(fd, length, offset)
                    if len(data) != length:
                        raise OSError(errno.EIO, "the copy reads back shorter than written")
                    self._digest.update(data)
                else:
                    self._digest.update(piece)
            except BaseException as exc:  # handed back to the writing thread
                self.error = exc


_Chunk = tuple[_HashJob, bytes | tuple[int, int, int] | None]


class _Hasher:
    """One daemon thread per process that hashes the chunks of large puts, started on
    first use (and again in a forked child, which inherits no threads). Puts from several
    threads share it; each job's chunks stay in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Chunk] | None = None
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._jobs = None

    def start(self, digest: hashlib._Hash) -> _HashJob:
        with self._lock:
            if self._jobs is None:
                self._jobs = queue.SimpleQueue()
                threading.Thread(
                    target=self._work, args=(self._jobs,), name="docarchive-hash", daemon=True
                ).start()
            return _HashJob(digest, self._jobs)

    @staticmethod
    def _work(jobs: queue.SimpleQueue[_Chunk]) -> None:
        while True:
            job, chunk = jobs.get()
            job.run(chunk)


_HASHER = _Hasher()
