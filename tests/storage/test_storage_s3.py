"""S3Storage against a real S3 endpoint on 127.0.0.1 (moto's server; see conftest.py).

The conformance suite first, then what only S3 can show: multipart uploads,
conditional create, checksums, encryption and Object Lock reaching the object,
option precedence, clear errors, an endpoint that dies mid-upload, and a whole
archive on S3.

What moto does not do, so these tests cannot show: it stores a ``ChecksumSHA256``
without checking it against the bytes (real S3 answers ``BadDigest``), and it
keeps no Object Lock retention for multipart uploads.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import http.server
import io
import json
import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from botocore.exceptions import ClientError

from docarchive import Archive
from docarchive.errors import ConfigurationError, StorageError
from docarchive.storage import open_storage
from docarchive.storage.base import BlobStorage
from docarchive.storage.s3 import OPTIONS, S3Options, S3Storage, _size
from docarchive.testing import StorageConformance
from docarchive.testing.storage import PatternStream

MiB = 1024 * 1024

# Fake credentials and no developer AWS settings, for every test here.
pytestmark = pytest.mark.usefixtures("s3_environment")


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def composite_sha(data: bytes, part_size: int) -> str:
    """S3's checksum of a multipart object: SHA-256 of the parts' SHA-256s."""
    digests = b"".join(
        hashlib.sha256(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)
    )
    return base64.b64encode(hashlib.sha256(digests).digest()).decode()


def pattern(size: int, seed: bytes = b"docarchive") -> bytes:
    return PatternStream(size, seed).read()


def versions(client: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    found = client.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return [v for v in found if v["Key"] == key]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def store(s3_server: Any, s3_bucket: str) -> S3Storage:
    return S3Storage(s3_bucket, "archive/blobs", endpoint_url=s3_server.endpoint)


# -- the conformance suite ----------------------------------------------------------------


@pytest.fixture(scope="module")
def conformance_bucket(s3_server: Any) -> str:
    return str(s3_server.new_bucket())


class TestS3Storage(StorageConformance):
    @pytest.fixture(autouse=True)
    def _server(self, s3_server: Any, conformance_bucket: str) -> None:
        self.server = s3_server
        self.bucket_name = conformance_bucket

    def make_storage(self, location: Path) -> BlobStorage:
        # One prefix per test (tmp_path is unique); the same folder reopens the same prefix.
        prefix = "conformance/" + hashlib.sha1(str(location).encode()).hexdigest()[:16]
        return S3Storage(self.bucket_name, prefix, endpoint_url=self.server.endpoint)

    def corrupt(self, storage: BlobStorage, key: str, data: bytes) -> None:
        assert isinstance(storage, S3Storage)
        self.server.client.put_object(Bucket=storage.bucket, Key=storage.object_key(key), Body=data)


# -- layout -------------------------------------------------------------------------------


def test_layout_is_prefix_ab_cd_sha(store: S3Storage, s3_server: Any, s3_bucket: str) -> None:
    key = store.put(b"layout").sha256
    listed = s3_server.client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"archive/blobs/{key[:2]}/{key[2:4]}/{key}"]
    assert store.url == f"s3://{s3_bucket}/archive/blobs"


def test_keys_ignore_stray_objects_and_neighbouring_prefixes(
    store: S3Storage, s3_server: Any, s3_bucket: str
) -> None:
    key = store.put(b"ours").sha256
    other = hashlib.sha256(b"theirs").hexdigest()
    for stray in (
        "archive/blobs/README",
        f"archive/blobs/{other[:2]}/{other[2:4]}/{other}.tmp",
        f"archive/blobs/zz/{other[2:4]}/{other}",
        f"archive/blobs-old/{other[:2]}/{other[2:4]}/{other}",
        f"archive/{other[:2]}/{other[2:4]}/{other}",
    ):
        s3_server.client.put_object(Bucket=s3_bucket, Key=stray, Body=b"x")
    assert list(store.keys()) == [key]


class _SmallPages(S3Storage):
    list_page_size = 10


def test_keys_pages_through_many_objects(s3_server: Any, s3_bucket: str) -> None:
    store = _SmallPages(s3_bucket, "many", endpoint_url=s3_server.endpoint)
    stored = {store.put(b"%d" % i).sha256 for i in range(35)}  # four pages of ten
    assert sorted(store.keys()) == sorted(stored)


def test_bucket_root_without_prefix(s3_server: Any, s3_bucket: str) -> None:
    store = open_storage(f"s3://{s3_bucket}?endpoint_url={s3_server.endpoint}")
    assert isinstance(store, S3Storage)
    key = store.put(b"at the root").sha256
    assert s3_server.client.head_object(Bucket=s3_bucket, Key=f"{key[:2]}/{key[2:4]}/{key}")
    assert list(store.keys()) == [key]


# -- multipart ------------------------------------------------------------------------------


def test_multipart_above_a_small_threshold(s3_server: Any, s3_bucket: str) -> None:
    store = S3Storage(
        s3_bucket,
        "p",
        endpoint_url=s3_server.endpoint,
        multipart_threshold="1MiB",
        part_size="5MiB",
    )
    at_threshold = pattern(MiB, b"at")
    above = pattern(6 * MiB + 3, b"above")
    single = store.put(at_threshold)
    multi = store.put(io.BytesIO(above))
    client = s3_server.client
    head_single = client.head_object(Bucket=s3_bucket, Key=store.object_key(single.sha256))
    head_multi = client.head_object(
        Bucket=s3_bucket, Key=store.object_key(multi.sha256), ChecksumMode="ENABLED"
    )
    assert "-" not in head_single["ETag"]
    assert head_multi["ETag"].endswith('-2"')  # two parts: 5 MiB and the rest
    assert head_multi["ChecksumSHA256"] == composite_sha(above, 5 * MiB)
    assert head_multi["ContentLength"] == len(above)
    assert store.get(multi.sha256) == above
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_twenty_megabyte_upload_in_parts(s3_server: Any, s3_bucket: str) -> None:
    store = S3Storage(s3_bucket, "big", endpoint_url=s3_server.endpoint)  # 8 MiB parts
    size = 20 * MiB
    data = pattern(size, b"twenty")
    info = store.put(io.BufferedReader(PatternStream(size, b"twenty")))
    assert (info.sha256, info.size, info.created) == (hashlib.sha256(data).hexdigest(), size, True)
    head = s3_server.client.head_object(
        Bucket=s3_bucket, Key=store.object_key(info.sha256), ChecksumMode="ENABLED"
    )
    assert head["ETag"].endswith('-3"')
    assert head["ChecksumSHA256"] == composite_sha(data, 8 * MiB)
    assert store.verify(info.sha256)
    again = store.put(io.BytesIO(data))
    assert again.created is False


@pytest.mark.parametrize(
    ("size", "threshold"), [(9 * MiB, "16MiB"), (9 * MiB, "1MiB")], ids=["single", "multipart"]
)
def test_a_large_file_on_disk_is_spooled_in_the_kernel(
    s3_server: Any,
    s3_bucket: str,
    tmp_path: Path,
    size: int,
    threshold: str,
    sendfile_calls: list[int],
) -> None:
    """A file on disk above the in-memory spool is copied with sendfile and hashed from the
    copy: the key and the object are those of the bytes after the stream's position."""
    store = S3Storage(
        s3_bucket, "disk", endpoint_url=s3_server.endpoint, multipart_threshold=threshold
    )
    data = pattern(size + 500, b"disk")
    source = tmp_path / "scan.tiff"
    source.write_bytes(data)
    with source.open("rb") as fh:
        fh.read(500)
        info = store.put(fh)
        assert fh.read() == b""
    assert sendfile_calls, "the file was not spooled in the kernel"
    assert (info.sha256, info.size) == (hashlib.sha256(data[500:]).hexdigest(), size)
    assert store.get(info.sha256) == data[500:]
    head = s3_server.client.head_object(
        Bucket=s3_bucket, Key=store.object_key(info.sha256), ChecksumMode="ENABLED"
    )
    assert ("-" in head["ETag"]) == (threshold == "1MiB")


# -- never overwritten -------------------------------------------------------------------


@pytest.mark.parametrize("size", [1000, 2 * MiB], ids=["single", "multipart"])
def test_same_bytes_twice_write_one_version(s3_server: Any, size: int) -> None:
    client = s3_server.client
    bucket = s3_server.new_bucket()
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    store = S3Storage(bucket, "v", endpoint_url=s3_server.endpoint, multipart_threshold="1MiB")
    data = pattern(size)
    first, second = store.put(data), store.put(data)
    assert (first.created, second.created) == (True, False)
    assert len(versions(client, bucket, store.object_key(first.sha256))) == 1


@pytest.mark.parametrize("size", [1000, 2 * MiB], ids=["single", "multipart"])
def test_a_blob_under_an_existing_key_is_never_rewritten(s3_server: Any, size: int) -> None:
    # Someone wrote other bytes under the key of our blob. If put ever overwrote, putting
    # the original would "repair" it and add a version; it must do neither.
    client = s3_server.client
    bucket = s3_server.new_bucket()
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    store = S3Storage(bucket, "v", endpoint_url=s3_server.endpoint, multipart_threshold="1MiB")
    original = pattern(size, b"original")
    key = hashlib.sha256(original).hexdigest()
    client.put_object(Bucket=bucket, Key=store.object_key(key), Body=b"forged by hand")
    info = store.put(original)
    assert (info.sha256, info.created) == (key, False)
    assert store.get(key) == b"forged by hand"
    assert store.verify(key) is False
    assert len(versions(client, bucket, store.object_key(key))) == 1


class _RacingS3Storage(S3Storage):
    """Another writer completes the same key while this one uploads its parts."""

    def _upload_parts(self, spool: Any, key: str, upload_id: str, part_size: int) -> Any:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=b"the other writer")
        return super()._upload_parts(spool, key, upload_id, part_size)


def test_multipart_race_is_settled_by_if_none_match(s3_server: Any, s3_bucket: str) -> None:
    store = _RacingS3Storage(
        s3_bucket, "race", endpoint_url=s3_server.endpoint, multipart_threshold="1MiB"
    )
    data = pattern(3 * MiB, b"race")
    info = store.put(data)
    assert info.created is False
    assert store.get(info.sha256) == b"the other writer"
    assert s3_server.client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


# -- checksum, encryption, Object Lock -----------------------------------------------------


def test_sha256_checksum_is_sent_with_the_object(store: S3Storage, s3_server: Any) -> None:
    data = "كتاب رسمي".encode() * 100
    key = store.put(data).sha256
    head = s3_server.client.head_object(
        Bucket=store.bucket, Key=store.object_key(key), ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"] == b64sha(data)


def test_sse_aes256_reaches_the_object(s3_server: Any, s3_bucket: str) -> None:
    store = open_storage(f"s3://{s3_bucket}/enc?endpoint_url={s3_server.endpoint}&sse=AES256")
    assert isinstance(store, S3Storage)
    small = store.put(b"encrypted at rest").sha256
    head = s3_server.client.head_object(Bucket=s3_bucket, Key=store.object_key(small))
    assert head["ServerSideEncryption"] == "AES256"


def test_sse_kms_with_key_reaches_multipart_objects(s3_server: Any, s3_bucket: str) -> None:
    store = S3Storage(
        s3_bucket,
        "kms",
        endpoint_url=s3_server.endpoint,
        sse="aws:kms",
        kms_key_id="alias/archive",
        multipart_threshold="1MiB",
    )
    key = store.put(pattern(2 * MiB)).sha256
    head = s3_server.client.head_object(Bucket=s3_bucket, Key=store.object_key(key))
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", "alias/archive")


def test_object_lock_retention(s3_server: Any) -> None:
    client = s3_server.client
    bucket = s3_server.new_bucket(ObjectLockEnabledForBucket=True)
    store = S3Storage(bucket, "held", endpoint_url=s3_server.endpoint, object_lock_days="30")
    before = datetime.now(UTC)
    key = store.object_key(store.put(b"under a legal hold").sha256)
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert before + timedelta(days=30) - timedelta(minutes=1) < until
    assert until < datetime.now(UTC) + timedelta(days=30, minutes=1)
    with pytest.raises(ClientError, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])


def test_object_lock_on_a_bucket_without_it_is_a_clear_error(
    s3_server: Any, s3_bucket: str
) -> None:
    store = S3Storage(s3_bucket, "x", endpoint_url=s3_server.endpoint, object_lock_days=1)
    with pytest.raises(StorageError, match="S3 refused storing a blob: .*ObjectLock"):
        store.put(b"needs a lock bucket")


# -- options -------------------------------------------------------------------------------


def test_url_options_are_read(s3_server: Any) -> None:
    store = S3Storage.from_url(
        f"s3://bucket-name/a/b?endpoint_url={s3_server.endpoint}&region=eu-west-1"
        "&multipart_threshold=16MB&part_size=6MiB&max_concurrency=2&max_attempts=3"
        "&connect_timeout=2.5&read_timeout=30&addressing_style=path&sse=aes256"
        "&object_lock_days=7&object_lock_mode=governance",
        environ={},
    )
    assert (store.bucket, store.prefix, store.url) == ("bucket-name", "a/b", "s3://bucket-name/a/b")
    assert store.options == S3Options(
        endpoint_url=s3_server.endpoint,
        region="eu-west-1",
        addressing_style="path",
        sse="AES256",
        multipart_threshold=16_000_000,
        part_size=6 * MiB,
        max_concurrency=2,
        max_attempts=3,
        connect_timeout=2.5,
        read_timeout=30.0,
        object_lock_days=7,
        object_lock_mode="GOVERNANCE",
    )
    assert store._client.meta.region_name == "eu-west-1"


def test_precedence_argument_then_environment_then_url(s3_server: Any, s3_bucket: str) -> None:
    url = f"s3://{s3_bucket}/p?endpoint_url=http://127.0.0.1:9&region=us-east-2&max_attempts=2"
    environ = {
        "DOCARCHIVE_S3_ENDPOINT_URL": s3_server.endpoint,
        "DOCARCHIVE_S3_REGION": "eu-west-1",
    }
    store = S3Storage.from_url(url, environ=environ, region="ap-south-1")
    assert store.options.region == "ap-south-1"  # argument beats environment
    assert store.options.endpoint_url == s3_server.endpoint  # environment beats URL
    assert store.options.max_attempts == 2  # URL beats default
    assert store.options.sse == "none"  # default
    assert store.put(b"reached through the environment's endpoint").created is True


def test_boto3_chain_is_last(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "me-south-1")
    store = S3Storage.from_url(f"s3://b-chain?endpoint_url={s3_server.endpoint}", environ={})
    assert store.options.region is None
    assert store._client.meta.region_name == "me-south-1"


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCARCHIVE_S3_MAX_CONCURRENCY", "7")
    assert S3Storage.from_url("s3://bucket-name").options.max_concurrency == 7


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("url", r"unknown S3 URL option 'endpoint' \(known: endpoint_url, region, "),
        ("argument", r"unknown S3 argument 'threshold' \(known: endpoint_url, "),
        ("environment", r"unknown S3 environment variable 'DOCARCHIVE_S3_ENDPOINT' \(known: "),
    ],
)
def test_unknown_options_are_refused_by_name(how: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        if how == "url":
            S3Storage.from_url("s3://bucket-name/p?endpoint=http://x", environ={})
        elif how == "argument":
            S3Storage.from_url("s3://bucket-name/p", environ={}, threshold="1")
        else:
            S3Storage.from_url("s3://bucket-name/p", environ={"DOCARCHIVE_S3_ENDPOINT": "x"})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sse=des", r"URL option sse='des': expected none, AES256 or aws:kms"),
        ("part_size=1MiB", r"part_size='1MiB': expected a part size from 5MiB to 5GiB"),
        ("multipart_threshold=big", r"expected a size in bytes, such as 8388608, 8MiB or 16MB"),
        ("max_concurrency=0", r"max_concurrency='0': expected a whole number from 1 to 64"),
        ("connect_timeout=-1", r"connect_timeout='-1': expected seconds"),
        ("addressing_style=dns", r"expected auto, path or virtual"),
        ("object_lock_mode=forever", r"expected COMPLIANCE or GOVERNANCE"),
        ("endpoint_url=ftp://host", r"expected http\(s\)://host\[:port\]"),
        ("kms_key_id=k1", r"kms_key_id needs sse=aws:kms"),
        ("region=us-east-1&region=eu-west-1", r"S3 URL option 'region' is given twice"),
    ],
)
def test_bad_option_values(query: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        S3Storage.from_url(f"s3://bucket-name/p?{query}", environ={})


def test_sizes() -> None:
    assert [_size(s) for s in ("8388608", "8MiB", "8M", "8 mib", "16MB", "1k", "2GiB", "7b")] == [
        8 * MiB,
        8 * MiB,
        8 * MiB,
        8 * MiB,
        16_000_000,
        1024,
        2 * 1024**3,
        7,
    ]
    assert _size("eight") is None
    assert _size("8 TB") is None


@pytest.mark.parametrize(
    "url",
    [
        "s3://AKIAEXAMPLE:secret@bucket-name/p",
        "s3://AKIAEXAMPLE@bucket-name/p",
        "s3://bucket-name/p?endpoint_url=http://user:pw@127.0.0.1:9000",
    ],
)
def test_credentials_in_the_url_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="holds credentials .*boto3 finds them"):
        S3Storage.from_url(url, environ={})


@pytest.mark.parametrize(
    "where", ["url", "argument", "environment"], ids=["url", "argument", "environment"]
)
def test_credential_options_are_refused(where: str) -> None:
    with pytest.raises(ConfigurationError, match="looks like a credential; credentials never go"):
        if where == "url":
            S3Storage.from_url("s3://bucket-name/p?aws_secret_access_key=x", environ={})
        elif where == "argument":
            S3Storage.from_url("s3://bucket-name/p", environ={}, aws_access_key_id="x")
        else:
            S3Storage.from_url("s3://bucket-name/p", environ={"DOCARCHIVE_S3_SECRET_KEY": "x"})


@pytest.mark.parametrize(
    "url",
    [
        "s3://bucket-name/../other",
        "s3://bucket-name/a/../../b",
        "s3://bucket-name/a/%2E%2E/b",
        "s3://bucket-name/./a",
        "s3://bucket-name/a\\..\\b",
    ],
)
def test_prefixes_that_could_climb_out_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="S3 prefix"):
        S3Storage.from_url(url, environ={})


def test_prefix_is_normalised() -> None:
    store = S3Storage.from_url("s3://bucket-name//a//b/", environ={})
    assert store.prefix == "a/b"
    assert store.object_key("a" * 64) == "a/b/aa/aa/" + "a" * 64


@pytest.mark.parametrize(
    "url", ["s3:///prefix", "s3://a/p", "s3://bad_bucket!/p", "s3://bucket-name:9000/p"]
)
def test_bad_bucket_names(url: str) -> None:
    with pytest.raises(ConfigurationError, match="bucket name"):
        S3Storage.from_url(url, environ={})


def test_bad_keys_are_refused_before_any_request() -> None:
    # Nothing listens on this port: a request would fail with "cannot reach".
    store = S3Storage(
        "bucket-name", "p", endpoint_url=f"http://127.0.0.1:{free_port()}", environ={}
    )
    for call in (store.get, store.open, store.stat, store.verify):
        with pytest.raises(StorageError, match="not a SHA-256 blob key: '../../etc/passwd'"):
            call("../../etc/passwd")
    with pytest.raises(StorageError, match="not a SHA-256 blob key"):
        store.object_key("../" + "a" * 61)


# -- errors ---------------------------------------------------------------------------------


def test_missing_bucket_is_named(s3_server: Any) -> None:
    store = S3Storage("no-such-bucket-here", "p", endpoint_url=s3_server.endpoint)
    key = hashlib.sha256(b"x").hexdigest()
    message = r"no such bucket 'no-such-bucket-here' at http://127\.0\.0\.1:\d+ while "
    for call, doing in [
        (lambda: store.put(b"x"), "storing a blob"),
        (lambda: store.get(key), "reading a blob"),
        (lambda: store.stat(key), "reading a blob's size"),
        (lambda: list(store.keys()), "listing blobs"),
    ]:
        with pytest.raises(StorageError, match=message + re.escape(doing)) as excinfo:
            call()
        assert excinfo.value.url == "s3://no-such-bucket-here/p"
        assert isinstance(excinfo.value.__cause__, ClientError)
    assert store.exists(key) is False


def test_missing_blob_names_the_object(store: S3Storage) -> None:
    key = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(StorageError, match="blob is missing") as excinfo:
        store.stat(key)
    assert excinfo.value.key == key
    assert f"archive/blobs/{key[:2]}/{key[2:4]}/{key}" in str(excinfo.value)


def test_unreachable_endpoint(s3_bucket: str) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    store = S3Storage(s3_bucket, "p", endpoint_url=endpoint, max_attempts=1, connect_timeout=2)
    with pytest.raises(
        StorageError, match=f"cannot reach the S3 endpoint {re.escape(endpoint)} while storing"
    ):
        store.put(b"nowhere to go")
    with pytest.raises(StorageError, match="cannot reach the S3 endpoint .* while listing blobs"):
        list(store.keys())


class _FlakyS3(http.server.ThreadingHTTPServer):
    """An S3 front that answers the first ``failures`` requests with one error, and passes
    the rest to a real endpoint (``target``, or nobody: then every request fails)."""

    def __init__(self, failures: int, status: int, code: str, target: str = "") -> None:
        self.failures, self.status, self.code, self.target = failures, status, code, target
        self.requests = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _FlakyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FlakyS3

    def log_message(self, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.requests += 1
            fail = self.server.requests <= self.server.failures or not self.server.target
        if fail:
            xml = (
                f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{self.server.code}</Code>"
                "<Message>refused by the test</Message></Error>"
            ).encode()
            self.send_response(self.server.status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(xml)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(xml)
            return
        target = urlsplit(self.server.target)
        conn = http.client.HTTPConnection(target.hostname or "", target.port)
        conn.request(self.command, self.path, body=body, headers=dict(self.headers))
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle


def test_throttling_is_retried_with_backoff(s3_server: Any, s3_bucket: str) -> None:
    flaky = _FlakyS3(2, 503, "SlowDown", target=s3_server.endpoint)
    try:
        store = S3Storage(s3_bucket, "slow", endpoint_url=flaky.endpoint, max_attempts=3)
        info = store.put(b"patience")
        assert info.created is True
        assert flaky.requests == 3
        assert store.get(info.sha256) == b"patience"
    finally:
        flaky.shutdown()
        flaky.server_close()


def test_throttling_until_retries_run_out(s3_bucket: str) -> None:
    flaky = _FlakyS3(10**6, 503, "SlowDown")
    try:
        store = S3Storage(s3_bucket, "slow", endpoint_url=flaky.endpoint, max_attempts=2)
        with pytest.raises(
            StorageError,
            match=r"S3 kept throttling requests \(SlowDown\) while storing a blob; retries ran out",
        ):
            store.put(b"never")
        assert flaky.requests == 2
    finally:
        flaky.shutdown()
        flaky.server_close()


def test_access_denied_is_named(s3_bucket: str) -> None:
    flaky = _FlakyS3(10**6, 403, "AccessDenied")
    try:
        store = S3Storage(s3_bucket, "no", endpoint_url=flaky.endpoint, max_attempts=1)
        key = hashlib.sha256(b"x").hexdigest()
        message = f"access denied to bucket '{s3_bucket}' while "
        with pytest.raises(StorageError, match=message + "storing a blob"):
            store.put(b"x")
        with pytest.raises(StorageError, match=message + "reading a blob"):
            store.get(key)
        with pytest.raises(StorageError, match=message + "listing blobs"):
            list(store.keys())
    finally:
        flaky.shutdown()
        flaky.server_close()


class _LyingHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with bytes that do not match the checksum it claims for them."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"tampered"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"0123"')
        self.send_header("x-amz-checksum-sha256", b64sha(b"original"))
        self.end_headers()
        self.wfile.write(body)


def test_bytes_not_matching_the_recorded_checksum(s3_bucket: str) -> None:
    # moto recomputes checksums itself, so a server that lies stands in for bit rot.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LyingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        store = S3Storage(s3_bucket, "rot", endpoint_url=endpoint, max_attempts=1)
        key = hashlib.sha256(b"original").hexdigest()
        assert store.verify(key) is False
        with pytest.raises(
            StorageError, match="stored bytes do not match the checksum S3 recorded for them"
        ):
            store.get(key)
    finally:
        server.shutdown()
        server.server_close()


# -- the endpoint dies -----------------------------------------------------------------------


def test_endpoint_killed_mid_upload_then_retry_succeeds(cuttable_s3: Any) -> None:
    server, proxy = cuttable_s3
    bucket = server.new_bucket()
    store = S3Storage(
        bucket,
        "mid",
        endpoint_url=proxy.endpoint,
        part_size="5MiB",
        max_concurrency=2,
        max_attempts=2,
        connect_timeout=2,
    )
    size = 60 * MiB
    expected = PatternStream(size, b"cut").digest()
    outcome: list[BaseException | object] = []

    def upload() -> None:
        try:
            outcome.append(store.put(io.BufferedReader(PatternStream(size, b"cut"))))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=upload)
    thread.start()
    deadline = time.monotonic() + 60
    while proxy.sent < 15 * MiB and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert 15 * MiB <= proxy.sent < size, "the upload should be under way when cut"
    proxy.cut()
    thread.join(60)
    assert not thread.is_alive()

    [error] = outcome
    assert isinstance(error, StorageError), error
    assert re.search(
        r"(cannot reach|lost the connection to) the S3 endpoint http://127\.0\.0\.1:\d+ "
        r"while storing a blob",
        str(error),
    ), str(error)
    assert error.key == expected
    # Nothing half-written is visible, through the server's own front door either. The
    # abort could not reach the server: the parts wait, invisible, for a lifecycle rule.
    assert server.client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert len(server.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1

    proxy.restore()
    assert list(store.keys()) == []
    info = store.put(io.BufferedReader(PatternStream(size, b"cut")))
    assert (info.sha256, info.size, info.created) == (expected, size, True)
    assert list(store.keys()) == [expected]
    assert store.verify(expected)


def test_reading_resumes_after_a_dropped_connection(cuttable_s3: Any) -> None:
    server, proxy = cuttable_s3
    bucket = server.new_bucket()
    store = S3Storage(bucket, "read", endpoint_url=proxy.endpoint)
    data = pattern(12 * MiB, b"resume")
    key = store.put(data).sha256
    with store.open(key) as fh:
        head = fh.read(MiB)
        before = proxy.accepted
        proxy.drop_connections()
        rest = fh.read()
    assert head + rest == data
    assert proxy.accepted > before  # the rest came through a new connection (a ranged GET)


def test_reading_when_the_endpoint_stays_down(cuttable_s3: Any) -> None:
    server, proxy = cuttable_s3
    bucket = server.new_bucket()
    store = S3Storage(bucket, "down", endpoint_url=proxy.endpoint, max_attempts=2)
    key = store.put(pattern(12 * MiB, b"down")).sha256
    with store.open(key) as fh:
        fh.read(MiB)
        proxy.cut()
        with pytest.raises(StorageError, match="the S3 endpoint .* while reading a blob"):
            fh.read()


# -- a whole archive on S3 -----------------------------------------------------------------


def test_archive_on_s3_end_to_end(tmp_path: Path, s3_server: Any, example_data: Path) -> None:
    bucket = s3_server.new_bucket()
    url = f"s3://{bucket}/pfx?endpoint_url={s3_server.endpoint}"
    data = json.loads((example_data / "circular.json").read_text("utf-8"))
    with Archive.open(tmp_path / "a", storage=url) as archive:
        assert isinstance(archive.storage, S3Storage)
        circular = archive.issue("circular", data)
        scan = archive.ingest_scan(example_data / "scans" / "monthly_report.pdf")
        assert [h.record.id for h in archive.search("الأرشفة").hits] == [circular.id]
        assert [h.record.id for h in archive.search("expenditure").hits] == [scan.id]
        assert archive.verify().ok

    objects = s3_server.client.list_objects_v2(Bucket=bucket)["Contents"]
    blob_keys = {f.sha256 for r in (circular, scan) for f in r.files}
    assert sorted(o["Key"] for o in objects) == sorted(
        f"pfx/{k[:2]}/{k[2:4]}/{k}" for k in blob_keys
    )
    assert not (tmp_path / "a" / "blobs").exists()

    target = scan.files[0].sha256
    s3_server.client.put_object(
        Bucket=bucket, Key=f"pfx/{target[:2]}/{target[2:4]}/{target}", Body=b"%PDF-1.4 forged"
    )
    with Archive.open(tmp_path / "a") as reopened:  # the URL was kept in docarchive.toml
        report = reopened.verify()
    assert not report.ok
    [problem] = report.problems
    assert (problem.code, problem.record_id, problem.sha256) == ("blob-corrupt", scan.id, target)
    assert scan.id in problem.message and target in problem.message


def test_registry_resolves_s3() -> None:
    store = open_storage("s3://bucket-name/p")
    assert isinstance(store, S3Storage)
    assert set(OPTIONS) >= {"endpoint_url", "region", "sse", "multipart_threshold"}
