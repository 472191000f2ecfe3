"""LocalStorage: the conformance suite, then what only a folder of files can show."""

from __future__ import annotations

import errno
import grp
import gzip
import hashlib
import io
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from docarchive.errors import ConfigurationError, StorageError
from docarchive.permissions import Policy
from docarchive.storage import open_storage
from docarchive.storage.base import BlobStorage
from docarchive.storage.local import LocalStorage
from docarchive.testing import StorageConformance


class TestLocalStorage(StorageConformance):
    def make_storage(self, location: Path) -> BlobStorage:
        return LocalStorage(location)

    def corrupt(self, storage: BlobStorage, key: str, data: bytes) -> None:
        assert isinstance(storage, LocalStorage)
        path = storage.path / key[:2] / key[2:4] / key
        path.chmod(0o644)
        path.write_bytes(data)
        path.chmod(0o400)


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "blobs")


def blob_path(store: LocalStorage, key: str) -> Path:
    return store.path / key[:2] / key[2:4] / key


def test_layout_is_ab_cd_sha(store: LocalStorage) -> None:
    key = store.put(b"layout").sha256
    assert key == hashlib.sha256(b"layout").hexdigest()
    assert blob_path(store, key).read_bytes() == b"layout"
    blobs = [p for p in store.path.rglob("*") if p.is_file()]
    assert blobs == [store.path / key[:2] / key[2:4] / key]


def test_blob_file_is_read_only(store: LocalStorage) -> None:
    key = store.put(b"read only").sha256
    assert stat.S_IMODE(blob_path(store, key).stat().st_mode) == 0o400  # owner only, read only


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _modes_below(folder: Path) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {"folder": set(), "file": set()}
    for path in [folder, *folder.rglob("*")]:
        found["folder" if path.is_dir() else "file"].add(stat.S_IMODE(path.lstat().st_mode))
    return found


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temporary"])
def test_blobs_and_their_folders_are_private_whatever_the_umask(
    tmp_path: Path, umask_000: None, unnamed: bool
) -> None:
    store = LocalStorage(tmp_path / "deep" / "blobs")
    store._unnamed = unnamed and store._unnamed  # the fallback of file systems without it
    store.put(b"a small letter")
    store.put(io.BytesIO(os.urandom(300_000)))  # through the hashing thread
    assert _modes_below(tmp_path / "deep") == {"folder": {0o700}, "file": {0o400}}


def test_a_group_policy_gives_blobs_to_that_group_only(
    tmp_path: Path, umask_000: None, accounts: Any
) -> None:
    store = LocalStorage(tmp_path / "blobs")
    store.permissions = Policy.of(accounts.group, "write")
    key = store.put(b"a letter the group may read").sha256
    gid = grp.getgrnam(accounts.group).gr_gid
    assert _modes_below(store.path) == {"folder": {0o2770}, "file": {0o440}}
    assert {p.lstat().st_gid for p in [store.path, *store.path.rglob("*")]} == {gid}
    assert store.get(key) == b"a letter the group may read"


def test_same_bytes_again_leaves_the_file_alone(store: LocalStorage) -> None:
    key = store.put(b"once").sha256
    before = blob_path(store, key).stat()
    assert store.put(io.BytesIO(b"once")).created is False
    after = blob_path(store, key).stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_nlink) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_nlink,
    )


def test_no_temp_files_left_after_put(store: LocalStorage) -> None:
    store.put(b"new")
    store.put(b"new")
    store.put(io.BytesIO(b"x" * 3_000_000))
    assert list((store.path / "tmp").iterdir()) == []


class _FailingStream(io.RawIOBase):
    """Gives some bytes, then fails as a broken network share would."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.calls += 1
        if self.calls > 2:
            raise OSError(5, "Input/output error")
        buffer[:10] = b"0123456789"
        return 10


def test_failed_put_leaves_nothing_behind(store: LocalStorage) -> None:
    with pytest.raises(StorageError, match="cannot write blob: Input/output error"):
        store.put(io.BufferedReader(_FailingStream(), buffer_size=10))
    assert list((store.path / "tmp").iterdir()) == []
    assert list(store.keys()) == []


class _FailingLargeStream(io.RawIOBase):
    """Gives two and a half megabytes, then fails: the error comes while a helper thread
    hashes what was already written."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.given >= 2_500_000:
            raise OSError(5, "Input/output error")
        n = min(len(buffer), 500_000)
        buffer[:n] = b"x" * n
        self.given += n
        return n


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp"])
def test_failed_large_put_leaves_nothing_behind(store: LocalStorage, unnamed: bool) -> None:
    store._unnamed = store._unnamed and unnamed
    with pytest.raises(StorageError, match="cannot write blob: Input/output error"):
        store.put(io.BufferedReader(_FailingLargeStream()))
    assert list((store.path / "tmp").iterdir()) == []
    assert list(store.keys()) == []
    # the hashing thread is not left with the failed blob's chunks: the next put is right
    data = b"after the failure " * 100_000
    assert store.put(data).sha256 == hashlib.sha256(data).hexdigest()


class _Trickle(io.RawIOBase):
    """A raw stream (a socket, a pipe) that returns fewer bytes than asked for."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.pos = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.step, len(self.data) - self.pos)
        buffer[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


class _OnlyRead:
    """Duck-typed: nothing but ``read``."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def test_short_reads_store_every_byte(store: LocalStorage) -> None:
    data = hashlib.sha512(b"trickle").digest() * 3125  # 200,000 bytes
    info = store.put(_Trickle(data, 1000))  # type: ignore[arg-type]
    assert (info.sha256, info.size) == (hashlib.sha256(data).hexdigest(), len(data))


def test_a_stream_with_only_read(store: LocalStorage) -> None:
    data = b"read me " * 30_000
    info = store.put(_OnlyRead(data))  # type: ignore[arg-type]
    assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_a_gzip_stream_stores_what_it_reads_not_the_file_beneath(
    store: LocalStorage, tmp_path: Path
) -> None:
    data = os.urandom(100_000) * 3
    packed = tmp_path / "mail.mbox.gz"
    with gzip.open(packed, "wb") as out:
        out.write(data)
    with gzip.open(packed, "rb") as fh:
        info = store.put(fh)  # type: ignore[arg-type]
    assert (info.sha256, info.size) == (hashlib.sha256(data).hexdigest(), len(data))


def test_a_file_is_copied_through_memory_when_sendfile_fails(
    store: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sendfile(*args: object) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "sendfile", no_sendfile)
    source = tmp_path / "big.bin"
    data = os.urandom(300_000)
    source.write_bytes(data)
    with source.open("rb") as fh:
        info = store.put(fh)
    assert (info.sha256, info.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert blob_path(store, info.sha256).read_bytes() == data


def test_no_hashing_thread_is_a_storage_error_not_a_hang(
    store: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome: list[BaseException | str] = []
    go = threading.Event()

    def put_in_a_new_thread() -> None:  # a new thread has no hashing thread yet
        go.wait(30)
        try:
            store.put(b"y" * 300_000)
            outcome.append("stored")
        except BaseException as exc:
            outcome.append(exc)

    def cannot_start(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    worker = threading.Thread(target=put_in_a_new_thread)
    worker.start()
    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", cannot_start)
        go.set()
        worker.join(30)
    assert not worker.is_alive(), "the put hung"
    assert isinstance(outcome[0], StorageError), outcome
    assert "cannot start a hashing thread" in str(outcome[0])
    data = b"z" * 300_000
    assert store.put(data).sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [64 * 1024, 9 * 1024 * 1024 + 5])
def test_a_file_on_disk_is_stored_from_where_it_was_read(
    store: LocalStorage, tmp_path: Path, size: int, sendfile_calls: list[int]
) -> None:
    """Files on disk are copied in the kernel (sendfile) and hashed from the copy: the key
    is that of the bytes after the stream's position, and the stream is left at its end."""
    source = tmp_path / "scan.pdf"
    data = (hashlib.sha512(b"scan").digest() * (size // 64 + 40))[: size + 1000]
    source.write_bytes(data)
    with source.open("rb") as fh:
        assert fh.read(1000) == data[:1000]  # the buffered reader has read further ahead
        info = store.put(fh)
        assert fh.read() == b""
    assert sendfile_calls, "the file was not copied in the kernel"
    assert (info.sha256, info.size) == (hashlib.sha256(data[1000:]).hexdigest(), size)
    assert blob_path(store, info.sha256).read_bytes() == data[1000:]


def test_large_puts_from_several_threads_hash_each_blob_apart(store: LocalStorage) -> None:
    blobs = [hashlib.sha512(bytes([i])).digest() * (40_000 + 7_919 * i) for i in range(8)]
    keys: dict[int, str] = {}

    def put(i: int) -> None:
        keys[i] = store.put(io.BufferedReader(io.BytesIO(blobs[i]), buffer_size=100_000)).sha256

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert keys == {i: hashlib.sha256(blob).hexdigest() for i, blob in enumerate(blobs)}


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_large_put_in_a_forked_child(store: LocalStorage) -> None:
    """A child forked after a large put has no hashing thread; it starts its own."""
    store.put(b"x" * 200_000)  # the parent's hashing thread is running
    data = b"from the child " * 20_000
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only when the put is right
        code = 1
        try:
            code = 0 if store.put(data).sha256 == hashlib.sha256(data).hexdigest() else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while (status := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the child's put never finished (no hashing thread after fork)")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status[1]) == 0
    assert store.exists(hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize(
    "size", [64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 1024 * 1024, 1024 * 1024 + 1, 3_333_333]
)
def test_key_is_the_sha256_of_the_bytes_around_the_hashing_thresholds(
    store: LocalStorage, size: int
) -> None:
    data = (hashlib.sha512(str(size).encode()).digest() * (size // 64 + 1))[:size]
    info = store.put(io.BytesIO(data))
    assert (info.sha256, info.size) == (hashlib.sha256(data).hexdigest(), size)
    assert blob_path(store, info.sha256).read_bytes() == data


def test_put_into_a_path_under_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a folder")
    store = LocalStorage(tmp_path / "plain-file" / "blobs")
    with pytest.raises(StorageError, match=re.escape(store.url)) as excinfo:
        store.put(b"data")
    assert "cannot write blob" in str(excinfo.value)
    assert excinfo.value.url == store.url


def test_bad_key_does_not_touch_the_folder(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "absent")
    for call in (store.get, store.open, store.stat, store.verify):
        with pytest.raises(StorageError, match="not a SHA-256 blob key"):
            call("../../etc/passwd")
    assert not (tmp_path / "absent").exists()


def test_key_cannot_reach_a_file_outside_the_store(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"outside")
    store = LocalStorage(tmp_path / "blobs")
    store.put(b"inside")
    with pytest.raises(StorageError, match="not a SHA-256 blob key"):
        store.get("../../../secret")


def test_keys_skips_temp_folder_and_stray_files(store: LocalStorage) -> None:
    key = store.put(b"one").sha256
    (store.path / "tmp" / "put-leftover").write_bytes(b"half written")
    (store.path / "README").write_text("stray")
    assert list(store.keys()) == [key]


def test_keys_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list(LocalStorage(tmp_path / "nothing-here").keys()) == []


def test_concurrent_puts_create_exactly_once(store: LocalStorage) -> None:
    data = os.urandom(1_000_000)
    results = []
    barrier = threading.Barrier(8)

    def put() -> None:
        barrier.wait()
        results.append(store.put(data))

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    assert store.verify(results[0].sha256)
    assert list((store.path / "tmp").iterdir()) == []


# -- URLs -------------------------------------------------------------------------------


def test_from_url(tmp_path: Path) -> None:
    store = LocalStorage.from_url((tmp_path / "blobs").as_uri())
    assert store.path == tmp_path / "blobs"
    assert LocalStorage.from_url("file://localhost/srv/blobs").path == Path("/srv/blobs")


def test_url_round_trips_odd_folder_names(tmp_path: Path) -> None:
    folder = tmp_path / "أرشيف 2026 #1 %41"
    store = LocalStorage(folder)
    assert LocalStorage.from_url(store.url).path == folder
    assert isinstance(open_storage(store.url), LocalStorage)


def test_from_url_rejects_query_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="file:// storage takes no options"):
        LocalStorage.from_url(f"{(tmp_path / 'blobs').as_uri()}?mode=fast")


def test_from_url_rejects_keyword_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="takes no options, got 'mode'"):
        LocalStorage.from_url((tmp_path / "blobs").as_uri(), mode="fast")


def test_from_url_rejects_remote_hosts() -> None:
    with pytest.raises(ConfigurationError, match="must be local, not on 'fileserver'"):
        LocalStorage.from_url("file://fileserver/share/blobs")
