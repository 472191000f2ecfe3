"""Copying a stream into a file while hashing it with SHA-256, for the storage backends.

A blob's key is the SHA-256 of its bytes, so every put hashes what it copies. From
64 KiB on, the hash is computed by one helper thread per process while the calling
thread copies (and fsyncs): ``hashlib`` and the system calls release the GIL, so a large
put costs about what the copy costs rather than the copy plus the hash. A file on disk
is copied in the kernel (``sendfile``, as ``shutil.copyfile`` does) and hashed from the
copy, so the key is always that of the copied bytes, even if the source changes
meanwhile.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import stat
import threading
from typing import BinaryIO

from .base import CHUNK

__all__ = ["bytes_left_on_disk", "write_hashed"]

_HASH_ALONGSIDE = 64 * 1024
"""From this size on, a helper thread hashes while the writing thread copies."""

_KERNEL_CHUNK = 4 * 1024 * 1024
"""Bytes of a file on disk copied by one ``sendfile`` call, then hashed from the copy."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_hashed(stream: BinaryIO, fd: int, *, sync: bool) -> tuple[str, int]:
    """Copy ``stream`` to ``fd``, hashing it, and fsync it if ``sync``; returns the
    SHA-256 and size.

    A blob of 64 KiB or more is hashed by the process's hashing thread while this one
    copies and fsyncs (``hashlib`` and ``os.write`` release the GIL), so a large put
    costs about what the copy costs rather than the copy plus the hash.
    """
    copied = _copy_file(stream, fd, sync)
    if copied is not None:
        return copied
    digest = hashlib.sha256()
    chunk = stream.read(_HASH_ALONGSIDE)
    if len(chunk) < _HASH_ALONGSIDE:
        digest.update(chunk)
        _write_all(fd, chunk)
        if sync:
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
        if sync:
            os.fsync(fd)
    finally:
        job.finish()  # waits for the hashing thread, also when the copy failed
    return digest.hexdigest(), size


def bytes_left_on_disk(stream: BinaryIO) -> int | None:
    """How many bytes are left to read in ``stream`` when it is a regular file on disk
    (``sendfile`` can copy it); None for anything else (memory, pipes, sockets…)."""
    try:
        info = os.fstat(stream.fileno())
        start = stream.tell()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return info.st_size - start if stat.S_ISREG(info.st_mode) else None


def _copy_file(stream: BinaryIO, fd: int, sync: bool) -> tuple[str, int] | None:
    """Copy a file on disk of 64 KiB or more with ``sendfile`` (in the kernel, as
    ``shutil.copyfile`` does) while the hashing thread hashes each piece *read back from
    the copy*, so the key is always that of the stored bytes, even if the source changes
    meanwhile; fsync. None (nothing written) when the stream is not such a file or the
    system cannot ``sendfile`` it: the caller copies through memory. ``fd`` must be open
    for reading too. The stream is left
    at its end, as reading it would."""
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
    job = _HASHER.start(digest)
    size = 0
    try:
        while copied:
            job.add_range(fd, size, copied)
            size += copied
            copied = os.sendfile(fd, source, start + size, _KERNEL_CHUNK)
        if sync:
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
