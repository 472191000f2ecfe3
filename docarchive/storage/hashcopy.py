"""Copying a stream into a file while hashing it with SHA-256, for the storage backends.

A blob's key is the SHA-256 of its bytes, so every put hashes what it copies. From
64 KiB on, the hash is computed by a helper thread while the calling thread copies (and
fsyncs): ``hashlib`` and the system calls release the GIL, so a large put costs about
what the copy costs rather than the copy plus the hash. Each calling thread has its own
helper, started on its first large put and stopped when the calling thread ends (a
forked child starts its own); at most 16 chunks read into memory wait for it, so
memory stays bounded however fast the copy runs.

A plain file on disk (an ``open(path, "rb")`` object, or its raw ``FileIO``) is copied
in the kernel (``sendfile``, as ``shutil.copyfile`` does) and hashed by reading back the
copy, so the key is always that of the stored bytes, even if the source changes
meanwhile. Anything else — a wrapper that transforms what it reads (gzip, codecs), a
pipe, a socket, memory — is read through its own ``read``.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import queue
import stat
import threading
import weakref
from typing import BinaryIO

from .base import CHUNK

__all__ = ["bytes_left_on_disk", "write_hashed"]

_HASH_ALONGSIDE = 64 * 1024
"""From this size on, a helper thread hashes while the writing thread copies."""

_KERNEL_CHUNK = 4 * 1024 * 1024
"""Bytes of a file on disk copied by one ``sendfile`` call, then hashed from the copy."""

_IN_FLIGHT = 16
"""Chunks read into memory (1 MiB each) of one blob that may wait for the hashing thread."""


def write_hashed(stream: BinaryIO, fd: int, *, sync: bool) -> tuple[str, int]:
    """Copy everything left in ``stream`` to ``fd`` (open for reading and writing, at
    its start), hashing it, and fsync it if ``sync``; returns the SHA-256 and size."""
    copied = _copy_file(stream, fd, sync)
    if copied is not None:
        return copied
    digest = hashlib.sha256()
    chunk = _read_at_least(stream, _HASH_ALONGSIDE)
    if len(chunk) < _HASH_ALONGSIDE:  # the whole blob
        digest.update(chunk)
        _write_all(fd, chunk)
        if sync:
            os.fsync(fd)
        return digest.hexdigest(), len(chunk)
    size = 0
    with _hasher().job(digest) as job:
        while chunk:
            job.add(chunk)
            _write_all(fd, chunk)
            size += len(chunk)
            chunk = stream.read(CHUNK)
        if sync:
            os.fsync(fd)
    return digest.hexdigest(), size


def bytes_left_on_disk(stream: BinaryIO) -> int | None:
    """How many bytes are left to read in ``stream`` when it is a plain file on disk read
    as it is stored (``sendfile`` can copy it); None for anything else."""
    if type(stream) in (io.BufferedReader, io.BufferedRandom):
        raw = getattr(stream, "raw", None)
        if type(raw) is not io.FileIO:
            return None
    elif type(stream) is not io.FileIO:
        return None
    try:
        if stream.writable():
            stream.flush()
        info = os.fstat(stream.fileno())
        start = stream.tell()
    except (OSError, ValueError):
        return None
    return info.st_size - start if stat.S_ISREG(info.st_mode) else None


def _copy_file(stream: BinaryIO, fd: int, sync: bool) -> tuple[str, int] | None:
    """Copy a file on disk of 64 KiB or more with ``sendfile`` while the hashing thread
    hashes each piece read back from the copy; fsync if ``sync``. None, with nothing
    written, when the stream is not such a file or the system cannot ``sendfile`` it.
    The stream is left at its end, as reading it would."""
    left = bytes_left_on_disk(stream)
    if left is None or left < _HASH_ALONGSIDE:
        return None
    source, start = stream.fileno(), stream.tell()
    try:
        copied = os.sendfile(fd, source, start, _KERNEL_CHUNK)
    except OSError:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        return None
    digest = hashlib.sha256()
    size = 0
    with _hasher().job(digest, read_from=fd) as job:
        while copied:
            job.add_range(size, copied)
            size += copied
            copied = os.sendfile(fd, source, start + size, _KERNEL_CHUNK)
        if sync:
            os.fsync(fd)
    stream.seek(start + size)
    return digest.hexdigest(), size


def _read_at_least(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end: raw streams and pipes may return less."""
    first = stream.read(size)
    if len(first) >= size or not first:
        return first
    parts = [first]
    have = len(first)
    while have < size and (more := stream.read(size - have)):
        parts.append(more)
        have += len(more)
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# -- the hashing threads -------------------------------------------------------------------


class _Job:
    """The chunks (or ranges of a file) of one blob, handed to a hashing thread in order.

    Used as a context manager: leaving it waits until every chunk handed over is hashed,
    also when the copy failed, and raises what the hashing thread met."""

    def __init__(self, hasher: _Hasher, digest: hashlib._Hash, read_from: int | None) -> None:
        self._hasher = hasher
        self._digest = digest
        # the hashing thread reads ranges from its own descriptor, which stays valid even
        # if the caller closes its own while the last ranges are still queued
        self._fd = os.dup(read_from) if read_from is not None else None
        self._room = threading.Semaphore(_IN_FLIGHT)
        self._done = threading.Event()
        self.error: BaseException | None = None

    def __enter__(self) -> _Job:
        return self

    def __exit__(self, *exc: object) -> None:
        self._hasher.submit(self, None)
        while not self._done.wait(1.0):
            if not self._hasher.alive():
                self._close()
                raise OSError(errno.EIO, "the hashing thread stopped")
        if self.error is not None and exc[0] is None:
            raise self.error

    def add(self, chunk: bytes) -> None:
        self._room.acquire()
        self._hasher.submit(self, chunk)

    def add_range(self, offset: int, length: int) -> None:
        # no wait: a range holds no memory, and the copy running ahead of the hash lets
        # the fsync overlap the hashing of the last ranges
        self._hasher.submit(self, (offset, length))

    def run(self, piece: bytes | tuple[int, int] | None) -> None:
        """In the hashing thread."""
        if piece is None:
            self._close()
            self._done.set()
            return
        try:
            if self.error is None:
                if isinstance(piece, tuple):
                    offset, length = piece
                    assert self._fd is not None
                    data = os.pread(self._fd, length, offset)
                    if len(data) != length:
                        raise OSError(errno.EIO, "the copy reads back shorter than written")
                    self._digest.update(data)
                else:
                    self._digest.update(piece)
        except BaseException as exc:  # handed back to the writing thread
            self.error = exc
        finally:
            if not isinstance(piece, tuple):
                self._room.release()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


_Piece = tuple[_Job, bytes | tuple[int, int] | None]
_STOP = None


class _Hasher:
    """A daemon thread hashing the chunks of one calling thread's large puts; it stops
    when the calling thread ends (its thread-local hasher is collected)."""

    def __init__(self) -> None:
        self._pieces: queue.SimpleQueue[_Piece | None] = queue.SimpleQueue()
        thread = threading.Thread(
            target=_work, args=(self._pieces,), name="docarchive-hash", daemon=True
        )
        try:
            thread.start()  # fails here, before the hasher is kept, if no thread can start
        except RuntimeError as exc:
            raise OSError(errno.EAGAIN, f"cannot start a hashing thread: {exc}") from exc
        self._thread = thread
        weakref.finalize(self, self._pieces.put, _STOP)

    def job(self, digest: hashlib._Hash, read_from: int | None = None) -> _Job:
        return _Job(self, digest, read_from)

    def submit(self, job: _Job, piece: bytes | tuple[int, int] | None) -> None:
        self._pieces.put((job, piece))

    def alive(self) -> bool:
        return self._thread.is_alive()


def _work(pieces: queue.SimpleQueue[_Piece | None]) -> None:
    while (item := pieces.get()) is not _STOP:
        job, piece = item
        job.run(piece)


_local = threading.local()


def _hasher() -> _Hasher:
    """The calling thread's hasher, started on first use (and anew in a forked child)."""
    hasher: _Hasher | None = getattr(_local, "hasher", None)
    if hasher is None or getattr(_local, "pid", None) != os.getpid() or not hasher.alive():
        hasher = _Hasher()
        _local.hasher, _local.pid = hasher, os.getpid()
    return hasher
