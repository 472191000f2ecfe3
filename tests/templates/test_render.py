"""Rendering DOCX templates: right-to-left Arabic, sandboxing, and broken templates."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn

from docarchive import Limits, MissingFieldError, TemplateError
from docarchive.templates import builtin_templates, docx_text, render_docx

W_RTL = qn("w:rtl")


def _render(data: dict[str, Any], **extra: Any) -> bytes:
    context = {
        "ministry": "وزارة التخطيط",
        "office": "مكتب الوزير",
        "number": "م.و/ت/7/2026",
        "date": "2026/11/22",
        **data,
        **extra,
    }
    return render_docx(builtin_templates()["circular"], context, Limits())


def test_circular_renders_right_to_left(circular_data):
    doc = Document(io.BytesIO(_render(circular_data)))
    texts = [p.text for p in doc.paragraphs]
    assert "العدد: م.و/ت/7/2026" in texts
    assert f"م/ {circular_data['subject']}" in texts
    # body paragraphs in order, each its own paragraph, loops and tags gone
    body = [texts.index(b) for b in circular_data["body"]]
    assert body == sorted(body)
    assert not any("{%" in t or "{{" in t for t in texts)
    for paragraph in doc.paragraphs:
        if not paragraph.text.strip():
            continue
        ppr = paragraph._p.pPr
        assert ppr is not None and ppr.find(qn("w:bidi")) is not None, paragraph.text
        # jc=right would render left-aligned in LibreOffice's bidi paragraphs
        jc = ppr.find(qn("w:jc"))
        assert jc is None or jc.get(qn("w:val")) == "center"
        for run in paragraph.runs:
            rpr = run._r.rPr
            assert rpr.find(W_RTL) is not None
            assert rpr.find(qn("w:rFonts")).get(qn("w:cs"))
            assert rpr.find(qn("w:szCs")) is not None


def test_copies_and_references_are_optional(circular_data):
    text = docx_text(_render(dict(circular_data, copies=[], references=[])))
    assert "نسخة منه إلى" not in text and "المراجع" not in text
    text = docx_text(_render(circular_data))
    assert "نسخة منه إلى" in text and "الإضبارة العامة" in text


def test_missing_field_is_named(circular_data):
    data = {k: v for k, v in circular_data.items() if k != "body"}
    with pytest.raises(MissingFieldError, match="template 'circular.docx' needs the field 'body'"):
        _render(data)


def _user_template(tmp_path: Path, *paragraphs: str) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    path = tmp_path / "user.docx"
    doc.save(str(path))
    return path


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ name.__class__.__base__.__subclasses__() }}",
    ],
)
def test_templates_render_in_a_sandbox(tmp_path: Path, attack: str):
    path = _user_template(tmp_path, "الاسم: {{ name }}", attack)
    with pytest.raises(TemplateError, match="user.docx: refused by the template sandbox"):
        render_docx(path, {"name": "علي"}, Limits())


def test_user_template_with_a_loop(tmp_path: Path):
    path = _user_template(tmp_path, "إلى/ {{ to }}", "{% for x in items %}{{ x }}، {% endfor %}")
    text = docx_text(render_docx(path, {"to": "قسم العقود", "items": ["أ", "ب"]}, Limits()))
    assert "إلى/ قسم العقود" in text and "أ، ب،" in text


def test_broken_templates_get_one_line(tmp_path: Path):
    not_zip = tmp_path / "not_zip.docx"
    not_zip.write_bytes(b"this is plain text")
    with pytest.raises(TemplateError, match=r"not_zip.docx: not a .docx file \(not a zip"):
        render_docx(not_zip, {}, Limits())
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(_user_template(tmp_path, "x").read_bytes()[:500])
    with pytest.raises(TemplateError, match="truncated.docx: broken .docx file"):
        render_docx(truncated, {}, Limits())
    other_zip = tmp_path / "other.docx"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(TemplateError, match="no word/document.xml"):
        render_docx(other_zip, {}, Limits())
    bad_syntax = _user_template(tmp_path, "{{ name ")
    with pytest.raises(TemplateError, match="template syntax error"):
        render_docx(bad_syntax, {}, Limits())


def test_zip_bombs_are_refused(tmp_path: Path):
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", "<w:document/>")
        zf.writestr("word/media/zeros.bin", b"\0" * (5 * 1024 * 1024))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(TemplateError, match="docx_member_bytes is .* over the limit"):
        render_docx(bomb, {}, Limits(docx_member_bytes=1024 * 1024))
    many = tmp_path / "many.docx"
    with zipfile.ZipFile(many, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
        for i in range(60):
            zf.writestr(f"word/m{i}.xml", "")
    with pytest.raises(TemplateError, match="docx_members is 61, over the limit of 50"):
        render_docx(many, {}, Limits(docx_members=50))
