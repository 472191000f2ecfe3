# ruff: noqa: E501  (the signature table reads best one method a line)
"""The facade: Archive keeps exactly the public methods and signatures it had before it
was split into capabilities, and each method is its capability's own."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from docarchive import Archive
from docarchive.ingest.mailroom import MailIntake
from docarchive.search.service import Searching

# The public methods of Archive before the split (parameter names, kinds and defaults).
BEFORE = {
    "answer": "referral_id, reply, *clearance=None, *user=None, *actor=None",
    "blob": "sha256",
    "catch_up": "",
    "check_code": "code, *clearance=None",
    "close": "",
    "close_referral": "referral_id, reason, *cancel=False, *clearance=None, *user=None, *actor=None",
    "export": "ids=None, query=None, *dest, *clearance=None, *user=None",
    "followup": "*department=None, *overdue=False, *as_of=None, *clearance=None, *user=None",
    "get": "id_or_number, *clearance=None, *user=None",
    "import_bag": "path, *actor=None",
    "incoming": "*date_from=None, *date_to=None, *clearance=None, *user=None",
    "indexable": "records",
    "ingest_mail": "message, *classification=None, *actor=None",
    "ingest_mails": "sources, *since=None, *classification=None, *actor=None, *progress=None",
    "ingest_scan": "path, *subject=None, *sender=None, *department=None, *received=None, *classification=None, *stamp=True, *actor=None",
    "ingest_scans": "paths, *subject=None, *sender=None, *department=None, *received=None, *classification=None, *stamp=True, *actor=None, *progress=None",
    "init": "root, *storage=None, *catalog=None, *index=None, *actor=None",
    "issue": "kind, data, *classification=None, *actor=None",
    "issue_many": "kind, rows, *classification=None, *actor=None, *progress=None, *workers=None",
    "migrate": "to_storage, to_catalog, *progress=None, *actor=None",
    "now": "",
    "open": "root_or_settings=None, *clock=None, **overrides",
    "overdue": "*as_of=None, *department=None, *clearance=None, *user=None",
    "refer": "id_or_referral, departments, instruction, *due=None, *priority=None, *kind='referral', *clearance=None, *user=None, *actor=None",
    "referral": "referral_id, *clearance=None, *user=None",
    "referrals": "record_id, *clearance=None, *user=None",
    "register": "series, year=None",
    "reindex": "",
    "render": "template, data, *format='docx', *image_dir=None",
    "report": "which, *format='docx', *as_of=None, *department=None, *date_from=None, *date_to=None, *clearance=None, *user=None",
    "search": "query, *kind=None, *office=None, *sender=None, *date_from=None, *date_to=None, *sort='relevance', *page=1, *page_size=10, *clearance=None, *user=None",
    "template_fields": "template",
    "templates": "",
    "thread": "record_id, *clearance=None",
    "verify": "*strict=False",
    "void": "number, reason, *actor=None",
    "void_interrupted": "*older_than_s=None, *actor=None",
}

# Keyword-only parameters added since, each with a default, so every call that worked
# before still does (DESIGN.md: extend, never change).
ADDED = {
    "ingest_mails": "*follow_links=False",  # issue 19
    "ingest_scan": "*follow_links=False",  # issue 19
    "ingest_scans": "*follow_links=False",  # issue 19
    "init": "*group=None, *group_access=None",  # issue 19
    "verify": "*fix_permissions=False",  # issue 19
}


def _shape(obj: object) -> str:
    params = []
    for p in inspect.signature(obj).parameters.values():  # type: ignore[arg-type]
        if p.name == "self":
            continue
        default = "" if p.default is inspect.Parameter.empty else f"={p.default!r}"
        prefix = {inspect.Parameter.KEYWORD_ONLY: "*", inspect.Parameter.VAR_KEYWORD: "**"}
        params.append(prefix.get(p.kind, "") + p.name + default)
    return ", ".join(params)


def test_public_methods_and_signatures_unchanged() -> None:
    public = {
        name
        for name in dir(Archive)
        if not name.startswith("_") and callable(getattr(Archive, name))
    }
    assert set(BEFORE) <= public
    for name, shape in BEFORE.items():
        expected = ", ".join(part for part in (shape, ADDED.get(name, "")) if part)
        assert _shape(getattr(Archive, name)) == expected, name


def test_every_public_method_is_documented() -> None:
    for name in BEFORE:
        assert (getattr(Archive, name).__doc__ or "").strip() or name in {"close"}, name


def test_a_method_is_its_capabilitys_own(tmp_path: Path) -> None:
    assert Archive.search is Searching.search
    assert Archive.thread is MailIntake.thread
    with Archive.open(tmp_path / "a") as archive:
        bound = archive.search
        assert bound.__self__ is archive._searching  # type: ignore[attr-defined]
        assert bound.__func__ is Searching.search  # type: ignore[attr-defined]
        # the capabilities share one core: one set of backends
        assert archive._scans.core is archive._mail.core is archive.core
        assert archive.catalog is archive.core.catalog


def test_an_unknown_attribute_is_still_an_attribute_error(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a") as archive, pytest.raises(AttributeError):
        archive.no_such_method  # noqa: B018
