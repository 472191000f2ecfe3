"""DOCX → PDF with LibreOffice, a whole batch in one run.

LibreOffice spends one to two seconds starting; converting a document takes a
fraction of that. So a batch is written to a work folder and converted by one
``soffice --headless --convert-to pdf`` run: the start-up is paid once per
batch, not once per document. Each :class:`PdfConverter` has its own profile
folder (``-env:UserInstallation``), which is what lets several converters run
at once, and keeps it between batches, so only its first batch pays for making
the profile.

Errors are :class:`~docarchive.errors.TemplateError` with one line that says
what to do:

- LibreOffice not installed: the install command;
- a run that does not finish within the timeout: its whole process group is
  killed, the profile folder removed (the next batch makes a fresh one);
- a document LibreOffice cannot convert: its name (the others of the batch
  are not returned either: the error lists every failed document).

Before LibreOffice sees a document, every reference to a file or URL outside it
(linked pictures, INCLUDETEXT and other such fields, altChunk …) is stripped:
templates are refused such references already, this is the second layer (see
:mod:`docarchive.templates.external`).

``docx_to_pdf(list_of_docx_bytes)`` converts with the process's shared converter,
LibreOffice kept running (:mod:`.resident`); a :class:`PdfConverter` is the
one-run-per-batch converter, the fallback when the long-running one cannot start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from ..errors import TemplateError
from ..limits import Limits
from .external import strip_external
from .render import check_docx

__all__ = ["INSTALL_HINT", "PdfConverter", "docx_to_pdf", "find_soffice"]

INSTALL_HINT = (
    "install it with `sh scripts/system-deps.sh` or "
    "`apt-get install --no-install-recommends libreoffice-writer-nogui fonts-hosny-amiri`"
)
#: Seconds a run may take: a fixed part for starting, and a part per document.
START_SECONDS = 60.0
SECONDS_PER_DOCUMENT = 10.0


def find_soffice(soffice: str | os.PathLike[str] | None = None) -> str:
    """The LibreOffice program: ``soffice`` given, else ``soffice``/``libreoffice`` on PATH."""
    if soffice is not None:
        found = shutil.which(str(soffice))
        if not found:
            raise TemplateError(f"LibreOffice is not at {soffice}: {INSTALL_HINT}")
        return found
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    raise TemplateError(f"LibreOffice (soffice) is not installed: {INSTALL_HINT}")


class PdfConverter:
    """One LibreOffice converter with its own profile folder; convert batches with it.

    ``timeout`` is the most seconds one run may take (default: 60 s plus 10 s per
    document); ``batch_size`` documents go to one run. Use it as a context manager,
    or call :meth:`close` to remove its folders.
    """

    def __init__(
        self,
        soffice: str | os.PathLike[str] | None = None,
        *,
        timeout: float | None = None,
        batch_size: int = 50,
        limits: Limits | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.soffice = find_soffice(soffice)
        self.timeout = timeout
        self.batch_size = batch_size
        self.limits = limits or Limits()
        self._folder = Path(tempfile.mkdtemp(prefix="docarchive-pdf-"))
        self._lock = threading.Lock()
        self._closed = False

    @property
    def profile(self) -> Path:
        """The LibreOffice profile folder of this converter."""
        return self._folder / "profile"

    def __enter__(self) -> PdfConverter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the converter's profile and work folders."""
        with self._lock:
            self._closed = True
            shutil.rmtree(self._folder, ignore_errors=True)

    def convert(
        self,
        docs: Sequence[bytes],
        names: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        limits: Limits | None = None,
    ) -> list[bytes]:
        """The PDF of each .docx in ``docs``, in order; ``names`` name them in errors.

        Each .docx is checked against the DOCX limits first, then stripped of every link
        to a file or URL outside it (:func:`.external.strip_external`). ``timeout`` and
        ``limits`` override the converter's own for this call.
        """
        if names is None:
            names = [f"document {i + 1}" for i in range(len(docs))]
        if len(names) != len(docs):
            raise ValueError("names must name each document")
        for data, name in zip(docs, names, strict=True):
            check_docx(data, name, limits or self.limits)
        docs = [strip_external(data, name) for data, name in zip(docs, names, strict=True)]
        out: list[bytes] = []
        with self._lock:
            if self._closed:
                raise TemplateError("this PDF converter is closed")
            for start in range(0, len(docs), self.batch_size):
                end = start + self.batch_size
                out.extend(self._run(docs[start:end], names[start:end], timeout))
        return out

    def _run(
        self, docs: Sequence[bytes], names: Sequence[str], timeout: float | None
    ) -> list[bytes]:
        work = Path(tempfile.mkdtemp(prefix="batch-", dir=self._folder))
        try:
            inputs = []
            for i, data in enumerate(docs):
                path = work / f"{i:05d}.docx"
                path.write_bytes(data)
                inputs.append(path)
            outdir = work / "out"
            if timeout is None:
                timeout = self.timeout
            if timeout is None:
                timeout = START_SECONDS + SECONDS_PER_DOCUMENT * len(docs)
            self._soffice(inputs, outdir, timeout, names)
            results: list[bytes] = []
            failed: list[str] = []
            for path, name in zip(inputs, names, strict=True):
                pdf = outdir / f"{path.stem}.pdf"
                data = pdf.read_bytes() if pdf.exists() else b""
                if data.startswith(b"%PDF"):
                    results.append(data)
                else:
                    failed.append(name)
            if failed:
                raise TemplateError(
                    f"LibreOffice could not convert {', '.join(failed)} to PDF "
                    f"({len(failed)} of {len(docs)} in the batch)"
                )
            return results
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _soffice(
        self, inputs: list[Path], outdir: Path, timeout: float, names: Sequence[str]
    ) -> None:
        cmd = [
            self.soffice,
            f"-env:UserInstallation={self.profile.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--norestore",
            "--nolockcheck",
            "--infilter=MS Word 2007 XML",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(outdir),
            *map(str, inputs),
        ]
        env = dict(os.environ, SAL_USE_VCLPLUGIN="svp")
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(self._folder),
            start_new_session=True,  # its own process group, so a hang is killed whole
        )
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            shutil.rmtree(self.profile, ignore_errors=True)
            which = names[0] if len(names) == 1 else f"{len(names)} documents ({names[0]}, …)"
            raise TemplateError(
                f"LibreOffice did not finish converting {which} within {timeout:g} s; "
                "it was stopped and its profile removed"
            ) from None
        if proc.returncode != 0:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise TemplateError(
                f"LibreOffice failed (exit {proc.returncode}) converting "
                f"{', '.join(names)}: {tail[0]}"
            )


def docx_to_pdf(
    docs: Sequence[bytes],
    names: Sequence[str] | None = None,
    *,
    timeout: float | None = None,
    limits: Limits | None = None,
) -> list[bytes]:
    """The PDF of each .docx in ``docs``, by the process's shared converter: LibreOffice
    kept running (:mod:`.resident`), started on first use and stopped at exit, or today's
    one-run-per-call converter when that cannot start. ``timeout`` is per document.

    This is the batch API the numbering and stamping work calls:
    ``pdfs = docx_to_pdf([docx1, docx2], names=["circular 1", "circular 2"])``.
    """
    from .resident import shared_converter

    return shared_converter().convert(docs, names, timeout=timeout, limits=limits)
