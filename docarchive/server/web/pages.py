"""Staff web pages: server-rendered (Jinja2), Arabic and right to left by default, on the
same application and archive as the API.

A login makes a session token (``[server] session_hours``) kept in an HttpOnly,
SameSite=Strict cookie (Secure behind TLS); every form carries a CSRF token derived from
the session (before login, a double-submit cookie). Nothing is loaded from outside the
server: the styles, the one small script and the Amiri font come from the package, so
the pages work on an office network without the internet. The viewer's clearance
applies to every page, thumbnail and download: a record above it is not found.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import io
import json
import logging
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import UploadFile

from ...accounts import User
from ...archive import Archive
from ...errors import AccessDeniedError, DocArchiveError, MissingFieldError, NotFoundError
from ...records import Classification, Record
from ..sessions import TooManyAttempts, start_session
from ..uploads import content_disposition, ingest_uploads
from .charts import department_bars
from .i18n import LANGUAGES, field_name, kind_name, words

__all__ = ["add_pages"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
FONTS = HERE.parent.parent / "fonts"
SESSION, CSRF, LANG = "docarchive_session", "docarchive_csrf", "docarchive_lang"
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; frame-src 'self'; object-src 'none'; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
)
#: fields the archive fills (the number, the date, the office's own) are not asked for
FILLED = {"number", "date", "ministry", "office", "office_code", "logo", "signature"}
LINES = {"body", "recipients", "copies", "articles"}
AS_JSON = {"items", "references", "members"}
INTEGER = re.compile(r"-?[0-9]{1,15}")
THUMB_WIDTH = 192


class _Redirect(Exception):
    def __init__(self, to: str) -> None:
        self.to = to


class _Gone(Exception):
    """Not found (or above the viewer's clearance: the same answer)."""


def add_pages(app: FastAPI, archive: Archive, lock: threading.RLock) -> None:
    """Mount the staff pages on ``app`` over ``archive`` (calls serialized by ``lock``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    key = hashlib.sha256(b"docarchive web csrf\0" + archive.settings.stamp_key()).digest()
    cache = archive.settings.root / "cache" / "thumbs"

    # -- the request's person, language and CSRF token ------------------------------------------

    def viewer(request: Request) -> User | None:
        """The logged-in person, authenticated once per request (kept on its state)."""
        if hasattr(request.state, "viewer"):
            return request.state.viewer  # type: ignore[no-any-return]
        token = request.cookies.get(SESSION)
        user = None
        if token:
            try:
                with lock:
                    user = archive.authenticate(token)
            except AccessDeniedError:
                user = None
        request.state.viewer = user
        return user

    def needs(request: Request, permission: str = "read") -> User:
        user = viewer(request)
        if user is None:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise _Redirect("/login?" + urlencode({"next": back}))
        if not user.may(permission):
            raise _Gone
        return user

    def csrf_of(request: Request) -> str:
        token = request.cookies.get(SESSION)
        if token:
            return hmac.new(key, token.encode(), "sha256").hexdigest()[:40]
        return request.cookies.get(CSRF) or ""

    async def form_of(request: Request) -> Any:
        form = await request.form()
        expected = csrf_of(request)
        given = str(form.get("csrf") or "")
        if not expected or not hmac.compare_digest(expected, given):
            raise _Forbidden
        return form

    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG, "ar")
        return lang if lang in LANGUAGES else "ar"

    def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        lang = lang_of(request)
        csrf = csrf_of(request)
        fresh = None
        if not csrf:  # a stranger's first form (login): a double-submit token
            csrf = fresh = secrets.token_urlsafe(24)
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        values.setdefault("user", viewer(request))
        values.setdefault("error", None)
        body = env.get_template(template).render(
            lang=lang,
            t=words(lang),
            csrf=csrf,
            back=back,
            kind_name=lambda k: kind_name(lang, k),
            field_name=lambda f: field_name(lang, f),
            **values,
        )
        response = HTMLResponse(body, status_code=status)
        response.headers["content-security-policy"] = PAGE_CSP
        response.headers["x-frame-options"] = "SAMEORIGIN"
        if fresh:
            _cookie(request, response, CSRF, fresh, max_age=3600)
        return response

    class _Forbidden(Exception):
        pass

    def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
        """Redirects to login, 404 for what the viewer may not see, 403 for a bad CSRF
        token, and a library error as the page's message."""
        import functools
        import inspect

        @functools.wraps(handler)
        async def run(request: Request, **kwargs: Any) -> Response:
            try:
                result = handler(request, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return result  # type: ignore[no-any-return]
            except _Redirect as go:
                return RedirectResponse(go.to, status_code=303)
            except (_Gone, NotFoundError, AccessDeniedError):
                return page(request, "error.html", 404, code=404, message="—")
            except _Forbidden:
                return page(request, "error.html", 403, code=403, message="CSRF")
            except DocArchiveError as exc:
                return page(request, "error.html", 400, code=400, message=str(exc))

        return run

    def route(method: str, path: str) -> Callable[[Callable[..., Any]], Any]:
        def register(handler: Callable[..., Any]) -> Any:
            app.add_api_route(path, guarded(handler), methods=[method], include_in_schema=False)
            return handler

        return register

    # -- static files ---------------------------------------------------------------------

    @app.get("/static/fonts/{name}", include_in_schema=False)
    def font(name: str) -> Response:
        if name not in ("Amiri-Regular.ttf", "Amiri-Bold.ttf"):
            return Response(status_code=404)
        response = FileResponse(FONTS / name, media_type="font/ttf")
        response.headers["cache-control"] = "public, max-age=86400"
        return response

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        types = {"app.css": "text/css", "upload.js": "text/javascript", "app.js": "text/javascript"}
        if name not in types:
            return Response(status_code=404)
        response = FileResponse(HERE / "static" / name, media_type=types[name])
        response.headers["cache-control"] = "public, max-age=3600"
        return response

    # -- log in and out, language ----------------------------------------------------------

    @route("GET", "/")
    def home(request: Request) -> Response:
        return RedirectResponse("/search" if viewer(request) else "/login", status_code=303)

    @route("GET", "/login")
    def login_page(request: Request) -> Response:
        return page(request, "login.html", next=_local(request.query_params.get("next")))

    @route("POST", "/login")
    async def login(request: Request) -> Response:
        form = await form_of(request)
        name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:1024]
        target = _local(str(form.get("next") or "")) or "/search"
        client = request.client.host if request.client else "?"
        t = words(lang_of(request))
        try:
            _, made = start_session(
                archive, lock, app.state.limiter, name, password, client, label="web session"
            )
        except TooManyAttempts:
            return page(request, "login.html", 429, next=target, error=t["error"] + ": 429")
        except AccessDeniedError as exc:
            return page(request, "login.html", 401, next=target, error=str(exc))
        hours = archive.settings.server.session_hours
        response = RedirectResponse(target, status_code=303)
        _cookie(request, response, SESSION, made.token, max_age=int(hours * 3600))
        response.delete_cookie(CSRF, path="/")
        return response

    @route("POST", "/logout")
    async def logout(request: Request) -> Response:
        await form_of(request)
        token = request.cookies.get(SESSION, "")
        match = re.fullmatch(r"da_([0-9a-f]{16})_.*", token)
        if match:
            with lock, contextlib.suppress(DocArchiveError):
                archive.revoke_token(match[1], actor="web")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION, path="/")
        return response

    @route("POST", "/language")
    async def language(request: Request) -> Response:
        form = await form_of(request)
        lang = str(form.get("lang", "ar"))
        response = RedirectResponse(_local(str(form.get("back") or "")) or "/", status_code=303)
        _cookie(request, response, LANG, lang if lang in LANGUAGES else "ar", max_age=31536000)
        return response

    # -- search ---------------------------------------------------------------------------

    @route("GET", "/search")
    def search(request: Request) -> Response:
        user = needs(request)
        p = request.query_params
        q = p.get("q", "")[:2000]
        criteria: dict[str, Any] = {
            "kind": p.get("kind") or None,
            "office": p.get("office") or None,
            "sender": p.get("sender") or None,
            "date_from": p.get("from") or None,
            "date_to": p.get("to") or None,
            "sort": "newest" if p.get("sort") == "newest" else "relevance",
        }
        page_no = _int(p.get("page"), 1, 1, 10_000)
        size = 10
        results = None
        thumbs: set[str] = set()
        with lock:
            kinds = sorted(k for k in archive.templates() if not k.startswith("report_"))
            kinds += [k for k in ("scan", "mail", "attachment") if k not in kinds]
            if q or any(criteria[k] for k in ("kind", "office", "sender", "date_from", "date_to")):
                results = archive.search(
                    q or "*", **criteria, page=page_no, page_size=size, clearance=user.clearance
                )
                thumbs = {h.record.id for h in results.hits if _thumb_source(h.record)}

        def link(**changes: Any) -> str:
            params = {k: v for k, v in p.items() if v and k != "page"}
            params.update({k: v for k, v in changes.items() if v is not None})
            return "/search?" + urlencode(params)

        def facet_link(name: str, value: str) -> str:
            if name == "year" and re.fullmatch(r"[0-9]{4}", str(value)):
                return link(**{"from": f"{value}-01-01", "to": f"{value}-12-31"})
            if name in ("kind", "office", "sender"):
                return link(**{name: value})
            return link()

        return page(
            request,
            "search.html",
            q=q,
            kind=criteria["kind"] or "",
            kinds=kinds,
            office=criteria["office"] or "",
            sender=criteria["sender"] or "",
            date_from=criteria["date_from"] or "",
            date_to=criteria["date_to"] or "",
            sort=criteria["sort"],
            results=results,
            page=page_no,
            page_size=size,
            thumbs=thumbs,
            marked=_marked,
            facet_link=facet_link,
            page_link=lambda n: link(page=str(n)),
        )

    # -- a record, its files and thumbnail ---------------------------------------------------

    def visible(user: User, ref: str) -> Record:
        with lock:
            return archive.get(ref, clearance=user.clearance)

    @route("GET", "/records/{ref:path}/thumb.png")
    def thumbnail(request: Request, ref: str) -> Response:
        user = needs(request)
        record = visible(user, ref)  # the clearance first: a cached thumbnail is no way round
        source = _thumb_source(record)
        if source is None:
            raise _Gone
        target = cache / f"{source.sha256}.png"
        if not target.is_file():
            with lock:
                data = archive.blob(source.sha256)
            try:  # the file was archived, but a renderer may still fail on it
                png = _thumbnail(data, source.media_type)
            except Exception:
                log.warning("no thumbnail for record %s", record.id, exc_info=True)
                raise _Gone from None
            policy = archive.settings.permissions
            policy.folder(cache)
            with tempfile.NamedTemporaryFile(dir=cache, delete=False, suffix=".part") as tmp:
                part = Path(tmp.name)
            policy.write_file(part, png)
            part.replace(target)
        response = FileResponse(target, media_type="image/png")
        response.headers["cache-control"] = "private, max-age=3600"
        return response

    @route("GET", "/records/{ref}/files/{which}")
    def record_file(request: Request, ref: str, which: str) -> Response:
        user = needs(request)
        record = visible(user, ref)
        files = _file_keys(record)
        if which not in files:
            raise _Gone
        f = files[which]
        with lock:
            data = archive.blob(f.sha256)
        inline = f.media_type == "application/pdf" and not request.query_params.get("download")
        disposition = "inline" if inline else "attachment"
        headers = {
            "content-disposition": content_disposition(f.name or f.role, disposition),
            "x-frame-options": "SAMEORIGIN",
            "content-security-policy": "default-src 'none'; frame-ancestors 'self'",
            "cache-control": "private, no-store",
        }
        return Response(
            data, media_type=f.media_type or "application/octet-stream", headers=headers
        )

    @route("GET", "/records/{ref:path}")
    def record_page(request: Request, ref: str) -> Response:
        user = needs(request)
        record = visible(user, ref)
        with lock:
            thread = (
                archive.thread(record.id, clearance=user.clearance)
                if record.source == "mail"
                else []
            )
            referrals = archive.referrals(record.id, clearance=user.clearance)
            events = archive.catalog.record_events(record.id)
        files = _file_keys(record)
        pdf = next(
            (
                k
                for k, f in files.items()
                if f.media_type == "application/pdf" and f.role == "rendition"
            ),
            None,
        )
        pdf = pdf or next((k for k, f in files.items() if f.media_type == "application/pdf"), None)
        return page(
            request,
            "record.html",
            record=record,
            files=[{"key": k, **_file_view(f)} for k, f in files.items()],
            pdf=pdf,
            thread=thread,
            referrals=_with_depth(referrals),
            events=events,
        )

    # -- issue a document -------------------------------------------------------------------

    def kinds_to_issue() -> list[str]:
        with lock:
            return sorted(k for k in archive.templates() if not k.startswith("report_"))

    def fields_of(kind: str) -> list[dict[str, Any]]:
        with lock:
            spec = archive.template_fields(archive.templates()[kind])
        needed = set(spec.needs) | set(spec.required)
        out: list[dict[str, Any]] = []
        for name in [*spec.needs, *spec.optional]:
            top = name.split(".", 1)[0]
            if top in FILLED or name in {f["name"] for f in out}:
                continue
            if name == top and any(p.startswith(name + ".") for p in spec.paths):
                continue  # asked for by its parts (signatory.name, signatory.title)
            shape = "lines" if name in LINES else "json" if name in AS_JSON else "text"
            out.append({"name": name, "required": name in needed, "shape": shape})
        return out

    def issue_page(
        request: Request, user: User, kind: str, status: int = 200, **values: Any
    ) -> HTMLResponse:
        kinds = kinds_to_issue()
        if kind and kind not in kinds:
            raise _Gone
        values.setdefault("values", {})
        values.setdefault("problems", {})
        values.setdefault("issued", None)
        values.setdefault("issued_pdf", False)
        return page(
            request,
            "issue.html",
            status,
            kind=kind,
            kinds=kinds,
            fields=fields_of(kind) if kind else [],
            levels=[c for c in Classification if c <= user.clearance],
            level=values.pop("level", archive.settings.default_classification.label),
            **values,
        )

    @route("GET", "/issue")
    def issue_form(request: Request) -> Response:
        user = needs(request, "issue")
        kinds = kinds_to_issue()
        kind = request.query_params.get("kind") or (kinds[0] if kinds else "")
        issued = None
        done = request.query_params.get("issued")
        if done:
            with contextlib.suppress(DocArchiveError):
                issued = visible(user, done)
        pdf = bool(issued and any(f.role == "rendition" for f in issued.files))
        return issue_page(request, user, kind, issued=issued, issued_pdf=pdf)

    @route("POST", "/issue/{kind}")
    async def issue(request: Request, kind: str) -> Response:
        user = needs(request, "issue")
        form = await form_of(request)
        fields = fields_of(kind) if kind in kinds_to_issue() else None
        if fields is None:
            raise _Gone
        t = words(lang_of(request))
        values = {f["name"]: str(form.get(f["name"], "")) for f in fields}
        data, problems = _data_of(fields, values, t)
        level = str(form.get("_classification") or archive.settings.default_classification.label)
        if problems:
            return issue_page(
                request, user, kind, 422, values=values, problems=problems, level=level
            )
        try:
            chosen = user.may_file(level)
            if form.get("_action") == "preview":
                with lock:
                    pdf = archive.render(kind, data, format="pdf")
                return Response(
                    pdf,
                    media_type="application/pdf",
                    headers={"content-disposition": 'inline; filename="draft.pdf"'},
                )
            with lock:
                record = archive.issue(kind, data, classification=chosen, actor=user.name)
        except MissingFieldError as exc:
            problems = {f["name"]: t["required"] for f in fields if f["name"] in str(exc)}
            return issue_page(
                request,
                user,
                kind,
                422,
                values=values,
                problems=problems,
                level=level,
                error=str(exc),
            )
        except (DocArchiveError, ValueError) as exc:
            return issue_page(request, user, kind, 422, values=values, level=level, error=str(exc))
        return RedirectResponse(
            f"/issue?{urlencode({'kind': kind, 'issued': record.id})}", status_code=303
        )

    # -- upload scans ---------------------------------------------------------------------------

    @route("GET", "/upload")
    def upload_form(request: Request) -> Response:
        needs(request, "ingest")
        return page(request, "upload.html", result=None)

    def ingest_scans(user: User, uploads: list[UploadFile], **metadata: Any) -> dict[str, Any]:
        return ingest_uploads(
            uploads,
            lambda paths: archive.ingest_scans(paths, **metadata, actor=user.name),
            lock,
        )

    @route("POST", "/upload")
    async def upload(request: Request) -> Response:
        user = needs(request, "ingest")
        form = await form_of(request)
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not uploads:
            return page(request, "upload.html", 422, result=None, error="—")
        result = ingest_scans(
            user,
            uploads,
            sender=str(form.get("sender") or "") or None,
            department=str(form.get("department") or "") or None,
        )
        return page(request, "upload.html", result=result)

    # -- a department's inbox -------------------------------------------------------------------

    def departments_of(user: User) -> list[str]:
        known = list(archive.settings.followup.departments)
        mine = [d for d in user.departments if d in known] or list(user.departments)
        return mine + [d for d in known if d not in mine] if user.may("close") else mine or known

    @route("GET", "/inbox")
    def inbox(request: Request) -> Response:
        user = needs(request)
        departments = departments_of(user)
        department = request.query_params.get("department") or (
            departments[0] if departments else ""
        )
        items: list[dict[str, Any]] = []
        if department:
            with lock:
                items = archive.followup(department=department, clearance=user.clearance)
            items = [i for i in items if i.get("department") == department]
            items.sort(key=lambda i: (-(i.get("days_late") or 0), i.get("due") or ""))
            for i in items:
                i.setdefault("days_late", 0)
        targets = [d for d in archive.settings.followup.departments if d != department]
        return page(
            request,
            "inbox.html",
            department=department,
            departments=departments,
            targets=targets,
            items=items,
        )

    @route("POST", "/inbox/{referral_id}/answer")
    async def inbox_answer(request: Request, referral_id: str) -> Response:
        user = needs(request, "answer")
        form = await form_of(request)
        department = str(form.get("department") or "")
        reply = str(form.get("reply") or "").strip()
        upload = form.get("file")
        if not reply and isinstance(upload, UploadFile) and upload.filename:
            result = ingest_scans(user, [upload], department=department or None)
            done = result["ingested"] or [
                {"id": d["id"]} for d in result["duplicates"] if d.get("id")
            ]
            if not done:
                reason = result["quarantined"][0]["reason"] if result["quarantined"] else "—"
                raise DocArchiveError(reason)
            reply = done[0]["id"]
        if not reply:
            raise DocArchiveError(words(lang_of(request))["required"])
        with lock:
            archive.answer(referral_id, reply, clearance=user.clearance, actor=user.name)
        return RedirectResponse("/inbox?" + urlencode({"department": department}), status_code=303)

    @route("POST", "/inbox/{referral_id}/refer")
    async def inbox_refer(request: Request, referral_id: str) -> Response:
        user = needs(request, "refer")
        form = await form_of(request)
        department = str(form.get("department") or "")
        with lock:
            archive.refer(
                referral_id,
                [str(form.get("to") or "")],
                str(form.get("instruction") or "")[:10_000],
                clearance=user.clearance,
                actor=user.name,
            )
        return RedirectResponse("/inbox?" + urlencode({"department": department}), status_code=303)

    # -- follow-up, register --------------------------------------------------------------------

    @route("GET", "/followup")
    def followup(request: Request) -> Response:
        user = needs(request)
        with lock:
            items = archive.followup(clearance=user.clearance)
        counts: dict[str, list[int]] = {}
        for i in items:
            row = counts.setdefault(str(i.get("department")), [0, 0])
            row[0] += 1
            row[1] += 1 if (i.get("days_late") or 0) > 0 else 0
        rows = sorted(
            ((d, o, late) for d, (o, late) in counts.items()), key=lambda r: (-r[2], -r[1], r[0])
        )
        t = words(lang_of(request))
        chart = department_bars(
            rows, open_label=t["open"], late_label=t["overdue"], rtl=lang_of(request) == "ar"
        )
        return page(request, "followup.html", rows=rows, chart=Markup(chart))

    @route("GET", "/followup/report.{fmt}")
    def followup_report(request: Request, fmt: str) -> Response:
        user = needs(request)
        if fmt not in ("pdf", "docx"):
            raise _Gone
        with lock:
            data = archive.report("overdue", format=fmt, clearance=user.clearance)
        kind = (
            "application/pdf"
            if fmt == "pdf"
            else ("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        )
        return Response(
            data,
            media_type=kind,
            headers={"content-disposition": f'attachment; filename="overdue.{fmt}"'},
        )

    @route("GET", "/register/{series}")
    def register(request: Request, series: str) -> Response:
        needs(request)
        year = _int(request.query_params.get("year"), date.today().year, 1900, 9999)
        with lock:
            entries = archive.register(series, year)
        return page(request, "register.html", series=series, year=year, entries=entries)

    # -- the public check page ----------------------------------------------------------------

    @route("GET", "/check/{code}")
    def check(request: Request, code: str) -> Response:
        with lock:
            found = archive.check_code(code[:200], clearance=max(Classification))
        shown = found.public()
        return page(request, "check.html", found=shown, user=None)


# -- helpers ------------------------------------------------------------------------------------


def _cookie(request: Request, response: Response, name: str, value: str, *, max_age: int) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def _local(target: str | None) -> str:
    """Only a path of this site to go back to (never another site: no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(value or default), low), high)
    except ValueError:
        return default


def _marked(snippet: str) -> Markup:
    """A snippet with only its ``<mark>`` kept as markup: everything else escaped."""
    escaped = html.escape(snippet or "")
    return Markup(escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))


def _file_keys(record: Record) -> dict[str, Any]:
    """A record's files by a key for links: the role, then ``role:N`` for more of one role."""
    keys: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for f in record.files:
        n = seen.get(f.role, 0)
        seen[f.role] = n + 1
        keys[f.role if n == 0 else f"{f.role}:{n}"] = f
    return keys


def _file_view(f: Any) -> dict[str, Any]:
    return {"name": f.name, "role": f.role, "media_type": f.media_type, "size": f.size}


def _thumb_source(record: Record) -> Any:
    """The file a thumbnail is made from: the PDF rendition, else a PDF or image original."""
    for role in ("rendition", "original"):
        for f in record.files:
            if f.role == role and (
                f.media_type == "application/pdf" or f.media_type.startswith("image/")
            ):
                return f
    return None


def _thumbnail(data: bytes, media_type: str) -> bytes:
    from PIL import Image

    if media_type == "application/pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
        try:
            first = pdf[0]
            scale = THUMB_WIDTH / max(first.get_width(), 1)
            image = first.render(scale=scale).to_pil()
        finally:
            pdf.close()
    else:
        with Image.open(io.BytesIO(data)) as opened:
            opened.seek(0)
            image = opened.convert("RGB")
            image.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG", optimize=True)
    return out.getvalue()


def _with_depth(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The referral chain in order, each with its depth (director → department → division)."""
    by_parent: dict[Any, list[dict[str, Any]]] = {}
    ids = {i["id"] for i in items}
    for i in items:
        by_parent.setdefault(i["parent_id"] if i["parent_id"] in ids else None, []).append(i)
    out: list[dict[str, Any]] = []

    def walk(parent: Any, depth: int) -> Iterator[None]:
        for i in by_parent.get(parent, []):
            out.append({**i, "depth": depth})
            yield from walk(i["id"], depth + 1)

    for _ in walk(None, 0):
        pass
    return out


def _data_of(
    fields: list[dict[str, Any]], values: dict[str, str], t: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The document's data from the form, and a message for each field that is wrong."""
    data: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for f in fields:
        name, raw = f["name"], values.get(f["name"], "").strip()
        if not raw:
            if f["required"]:
                problems[name] = t["required"]
            continue
        value: Any
        if f["shape"] == "lines":
            value = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f["shape"] == "json":
            try:
                value = json.loads(raw)
            except ValueError as exc:
                problems[name] = f"JSON: {exc}"
                continue
        else:
            value = int(raw) if INTEGER.fullmatch(raw) else raw
        target = data
        *parents, last = name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return data, problems
