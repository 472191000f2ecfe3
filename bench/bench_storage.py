"""Blob throughput: docarchive's storage backends beside the plain way of doing the same.

    python bench/bench_storage.py [ROUNDS] [--local]     (--local: skip S3; ROUNDS: 9)

For 1 KB, 1 MB and 50 MB objects, in one run:

* ``LocalStorage.put`` of an open file beside a plain durable file copy:
  ``shutil.copyfile`` of the same source file, ``fsync`` of the copy and ``fsync`` of its
  folder — what any program must do for a new file to survive a crash. LocalStorage also
  hashes, writes to a temporary file and links it into place, so that a blob is never
  half-visible. It runs on an *established* archive, whose fan-out folders
  (``blobs/ab/cd/``) already exist, as they do for nearly every new blob of an archive in
  use; for information, beside the copy without the folder's ``fsync`` (its name may be
  lost), beside an atomic copy (temporary file, fsync, rename, folder fsync: the same
  guarantees as LocalStorage), and on a *new* archive, where most puts first create
  their two fan-out folders;
* ``S3Storage.put`` beside bare boto3 on the same endpoint: ``put_object`` for 1 KB and
  1 MB, ``upload_file`` (s3transfer: 8 MB parts, 10 threads) for 50 MB.

Every contender reads the same source files from disk and writes distinct objects. The
S3 endpoint is moto's server on 127.0.0.1 in this process (``moto[server]``): the
figures compare clients, not networks, and the server's own work (moto hashes every part
again) shares the CPU. Contenders take turns, in rotating order, each storing a whole
round's batch after its target was emptied and the disk flushed (``os.sync``), so none
pays for another's unwritten data. fsync latency on a virtual disk varies a lot from
moment to moment, so the ratio is the median, over the rounds, of the baseline's time
over docarchive's time in the same round (1.0 = as fast; target: at least 0.8); MB/s
are of each contender's best round.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = [("1 KB", 1000, 1000), ("1 MB", 1000**2, 150), ("50 MB", 50 * 1000**2, 4)]
SIZES_MB = [(label, size * count / 1e6) for label, size, count in SIZES]
TARGET = 0.8

Runner = Callable[[Path], None]


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
    files: list[list[Path]],
    contenders: dict[str, Runner],
    reset: Callable[[str, list[Path]], None],
) -> dict[str, list[float]]:
    """Seconds each contender took in each round.

    Contenders take turns, in rotating order, each storing the round's whole batch after
    ``reset(name, batch)`` (which empties its target and flushes the disk, so no contender
    pays for another's unwritten data).
    """
    spent: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r, batch in enumerate(files):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            reset(name, batch)
            store = contenders[name]
            start = time.perf_counter()
            for path in batch:
                store(path)
            spent[name].append(time.perf_counter() - start)
    return spent


def bench_local(work: Path, files: list[list[Path]]) -> dict[str, list[float]]:
    import hashlib

    from docarchive.storage.local import LocalStorage

    fresh_dir, warm_dir = work / "fresh", work / "warm"
    copy_dir, plain_dir, atomic_dir = work / "copy", work / "plain", work / "atomic"
    keys = {}
    for batch in files:
        for path in batch:
            with path.open("rb") as fh:
                keys[path] = hashlib.file_digest(fh, "sha256").hexdigest()

    folders = {
        "established": warm_dir,
        "fresh": fresh_dir,
        "copy": plain_dir,
        "copy+dir": copy_dir,
        "atomic": atomic_dir,
    }

    def reset(name: str, batch: list[Path]) -> None:
        folder = folders[name]
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        if name == "established":
            # An established archive: the fan-out folders of new blobs already exist
            # (65,536 leaf folders; an archive of 300,000 blobs has all but 1 % of them).
            for path in batch:
                (folder / keys[path][:2] / keys[path][2:4]).mkdir(parents=True, exist_ok=True)
        if name in ("established", "fresh"):
            stores[name] = LocalStorage(folder)
        os.sync()

    def plain_copy(path: Path) -> None:
        target = plain_dir / path.name
        shutil.copyfile(path, target)
        fsync_path(target)

    def durable_copy(path: Path) -> None:
        target = copy_dir / path.name
        shutil.copyfile(path, target)
        fsync_path(target)
        fsync_path(copy_dir)

    def atomic_copy(path: Path) -> None:
        temp, target = atomic_dir / f".{path.name}.tmp", atomic_dir / path.name
        shutil.copyfile(path, temp)
        fsync_path(temp)
        os.rename(temp, target)
        fsync_path(atomic_dir)

    stores: dict[str, LocalStorage] = {}

    def put(which: str, path: Path) -> None:
        with path.open("rb") as fh:
            stores[which].put(fh)

    return race(
        files,
        {
            "established": lambda path: put("established", path),
            "fresh": lambda path: put("fresh", path),
            "copy": plain_copy,
            "copy+dir": durable_copy,
            "atomic": atomic_copy,
        },
        reset,
    )


def bench_s3(
    client: Any, endpoint: str, size: int, files: list[list[Path]]
) -> dict[str, list[float]]:
    from docarchive.storage.s3 import S3Storage

    bucket = f"bench-{size}"
    client.create_bucket(Bucket=bucket)
    store = S3Storage(bucket, "ours", endpoint_url=endpoint)

    def reset(name: str = "", batch: list[Path] | None = None) -> None:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys})

    def bare(path: Path) -> None:
        if size > 8 * 1024**2:
            client.upload_file(str(path), bucket, f"bare/{path.name}")
        else:
            with path.open("rb") as fh:
                client.put_object(Bucket=bucket, Key=f"bare/{path.name}", Body=fh)

    def docarchive(path: Path) -> None:
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
    rounds = int(args[0]) if args else 9
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
    rows: list[tuple[str, str, list[float], list[float]]] = []
    try:
        for label, size, count in SIZES:
            sources = work / "src"
            sources.mkdir()
            files = make_sources(sources, size, count, rounds)
            local = bench_local(work, files)
            s3 = None if local_only else bench_s3(client, endpoint, size, files)
            shutil.rmtree(sources)
            ours, base = local["established"], local["copy+dir"]
            rows += [
                (label, "LocalStorage / copyfile+fsync+dir fsync", ours, base),
                (label, "  (info) / copyfile+fsync, name not durable", ours, local["copy"]),
                (label, "  (info) / temp copy+fsync, rename, dir fsync", ours, local["atomic"]),
                (label, "  (info) new archive / copyfile+fsync+dir fsync", local["fresh"], base),
            ]
            if s3 is not None:
                rows.append(
                    (
                        label,
                        "S3Storage / boto3 put_object|upload_file",
                        s3["docarchive"],
                        s3["boto3"],
                    )
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        client.close()
        server.stop()

    print(
        f"blob throughput over {rounds} rounds: MB/s of the best round; ratio = median over "
        "the rounds of baseline time / docarchive time (1.0 = as fast)"
    )
    header = ("size", "docarchive / baseline", "docarchive", "baseline", "ratio")
    print("{:>6}  {:<48} {:>10} {:>10} {:>6}".format(*header))
    lowest = float("inf")
    for label, what, ours, base in rows:
        mb = dict(SIZES_MB)[label]
        ratio = statistics.median(b / o for o, b in zip(ours, base, strict=True))
        if "(info)" not in what:
            lowest = min(lowest, ratio)
        print(
            f"{label:>6}  {what:<48} {mb / min(ours):>10.2f} {mb / min(base):>10.2f} {ratio:>6.2f}"
        )
    print(f"lowest ratio against the bare baselines: {lowest:.2f} (target >= {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
