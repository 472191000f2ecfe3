# Arabic letters in strings are intended, not confusables:
"""refer / answer / close / followup / report, run for real in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clirun import run_cli as cli

from docarchive.templates import docx_text

LEGAL = "الدائرة القانونية"
FINANCE = "الدائرة المالية"
CONTRACTS = "قسم العقود"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "archive"
    cli("init", str(path), check=True)
    with (path / "docarchive.toml").open("a", encoding="utf-8") as fh:
        fh.write(
            f'\n[followup]\nworking_days = false\n[followup.departments]\n"{LEGAL}" = '
            f'"confidential"\n"{FINANCE}" = "internal"\n'
            f'"{CONTRACTS}" = {{ clearance = "internal", parent = "{LEGAL}" }}\n'
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
    today = datetime.now(ZoneInfo("Asia/Baghdad")).date()  # the office's day, as the archive's
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
    past = (datetime.now(ZoneInfo("Asia/Baghdad")).date() - timedelta(days=1)).isoformat()
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


def test_show_prints_the_referral_chain_after_the_fields(
    root: Path, scan: str, example_data: Path
) -> None:
    director, head = "مدير المكتب", "رئيس الدائرة القانونية"
    legal, finance = as_json(
        "refer",
        scan,
        "--to",
        LEGAL,
        "--to",
        FINANCE,
        "--instruction",
        "للدراسة وإبداء الرأي",
        "--priority",
        "urgent",
        "--user",
        director,
        root=root,
    )
    (contracts,) = as_json(
        "refer",
        legal["id"],
        "--to",
        CONTRACTS,
        "--instruction",
        "لإعداد مسودة الرد",
        "--user",
        head,
        root=root,
    )
    reply = letter(root, example_data)
    answered = as_json("answer", contracts["id"], "--with", reply, root=root)
    closed = as_json("close", finance["id"], "--reason", "عولجت هاتفياً", root=root)

    out = cli("show", scan, root=root, check=True).stdout
    chain = [
        f"referral: {LEGAL}  open  due {legal['due']}  urgent  ({legal['id']})",
        f"  referred by {director} {legal['referred_at'][:16]}: للدراسة وإبداء الرأي",
        f"  referral: {CONTRACTS}  answered  due {contracts['due']}  normal  ({contracts['id']})",
        f"    referred by {head} {contracts['referred_at'][:16]}: لإعداد مسودة الرد",
        f"    answered {answered['answered_at'][:16]} by {reply}",
        f"referral: {FINANCE}  closed  due {finance['due']}  urgent  ({finance['id']})",
        f"  referred by {director} {finance['referred_at'][:16]}: للدراسة وإبداء الرأي",
        f"  closed {closed['closed_at'][:16]}: عولجت هاتفياً",
    ]
    lines = out.splitlines()
    start = lines.index(chain[0])
    assert lines[start : start + len(chain)] == chain
    # after the record's fields and files, before the blank line and the record's text
    assert lines[0] == f"id: {scan}" and lines[start - 1].startswith("file: ")
    assert lines[start + len(chain)] == "" and "Monthly report" in "\n".join(lines[start:])
    # followup --record prints the same chain with the same helper
    assert cli("followup", "--record", scan, root=root, check=True).stdout.splitlines() == chain


def test_show_json_adds_the_referrals_and_keeps_the_record_keys(root: Path, scan: str) -> None:
    before = as_json("show", scan, root=root)
    assert before["referrals"] == []
    assert "referral:" not in cli("show", scan, root=root, check=True).stdout
    (legal,) = as_json("refer", scan, "--to", LEGAL, "--instruction", "للمتابعة", root=root)
    (contracts,) = as_json(
        "refer", legal["id"], "--to", CONTRACTS, "--instruction", "للتنفيذ", root=root
    )
    shown = as_json("show", scan, root=root)
    assert {k: v for k, v in shown.items() if k != "referrals"} == {
        k: v for k, v in before.items() if k != "referrals"
    }
    assert [
        (r["id"], r["department"], r["parent_id"], r["instruction"], r["status"], r["chain"])
        for r in shown["referrals"]
    ] == [
        (legal["id"], LEGAL, None, "للمتابعة", "open", [legal["referred_by"], LEGAL]),
        (
            contracts["id"],
            CONTRACTS,
            legal["id"],
            "للتنفيذ",
            "open",
            [legal["referred_by"], LEGAL, CONTRACTS],
        ),
    ]
    assert shown["referrals"] == as_json("followup", "--record", scan, root=root)
    for key in ("referred_by", "referred_at", "due", "answers", "closed_reason", "note_status"):
        assert key in shown["referrals"][1]


def test_show_keeps_a_record_above_clearance_and_its_referrals_hidden(
    root: Path, example_data: Path
) -> None:
    good = example_data / "scans" / "monthly_report.pdf"
    ingested = as_json("ingest", "scan", str(good), "--classification", "confidential", root=root)
    secret = ingested["ingested"][0]["id"]
    as_json("refer", secret, "--to", LEGAL, "--instruction", "سري للغاية", root=root)
    assert [r["department"] for r in as_json("show", secret, root=root)["referrals"]] == [LEGAL]
    for args in (("--clearance", "internal"), ("--user", "clerk")):
        proc = cli("show", secret, *args, root=root)
        assert proc.returncode == 1
        assert "is classified above your clearance (internal)" in proc.stderr
        assert proc.stdout == "" and "Traceback" not in proc.stderr
