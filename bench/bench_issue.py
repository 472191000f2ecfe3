"""Issuing benchmark: official PDFs at the speed of a printer.

    python bench/bench_issue.py [N_ISSUE] [N_BATCH] [N_SOFFICE]

All in one run, on one machine:

1. ``Archive.issue`` of the built-in circular with the official PDF and the stamp
   (numbered, rendered, converted by the long-running LibreOffice, stamped, stored,
   catalogued, indexed), N_ISSUE times (default 20) in one process after a first issue
   that starts LibreOffice (timed and shown apart), against a fresh
   ``soffice --convert-to pdf`` of the same DOCX, N_SOFFICE times (default 10; one
   profile folder kept between runs, so only the first run makes it). Target: issue
   ≥ 4x faster than the bare conversion alone.
2. ``Archive.issue_many`` of N_BATCH assignment books (default 200) from a JSONL file,
   each with PDF and stamp, ``[pdf] converters = "auto"`` (one LibreOffice per core),
   after one issue that starts the converters (timed apart: once per process).
   Target: ≥ 5 documents/s on 2 cores. Also prints the CPU each document costs, in
   this process and in LibreOffice, and the rate two idle cores allow at that cost
   (the machine is often shared while benchmarks run).

Prints seconds per document, documents per second and the ratios.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from docarchive import Archive
from docarchive.templates import shared_converter
from docarchive.templates.pdf import find_soffice

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "data"


def _data(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{kind}.json").read_text("utf-8"))
    return data


def bench_issue(folder: Path, n: int) -> tuple[float, float, bytes]:
    """Seconds of the first issue (LibreOffice starting) and per issue after it; the DOCX."""
    with Archive.open(folder / "one") as archive:
        data = _data("circular")
        started = time.perf_counter()
        first = archive.issue("circular", data)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(n):
            archive.issue("circular", {**data, "subject": f"{data['subject']} ({i})"})
        warm = (time.perf_counter() - started) / n
        assert [f.role for f in first.files] == ["original", "rendition"]
        docx = archive.blob(first.files[0].sha256)
    return cold, warm, docx


def bench_soffice(folder: Path, docx: bytes, n: int) -> float:
    """Seconds per fresh ``soffice --convert-to pdf`` of ``docx``."""
    soffice = find_soffice()
    work = folder / "soffice"
    work.mkdir()
    profile = work / "profile"
    spent = 0.0
    for i in range(n):
        src = work / f"doc{i}.docx"
        src.write_bytes(docx)
        started = time.perf_counter()
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(src),
            ],
            check=True,
            capture_output=True,
        )
        spent += time.perf_counter() - started
        assert (work / f"doc{i}.pdf").read_bytes().startswith(b"%PDF")
    return spent / n


def _cpu_of(pid: int | None) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _office_cpu() -> float:
    return sum(_cpu_of(e.soffice_pid) for e in shared_converter().resident)


def bench_batch(folder: Path, n: int) -> tuple[float, int, int, float, float, float]:
    """Seconds for ``issue_many`` of ``n`` assignment books; documents issued; converters;
    CPU seconds per document of this process and of LibreOffice; seconds of the first
    issue before it, which starts the converters."""
    data = _data("assignment")
    rows = folder / "awards.jsonl"
    with rows.open("w", encoding="utf-8") as out:
        for i in range(1, n + 1):
            row = {**data, "contractor": {**data["contractor"], "name": f"شركة رقم {i}"}}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.environ["DOCARCHIVE_PDF_CONVERTERS"] = "auto"
    try:
        with Archive.open(folder / "batch") as archive:
            converters = archive.settings.pdf.converters
            warm = time.perf_counter()
            archive.issue("assignment", data)  # LibreOffice started: timed apart
            shared_converter(converters).start()
            warm = time.perf_counter() - warm
            office, own = _office_cpu(), time.process_time()
            started = time.perf_counter()
            batch = archive.issue_many("assignment", rows)
            spent = time.perf_counter() - started
            own_cpu = (time.process_time() - own) / n
            office_cpu = (_office_cpu() - office) / n
            assert not batch.failed, batch.failed[:3]
            numbers = [int(r.number.split("/")[2]) for r in batch.records if r.number]
            assert numbers == list(range(2, n + 2))
    finally:
        del os.environ["DOCARCHIVE_PDF_CONVERTERS"]
    return spent, len(batch.issued), converters, own_cpu, office_cpu, warm


def main() -> None:
    args = [int(a) for a in sys.argv[1:4]]
    n_issue, n_batch, n_soffice = args + [20, 200, 10][len(args) :]
    folder = Path(tempfile.mkdtemp(prefix="bench-issue-"))
    try:
        cold, warm, docx = bench_issue(folder, n_issue)
        fresh = bench_soffice(folder, docx, n_soffice)
        print(f"1. Archive.issue with PDF and stamp (circular), one process, x{n_issue}")
        print(f"   first issue (starts LibreOffice)      {cold:7.3f} s")
        print(f"   Archive.issue after it                {warm:7.3f} s/doc")
        print(f"   fresh soffice --convert-to pdf, x{n_soffice:<3}  {fresh:7.3f} s/doc")
        print(f"   ratio  {fresh / warm:6.2f}x faster than the bare conversion (target >= 4)")
        spent, done, converters, own_cpu, office_cpu, warm = bench_batch(folder, n_batch)
        cores = os.cpu_count() or 1
        print(
            f"2. Archive.issue_many of {n_batch} assignment books, PDF and stamp, "
            f"{converters} converters on {cores} cores"
        )
        print(f"   before it, one issue starting the {converters} LibreOffice: {warm:.1f} s")
        print(f"   {done} issued in {spent:.1f} s: {done / spent:6.2f} docs/s (target >= 5)")
        print(
            f"   CPU per document: {1000 * own_cpu:.0f} ms docarchive + "
            f"{1000 * office_cpu:.0f} ms LibreOffice: at most "
            f"{cores / (own_cpu + office_cpu):.1f} docs/s on {cores} idle cores"
        )
        print(f"   load average {os.getloadavg()[0]:.1f} at the end (other work on the machine)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
