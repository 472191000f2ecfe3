"""Rendering benchmark: docarchive against bare docxtpl, and batch PDF against soffice per file.

    python bench/bench_render.py [N_DOCX] [N_PDF]

1. DOCX: renders the built-in circular N_DOCX times (default 500) with
   ``render_docx`` (zip checks, field checks, sandbox, filters) and with bare
   docxtpl on the same template and data (a plain autoescaping Jinja
   environment with the same filters), interleaved in rounds in the same run.
   Target: docarchive ≥ 0.8 × bare docxtpl's documents per second.
2. PDF: converts N_PDF (default 50) rendered circulars with one
   :class:`~docarchive.templates.PdfConverter` batch, and with a fresh
   ``soffice --convert-to pdf`` process per document (all sharing one profile
   folder, as a script calling LibreOffice per file would). Target: the batch
   ≥ 3× faster.

Prints documents per second and the ratios.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate

from docarchive import Limits
from docarchive.templates import PdfConverter, builtin_templates, render_docx
from docarchive.templates.filters import filters
from docarchive.templates.pdf import find_soffice

DATA = Path(__file__).resolve().parent.parent / "examples" / "data" / "circular.json"


def _context() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text("utf-8"))
    data.update(
        number="م.و/ت/7/2026",
        date="2026/11/22",
        ministry="جمهورية العراق — وزارة التخطيط",
        office="مكتب الوزير",
    )
    return data


def bench_docx(n: int) -> tuple[float, float]:
    template = builtin_templates()["circular"]
    context = _context()
    limits = Limits()
    plain = jinja2.Environment(autoescape=True)
    plain.filters.update(filters())

    def ours() -> bytes:
        return render_docx(template, context, limits)

    def bare() -> bytes:
        tpl = DocxTemplate(str(template))
        tpl.render(context, jinja_env=plain)
        out = io.BytesIO()
        tpl.save(out)
        return out.getvalue()

    ours(), bare()  # warm up: imports, the template cache
    spent = {"ours": 0.0, "bare": 0.0}
    rounds = 10
    for _ in range(rounds):  # interleaved, so both see the same machine state
        for name, func in (("ours", ours), ("bare", bare)):
            started = time.perf_counter()
            for _ in range(n // rounds):
                func()
            spent[name] += time.perf_counter() - started
    done = (n // rounds) * rounds
    return done / spent["ours"], done / spent["bare"]


def bench_pdf(n: int) -> tuple[float, float]:
    docx = render_docx(builtin_templates()["circular"], _context(), Limits())
    docs = [docx] * n
    started = time.perf_counter()
    with PdfConverter() as converter:
        pdfs = converter.convert(docs)
    batch = n / (time.perf_counter() - started)
    assert all(p.startswith(b"%PDF") for p in pdfs)

    soffice = find_soffice()
    folder = Path(tempfile.mkdtemp(prefix="bench-soffice-"))
    profile = folder / "profile"  # one profile, kept: only the first run makes it
    try:
        started = time.perf_counter()
        for i in range(n):
            src = folder / f"doc{i}.docx"
            src.write_bytes(docx)
            subprocess.run(
                [
                    soffice,
                    f"-env:UserInstallation={profile.as_uri()}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(folder),
                    str(src),
                ],
                check=True,
                capture_output=True,
            )
            assert (folder / f"doc{i}.pdf").read_bytes().startswith(b"%PDF")
        single = n / (time.perf_counter() - started)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return batch, single


def main() -> None:
    n_docx = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    n_pdf = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    ours, bare = bench_docx(n_docx)
    print(f"DOCX, built-in circular x{n_docx}")
    print(f"  docarchive render_docx  {ours:7.1f} docs/s")
    print(f"  bare docxtpl            {bare:7.1f} docs/s")
    print(f"  ratio                   {ours / bare:7.2f}  (target >= 0.80)")
    batch, single = bench_pdf(n_pdf)
    print(f"PDF, built-in circular x{n_pdf}")
    print(f"  one LibreOffice batch   {batch:7.2f} docs/s")
    print(f"  soffice per document    {single:7.2f} docs/s")
    print(f"  ratio                   {batch / single:7.2f}  (target >= 3)")


if __name__ == "__main__":
    main()
