"""Blob throughput: docarchive's storage backends beside the plain way of doing the same.

    python bench/bench_storage.py [ROUNDS] [--local]     (--local: skip S3)

For 1 KB, 1 MB and 50 MB objects, in one run:

* ``LocalStorage.put`` beside a plain durable file copy: ``shutil.copyfile`` of the same
  source file, ``fsync`` of the copy and ``fsync`` of its folder — what any program must do
  for a new file to survive a crash, and what LocalStorage does (it also hashes, writes to
  a temporary file and links it into place, so that a blob is never half-visible); for
  information, beside the copy without the folder's ``fsync`` (its name may be lost);
* ``S3Storage.put`` beside bare boto3 on the same endpoint: ``put_object`` for 1 KB and
  1 MB, ``upload_file`` (s3transfer: 8 MB parts, 10 threads) for 50 MB.

Every contender reads the same source files from disk and writes distinct objects
(a content-addressed store skips repeats). The S3 endpoint is moto's server on
127.0.0.1 in this process (``moto[server]``): the figures compare clients, not
networks, and the server's own work (moto hashes every part again) shares the CPU.
Contenders take turns within each round, so a busy machine slows them alike; the
best round of each counts. Prints MB/s and the ratio docarchive / baseline
(target: at least 0.8).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = [("1 KB", 1000, 300), ("1 MB", 1000**2, 40), ("50 MB", 50 * 1000**2, 3)]
TARGET = 0.8

Runner = Callable[[list[Path]], None]


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_sources(folder: Path, size: int, count: int, rounds: int) -> list[list[Path]]:
    """Distinct files per object and per round (the stores skip bytes they hold)."""
    files = []
    for r in range(rounds):
        batch = []
        for i in range(count):
            path = folder / f"{r}-{i}"
            head = f"{r}-{i}-".encode()
            block = os.urandom(min(size, 1 << 20))
            with path.open("wb") as out:
                out.write(head)
                written = len(head)
                while written < size:
                    piece = block[: size - written]
                    out.write(piece)
                    written += len(piece)
            batch.append(path)
        files.append(batch)
    return files


def race(
    files: list[list[Path]], contenders: dict[str, Runner], reset: Callable[[], None]
) -> dict[str, float]:
    """Seconds of each contender's best round; contenders take turns, in rotating order."""
    best = dict.fromkeys(contenders, float("inf"))
    names = list(contenders)
    for r, batch in enumerate(files):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            reset()
            start = time.perf_counter()
            contenders[name](batch)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def bench_local(work: Path, files: list[list[Path]]) -> dict[str, float]:
    from docarchive.storage.local import LocalStorage

    local_dir, copy_dir = work / "local", work / "copy"

    def reset() -> None:
        for folder in (local_dir, copy_dir):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()

    def plain_copy(batch: list[Path]) -> None:
        for path in batch:
            target = copy_dir / path.name
            shutil.copyfile(path, target)
            fsync_path(target)

    def durable_copy(batch: list[Path]) -> None:
        for path in batch:
            target = copy_dir / path.name
            shutil.copyfile(path, target)
            fsync_path(target)
            fsync_path(copy_dir)

    def docarchive(batch: list[Path]) -> None:
        store = LocalStorage(local_dir)
        for path in batch:
            with path.open("rb") as fh:
                store.put(fh)

    return race(
        files,
        {"docarchive": docarchive, "copy": plain_copy, "copy+dir": durable_copy},
        reset,
    )


def bench_s3(client: Any, endpoint: str, size: int, files: list[list[Path]]) -> dict[str, float]:
    from docarchive.storage.s3 import S3Storage

    bucket = f"bench-{size}"
    client.create_bucket(Bucket=bucket)
    store = S3Storage(bucket, "ours", endpoint_url=endpoint)

    def reset() -> None:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys})

    def bare(batch: list[Path]) -> None:
        for path in batch:
            if size > 8 * 1024**2:
                client.upload_file(str(path), bucket, f"bare/{path.name}")
            else:
                with path.open("rb") as fh:
                    client.put_object(Bucket=bucket, Key=f"bare/{path.name}", Body=fh)

    def docarchive(batch: list[Path]) -> None:
        for path in batch:
            with path.open("rb") as fh:
                store.put(fh)

    try:
        return race(files, {"docarchive": docarchive, "boto3": bare}, reset)
    finally:
        reset()
        store.close()


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    local_only = "--local" in sys.argv[1:]
    rounds = int(args[0]) if args else 5
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
    )
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint)
    work = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    rows: list[tuple[str, str, float, float]] = []
    try:
        for label, size, count in SIZES:
            sources = work / "src"
            sources.mkdir()
            files = make_sources(sources, size, count, rounds)
            mb = size * count / 1e6
            local = bench_local(work, files)
            s3 = None if local_only else bench_s3(client, endpoint, size, files)
            shutil.rmtree(sources)
            ours = mb / local["docarchive"]
            rows.append(
                (label, "LocalStorage / copyfile+fsync+dir fsync", ours, mb / local["copy+dir"])
            )
            rows.append(
                (label, "  (info) / copyfile+fsync, name not durable", ours, mb / local["copy"])
            )
            if s3 is not None:
                rows.append(
                    (
                        label,
                        "S3Storage / boto3 put_object|upload_file",
                        mb / s3["docarchive"],
                        mb / s3["boto3"],
                    )
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        client.close()
        server.stop()

    print(f"blob throughput, best of {rounds} rounds, MB/s (ratio = docarchive / baseline)")
    header = ("size", "docarchive / baseline", "docarchive", "baseline", "ratio")
    print("{:>6}  {:<42} {:>10} {:>10} {:>6}".format(*header))
    for label, what, ours, base in rows:
        print(f"{label:>6}  {what:<42} {ours:>10.2f} {base:>10.2f} {ours / base:>6.2f}")
    bare = [ours / base for _, what, ours, base in rows if "(info)" not in what]
    print(f"lowest ratio against the bare baselines: {min(bare):.2f} (target >= {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
