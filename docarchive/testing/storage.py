"""The conformance suite for blob storage backends (:class:`~docarchive.storage.BlobStorage`).

Subclass :class:`StorageConformance`, name the subclass ``Test...`` and define
:meth:`~StorageConformance.make_storage`; define
:meth:`~StorageConformance.corrupt` too, to run the tests of ``verify`` that
need stored bytes changed behind the backend's back.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..errors import StorageError
from ..storage.base import BlobInfo, BlobStorage

__all__ = ["BAD_KEYS", "PatternStream", "StorageConformance"]

# Keys a caller might pass that are not SHA-256 keys; every one must be refused
# before the backend touches its storage.
BAD_KEYS: dict[str, str] = {
    "climbs-out": "../etc/passwd",
    "absolute": "/etc/passwd",
    "dot-dot": "..",
    "empty": "",
    "too-short": "a" * 63,
    "too-long": "a" * 65,
    "uppercase": "A" * 64,
    "not-hex": "g" * 64,
    "slash": "a" * 62 + "/x",
    "climbs-out-64": "../" + "a" * 61,
    "newline": "a" * 64 + "\n",
    "space": " " + "a" * 63,
}


class PatternStream(io.RawIOBase):
    """``size`` deterministic, incompressible-looking bytes, generated as they are read."""

    def __init__(self, size: int, seed: bytes = b"docarchive") -> None:
        self.size = size
        self.seed = seed
        self._pos = 0
        self._block = b""
        self._block_no = -1

    def readable(self) -> bool:
        return True

    def _block_at(self, number: int) -> bytes:
        if number != self._block_no:
            self._block = hashlib.sha512(self.seed + number.to_bytes(8, "big")).digest() * 1024
            self._block_no = number
        return self._block

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.size - self._pos)
        done = 0
        block_size = 64 * 1024
        while done < want:
            number, offset = divmod(self._pos, block_size)
            piece = self._block_at(number)[offset : offset + want - done]
            view[done : done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done

    def digest(self) -> str:
        """SHA-256 of the whole stream (computed without storing it)."""
        copy = PatternStream(self.size, self.seed)
        sha = hashlib.sha256()
        while chunk := copy.read(1024 * 1024):
            sha.update(chunk)
        return sha.hexdigest()


class StorageConformance:
    """Tests every :class:`BlobStorage` backend must pass."""

    #: Size of the blob the large-blob test streams in and out.
    large_blob_size: int = 20 * 1024 * 1024

    # -- hooks the subclass provides ------------------------------------------------------

    def make_storage(self, location: Path) -> BlobStorage:
        """A store for one test; called again with the same folder, it reopens the same store."""
        raise NotImplementedError(f"{type(self).__name__} must define make_storage(location)")

    def corrupt(self, storage: BlobStorage, key: str, data: bytes) -> None:
        """Replace the bytes stored under ``key`` with ``data``, behind the backend's back."""
        pytest.skip(f"{type(self).__name__} does not define corrupt(storage, key, data)")

    @pytest.fixture
    def location(self, tmp_path: Path) -> Path:
        return tmp_path / "store"

    @pytest.fixture
    def storage(self, location: Path) -> Iterator[BlobStorage]:
        store = self.make_storage(location)
        try:
            yield store
        finally:
            store.close()

    # -- put ------------------------------------------------------------------------------

    def test_put_bytes_returns_sha256_and_size(self, storage: BlobStorage) -> None:
        data = "تعميم رقم ١٧ — circular 17".encode()
        info = storage.put(data)
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert info.size == len(data)
        assert info.created is True

    def test_put_stream(self, storage: BlobStorage) -> None:
        data = bytes(range(256)) * 100
        info = storage.put(io.BytesIO(data))
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert info.size == len(data)
        assert storage.get(info.sha256) == data

    def test_put_empty_blob(self, storage: BlobStorage) -> None:
        info = storage.put(b"")
        assert info.sha256 == hashlib.sha256(b"").hexdigest()
        assert info.size == 0
        assert storage.get(info.sha256) == b""
        assert storage.stat(info.sha256).size == 0

    def test_bytes_and_stream_of_same_content_share_a_key(self, storage: BlobStorage) -> None:
        first = storage.put(b"same content")
        second = storage.put(io.BytesIO(b"same content"))
        assert second.sha256 == first.sha256
        assert second.created is False

    def test_same_bytes_twice_is_a_no_op(self, storage: BlobStorage) -> None:
        data = b"%PDF-1.7 scanned letter"
        first = storage.put(data)
        second = storage.put(data)
        assert (first.created, second.created) == (True, False)
        assert second.sha256 == first.sha256
        assert second.size == first.size
        assert list(storage.keys()) == [first.sha256]
        assert storage.get(first.sha256) == data

    def test_put_never_rewrites_a_stored_blob(self, storage: BlobStorage) -> None:
        # If put rewrote existing blobs, this second put would repair the damage.
        data = b"original bytes"
        key = storage.put(data).sha256
        self.corrupt(storage, key, b"damaged bytes")
        again = storage.put(data)
        assert again.created is False
        assert storage.get(key) == b"damaged bytes"

    def test_concurrent_puts_of_same_bytes_store_one_blob(self, storage: BlobStorage) -> None:
        data = b"x" * 300_000
        results: list[BlobInfo] = []
        errors: list[BaseException] = []

        def put() -> None:
            try:
                results.append(storage.put(data))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=put) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert {r.sha256 for r in results} == {hashlib.sha256(data).hexdigest()}
        assert any(r.created for r in results)
        assert len(list(storage.keys())) == 1
        assert storage.verify(results[0].sha256)

    # -- read -----------------------------------------------------------------------------

    def test_get_open_stat_exists(self, storage: BlobStorage) -> None:
        data = b"\x00\r\n\xff binary \x1a" * 1000
        key = storage.put(data).sha256
        assert storage.get(key) == data
        with storage.open(key) as fh:
            assert fh.read(5) == data[:5]
            assert fh.read() == data[5:]
        stat = storage.stat(key)
        assert (stat.sha256, stat.size) == (key, len(data))
        assert storage.exists(key) is True

    def test_keys_lists_every_blob_once(self, storage: BlobStorage) -> None:
        assert list(storage.keys()) == []
        stored = {storage.put(f"blob {i}".encode()).sha256 for i in range(5)}
        storage.put(b"blob 0")
        keys = list(storage.keys())
        assert sorted(keys) == sorted(stored)

    def test_reopened_store_sees_its_blobs(self, storage: BlobStorage, location: Path) -> None:
        key = storage.put(b"kept across opens").sha256
        again = self.make_storage(location)
        try:
            assert again.get(key) == b"kept across opens"
            assert list(again.keys()) == [key]
            assert again.put(b"kept across opens").created is False
        finally:
            again.close()

    def test_large_blob_streams_in_and_out(self, storage: BlobStorage) -> None:
        size = self.large_blob_size
        expected = PatternStream(size).digest()
        info = storage.put(io.BufferedReader(PatternStream(size)))
        assert (info.sha256, info.size, info.created) == (expected, size, True)
        assert storage.stat(expected).size == size
        sha = hashlib.sha256()
        total = 0
        with storage.open(expected) as fh:
            while chunk := fh.read(1024 * 1024):
                sha.update(chunk)
                total += len(chunk)
        assert (sha.hexdigest(), total) == (expected, size)
        assert storage.verify(expected) is True

    # -- missing and bad keys ---------------------------------------------------------------

    @pytest.mark.parametrize("method", ["get", "open", "stat", "verify"])
    def test_missing_blob_is_a_storage_error(self, storage: BlobStorage, method: str) -> None:
        storage.put(b"something else")
        missing = hashlib.sha256(b"never stored").hexdigest()
        call: Callable[[str], object] = getattr(storage, method)
        with pytest.raises(StorageError, match="missing") as excinfo:
            call(missing)
        assert missing in str(excinfo.value)
        assert excinfo.value.url == storage.url
        assert storage.exists(missing) is False

    @pytest.mark.parametrize("key", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
    @pytest.mark.parametrize("method", ["get", "open", "stat", "verify"])
    def test_bad_key_is_refused(self, storage: BlobStorage, method: str, key: str) -> None:
        stored = storage.put(b"a blob").sha256
        call: Callable[[str], object] = getattr(storage, method)
        with pytest.raises(StorageError, match=re.escape(f"not a SHA-256 blob key: {key!r}")):
            call(key)
        assert storage.exists(key) is False
        assert list(storage.keys()) == [stored]

    # -- verify ---------------------------------------------------------------------------

    def test_verify_intact_blob(self, storage: BlobStorage) -> None:
        key = storage.put(b"intact").sha256
        assert storage.verify(key) is True

    def test_verify_detects_corruption(self, storage: BlobStorage) -> None:
        key = storage.put(b"the signed original").sha256
        other = storage.put(b"a neighbour").sha256
        self.corrupt(storage, key, b"the signed forgery!")
        assert storage.verify(key) is False
        assert storage.verify(other) is True

    def test_verify_detects_truncation(self, storage: BlobStorage) -> None:
        key = storage.put(b"0123456789" * 100).sha256
        self.corrupt(storage, key, b"0123456789")
        assert storage.verify(key) is False
