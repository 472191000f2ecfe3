# Arabic letters in strings are intended, not confusables:
"""refer / answer / close / followup / report, run for real in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli as cli

from docarchive.templates import docx_text

LEGAL = "الدائرة القانونية"
FINANCE = "الدائرة المالية"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "archive"
    cli("init", str(path), check=True)
    with (path / "docarchive.toml").open("a", encoding="utf-8") as fh:
        fh.write(
            f'\n[followup]\nworking_days = false\n[followup.departments]\n"{LEGAL}" = '
            f'"confidential"\n"{FINANCE}" = "internal"\n'
        )
    return path


def as_json(*args: str, root: Path) -> Any:
    return json.loads(cli(*args, "--json", root=root, check=True).stdout)


@pytest.fixture
def scan(root: Path, example_data: Path) -> str:
    good = example_data / "scans" / "monthly_report.pdf"
    result = as_json("ingest", "scan", str(good), root=root)
    return str(result["ingested"][0]["id"])


def letter(root: Path, example_data: Path) -> str:
    return str(as_json("issue", "letter_en", str(example_data / "letter_en.json"), root=root)["id"])


def test_refer_answer_half_closed_and_overdue_report(
    root: Path, scan: str, example_data: Path, tmp_path: Path
) -> None:
    today = date.today()
    due = (today + timedelta(days=2)).isoformat()
    made = as_json(
        "refer",
        scan,
        "--to",
        LEGAL,
        "--to",
        FINANCE,
        "--instruction",
        "للدراسة",
        "--due",
        due,
        root=root,
    )
    assert [(r["department"], r["due"], r["status"]) for r in made] == [
        (LEGAL, due, "open"),
        (FINANCE, due, "open"),
    ]
    reply = letter(root, example_data)
    done = as_json("answer", made[0]["id"], "--with", reply, root=root)
    assert (done["status"], done["answered_by"]) == ("answered", reply)

    shares = as_json("followup", "--record", scan, root=root)
    assert [(s["department"], s["status"], s["note_status"]) for s in shares] == [
        (LEGAL, "answered", "partly answered"),
        (FINANCE, "open", "partly answered"),
    ]
    assert [i["department"] for i in as_json("followup", root=root)] == [FINANCE]

    on_time = as_json("report", "overdue", "--as-of", due, root=root)
    assert on_time["total"] == 0
    late_day = (today + timedelta(days=3)).isoformat()
    late = as_json("report", "overdue", "--as-of", late_day, root=root)
    assert late["total"] == 1
    (group,) = late["departments"]
    assert group["department"] == FINANCE
    (item,) = group["items"]
    assert (item["referral_id"], item["days_late"], item["due"]) == (made[1]["id"], 1, due)
    assert item["referred_on"] == today.isoformat() and item["chain"][-1] == FINANCE

    out = tmp_path / "overdue.docx"
    proc = cli("report", "overdue", "--as-of", late_day, "-o", str(out), root=root, check=True)
    assert "wrote" in proc.stdout
    text = docx_text(out.read_bytes())
    assert FINANCE in text and LEGAL not in text

    register = as_json("report", "incoming", "--from", today.isoformat(), root=root)
    assert [(r["id"], r["status"]) for r in register] == [(scan, "partly answered")]

    closed = as_json("close", made[1]["id"], "--reason", "عولجت هاتفياً", root=root)
    assert closed["status"] == "closed"
    assert as_json("report", "overdue", "--as-of", late_day, root=root)["total"] == 0
    assert cli("verify", root=root, check=True).stdout.startswith("ok:")


def test_user_errors_exit_1_and_write_nothing(root: Path, scan: str, example_data: Path) -> None:
    before = cli("verify", "--json", root=root, check=True).stdout
    unknown = cli("refer", scan, "--to", "المخازن", "--instruction", "x", root=root)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("docarchive: error: unknown department 'المخازن' (known:")
    assert "Traceback" not in unknown.stderr
    past = (date.today() - timedelta(days=1)).isoformat()
    late = cli("refer", scan, "--to", LEGAL, "--instruction", "x", "--due", past, root=root)
    assert late.returncode == 1
    assert f"the due date {past} is in the past" in late.stderr
    both = cli(
        "refer",
        scan,
        "--to",
        LEGAL,
        "--instruction",
        "x",
        "--due",
        past,
        "--priority",
        "urgent",
        root=root,
    )
    assert both.returncode == 2
    assert json.loads(cli("verify", "--json", root=root).stdout) == json.loads(before)

    (ref,) = as_json("refer", scan, "--to", LEGAL, "--instruction", "x", root=root)
    before = cli("verify", "--json", root=root, check=True).stdout
    ghost = cli("answer", ref["id"], "--with", "no-such-record", root=root)
    assert ghost.returncode == 1
    assert f"cannot answer referral {ref['id']}: 'no-such-record' is not a record" in ghost.stderr
    missing = cli("answer", "no-such-referral", "--with", scan, root=root)
    assert missing.returncode == 1 and "no referral 'no-such-referral'" in missing.stderr
    assert json.loads(cli("verify", "--json", root=root).stdout) == json.loads(before)
    assert as_json("followup", "--record", scan, root=root)[0]["status"] == "open"


def test_concurrent_answers_from_two_processes(root: Path, scan: str, example_data: Path) -> None:
    (ref,) = as_json("refer", scan, "--to", LEGAL, "--instruction", "للإجابة", root=root)
    replies = [letter(root, example_data), letter(root, example_data)]
    env = {**os.environ, "DOCARCHIVE_ROOT": str(root)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "docarchive", "answer", ref["id"], "--with", reply, "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for reply in replies
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    (share,) = as_json("followup", "--record", scan, root=root)
    assert share["status"] == "answered"
    assert set(share["answers"]) == set(replies)
    assert share["answered_by"] in replies
    assert cli("verify", root=root, check=True).stdout.startswith("ok:")
