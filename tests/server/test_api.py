"""The HTTP API with a test client: every route's answers, the need-to-know rule on each,
roles, JSON shapes identical to the CLI's ``--json``, and errors as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from apikit import PASSWORD, Api

from docarchive import Archive
from docarchive.config import default_actor

SECRET_WORDS = ("بالغ السرية", "المصنفة", "سري", "تأمين")


def _errors_as_json(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return dict(body["error"])


# -- who may call --------------------------------------------------------------------------

PROTECTED = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/search?q=الأرشفة"),
    ("get", "/api/v1/records/anything"),
    ("get", "/api/v1/records/anything/files/original"),
    ("get", "/api/v1/followup"),
    ("get", "/api/v1/register/circular"),
    ("get", "/api/v1/verify"),
    ("post", "/api/v1/issue/circular"),
    ("post", "/api/v1/scans"),
    ("post", "/api/v1/mail"),
    ("post", "/api/v1/referrals"),
    ("post", "/api/v1/referrals/x/answer"),
    ("post", "/api/v1/referrals/x/close"),
    ("post", "/api/v1/void"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_route_needs_a_valid_token(api: Api, method: str, path: str) -> None:
    call = getattr(api.client, method)
    _errors_as_json(call(path), 401)
    for header in ("Bearer", "Basic bGF5bGE6eA==", "Bearer da_nothing", "Bearer " + "a" * 5000):
        error = _errors_as_json(call(path, headers={"Authorization": header}), 401)
        assert error["code"] == "unauthorized"
    # a revoked and an expired token of a user who may do everything
    revoked = api.archive.create_token("admin", label="revoked")
    api.archive.revoke_token(revoked.info.id)
    expired = api.archive.create_token("admin", label="expired", expires_days=1e-9).token
    for token, why in ((revoked.token, "revoked"), (expired, "expired")):
        error = _errors_as_json(call(path, headers={"Authorization": f"Bearer {token}"}), 401)
        assert why in error["message"]
    # a well-formed token with a wrong secret
    token = api.tokens["admin"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    _errors_as_json(call(path, headers={"Authorization": f"Bearer {forged}"}), 401)


def test_revoked_expired_and_disabled_tokens_are_refused(api: Api) -> None:
    assert api.get("/api/v1/me", "layla").status_code == 200
    token_id = api.tokens["layla"].split("_")[1]
    api.archive.revoke_token(token_id, actor="admin")
    assert "revoked" in _errors_as_json(api.get("/api/v1/me", "layla"), 401)["message"]
    short = api.archive.create_token("layla", label="short", expires_days=0.3 / 86400).token
    time.sleep(0.6)
    response = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {short}"})
    assert "expired" in _errors_as_json(response, 401)["message"]
    assert api.get("/api/v1/me", "suad").status_code == 200
    api.archive.disable_user("suad", actor="admin")
    assert "disabled" in _errors_as_json(api.get("/api/v1/me", "suad"), 401)["message"]


def test_roles_decide_who_may_issue_void_and_verify(api: Api, circular_data: dict) -> None:
    refused = api.post("/api/v1/issue/circular", "layla", json=circular_data)
    assert _errors_as_json(refused, 403)["message"] == "a clerk may not issue"
    number = api.records["internal"]["number"]
    body = {"number": number, "reason": "صدر خطأً"}
    _errors_as_json(api.post("/api/v1/void", "suad", json=body), 403)
    _errors_as_json(api.get("/api/v1/verify", "suad"), 403)
    assert api.get("/api/v1/verify", "admin").json()["ok"] is True
    voided = api.post("/api/v1/void", "admin", json=body)
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    assert voided.json()["reason"] == "صدر خطأً"


# -- need to know --------------------------------------------------------------------------


def test_search_reveals_nothing_above_the_clearance(api: Api) -> None:
    everything = api.get("/api/v1/search", "admin", params={"q": "الأرشفة"}).json()
    assert everything["total"] == 3
    found = api.get("/api/v1/search", "layla", params={"q": "الأرشفة", "page_size": 50}).json()
    assert found["total"] == 1
    assert [h["id"] for h in found["hits"]] == [api.records["internal"]["id"]]
    assert sum(found["facets"]["kind"].values()) == 1, found["facets"]
    shown = json.dumps(found, ensure_ascii=False)
    for word in SECRET_WORDS:
        assert word not in shown, word
    # a query only the secret records match finds nothing, not even a count
    nothing = api.get("/api/v1/search", "layla", params={"q": "المصنفة"}).json()
    assert nothing["total"] == 0 and nothing["hits"] == []
    assert all(sum(c.values()) == 0 for c in nothing["facets"].values())
    assert api.get("/api/v1/search", "suad", params={"q": "المصنفة"}).json()["total"] == 1


@pytest.mark.parametrize("level", ["confidential", "secret"])
def test_a_record_above_the_clearance_is_not_found(api: Api, level: str) -> None:
    record = api.records[level]
    for ref in (record["id"], record["number"]):
        error = _errors_as_json(api.get(f"/api/v1/records/{ref}", "layla"), 404)
        assert error["code"] == "not_found"
        for word in SECRET_WORDS:
            assert word not in error["message"]
    missing = _errors_as_json(api.get("/api/v1/records/no-such-record", "layla"), 404)
    shown = _errors_as_json(api.get(f"/api/v1/records/{record['id']}", "layla"), 404)
    assert missing["message"].replace("no-such-record", "X") == shown["message"].replace(
        record["id"], "X"
    ), "an unknown and a hidden record answer alike"
    _errors_as_json(api.get(f"/api/v1/records/{record['id']}/files/original", "layla"), 404)
    refer = {"record": record["id"], "departments": ["الدائرة القانونية"], "instruction": "للاطلاع"}
    _errors_as_json(api.post("/api/v1/referrals", "layla", json=refer), 404)
    assert api.get(f"/api/v1/records/{record['id']}", "suad").status_code == 200


def test_followup_and_referrals_within_clearance(api: Api) -> None:
    made = {}
    for level in ("internal", "secret"):
        body = {
            "record": api.records[level]["number"],
            "departments": ["الدائرة القانونية", "دائرة العقود"],
            "instruction": "لإكمال اللازم وإعلامنا",
            "priority": "urgent",
        }
        response = api.post("/api/v1/referrals", "suad", json=body)
        assert response.status_code == 201, response.text
        made[level] = response.json()
        assert [r["department"] for r in made[level]] == body["departments"]
    assert len(api.get("/api/v1/followup", "suad").json()) == 4
    seen = api.get("/api/v1/followup", "layla").json()
    assert {i["record_id"] for i in seen} == {api.records["internal"]["id"]}
    assert "بالغ السرية" not in json.dumps(seen, ensure_ascii=False)
    # answer and close: by a clerk within clearance; a secret one is not found for her
    internal, secret = made["internal"][0]["id"], made["secret"][0]["id"]
    data = json.loads(
        (Path(__file__).resolve().parents[2] / "examples/data/circular.json").read_text("utf-8")
    )
    reply = api.archive.issue("circular", {**data, "subject": "رد الدائرة القانونية"}, actor="x").id
    _errors_as_json(
        api.post(f"/api/v1/referrals/{secret}/answer", "layla", json={"reply": reply}), 404
    )
    answered = api.post(f"/api/v1/referrals/{internal}/answer", "layla", json={"reply": reply})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    closing = {"reason": "أُنجز الموضوع"}
    _errors_as_json(
        api.post(f"/api/v1/referrals/{made['internal'][1]['id']}/close", "layla", json=closing), 403
    )
    closed = api.post(f"/api/v1/referrals/{made['internal'][1]['id']}/close", "suad", json=closing)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    shown = api.get(f"/api/v1/records/{api.records['internal']['id']}", "layla").json()
    assert {r["status"] for r in shown["referrals"]} == {"answered", "closed"}


def test_a_mail_thread_shows_only_what_the_reader_may_see(api: Api, tmp_path: Path) -> None:
    mail = Path(__file__).resolve().parents[2] / "examples" / "data" / "mail"
    with (mail / "request.eml").open("rb") as fh:
        first = api.post("/api/v1/mail", "suad", files=[("files", ("request.eml", fh))])
    with (mail / "reply.eml").open("rb") as fh:
        second = api.post(
            "/api/v1/mail",
            "suad",
            files=[("files", ("reply.eml", fh))],
            data={"classification": "secret"},
        )
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    (request,) = [r for r in first.json()["ingested"] if r["kind"] == "mail"]
    (reply,) = [r for r in second.json()["ingested"] if r["kind"] == "mail"]
    full = api.get(f"/api/v1/records/{request['id']}", "suad").json()
    assert [t["id"] for t in full["thread"]] == [request["id"], reply["id"]]
    limited = api.get(f"/api/v1/records/{request['id']}", "layla").json()
    assert [t["id"] for t in limited.get("thread", [])] in ([], [request["id"]])
    _errors_as_json(api.get(f"/api/v1/records/{reply['id']}", "layla"), 404)


def test_a_classification_above_ones_own_is_refused(api: Api, circular_data: dict) -> None:
    response = api.post(
        "/api/v1/issue/circular?classification=top-secret", "suad", json=circular_data
    )
    _errors_as_json(response, 403)
    assert [e.status for e in api.archive.register("circular")] == ["issued"] * 3, "no number"


# -- writes: the actor is the authenticated user ------------------------------------------------


def test_an_issue_is_audited_as_the_user_and_found(
    api: Api, circular_data: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCARCHIVE_USER", "someone-else")
    response = api.post(
        "/api/v1/issue/circular?classification=confidential",
        "suad",
        json={**circular_data, "subject": "تعميم بشأن تنظيم الدوام الرسمي في رمضان"},
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["number"].split("/")[2] == "4" and record["classification"] == "confidential"
    last = [e for e in api.archive.catalog.audit_events() if e.record_id == record["id"]]
    assert [(e.action, e.actor) for e in last] == [("reserve", "suad"), ("create", "suad")]
    found = api.get("/api/v1/search", "suad", params={"q": "الدوام رمضان"}).json()
    assert [h["id"] for h in found["hits"]] == [record["id"]]


def test_a_missing_field_is_422_and_costs_no_number(api: Api, circular_data: dict) -> None:
    data = {k: v for k, v in circular_data.items() if k != "subject"}
    error = _errors_as_json(api.post("/api/v1/issue/circular", "suad", json=data), 422)
    assert "subject" in error["message"]
    _errors_as_json(api.post("/api/v1/issue/circular", "suad", json=["not", "an", "object"]), 422)
    _errors_as_json(api.post("/api/v1/issue/circular", "suad", content=b"{broken"), 422)
    assert len(api.archive.register("circular")) == 3


# -- hostile ids and paths -------------------------------------------------------------------

HOSTILE = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "x" * 5000,
    "م.و/ت/999/2026",
    "'; DROP TABLE records; --",
    "<script>alert(1)</script>",
    "\u202eRTL",
    "%ff%fe",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_ids_and_paths_answer_404_never_500(api: Api, hostile: str) -> None:
    for path in (
        f"/api/v1/records/{hostile}",
        f"/api/v1/records/{hostile}/files/original",
        f"/api/v1/records/{api.records['internal']['id']}/files/{hostile}",
        f"/api/v1/register/{hostile}",
    ):
        response = api.get(path, "admin")
        assert response.status_code in (404, 422), (path, response.status_code, response.text)
        assert set(response.json()) == {"error"}
    for path in (f"/api/v1/referrals/{hostile}/answer", f"/api/v1/issue/{hostile}"):
        response = api.post(path, "admin", json={"reply": "x"})
        assert 400 <= response.status_code < 500, (path, response.status_code)
    checked = api.get(f"/api/v1/check/{hostile}")
    if checked.status_code == 200:
        assert checked.json()["genuine"] is False
    else:  # a path with slashes is no code at all
        assert checked.status_code == 404 and set(checked.json()) == {"error"}


def test_uploaded_names_never_become_paths(api: Api, make_pdf: Any, tmp_path: Path) -> None:
    names = [
        "../../../../tmp/owned.pdf",
        "/etc/cron.d/x.pdf",
        "كتاب وزارة المالية.pdf",
        "..",
        "\x00.pdf",
    ]
    # a different letter under each name, so that each becomes a record of its own
    files = [
        ("files", (name, make_pdf(f"in{n}.pdf", [f"Budget letter number {n}"]).read_bytes()))
        for n, name in enumerate(names)
    ]
    files.append(("files", ("ليس-ملفا.pdf", b"this is not a PDF at all", "application/pdf")))
    response = api.post("/api/v1/scans", "layla", files=files, data={"sender": "وزارة المالية"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert not Path("/tmp/owned.pdf").exists() and not Path("/etc/cron.d/x.pdf").exists()
    stored = [r["files"][0]["name"] for r in result["ingested"]]
    assert len(stored) == 5 and result["duplicates"] == []
    for name in stored:  # what the archive keeps is a plain name, never the client's path
        assert "/" not in name and "\x00" not in name and name not in ("", ".", ".."), name
    assert "كتاب وزارة المالية.pdf" in stored and "owned.pdf" in stored
    (quarantined,) = result["quarantined"]
    assert quarantined["file"] == "ليس-ملفا.pdf" and quarantined["reason"]
    assert not any(Path("/tmp").glob("docarchive-upload-*")), "uploads are cleaned up"


def test_files_come_with_their_type_and_arabic_name(api: Api, make_pdf: Any) -> None:
    pdf = make_pdf("x.pdf", ["Budget letter"]).read_bytes()
    name = "كتاب وزارة المالية 2026.pdf"
    done = api.post("/api/v1/scans", "layla", files=[("files", (name, pdf, "application/pdf"))])
    (record,) = done.json()["ingested"]
    response = api.get(f"/api/v1/records/{record['id']}/files/original", "layla")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == pdf
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    star = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(star) == name and star == quote(name, safe="")
    assert disposition.split('"')[1].isascii()
    _errors_as_json(api.get(f"/api/v1/records/{record['id']}/files/attachment", "layla"), 404)


def test_a_body_over_the_limit_is_413_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from docarchive.server.app import create_app

    monkeypatch.setenv("DOCARCHIVE_LIMIT_INPUT_BYTES", "100000")
    archive = Archive.open(tmp_path / "a")
    archive.add_user("layla", PASSWORD, clearance="internal", role="clerk", actor="setup")
    token = archive.create_token("layla", label="t").token
    with TestClient(create_app(archive)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        big = b"%PDF-1.4\n" + b"0" * 200_000
        response = client.post(
            "/api/v1/scans", headers=headers, files=[("files", ("big.pdf", big))]
        )
        assert _errors_as_json(response, 413)["code"] == "too_large"

        def chunks() -> Any:  # no Content-Length: counted as it streams
            yield (
                b'--zz\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n'
                b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
            )
            for _ in range(30):
                yield b"x" * 10_000

        streamed = client.post(
            "/api/v1/scans",
            headers={**headers, "content-type": "multipart/form-data; boundary=zz"},
            content=chunks(),
        )
        assert streamed.status_code == 413
        huge = client.post(
            "/api/v1/issue/circular", headers=headers, content=b"{" + b" " * (17 << 20)
        )
        assert huge.status_code == 413
    assert list(archive.catalog.records()) == []
    archive.close()


# -- logins --------------------------------------------------------------------------------


def test_login_gives_a_session_token_and_failures_are_rate_limited(api: Api) -> None:
    good = api.client.post("/api/v1/login", json={"name": "layla", "password": PASSWORD})
    assert good.status_code == 200
    session = good.json()
    assert session["user"]["name"] == "layla" and session["expires_at"]
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session['token']}"})
    assert me.json()["clearance"] == "internal"
    for _ in range(5):
        bad = api.client.post("/api/v1/login", json={"name": "layla", "password": "wrong-password"})
        assert _errors_as_json(bad, 401)["message"] == "wrong user name or password"
    blocked = api.client.post("/api/v1/login", json={"name": "layla", "password": PASSWORD})
    assert _errors_as_json(blocked, 429)["code"] == "too_many_attempts"
    assert int(blocked.headers["retry-after"]) > 0
    nobody = api.client.post("/api/v1/login", json={"name": "nobody", "password": "x" * 10})
    assert nobody.status_code in (401, 429)  # the same client address is limited too


# -- public --------------------------------------------------------------------------------


def test_check_tells_only_number_kind_office_and_date(api: Api) -> None:
    secret = api.records["secret"]
    answer = api.get(f"/api/v1/check/{secret['meta']['verification_code']}").json()
    assert answer == {
        "genuine": True,
        "voided": False,
        "number": secret["number"],
        "kind": "circular",
        "office": secret["office"],
        "issued": secret["dates"]["issued"][:10],
    }
    code = secret["meta"]["verification_code"]
    tampered = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert api.get(f"/api/v1/check/{tampered}").json()["genuine"] is False


def test_openapi_document_security_headers_and_no_cors(api: Api) -> None:
    doc = api.client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/search", "/api/v1/issue/{kind}", "/api/v1/check/{code}"):
        assert path in doc["paths"], path
    response = api.get("/api/v1/me", "layla")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "server" not in response.headers or "uvicorn" not in response.headers["server"]
    preflight = api.client.options(
        "/api/v1/search",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert api.client.get("/api/v1/docs").status_code == 404, "no page that loads a CDN"


# -- the same JSON as the CLI -----------------------------------------------------------------


def _cli(root: Path, *args: str) -> Any:
    user = default_actor()  # the creator of the archive: the highest clearance
    done = subprocess.run(
        [sys.executable, "-m", "docarchive", "--root", str(root), "--user", user, *args, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_shapes_are_the_clis(api: Api) -> None:
    root = api.archive.settings.root
    record = api.records["confidential"]
    over_http = api.get(f"/api/v1/records/{record['id']}", "admin").json()
    assert over_http == _cli(root, "show", record["id"])
    found = api.get("/api/v1/search", "admin", params={"q": "الأرشفة", "sort": "newest"}).json()
    assert found == _cli(root, "search", "الأرشفة", "--sort", "newest")
    register = api.get("/api/v1/register/circular", "admin").json()
    assert register == _cli(root, "register", "circular")
