"""``docarchive serve`` as users run it: real uvicorn processes on 127.0.0.1, users and
tokens made with the CLI, two servers over one archive, and ``examples/api.sh`` with curl."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from serving import Server, docarchive

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSWORD = "كلمة-مرور-للخادم-2026"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    docarchive(root, "init")
    added = docarchive(
        root,
        "users",
        "add",
        "suad",
        "--clearance",
        "secret",
        "--role",
        "officer",
        "--department",
        "الدائرة القانونية",
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert json.loads(added)["role"] == "officer"
    return root


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def test_two_servers_over_one_archive(root: Path, servers: list[Server]) -> None:
    token = json.loads(docarchive(root, "tokens", "create", "suad", "--label", "HR", "--json"))
    secret = token["token"]
    assert secret.startswith("da_") and token["user"] == "suad"
    listed = docarchive(root, "tokens", "list", "--json")
    assert secret not in listed and json.loads(listed)[0]["state"] == "active"
    first = Server(root)
    servers.append(first)
    second = Server(root, "--workers", "2")
    servers.append(second)

    data = json.loads((EXAMPLES / "data" / "circular.json").read_text("utf-8"))
    data["subject"] = "تعميم بشأن مواعيد الدوام الرسمي خلال شهر رمضان المبارك"
    status, headers, body = first.call("POST", "/api/v1/issue/circular", secret, data)
    assert status == 201, body
    assert headers["x-content-type-options"] == "nosniff"
    record = json.loads(body)
    # the other server finds it at once: its index catches up from the shared catalog
    for _ in range(4):  # with two workers, each request may land on either process
        status, _, body = second.call("GET", "/api/v1/search?q=" + quote("رمضان"), secret)
        assert status == 200
        assert [h["id"] for h in json.loads(body)["hits"]] == [record["id"]]
        status, _, body = second.call("GET", f"/api/v1/records/{quote(record['number'])}", secret)
        assert status == 200 and json.loads(body)["id"] == record["id"]
    status, headers, body = second.call(
        "GET", f"/api/v1/records/{record['id']}/files/original", secret
    )
    assert status == 200 and body[:2] == b"PK"  # the DOCX
    # a revoked token stops working on every server
    docarchive(root, "tokens", "revoke", token["id"])
    for server in (first, second):
        status, headers, body = server.call("GET", "/api/v1/me", secret)
        assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
        assert headers["www-authenticate"] == "Bearer"
    # a login gives a session token; the audit chain names the user, not the server
    status, _, body = first.call(
        "POST", "/api/v1/login", None, {"name": "suad", "password": PASSWORD}
    )
    assert status == 200
    session = json.loads(body)["token"]
    status, _, _ = second.call("GET", "/api/v1/me", session)
    assert status == 200
    shown = json.loads(docarchive(root, "show", record["id"], "--json"))
    assert shown["id"] == record["id"]
    for server in servers:
        server.stop()
        assert server.proc.returncode in (0, -signal.SIGTERM)
    verified = json.loads(docarchive(root, "verify", "--json"))
    assert verified["ok"] is True


def test_users_cli(root: Path) -> None:
    users = json.loads(docarchive(root, "users", "list", "--json"))
    assert [(u["name"], u["clearance"], u["departments"]) for u in users] == [
        ("suad", "secret", ["الدائرة القانونية"])
    ]
    assert "password" not in json.dumps(users)
    docarchive(root, "users", "passwd", "suad", "--password-stdin", stdin="كلمة-جديدة-أطول\n")
    docarchive(root, "users", "disable", "suad")
    assert json.loads(docarchive(root, "users", "list", "--json"))[0]["disabled"] is True
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "docarchive",
            "--root",
            str(root),
            "tokens",
            "create",
            "suad",
            "--label",
            "x",
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1 and refused.stderr.startswith("docarchive: error: ")
    assert "disabled" in refused.stderr and "Traceback" not in refused.stderr
    short = subprocess.run(
        [
            sys.executable,
            "-m",
            "docarchive",
            "--root",
            str(root),
            "users",
            "add",
            "omar",
            "--clearance",
            "internal",
            "--role",
            "clerk",
            "--password-stdin",
        ],
        input="short\n",
        capture_output=True,
        text=True,
    )
    assert short.returncode == 1 and "8 to 1024 characters" in short.stderr
    bad_role = subprocess.run(
        [
            sys.executable,
            "-m",
            "docarchive",
            "--root",
            str(root),
            "users",
            "add",
            "omar",
            "--clearance",
            "internal",
            "--role",
            "king",
            "--password-stdin",
        ],
        input="long-enough-password\n",
        capture_output=True,
        text=True,
    )
    assert bad_role.returncode == 2


@pytest.mark.official_pdf
def test_the_curl_example_issues_and_fetches_the_pdf(
    root: Path, servers: list[Server], tmp_path: Path
) -> None:
    token = docarchive(root, "tokens", "create", "suad", "--label", "curl example").strip()
    server = Server(root)
    servers.append(server)
    out = tmp_path / "circular.pdf"
    done = subprocess.run(
        [
            "sh",
            str(EXAMPLES / "api.sh"),
            server.url,
            token,
            str(EXAMPLES / "data/circular.json"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    number = done.stdout.strip()
    assert number.split("/")[2] == "1"
    assert out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "تعميم" in text or "الأرشفة" in text, text[:500]
    digits = number.split("/")[2]
    assert digits in text
    # a bad token: curl fails and the script says so
    bad = subprocess.run(
        ["sh", str(EXAMPLES / "api.sh"), server.url, "da_0000000000000000_" + "A" * 43],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "unauthorized" in bad.stdout + bad.stderr
