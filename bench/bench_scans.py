"""Scan ingest benchmark: pages/s without OCR beside a plain copy, and OCR seconds per page.

    python bench/bench_scans.py [COPIES] [--no-ocr]

The inputs are the example scans (examples/data/scans: PNG, JPEG, a two-page TIFF, an
image-only PDF), each copied COPIES times with one distinct trailing byte so every copy
is a new file to archive. Three figures, same run:

- ``copy``: a plain ``shutil.copyfile`` of every file into a folder (the floor);
- ``read``: ``read_scan`` without OCR — type sniffing, full decode under the limits,
  the PDF rendition;
- ``ingest``: ``Archive.ingest_scans`` with OCR off — all of ``read`` plus the incoming
  number, the stamp, storing original and rendition, the catalog and the index — twice:
  with the parsers in the parser worker (the default: a crash or a hang costs one file)
  and in-process (``DOCARCHIVE_PARSER_WORKER=0``, as before the worker); the ratio is the
  worker's cost (target: at most 1.10), the worker's start included;

then OCR (tesseract ``ara+eng``) on each example page once: seconds per page.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from docarchive import Archive, Limits
from docarchive.ingest import read_scan
from docarchive.ingest.worker import _stop_all as _stop_workers

SCANS = Path(__file__).resolve().parent.parent / "examples" / "data" / "scans"
NAMES = [
    "letter_circular.png",
    "letter_decision.jpg",
    "letter_assignment.tiff",
    "letter_en_image_only.pdf",
]


def inputs(folder: Path, copies: int) -> tuple[list[Path], int]:
    files, pages = [], 0
    per_name = {n: read_scan(SCANS / n, Limits(), ocr=False).pages for n in NAMES}
    for copy in range(copies):
        for name in NAMES:
            path = folder / f"{copy:04d}-{name}"
            path.write_bytes((SCANS / name).read_bytes() + bytes([copy % 256]) * (1 + copy // 256))
            files.append(path)
            pages += per_name[name]
    return files, pages


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    copies = int(args[0]) if args else 10
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        files, pages = inputs(work / "in", copies)
        (work / "copy").mkdir()
        start = time.perf_counter()
        for path in files:
            shutil.copyfile(path, work / "copy" / path.name)
        copy_s = time.perf_counter() - start

        start = time.perf_counter()
        for path in files:
            read_scan(path, Limits(), ocr=False)
        read_s = time.perf_counter() - start

        os.environ["DOCARCHIVE_TESSERACT"] = "/nonexistent/tesseract"  # OCR off for ingest
        seconds = {}
        for mode in ("1", "0") * 3:  # alternated, best of three: the machine is shared
            os.environ["DOCARCHIVE_PARSER_WORKER"] = mode
            shutil.rmtree(work / "archive", ignore_errors=True)
            with Archive.open(work / "archive") as archive:
                start = time.perf_counter()
                result = archive.ingest_scans([work / "in"])
                took = time.perf_counter() - start
                assert len(result.ingested) == len(files), result.quarantined
                register = archive.register("incoming")
                assert [e.status for e in register] == ["issued"] * len(files)
            seconds[mode] = min(seconds.get(mode, took), took)
            _stop_workers()  # the next worker run starts its worker again: its cost counted
        del os.environ["DOCARCHIVE_TESSERACT"], os.environ["DOCARCHIVE_PARSER_WORKER"]
        ingest_s, inproc_s = seconds["1"], seconds["0"]

        print(f"{len(files)} files, {pages} pages (A4 at 200 dpi)")
        print(f"copy    {pages / copy_s:10.1f} pages/s")
        print(f"read    {pages / read_s:10.1f} pages/s  ({copy_s / read_s:.4f}x copy)")
        print(f"ingest  {pages / ingest_s:10.1f} pages/s  ({copy_s / ingest_s:.4f}x copy)")
        print(f"inproc  {pages / inproc_s:10.1f} pages/s  (parsers in-process)")
        print(f"worker  {ingest_s / inproc_s:10.3f}x the in-process time (target <= 1.10)")

    if "--no-ocr" in sys.argv or shutil.which("tesseract") is None:
        return
    total_pages, total_s = 0, 0.0
    for name in NAMES:
        start = time.perf_counter()
        scan = read_scan(SCANS / name, Limits())
        seconds = time.perf_counter() - start
        total_pages += scan.pages
        total_s += seconds
        print(f"ocr     {seconds / scan.pages:10.2f} s/page  {name}")
    print(f"ocr     {total_s / total_pages:10.2f} s/page  overall ({total_pages} pages)")


if __name__ == "__main__":
    main()
