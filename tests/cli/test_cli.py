"""The command line, run for real in a subprocess: JSON shapes, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli as cli


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "archive"
    cli("init", str(path), check=True)
    return path


def test_init_issue_show_search_verify(root: Path, example_data: Path):
    data = str(example_data / "circular.json")
    first = json.loads(cli("issue", "circular", data, "--json", root=root, check=True).stdout)
    for key in ("id", "kind", "number", "subject", "classification", "dates", "files"):
        assert key in first
    second = json.loads(cli("issue", "circular", data, "--json", root=root, check=True).stdout)
    assert int(second["number"].split("/")[2]) == int(first["number"].split("/")[2]) + 1

    shown = json.loads(cli("show", first["id"], "--json", root=root, check=True).stdout)
    assert shown["number"] == first["number"] and "الأرشفة" in shown["text"]

    found = json.loads(cli("search", "الوزاره", "--json", root=root, check=True).stdout)
    assert found["total"] == 2
    assert {h["id"] for h in found["hits"]} == {first["id"], second["id"]}
    assert all("score" in h and "<mark>" in h["snippet"] for h in found["hits"])
    assert found["facets"]["kind"] == {"circular": 2}

    out = cli("verify", root=root, check=True).stdout
    assert out.startswith("ok: 2 records")


def test_ingest_scan_batch_quarantines_bad_files_and_goes_on(
    root: Path, example_data: Path, tmp_path: Path
):
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"GIF89a not a pdf")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    good = example_data / "scans" / "monthly_report.pdf"
    proc = cli("ingest", "scan", str(fake), str(good), str(empty), "--json", root=root)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [r["files"][0]["name"] for r in result["ingested"]] == ["monthly_report.pdf"]
    reasons = {Path(q["file"]).name: q["reason"] for q in result["quarantined"]}
    assert reasons == {
        "fake.pdf": "not a PDF: its content is GIF image",
        "empty.pdf": "empty file (0 bytes)",
    }
    assert "2 of 3 files quarantined" in proc.stderr
    again = json.loads(cli("ingest", "scan", str(good), "--json", root=root, check=True).stdout)
    assert again["ingested"] == [] and len(again["duplicates"]) == 1
    hits = json.loads(cli("search", "expenditure", "--json", root=root, check=True).stdout)
    assert hits["total"] == 1
    assert cli("verify", root=root).returncode == 0
    assert len(list((root / "quarantine").iterdir())) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["issue", "memo", "DATA"], "unknown kind 'memo' (known: "),
        (["issue", "circular", "missing.json"], "missing.json: no such file"),
        (["ingest", "scan", "missing.pdf"], "missing.pdf: no such file or folder"),
        (["ingest", "scan", "FAKE"], "1 of 1 files quarantined"),
        (["show", "0000"], "no record '0000'"),
        (["search", "الدوام", "--from", "last-week"], "not a date: 'last-week'"),
        (["void", "م.و/ت/9/2026", "--reason", "خطأ"], "no number م.و/ت/9/2026"),
    ],
)
def test_user_errors_exit_1_with_one_line(
    root: Path, example_data: Path, tmp_path: Path, args: list[str], message: str
):
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"<html>not a pdf</html>")
    args = [
        str(example_data / "circular.json") if a == "DATA" else str(fake) if a == "FAKE" else a
        for a in args
    ]
    before = sorted(p.name for p in (root / "blobs").rglob("*") if p.is_file())
    proc = cli(*args, root=root)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("docarchive: error: ")
    assert message in lines[0]
    assert sorted(p.name for p in (root / "blobs").rglob("*") if p.is_file()) == before


def test_usage_error_exits_2(root: Path):
    proc = cli("issue", root=root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_user_is_recorded(root: Path, example_data: Path):
    cli(
        "issue",
        "circular",
        str(example_data / "circular.json"),
        root=root,
        user="clerk-7",
        check=True,
    )
    cli(
        "--user",
        "director",
        "issue",
        "circular",
        str(example_data / "circular.json"),
        root=root,
        check=True,
    )
    from docarchive import Archive

    with Archive.open(root) as archive:
        actors = [(e.action, e.actor) for e in archive.catalog.audit_events()]
    assert actors == [
        ("reserve", "clerk-7"),
        ("create", "clerk-7"),
        ("reserve", "director"),
        ("create", "director"),
    ]


def test_verify_and_reindex_from_the_command_line(root: Path, example_data: Path):
    record = json.loads(
        cli(
            "issue",
            "circular",
            str(example_data / "circular.json"),
            "--json",
            root=root,
            check=True,
        ).stdout
    )
    import shutil

    shutil.rmtree(root / "index")
    assert json.loads(cli("reindex", "--json", root=root, check=True).stdout) == {"indexed": 1}
    assert json.loads(cli("search", "الدوام", "--json", root=root).stdout)["total"] == 1
    sha = record["files"][0]["sha256"]
    blob = root / "blobs" / sha[:2] / sha[2:4] / sha
    blob.chmod(0o600)  # writable by its owner only: the corruption, not a permission problem
    blob.write_bytes(blob.read_bytes()[:-1] + b"!")
    proc = cli("verify", "--json", root=root)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    assert report["problems"][0]["sha256"] == sha
    assert report["problems"][0]["record_id"] == record["id"]


def test_templates_list_and_render(root: Path, example_data: Path, tmp_path: Path):
    listed = json.loads(cli("templates", "list", "--json", root=root, check=True).stdout)
    assert "circular" in listed
    out = tmp_path / "draft.docx"
    cli(
        "render",
        "circular",
        str(example_data / "circular.json"),
        "-o",
        str(out),
        root=root,
        check=True,
    )
    from docarchive.templates import docx_text

    assert "اعتماد الأرشفة الإلكترونية" in docx_text(out.read_bytes())


def test_help_and_version():
    assert cli("--help").returncode == 0
    assert "0.1.0" in cli("--version").stdout


def test_init_gives_its_user_the_highest_clearance(tmp_path: Path):
    root = tmp_path / "a"
    cli("--user", "m.hassan", "init", str(root), check=True)
    from docarchive import Settings

    users = Settings.load(root, environ={}).users
    assert users == {"m.hassan": users["m.hassan"]} and users["m.hassan"].label == "top-secret"


def test_environment_cannot_raise_a_clearance(tmp_path: Path, example_data: Path):
    root = tmp_path / "a"
    cli("--user", "director", "init", str(root), check=True)
    cli(
        "issue",
        "circular",
        str(example_data / "circular.json"),
        "--classification",
        "secret",
        root=root,
        user="director",
        check=True,
    )
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DOCARCHIVE_ROOT": str(root),
        "DOCARCHIVE_USER": "clerk",
        "DOCARCHIVE_CLEARANCE": "top-secret",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "docarchive", "search", "الأرشفة", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    env["DOCARCHIVE_CLEARANCE"] = "public"
    lowered = subprocess.run(
        [sys.executable, "-m", "docarchive", "search", "الأرشفة", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert lowered.returncode == 0 and '"total": 0' in lowered.stdout
