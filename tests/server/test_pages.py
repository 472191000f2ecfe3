"""The staff pages with a test client: CSRF on every form, the session cookie's flags, no
open redirect, the clearance on thumbnails and files, the draft preview and reports, and
the stamp's QR code carrying the check page's address when ``[server] public_url`` is set."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from apikit import PASSWORD, Api
from fastapi.testclient import TestClient

from docarchive import Archive
from docarchive.server.app import create_app


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:300]
    return found[1]


def _logged_in(api: Api, who: str, base: str = "http://testserver") -> TestClient:
    client = TestClient(api.client.app, base_url=base)
    page = client.get("/login")
    done = client.post(
        "/login",
        data={"name": who, "password": PASSWORD, "csrf": _csrf(page.text), "next": "/search"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/search"
    return client


def test_a_stranger_goes_to_the_login_and_the_session_cookie_is_guarded(api: Api) -> None:
    client = TestClient(api.client.app)
    first = client.get("/search?q=x", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
    page = client.get("/login")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    refused = client.post("/login", data={"name": "layla", "password": PASSWORD, "csrf": "x"})
    assert refused.status_code == 403, "no login without the form's CSRF token"
    secure = TestClient(api.client.app, base_url="https://testserver")
    token = _csrf(secure.get("/login").text)
    done = secure.post(
        "/login",
        data={"name": "layla", "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    cookie = done.headers["set-cookie"]
    assert "docarchive_session=da_" in cookie
    for flag in ("HttpOnly", "SameSite=strict", "Secure"):
        assert flag.lower() in cookie.lower(), flag
    wrong = secure.post(
        "/login",
        data={
            "name": "layla",
            "password": "wrong-password",
            "csrf": _csrf(secure.get("/login").text),
        },
    )
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text


def test_every_form_needs_its_csrf_token(api: Api) -> None:
    client = _logged_in(api, "suad")
    record = api.records["internal"]
    for path, data in (
        ("/issue/circular", {"subject": "x", "_action": "issue"}),
        ("/upload", {}),
        ("/inbox/x/answer", {"reply": record["id"]}),
        ("/inbox/x/refer", {"to": "دائرة العقود", "instruction": "x"}),
        ("/logout", {}),
        ("/language", {"lang": "en"}),
    ):
        for csrf in (None, "forged-token"):
            sent = {**data, **({"csrf": csrf} if csrf else {})}
            answer = client.post(path, data=sent, follow_redirects=False)
            assert answer.status_code == 403, (path, csrf, answer.status_code)
    assert len(api.archive.register("circular")) == 3, "nothing was issued"
    assert client.get("/search").status_code == 200, "and the session still works"


def test_no_open_redirect(api: Api) -> None:
    client = TestClient(api.client.app)
    token = _csrf(client.get("/login").text)
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        done = client.post(
            "/login",
            data={"name": "layla", "password": PASSWORD, "csrf": token, "next": target},
            follow_redirects=False,
        )
        assert done.headers["location"] == "/search", target
        client.cookies.clear()
        token = _csrf(client.get("/login").text)


def test_hidden_records_files_and_thumbnails_are_404(api: Api, make_pdf: Any) -> None:
    pdf = make_pdf("s.pdf", ["Classified transfer plan"])
    secret = api.archive.ingest_scan(pdf, subject="خطة النقل السرية", classification="secret")
    clerk = _logged_in(api, "layla")
    for path in (
        f"/records/{secret.id}",
        f"/records/{secret.id}/thumb.png",
        f"/records/{secret.id}/files/original",
    ):
        assert clerk.get(path).status_code == 404, path
    cache = api.archive.settings.root / "cache" / "thumbs"
    assert not cache.exists() or not any(cache.iterdir()), "not even made for her"
    officer = _logged_in(api, "suad")
    thumb = officer.get(f"/records/{secret.id}/thumb.png")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    assert clerk.get(f"/records/{secret.id}/thumb.png").status_code == 404, "cached: still hidden"
    assert (cache.stat().st_mode & 0o077) == 0, "the cache is as private as the archive"
    original = officer.get(f"/records/{secret.id}/files/original")
    assert original.headers["content-disposition"].startswith("inline;")
    assert (
        officer.get(f"/records/{secret.id}/files/original?download=1")
        .headers["content-disposition"]
        .startswith("attachment;")
    )


@pytest.mark.official_pdf
def test_draft_preview_and_overdue_report(api: Api, circular_data: dict) -> None:
    client = _logged_in(api, "suad")
    token = _csrf(client.get("/issue?kind=circular").text)
    form = {
        "csrf": token,
        "_action": "preview",
        "subject": "مسودة تعميم بشأن الدوام الصيفي",
        "body": "يبدأ الدوام الصيفي في الأول من حزيران.",
        "recipients": "جميع الدوائر",
        "signatory.name": "د. أحمد عبد الله الجبوري",
        "signatory.title": "مدير مكتب الوزير",
    }
    preview = client.post("/issue/circular", data=form)
    assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=preview.content, capture_output=True, check=True
    ).stdout.decode()
    assert "الدوام" in text or "مسودة" in text, text[:300]
    assert len(api.archive.register("circular")) == 3, "a preview takes no number"
    report = client.get("/followup/report.docx")
    assert report.status_code == 200 and report.content[:2] == b"PK"


@pytest.mark.official_pdf
def test_stamps_carry_the_check_page_address(tmp_path: Path, circular_data: dict) -> None:
    root = tmp_path / "a"
    Archive.open(root).close()
    with (root / "docarchive.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[server]\npublic_url = "https://archive.mop.gov.iq"\n')
    with Archive.open(root) as archive:
        record = archive.issue("circular", circular_data)
        rendition = next(f for f in record.files if f.role == "rendition")
        page = pdfium.PdfDocument(archive.blob(rendition.sha256))[0].render(scale=3).to_pil()
        (qr,) = [r.text for r in zxingcpp.read_barcodes(page)]
        code = record.meta["verification_code"]
        assert qr == f"https://archive.mop.gov.iq/check/{code}"
        assert archive.check_code(qr).genuine, "the library reads the address as the code"
        with TestClient(create_app(archive)) as client:
            path = qr.removeprefix("https://archive.mop.gov.iq")
            shown = client.get(path)
            assert shown.status_code == 200 and "كتاب صحيح" in shown.text
            assert record.subject not in shown.text


def test_a_thumbnail_that_cannot_be_made_is_404_not_500(
    api: Api, make_pdf: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import docarchive.server.web.pages as pages

    scan = api.archive.ingest_scan(make_pdf("t.pdf", ["A letter"]), subject="كتاب وارد")

    def broken(data: bytes, media_type: str) -> bytes:
        raise RuntimeError("PdfiumError: Failed to load page.")

    monkeypatch.setattr(pages, "_thumbnail", broken)
    clerk = _logged_in(api, "layla")
    assert clerk.get(f"/records/{scan.id}/thumb.png").status_code == 404
    assert clerk.get(f"/records/{scan.id}").status_code == 200, "the record page still opens"
