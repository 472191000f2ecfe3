"""Search over HTTP beside the same searches as direct library calls, on the same archive.

    python bench/bench_api.py [N_DOCS] [--queries Q] [--clients C] [--workers W]

Builds a folder archive of N_DOCS generated letters (default 20,000; :mod:`corpus`),
loaded into the catalog and indexed as ``reindex`` does. Then, in one run:

(a) the library: ``Archive.search`` called in one process, one query after another, the
    way a script calls it;
(b) HTTP: ``docarchive serve --workers W`` (default 2, one per core) on 127.0.0.1 and C
    client threads (default 8), each with its own keep-alive connection, sending
    ``GET /api/v1/search`` with a bearer token, the same queries.

Both run the same query list (one and two terms, phrases, with and without a kind
filter, top 10 with exact totals and facets) for the same number of rounds after a
warm-up round each. Prints queries/s of each and the ratio HTTP / library (target
≥ 0.7). The client threads share the machine with the server, as a ministry system on
the same host would; on 2 cores they take CPU from it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Corpus

from docarchive import Archive

WORD = re.compile(r"[^\W\d_]{4,}")


def build(root: Path, n: int) -> list[str]:
    """The archive with ``n`` letters, and the subjects to draw queries from."""
    archive = Archive.open(root)
    subjects = []
    batch = []
    for record in Corpus(seed=11).records(n):
        batch.append(record)
        subjects.append(record.subject)
        if len(batch) == 1000:
            with archive.catalog.transaction("bench") as tx:
                for r in batch:
                    tx.import_record(r)
            batch = []
    if batch:
        with archive.catalog.transaction("bench") as tx:
            for r in batch:
                tx.import_record(r)
    started = time.monotonic()
    archive.reindex()
    print(f"built {n:,} letters, indexed in {time.monotonic() - started:.0f} s")
    archive.add_user("bench", "bench-password", clearance="secret", role="clerk")
    archive.close()
    return subjects


def queries(subjects: list[str], count: int) -> list[dict[str, str]]:
    rng = random.Random(5)
    made: list[dict[str, str]] = []
    while len(made) < count:
        words = WORD.findall(rng.choice(subjects))
        if len(words) < 3:
            continue
        kind = len(made) % 4
        if kind == 0:
            q = {"q": rng.choice(words)}
        elif kind == 1:
            q = {"q": " ".join(rng.sample(words, 2))}
        elif kind == 2:
            i = rng.randrange(len(words) - 1)
            q = {"q": f'"{words[i]} {words[i + 1]}"'}
        else:
            q = {"q": rng.choice(words), "kind": "letter"}
        made.append(q)
    return made


def library(root: Path, qs: list[dict[str, str]], rounds: int) -> float:
    """Queries per second, one process calling Archive.search."""
    with Archive.open(root) as archive:
        for q in qs:  # warm-up
            archive.search(q["q"], kind=q.get("kind"), clearance="secret")
        started = time.perf_counter()
        for _ in range(rounds):
            for q in qs:
                archive.search(q["q"], kind=q.get("kind"), clearance="secret")
        return rounds * len(qs) / (time.perf_counter() - started)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def over_http(
    root: Path, qs: list[dict[str, str]], rounds: int, clients: int, workers: int
) -> float:
    """Queries per second, ``clients`` threads against ``docarchive serve``."""
    with Archive.open(root) as archive:
        token = archive.create_token("bench", label="bench").token
    port = _port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "docarchive",
            "--root",
            str(root),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        paths = ["/api/v1/search?" + urlencode({**q, "page_size": 10}) for q in qs]

        def work(mine: list[str], out: list[float]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for path in mine:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise SystemExit(f"{response.status}: {body[:200]!r}")
                json.loads(body)
            out.append(time.perf_counter())
            conn.close()

        def run(total: list[str]) -> float:
            shares = [total[i::clients] for i in range(clients)]
            ends: list[float] = []
            threads = [threading.Thread(target=work, args=(s, ends)) for s in shares]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return len(total) / (max(ends) - started)

        run(paths * workers)  # warm-up: every worker process opens its searcher
        return run(paths * rounds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docs", nargs="?", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        root = Path(tmp) / "archive"
        qs = queries(build(root, args.docs), args.queries)
        lib = library(root, qs, args.rounds)
        print(f"library, one process:                {lib:8.1f} queries/s")
        http_qps = over_http(root, qs, args.rounds, args.clients, args.workers)
        print(
            f"HTTP, {args.clients} clients, {args.workers} worker(s):     {http_qps:8.1f} queries/s"
        )
        print(f"ratio HTTP / library: {http_qps / lib:.2f}x (target >= 0.7)")


if __name__ == "__main__":
    main()
