"""The office's own templates: a templates folder that adds kinds and overrides built-ins."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from docx import Document
from tplhelpers import all_texts, example, png, user_template

from docarchive import Archive, MissingFieldError, TemplateError
from docarchive.templates import builtin_templates, docx_text


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """An archive whose docarchive.toml names a templates folder with the office's own."""
    root = tmp_path / "archive"
    Archive.open(root).close()
    settings = root / "docarchive.toml"
    settings.write_text(
        settings.read_text("utf-8") + '\n[templates]\nfolder = "templates"\n', encoding="utf-8"
    )
    folder = root / "templates"
    folder.mkdir()
    user_template(folder, "مذكرة داخلية إلى {{ to }}: {{ subject }}", name="memo.docx")
    user_template(folder, "تعميم المكتب: {{ subject }} {{ date }}", name="circular.docx")
    (folder / "~$memo.docx").write_bytes(b"Word's lock file")
    (folder / "logo.png").write_bytes(png(20, 20))
    return root


def test_office_templates_add_kinds_and_override_builtins(office: Path):
    with Archive.open(office) as archive:
        found = archive.templates()
        assert found["memo"] == office / "templates" / "memo.docx"
        assert found["circular"] == office / "templates" / "circular.docx"
        assert found["decision"] == builtin_templates()["decision"]
        assert not any(kind.startswith("~$") for kind in found)
        assert archive.template_fields("memo").needs == ("subject", "to")
        text = docx_text(archive.render("circular", {"subject": "الدوام", "date": "2026/11/22"}))
        assert text == "تعميم المكتب: الدوام 2026/11/22"
        with pytest.raises(MissingFieldError, match="'memo.docx' needs the field 'to'"):
            archive.render("memo", {"subject": "x"})
        with pytest.raises(TemplateError, match=r"unknown kind 'report' \(known: assignment, "):
            archive.render("report", {})
        with pytest.raises(TemplateError, match="nowhere.docx: no such template file"):
            archive.render("nowhere.docx", {})


def test_the_office_logo_goes_on_every_letterhead(office: Path):
    with Archive.open(office) as archive:
        decision = archive.render("decision", example("decision"))
        assert len(Document(io.BytesIO(decision)).inline_shapes) == 1
        record = archive.issue("decision", example("decision"))
        assert record.number and record.number in record.text
        plain = archive.render("decision", {**example("decision"), "logo": ""})
        assert len(Document(io.BytesIO(plain)).inline_shapes) == 0


def test_render_keeps_a_drafts_number_and_date_issue_sets_them(tmp_path: Path):
    with Archive.open(tmp_path / "archive") as archive:
        data = example("circular")
        draft = docx_text(archive.render("circular", data))
        assert f"العدد: {data['number']}" in draft and "التاريخ: 2026/11/22" in draft
        blank = {k: v for k, v in data.items() if k not in ("number", "date")}
        texts = all_texts(archive.render("circular", blank))
        assert "العدد: " in texts  # a draft has no number yet
        assert f"التاريخ: {archive.now():%Y/%m/%d}" in texts
        record = archive.issue("circular", data)
        assert record.number != data["number"] and f"العدد: {record.number}" in record.text


def test_cli_lists_templates_with_their_fields(
    office: Path, cli: Callable[..., subprocess.CompletedProcess[str]]
):
    listed = json.loads(cli("templates", "list", "--json", root=office, check=True).stdout)
    assert set(listed) >= {"circular", "decision", "assignment", "letter_en", "memo"}
    assert listed["memo"]["needs"] == ["subject", "to"]
    assert listed["memo"]["path"].endswith("templates/memo.docx")
    assert listed["decision"]["needs"] == [
        "articles",
        "preamble",
        "signatory.name",
        "signatory.title",
        "subject",
    ]
    assert "members" in listed["decision"]["optional"]
    text = cli("templates", "list", root=office, check=True).stdout
    assert "memo\t" in text and "  needs: subject, to" in text
    assert "  optional: copies, logo, members, signature" in text
