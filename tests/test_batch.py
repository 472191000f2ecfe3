"""Batches (mail merge): one number per row in row order, bad rows reported by line at no
cost, a converter crash costing only the numbers it hit, and a SIGKILLed batch leaving no
LibreOffice and no gap — with real LibreOffice and real processes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from docarchive import Archive, DocArchiveError, IssueBatch
from docarchive.templates import shared_converter

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "data"
SUBJECTS = [
    "تعميم بشأن تنظيم الدوام الرسمي في شهر رمضان",
    "تعميم بشأن اعتماد الأرشفة الإلكترونية للمراسلات الرسمية",
    "تعميم بشأن ترشيد استهلاك الطاقة الكهربائية في الدوائر",
    "تعميم بشأن مواعيد تسليم التقارير الشهرية إلى مكتب الوزير",
    "تعميم بشأن تحديث بيانات الموظفين في نظام الموارد البشرية",
    "تعميم بشأن الإجازات الاعتيادية خلال العطلة الصيفية",
]


def circular(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "circular.json").read_text("utf-8"))
    data.update(changes)
    return data


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
            out.write("\n")
    return path


def pdftotext(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True)
    return out.stdout.decode("utf-8").replace("\u202b", "").replace("\u202c", "")


def register_state(archive: Archive, series: str = "circular") -> list[tuple[int, str, str]]:
    """(seq, status, reason) of every number of the series, in order."""
    return [
        (int(e.number.split("/")[2]), e.status, e.reason or "") for e in archive.register(series)
    ]


def test_rows_take_numbers_in_row_order_and_bad_rows_cost_none(tmp_path: Path):
    rows = write_jsonl(
        tmp_path / "rows.jsonl",
        [
            circular(subject=SUBJECTS[0]),
            circular(subject=SUBJECTS[1]),
            "",  # a blank line is no row
            {k: v for k, v in circular().items() if k != "signatory"},  # a missing field
            "{not json",
            ["a", "list"],
            circular(subject=SUBJECTS[2], logo="../../etc/passwd"),  # a path, not a name
            circular(subject=SUBJECTS[3]),
        ],
    )
    with Archive.open(tmp_path / "archive") as archive:
        batch = archive.issue_many("circular", rows, actor="hr-system", workers=3)
        assert [(line, r.subject, r.number) for line, r in batch.issued] == [
            (1, SUBJECTS[0], "م.و/ت/1/2026"),
            (2, SUBJECTS[1], "م.و/ت/2/2026"),
            (8, SUBJECTS[3], "م.و/ت/3/2026"),
        ]
        failed = {f.line: f for f in batch.failed}
        assert sorted(failed) == [4, 5, 6, 7]
        assert "needs the field 'signatory'" in failed[4].error
        assert failed[5].error.startswith("not valid JSON")
        assert failed[6].error == "a row must be a JSON object of fields"
        assert "an image must be the name of a file in the templates folder" in failed[7].error
        assert all(f.number is None for f in batch.failed)  # refused before any number
        assert register_state(archive) == [(1, "issued", ""), (2, "issued", ""), (3, "issued", "")]
        for _, record in batch.issued:  # each row its own record, in the catalog and index
            assert archive.get(record.number).subject == record.subject
            assert archive.search(f'subject:"{record.subject}"').total == 1


def test_rows_from_a_csv_file_with_nested_fields_and_a_table(tmp_path: Path):
    assignment = json.loads((EXAMPLES / "assignment.json").read_text("utf-8"))
    path = tmp_path / "awards.csv"
    flat = {"subject", "body", "items", "total_amount", "currency", "duration_days", "copies"}
    nested = {
        f"{part}.{key}": value
        for part in ("contractor", "tender", "signatory")
        for key, value in assignment[part].items()
    }
    names = sorted(flat) + sorted(nested)
    companies = ["شركة دجلة للطاقة المتجددة المحدودة", "شركة الفرات للمقاولات العامة"]

    def cell(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for n, company in enumerate(companies, start=1):
            row = {
                **{k: assignment[k] for k in flat},
                **nested,
                "subject": f"إحالة المناقصة رقم ({n}) لسنة ٢٠٢٦",
                "contractor.name": company,
            }
            writer.writerow([cell(row[name]) for name in names])
        writer.writerow(["إحالة بلا مقاول"] + [""] * (len(names) - 1))  # required cells empty
    with Archive.open(tmp_path / "archive") as archive:
        batch = archive.issue_many("assignment", path)
        assert [line for line, _ in batch.issued] == [2, 3]  # the header is line 1
        assert [r.number for r in batch.records] == ["م.و/ح/1/2026", "م.و/ح/2/2026"]
        for record, company in zip(batch.records, companies, strict=True):
            assert company in record.text
            assert "215,000" in record.text  # the items table, read from its JSON cell
        (bad,) = batch.failed
        assert bad.line == 4 and bad.number is None and "needs the field" in bad.error


def test_rows_from_python(tmp_path: Path):
    with Archive.open(tmp_path / "archive") as archive:
        batch = archive.issue_many(
            "circular",
            [circular(subject=SUBJECTS[4]), "not a mapping", circular(subject=SUBJECTS[5])],
        )
    assert [(line, r.number) for line, r in batch.issued] == [
        (1, "م.و/ت/1/2026"),
        (3, "م.و/ت/2/2026"),
    ]
    assert [f.line for f in batch.failed] == [2]
    with Archive.open(tmp_path / "archive") as archive:
        with pytest.raises(DocArchiveError, match="unknown kind 'memo'"):
            archive.issue_many("memo", [circular()])
        with pytest.raises(DocArchiveError, match=r"rows.txt: rows must be a .jsonl or a .csv"):
            archive.issue_many("circular", tmp_path / "rows.txt")
        (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
        with pytest.raises(DocArchiveError, match="empty.jsonl: no rows"):
            archive.issue_many("circular", tmp_path / "empty.jsonl")


@pytest.mark.official_pdf
def test_each_pdf_of_a_parallel_batch_carries_its_own_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DOCARCHIVE_PDF_CONVERTERS", "2")
    rows = [circular(subject=s) for s in SUBJECTS]
    with Archive.open(tmp_path / "archive") as archive:
        seen: list[tuple[int, int]] = []
        batch = archive.issue_many("circular", rows, progress=lambda d, t: seen.append((d, t)))
        assert len(shared_converter().resident) >= 2  # one LibreOffice per converter
        assert seen[-1] == (6, 6)
        assert [r.subject for r in batch.records] == SUBJECTS
        for n, record in enumerate(batch.records, start=1):
            assert record.number == f"م.و/ت/{n}/2026"
            rendition = next(f for f in record.files if f.role == "rendition")
            text = pdftotext(archive.blob(rendition.sha256), tmp_path, f"r{n}")
            assert record.subject in text  # the body: this row's own document
            assert f"{n}/2026" in text  # and its own number, printed and stamped
            assert archive.check_code(record.meta["verification_code"]).genuine


def _converting(name: str, stop: threading.Event) -> Iterator[int]:
    """Yield LibreOffice's pid once the shared converter works on the document ``name``."""
    while not stop.is_set():
        for engine in shared_converter().resident:
            pid = engine.soffice_pid
            if engine.current == name and pid is not None:
                yield pid
                return
        time.sleep(0.005)


@pytest.mark.official_pdf
def test_a_converter_crash_in_the_middle_voids_only_the_number_it_cost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DOCARCHIVE_PDF_CONVERTERS", "1")
    long_body = [f"{n}. " + " ".join(SUBJECTS) for n in range(1, 3000)]
    rows = [circular(subject=s) for s in SUBJECTS[:3]]
    rows.append(circular(subject="تعميم طويل جداً بشأن النظام الداخلي", body=long_body))
    rows += [circular(subject=s) for s in SUBJECTS[3:]]
    stop = threading.Event()
    killed: list[int] = []

    def kill_it() -> None:
        for pid in _converting("circular م.و/ت/4/2026", stop):
            os.kill(pid, signal.SIGKILL)  # LibreOffice dies in the middle of the document
            killed.append(pid)

    killer = threading.Thread(target=kill_it)
    killer.start()
    try:
        with Archive.open(tmp_path / "archive") as archive:
            batch = archive.issue_many("circular", rows, workers=1)
            state = register_state(archive)
    finally:
        stop.set()
        killer.join()
    assert killed, "LibreOffice was never seen converting the long document"
    (failure,) = batch.failed
    assert failure.line == 4 and failure.number == "م.و/ت/4/2026"
    assert "LibreOffice stopped while converting circular م.و/ت/4/2026" in failure.error
    assert [r.subject for r in batch.records] == SUBJECTS  # the rest went on
    assert [seq for seq, _, _ in state] == list(range(1, 8))  # no gap
    assert [status for _, status, _ in state] == ["issued"] * 3 + ["void"] + ["issued"] * 3
    assert state[3][2].startswith("issue failed: TemplateError: LibreOffice stopped")


BATCH_WORKER = """
import json, sys
from pathlib import Path
from docarchive import Archive
from docarchive.templates import shared_converter
root, rows = sys.argv[1], sys.argv[2]
def progress(done, total):
    engines = shared_converter().resident
    print(json.dumps({
        "done": done,
        "profiles": [str(e.profile) for e in engines],
        "sockets": [s for e in engines for s in e._sockets],
    }), flush=True)
with Archive.open(root) as archive:
    archive.issue_many("circular", rows, progress=progress)
print("finished", flush=True)
"""


def _processes_using(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.official_pdf
def test_sigkill_of_the_issuing_process_leaves_no_libreoffice_and_no_gap(tmp_path: Path):
    rows = write_jsonl(
        tmp_path / "rows.jsonl",
        [circular(subject=f"{SUBJECTS[n % 6]} ({n})") for n in range(1, 41)],
    )
    root = tmp_path / "archive"
    Archive.open(root).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DOCARCHIVE_PDF_CONVERTERS": "2"}
    with subprocess.Popen(
        [sys.executable, "-c", BATCH_WORKER, str(root), str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        profiles: list[str] = []
        sockets: list[str] = []
        for line in proc.stdout:  # wait until some are issued, LibreOffice at work
            report = json.loads(line)
            profiles, sockets = report["profiles"], report["sockets"]
            if report["done"] >= 5:
                break
        else:
            raise AssertionError(f"the batch never got going: {proc.stderr.read()}")
        assert profiles and all(_processes_using(p) for p in profiles)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 15
    while any(_processes_using(p) for p in profiles) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in profiles if _processes_using(p)] == []  # no orphaned LibreOffice
    assert not any(Path(p).exists() for p in profiles)
    assert sockets and [s for s in sockets if Path(s).exists()] == []  # nor its pipes
    with Archive.open(root) as archive:
        archive.void_interrupted(older_than_s=0)  # what the next open does after the timeout
        state = register_state(archive)
        seqs = [seq for seq, _, _ in state]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 5  # no gap
        issued = [seq for seq, status, _ in state if status == "issued"]
        assert issued == list(range(1, len(issued) + 1))  # the rows before the kill
        assert all(
            reason.startswith("interrupted") for _, status, reason in state if status == "void"
        )
        assert len(state) - len(issued) <= 4  # only rows at work when killed: 2 + 1 + spare
        for seq in issued:
            record = archive.get(f"م.و/ت/{seq}/2026")
            assert record.subject.endswith(f"({seq})")  # row n took number n
        assert archive.verify().ok


def test_cli_issues_a_batch(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    root = tmp_path / "archive"
    cli("init", str(root), check=True)
    rows = write_jsonl(
        tmp_path / "rows.jsonl",
        [circular(subject=SUBJECTS[0]), {"subject": "بلا توقيع"}, circular(subject=SUBJECTS[1])],
    )
    out = cli("--root", str(root), "issue", "circular", str(rows), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [(r["line"], r["number"]) for r in result["issued"]] == [
        (1, "م.و/ت/1/2026"),
        (3, "م.و/ت/2/2026"),
    ]
    assert [(f["line"], f["number"]) for f in result["failed"]] == [(2, None)]
    assert "1 of 3 rows of" in out.stderr
    text = cli("--root", str(root), "issue", "circular", str(rows))
    assert "line 1: issued circular م.و/ت/3/2026" in text.stdout
    assert "line 2: not issued: template 'circular.docx' needs the field" in text.stderr
    bad = write_jsonl(tmp_path / "bad.jsonl", ["[1]", "{oops"])
    refused = cli("--root", str(root), "issue", "circular", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        f"docarchive: error: 2 of 2 rows of {bad} not issued: line 1: "
        "a row must be a JSON object of fields"
    )
    single = cli("--root", str(root), "issue", "circular", str(EXAMPLES / "circular.json"))
    assert single.returncode == 0 and "issued circular م.و/ت/5/2026" in single.stdout


def test_the_batch_result_shape() -> None:
    assert IssueBatch("circular").to_dict() == {"issued": [], "failed": []}


def test_a_batch_holds_its_numbers_under_the_archives_one_lease(tmp_path: Path) -> None:
    from docarchive.batch import _InRowOrder

    with Archive.open(tmp_path / "archive") as archive:
        in_order = _InRowOrder(archive._numbers)
        assert in_order.heartbeat is archive._numbers.heartbeat  # one lease per process
        archive.issue_many("circular", [circular(subject=s) for s in SUBJECTS[:3]])
        assert [e.status for e in archive.register("circular")] == ["issued"] * 3
