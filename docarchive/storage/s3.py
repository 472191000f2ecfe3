"""Blobs in an S3 bucket (AWS or any S3-compatible server): ``s3://bucket/prefix?option=value``.

Layout: ``prefix/ab/cd/abcd…`` — the blob's SHA-256 under the prefix, with its
first two pairs of hex digits as "folders", as in :mod:`~docarchive.storage.local`.

Options
-------
Each option is resolved in this order, first found wins:

1. an argument: ``S3Storage.from_url(url, region="eu-west-1")`` or the constructor's keyword;
2. the environment: ``DOCARCHIVE_S3_<NAME>`` (``DOCARCHIVE_S3_ENDPOINT_URL``,
   ``DOCARCHIVE_S3_REGION``, ...);
3. the URL's query (the URL usually comes from ``docarchive.toml``);
4. boto3's own chain (``AWS_ENDPOINT_URL_S3``, ``AWS_REGION``, ``~/.aws/config``, ...)
   for ``endpoint_url``, ``region`` and ``addressing_style``; the default below otherwise.

=====================  ==================================================  ================
option                 meaning                                             default
=====================  ==================================================  ================
endpoint_url           S3-compatible endpoint, ``http(s)://host[:port]``   boto3's chain
region                 the bucket's region                                 boto3's chain
addressing_style       ``auto``, ``path`` or ``virtual``                   boto3's (auto)
sse                    server-side encryption: ``none``, ``AES256``,       none (the
                       ``aws:kms``                                         bucket's default)
kms_key_id             KMS key for ``sse=aws:kms``                         the account's
multipart_threshold    blobs larger than this go up in parts (size:        8MiB
                       ``8388608``, ``8MiB``, ``16MB``)
part_size              size of each part (5MiB to 5GiB; grown to keep      8MiB
                       within S3's 10,000 parts)
max_concurrency        parts uploaded at once                              8
max_attempts           attempts per request (botocore's ``standard``       5
                       retry mode: throttling, 5xx and connection
                       errors, with backoff); also how often a read
                       resumes after a dropped connection
connect_timeout        seconds                                             10
read_timeout           seconds                                             60
object_lock_days       Object Lock retention for each new blob, in days    0 (none)
                       (the bucket must have Object Lock enabled)
object_lock_mode       ``COMPLIANCE`` or ``GOVERNANCE``                    COMPLIANCE
=====================  ==================================================  ================

An unknown option — in the URL, an argument or a ``DOCARCHIVE_S3_*`` variable —
is refused by name. **Credentials never come from the URL, an argument or the
settings file**: boto3 finds them (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, ``~/.aws/credentials``, an instance or container role), and a
URL holding ``user:password@`` or a credential option is refused.

Writes
------
``put`` streams its input into a spooled temporary file (memory up to 8 MiB, then
disk) while hashing it, so the key is known before anything is sent. Then:

* up to ``multipart_threshold``: one ``PutObject`` with ``If-None-Match: *`` and the
  SHA-256 checksum (``ChecksumAlgorithm=SHA256``, ``ChecksumSHA256``) for S3 to check;
* above it: a ``HEAD`` (to skip the upload of a blob already there), then a multipart
  upload whose every part carries its SHA-256 checksum, completed with
  ``If-None-Match: *``. A failed multipart upload is aborted (best effort: when the
  endpoint is gone the abort fails too, and S3 keeps the invisible parts until a
  bucket lifecycle rule ``AbortIncompleteMultipartUpload`` removes them).

S3 answers ``412 Precondition Failed`` when the key exists, so a stored object is
never overwritten, even by two writers racing (``created`` is then False). Nothing is
visible under the key until the upload completes. If a request succeeded but its
answer was lost, the retry meets the 412 and reports ``created=False`` for a blob
this call wrote; the bytes are the same, since the key is their hash.

Reads
-----
``open`` streams the object. On a whole-object read botocore checks the bytes against
the checksum S3 recorded (single-part objects); a mismatch is a ``StorageError`` and
makes ``verify`` False, as does the SHA-256 that ``verify`` recomputes. A connection
dropped mid-read resumes with a ranged ``GET`` of the same ETag (``If-Match``), up to
``max_attempts`` times.

Errors
------
Every botocore/boto3 error becomes a :class:`~docarchive.errors.StorageError` (with the
storage URL and the blob's key, the original as ``__cause__``) in one place,
``S3Storage._errors``, which names the usual causes: no such bucket, access denied,
credentials refused or missing, endpoint unreachable or lost, throttling that outlasted
the retries, a missing blob.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any, BinaryIO
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    FlexibleChecksumError,
    IncompleteReadError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from ..errors import ConfigurationError, StorageError
from .base import CHUNK, BlobInfo, BlobStorage, check_key
from .hashcopy import bytes_left_on_disk, write_hashed

__all__ = ["OPTIONS", "S3Options", "S3Storage"]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
MIN_PART = 5 * MiB  # S3's smallest part (every part but the last)
MAX_PART = 5 * GiB
MAX_PARTS = 10_000
SPOOL_IN_MEMORY = 8 * MiB
ENV_PREFIX = "DOCARCHIVE_S3_"

#: Every option and its default (None: left to boto3).
OPTIONS: dict[str, object] = {
    "endpoint_url": None,
    "region": None,
    "addressing_style": None,
    "sse": "none",
    "kms_key_id": None,
    "multipart_threshold": 8 * MiB,
    "part_size": 8 * MiB,
    "max_concurrency": 8,
    "max_attempts": 5,
    "connect_timeout": 10.0,
    "read_timeout": 60.0,
    "object_lock_days": 0,
    "object_lock_mode": "COMPLIANCE",
}

_CREDENTIAL_NAMES = {
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "access_key",
    "access_key_id",
    "secret_key",
    "secret_access_key",
    "session_token",
    "key",
    "secret",
    "token",
    "password",
}
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")
_SIZE = re.compile(r"\s*(\d+)\s*([kmg]i?b?|b)?\s*", re.IGNORECASE)
_THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "503"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "AllAccessDisabled", "AccountProblem", "Forbidden"}
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}
_BAD_DIGEST = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum"}
# Errors after which a read resumes where it stopped (a new ranged GET).
_STREAM_ERRORS = (
    ConnectionClosedError,
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ResponseStreamingError,
    IncompleteReadError,
)


class _CorruptBlob(StorageError):
    """The bytes read do not match the checksum S3 recorded for the object."""


# -- options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Options:
    """The resolved options of one :class:`S3Storage` (see the module docstring)."""

    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: str | None = None
    sse: str = "none"
    kms_key_id: str | None = None
    multipart_threshold: int = 8 * MiB
    part_size: int = 8 * MiB
    max_concurrency: int = 8
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    object_lock_days: int = 0
    object_lock_mode: str = "COMPLIANCE"

    @classmethod
    def resolve(
        cls,
        arguments: Mapping[str, object],
        environ: Mapping[str, str],
        query: Mapping[str, str],
    ) -> S3Options:
        """Pick each option from arguments > ``DOCARCHIVE_S3_*`` > URL query > default."""
        env = {
            name[len(ENV_PREFIX) :].lower(): value
            for name, value in environ.items()
            if name.startswith(ENV_PREFIX)
        }
        _check_names(arguments, "argument")
        _check_names(env, "environment variable", prefix=ENV_PREFIX)
        _check_names(query, "URL option")
        values: dict[str, Any] = {}
        for name, default in OPTIONS.items():
            raw: object
            if arguments.get(name) is not None:
                raw, source = arguments[name], f"argument {name}"
            elif env.get(name):
                raw, source = env[name], f"{ENV_PREFIX}{name.upper()}"
            elif query.get(name):
                raw, source = query[name], f"URL option {name}"
            else:
                values[name] = default
                continue
            values[name] = _parse(name, raw, source)
        options = cls(**values)
        if options.kms_key_id and options.sse != "aws:kms":
            raise ConfigurationError("S3 option kms_key_id needs sse=aws:kms")
        return options


def _check_names(given: Mapping[str, object], what: str, prefix: str = "") -> None:
    for name in sorted(given):
        if name.lower() in _CREDENTIAL_NAMES:
            raise ConfigurationError(
                f"S3 {what} {prefix}{name.upper() if prefix else name} looks like a credential; "
                "credentials never go in the storage URL, settings or arguments: boto3 finds "
                "them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                "~/.aws/credentials, an instance role)"
            )
        if name not in OPTIONS:
            shown = f"{prefix}{name.upper()}" if prefix else name
            raise ConfigurationError(f"unknown S3 {what} {shown!r} (known: {', '.join(OPTIONS)})")


def _parse(name: str, raw: object, source: str) -> object:
    text = str(raw).strip()

    def bad(expected: str) -> ConfigurationError:
        return ConfigurationError(f"{source}={text!r}: expected {expected}")

    if name == "endpoint_url":
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad("http(s)://host[:port]")
        if parts.username or parts.password:
            raise ConfigurationError(
                f"{source} holds credentials (user:password@); credentials never go in the "
                "storage URL: boto3 finds them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ...)"
            )
        return text
    if name in ("region", "kms_key_id"):
        if not text or any(c.isspace() for c in text):
            raise bad("a name without spaces")
        return text
    if name == "addressing_style":
        if text not in ("auto", "path", "virtual"):
            raise bad("auto, path or virtual")
        return text
    if name == "sse":
        for choice in ("none", "AES256", "aws:kms"):
            if text.lower() == choice.lower():
                return choice
        raise bad("none, AES256 or aws:kms")
    if name == "object_lock_mode":
        if text.upper() not in ("COMPLIANCE", "GOVERNANCE"):
            raise bad("COMPLIANCE or GOVERNANCE")
        return text.upper()
    if name in ("multipart_threshold", "part_size"):
        size = _size(text)
        if size is None:
            raise bad("a size in bytes, such as 8388608, 8MiB or 16MB")
        if name == "part_size" and not MIN_PART <= size <= MAX_PART:
            raise bad("a part size from 5MiB to 5GiB (S3's limits)")
        if name == "multipart_threshold" and size > MAX_PART:
            raise bad("at most 5GiB (S3's largest single upload)")
        return size
    if name in ("max_concurrency", "max_attempts", "object_lock_days"):
        low, high = {"max_concurrency": (1, 64), "max_attempts": (1, 20)}.get(name, (0, 36_500))
        try:
            number = int(text)
        except ValueError:
            raise bad(f"a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise bad(f"a whole number from {low} to {high}")
        return number
    # connect_timeout, read_timeout
    try:
        seconds = float(text)
    except ValueError:
        raise bad("seconds, such as 10 or 2.5") from None
    if not 0 < seconds <= 3600:
        raise bad("seconds, more than 0 and at most 3600")
    return seconds


def _size(text: str) -> int | None:
    """Bytes in ``8388608``, ``8MiB``/``8M`` (binary) or ``8MB`` (decimal)."""
    match = _SIZE.fullmatch(text)
    if not match:
        return None
    number, unit = int(match.group(1)), (match.group(2) or "").lower()
    if unit in ("", "b"):
        return number
    power = "kmg".index(unit[0]) + 1
    decimal = unit.endswith("b") and "i" not in unit
    return number * int((1000 if decimal else 1024) ** power)


def _normalise_prefix(prefix: str) -> str:
    """``a//b/`` → ``a/b``; a prefix that could climb out of itself is refused."""
    if any(ord(c) < 32 or c in "\\\x7f" for c in prefix):
        raise ConfigurationError(f"S3 prefix {prefix!r} holds a control character or backslash")
    parts = [p for p in prefix.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ConfigurationError(f"S3 prefix {prefix!r} must not contain '.' or '..' segments")
    return "/".join(parts)


# -- the boto3 session -------------------------------------------------------------------

_session: Any = None
_session_lock = threading.Lock()


def _client(options: S3Options) -> Any:
    """A client from one process-wide boto3 session (clients are thread-safe; the
    session is not, so clients are made under a lock)."""
    global _session
    s3_config: dict[str, str] = {}
    if options.addressing_style:
        s3_config["addressing_style"] = options.addressing_style
    config = Config(
        retries={"mode": "standard", "total_max_attempts": options.max_attempts},
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        max_pool_connections=max(10, 2 * options.max_concurrency),
        # Checksums are checked on whole-object reads only (asked for in _get): a
        # resumed, ranged read must not be held to the whole object's checksum.
        response_checksum_validation="when_required",
        s3=s3_config or None,
    )
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(
            "s3",
            endpoint_url=options.endpoint_url,
            region_name=options.region,
            config=config,
        )


# -- the backend -------------------------------------------------------------------------


class S3Storage(BlobStorage):
    """Content-addressed, write-once blobs under a prefix of one S3 bucket."""

    #: Keys asked for per ListObjectsV2 request (S3 answers at most 1,000).
    list_page_size = 1000

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str | None = None,
        sse: str | None = None,
        kms_key_id: str | None = None,
        multipart_threshold: int | str | None = None,
        part_size: int | str | None = None,
        max_concurrency: int | str | None = None,
        max_attempts: int | str | None = None,
        connect_timeout: float | str | None = None,
        read_timeout: float | str | None = None,
        object_lock_days: int | str | None = None,
        object_lock_mode: str | None = None,
        environ: Mapping[str, str] | None = None,
        url_options: Mapping[str, str] | None = None,
    ) -> None:
        if not _BUCKET.fullmatch(bucket or ""):
            raise ConfigurationError(f"{bucket!r} is not an S3 bucket name")
        self.bucket = bucket
        self.prefix = _normalise_prefix(prefix)
        self.options = S3Options.resolve(
            {
                "endpoint_url": endpoint_url,
                "region": region,
                "addressing_style": addressing_style,
                "sse": sse,
                "kms_key_id": kms_key_id,
                "multipart_threshold": multipart_threshold,
                "part_size": part_size,
                "max_concurrency": max_concurrency,
                "max_attempts": max_attempts,
                "connect_timeout": connect_timeout,
                "read_timeout": read_timeout,
                "object_lock_days": object_lock_days,
                "object_lock_mode": object_lock_mode,
            },
            os.environ if environ is None else environ,
            url_options or {},
        )
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client = _client(self.options)
        self.endpoint = str(self._client.meta.endpoint_url)
        self._bucket_seen = False

    @classmethod
    def from_url(  # type: ignore[override]  # adds environ; every other keyword is an option
        cls, url: str, *, environ: Mapping[str, str] | None = None, **options: str
    ) -> S3Storage:
        """``s3://bucket/prefix?option=value&...``; ``options`` override everything else.

        ``environ`` replaces ``os.environ`` as the source of ``DOCARCHIVE_S3_*`` options
        (credentials still come from boto3's chain).
        """
        parts = urlsplit(url)
        if parts.scheme.lower() != "s3":
            raise ConfigurationError(f"not an s3:// URL: {url!r}")
        if "@" in parts.netloc:
            raise ConfigurationError(
                "the S3 storage URL holds credentials (user:password@); credentials never go "
                "in the storage URL or settings: boto3 finds them (AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials, an instance role)"
            )
        if parts.fragment:
            raise ConfigurationError(f"the S3 storage URL must not have a #fragment: {url!r}")
        if ":" in parts.netloc:
            raise ConfigurationError(
                f"{parts.netloc!r} is not a bucket name; give the server as ?endpoint_url=..."
            )
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name in query:
                raise ConfigurationError(f"S3 URL option {name!r} is given twice")
            query[name] = value
        _check_names(query, "URL option")
        _check_names(options, "argument")
        return cls(
            parts.netloc,
            unquote(parts.path),
            environ=environ,
            url_options=query,
            **options,
        )

    # -- keys and errors -------------------------------------------------------------------

    def object_key(self, sha256: str) -> str:
        """The S3 key of a blob: ``prefix/ab/cd/<sha256>`` (the key is checked first)."""
        check_key(sha256, self.url)
        name = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    @contextmanager
    def _errors(self, doing: str, sha256: str = "") -> Iterator[None]:
        """The one place where boto3/botocore errors become StorageError."""
        try:
            yield
        except StorageError:
            raise
        except (ClientError, BotoCoreError, OSError) as exc:
            kind = _CorruptBlob if isinstance(exc, FlexibleChecksumError) else StorageError
            raise kind(self._describe(exc, doing, sha256), url=self.url, key=sha256) from exc

    def _describe(self, exc: BaseException, doing: str, sha256: str) -> str:
        bucket = self.bucket
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            message = str(error.get("Message", "")).strip()
            # HEAD has no body: a bare 404 may mean the bucket, not the key, is missing.
            if code == "NoSuchBucket" or (code in ("404", "NotFound") and self._bucket_missing()):
                return f"no such bucket {bucket!r} at {self.endpoint} while {doing}"
            if code in _MISSING and sha256:
                return f"blob is missing (no object {self.object_key(sha256)!r})"
            if code in _DENIED:
                return (
                    f"access denied to bucket {bucket!r} while {doing}: the credentials boto3 "
                    "found are not allowed to do this (check the bucket and IAM policies)"
                )
            if code in _BAD_CREDENTIALS:
                return f"S3 refused the credentials boto3 found ({code}) while {doing}"
            if code in _THROTTLED:
                return f"S3 kept throttling requests ({code}) while {doing}; retries ran out"
            if code in _BAD_DIGEST:
                return f"S3 refused the bytes: they do not match their checksum ({code})"
            return f"S3 refused {doing}: {code or 'error'}: {message}".rstrip(": ")
        if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
            return f"cannot reach the S3 endpoint {self.endpoint} while {doing}"
        if isinstance(exc, _STREAM_ERRORS):
            return f"lost the connection to the S3 endpoint {self.endpoint} while {doing}"
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return (
                f"no AWS credentials found while {doing}: give them the way boto3 looks for "
                "them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                "~/.aws/credentials, an instance role)"
            )
        if isinstance(exc, NoRegionError):
            return "no region for S3: set ?region=..., DOCARCHIVE_S3_REGION or AWS_REGION"
        if isinstance(exc, FlexibleChecksumError):
            return "stored bytes do not match the checksum S3 recorded for them"
        if isinstance(exc, OSError):
            return f"I/O error while {doing}: {exc.strerror or exc}"
        return f"S3 client error while {doing}: {exc}"

    def _bucket_missing(self) -> bool:
        if self._bucket_seen:
            return False
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            return str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchBucket")
        except BotoCoreError:
            return False
        self._bucket_seen = True  # buckets seldom vanish: ask once per store
        return False

    # -- writing ---------------------------------------------------------------------------

    def _put_stream(self, stream: BinaryIO) -> BlobInfo:
        # The key is the hash, known only once every byte was read: the bytes are spooled
        # first (in memory up to a few MiB, else to an unnamed temporary file), then sent.
        options = self.options
        memory = min(SPOOL_IN_MEMORY, max(options.multipart_threshold, 1))
        left = bytes_left_on_disk(stream)
        if left is not None and left > memory:
            # a large file on disk: copied in the kernel, hashed from the copy alongside
            try:
                with tempfile.TemporaryFile(prefix="docarchive-s3-") as spool:
                    sha, size = write_hashed(stream, spool.fileno(), sync=False)
                    spool.seek(0)
                    return self._send(spool, sha, size)
            except OSError as exc:  # the temporary file, or reading the stream
                raise StorageError(
                    f"cannot copy the data to upload: {exc.strerror or exc}", url=self.url
                ) from exc
        with tempfile.SpooledTemporaryFile(max_size=memory, prefix="docarchive-s3-") as spooled:
            digest = hashlib.sha256()
            size = 0
            try:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    spooled.write(chunk)
                    size += len(chunk)
                spooled.seek(0)
            except OSError as exc:
                raise StorageError(
                    f"cannot read the data to store: {exc.strerror or exc}", url=self.url
                ) from exc
            return self._send(spooled, digest.hexdigest(), size)

    def _send(self, spool: IO[bytes], sha: str, size: int) -> BlobInfo:
        """Upload the spooled bytes under their key; never over an existing object."""
        key = self.object_key(sha)
        with self._errors("storing a blob", sha):
            if size > self.options.multipart_threshold:
                created = self._put_multipart(spool, key, size)
            else:
                created = self._put_single(spool, key, size, bytes.fromhex(sha))
        return BlobInfo(sha, size, created)

    def _write_args(self) -> dict[str, Any]:
        """Encryption and retention for a new object."""
        args: dict[str, Any] = {}
        if self.options.sse != "none":
            args["ServerSideEncryption"] = self.options.sse
            if self.options.kms_key_id:
                args["SSEKMSKeyId"] = self.options.kms_key_id
        if self.options.object_lock_days:
            args["ObjectLockMode"] = self.options.object_lock_mode
            args["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(
                days=self.options.object_lock_days
            )
        return args

    def _put_single(self, body: IO[bytes], key: str, size: int, sha: bytes) -> bool:
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentLength=size,
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=base64.b64encode(sha).decode("ascii"),
                **self._write_args(),
            )
        except ClientError as exc:
            if _already_there(exc):
                return False
            raise
        return True

    def _put_multipart(self, spool: IO[bytes], key: str, size: int) -> bool:
        if self._key_exists(key):
            return False
        part_size = max(self.options.part_size, -(-size // MAX_PARTS))
        upload_id = self._client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256", **self._write_args()
        )["UploadId"]
        try:
            parts = self._upload_parts(spool, key, upload_id, part_size)
            try:
                self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    IfNoneMatch="*",
                    MultipartUpload={"Parts": parts},
                )
            except ClientError as exc:
                if _already_there(exc):
                    self._abort(key, upload_id)
                    return False
                raise
        except BaseException:
            self._abort(key, upload_id)
            raise
        return True

    def _upload_parts(
        self, spool: IO[bytes], key: str, upload_id: str, part_size: int
    ) -> list[dict[str, Any]]:
        def send(number: int, data: bytes) -> dict[str, Any]:
            checksum = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
            answer = self._client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
            return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum}

        parts: list[dict[str, Any]] = []
        pending: set[Future[dict[str, Any]]] = set()
        limit = self.options.max_concurrency
        with ThreadPoolExecutor(limit, thread_name_prefix="docarchive-s3") as pool:
            try:
                number = 0
                while data := spool.read(part_size):
                    number += 1
                    if len(pending) >= limit:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        parts.extend(f.result() for f in done)
                    pending.add(pool.submit(send, number, data))
                parts.extend(f.result() for f in wait(pending).done)
            finally:
                for future in pending:
                    future.cancel()
        return sorted(parts, key=lambda p: int(p["PartNumber"]))

    def _abort(self, key: str, upload_id: str) -> None:
        # When the endpoint is gone this fails too; a lifecycle rule cleans up (see above).
        with suppress(ClientError, BotoCoreError):
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def _key_exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return False
            raise
        return True

    # -- reading ---------------------------------------------------------------------------

    def _get(self, key: str, start: int = 0, etag: str | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start:
            args["Range"] = f"bytes={start}-"
        else:
            args["ChecksumMode"] = "ENABLED"  # botocore checks the bytes as they stream
        if etag:
            args["IfMatch"] = etag
        answer: dict[str, Any] = self._client.get_object(**args)
        return answer

    def open(self, sha256: str) -> BinaryIO:
        key = self.object_key(sha256)
        with self._errors("reading a blob", sha256):
            answer = self._get(key)
        return io.BufferedReader(_S3Reader(self, sha256, key, answer), buffer_size=CHUNK)

    def stat(self, sha256: str) -> BlobInfo:
        key = self.object_key(sha256)
        with self._errors("reading a blob's size", sha256):
            answer = self._client.head_object(Bucket=self.bucket, Key=key)
        return BlobInfo(sha256, int(answer["ContentLength"]))

    def keys(self) -> Iterator[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start, PaginationConfig={"PageSize": self.list_page_size}
        )
        with self._errors("listing blobs"):
            for page in pages:
                for item in page.get("Contents", ()):
                    rest = str(item["Key"])[len(start) :].split("/")
                    if len(rest) == 3 and _is_blob_path(*rest):
                        yield rest[2]

    def verify(self, sha256: str) -> bool:
        try:
            return super().verify(sha256)
        except _CorruptBlob:
            return False

    def close(self) -> None:
        self._client.close()


def _is_blob_path(first: str, second: str, name: str) -> bool:
    try:
        check_key(name)
    except StorageError:
        return False
    return first == name[:2] and second == name[2:4]


def _already_there(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in ("PreconditionFailed", "412") or status == 412


class _S3Reader(io.RawIOBase):
    """An object's body; a dropped connection resumes with a ranged GET of the same ETag."""

    def __init__(self, store: S3Storage, sha256: str, key: str, answer: dict[str, Any]) -> None:
        self._store = store
        self._sha = sha256
        self._key = key
        self._etag = str(answer.get("ETag", "")) or None
        self._size = int(answer.get("ContentLength", 0))
        self._body: Any = answer["Body"]
        self._pos = 0
        self._finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        if self._pos >= self._size:
            self._finish()
            return 0
        attempts = self._store.options.max_attempts
        with self._store._errors("reading a blob", self._sha):
            for attempt in range(1, attempts + 1):
                try:
                    if self._body is None:
                        self._body = self._store._get(self._key, self._pos, self._etag)["Body"]
                    data = self._body.read(len(view))
                    if not data:
                        raise IncompleteReadError(actual_bytes=self._pos, expected_bytes=self._size)
                    break
                except (*_STREAM_ERRORS, OSError):
                    self._drop_body()
                    if attempt == attempts:
                        raise
                    time.sleep(min(0.1 * 2**attempt, 5.0))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _finish(self) -> None:
        """Read the body's end, where botocore checks the checksum S3 recorded (if any)."""
        if self._body is not None and not self._finished:
            self._finished = True
            with self._store._errors("reading a blob", self._sha):
                self._body.read(1)
            self._drop_body()

    def _drop_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with suppress(Exception):  # the connection is already broken
                body.close()

    def close(self) -> None:
        self._drop_body()
        super().close()
