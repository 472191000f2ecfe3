"""Templates that link to files or URLs outside them: refused, and stripped before LibreOffice.

The hostile templates are real .docx files, made with python-docx and edited the way
Word writes such references. A small HTTP server on 127.0.0.1 stands for the outside
world: whatever the conversion fetches, it records.
"""

from __future__ import annotations

import http.server
import io
import logging
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from tplhelpers import KINDS, example, pdf_text, png, render_kind

from docarchive import Archive, Limits, TemplateError
from docarchive.templates import (
    PdfConverter,
    builtin_templates,
    docx_text,
    find_external,
    render_docx,
    template_fields,
)
from docarchive.templates.external import strip_external

SUBJECT = {"subject": "الدوام الرسمي"}
PASSWD = "file:///etc/passwd"
REFUSED_FIELD = "a template may not include files or links: remove the field"
REFUSED_LINK = "a template may not link to anything outside it"
ATTACHED_TEMPLATE = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"
)


# -- the outside world ------------------------------------------------------------------------


@dataclass
class Server:
    """An HTTP server on 127.0.0.1 that answers every GET with a PNG and records its path."""

    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    body = png(16, 16, (200, 0, 0))
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", seen)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# -- hostile templates, written the way Word writes them -------------------------------------


def _save(doc: Any, path: Path) -> Path:
    doc.save(str(path))
    return path


def _template() -> Any:
    doc = Document()
    doc.add_paragraph("موضوع الكتاب: {{ subject }}")
    return doc


def linked_picture(path: Path, url: str, *, where: str = "body", via: str = "image") -> Path:
    """A picture whose ``a:blip`` is ``r:link``-ed to ``url`` (nothing embedded).

    ``where``: body or header; ``via``: an external image relationship, or an external
    hyperlink relationship (which LibreOffice follows as a picture all the same).
    """
    doc = _template()
    story = doc.sections[0].header if where == "header" else doc
    story.paragraphs[0].add_run().add_picture(io.BytesIO(png()))
    rid = story.part.relate_to(url, RT.IMAGE if via == "image" else RT.HYPERLINK, True)
    blip = story.part.element.xpath(".//a:blip")[0]
    del blip.attrib[qn("r:embed")]
    blip.set(qn("r:link"), rid)
    return _save(doc, path)


def field_template(path: Path, *instruction: str, simple: bool = False) -> Path:
    """A field with ``instruction`` (split over runs, one per argument) and a cached result."""
    doc = _template()
    p = doc.add_paragraph("الملحق: ")._p
    if simple:
        instr = quoteattr("".join(instruction))
        p.append(
            parse_xml(f"<w:fldSimple {nsdecls('w')} w:instr={instr}>{_run('cached')}</w:fldSimple>")
        )
        return _save(doc, path)
    p.append(parse_xml(f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="begin"/></w:r>'))
    for part in instruction:
        p.append(
            parse_xml(
                f'<w:r {nsdecls("w")}><w:instrText xml:space="preserve">{escape(part)}'
                "</w:instrText></w:r>"
            )
        )
    p.append(parse_xml(f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="separate"/></w:r>'))
    p.append(parse_xml(_run("cached")))
    p.append(parse_xml(f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="end"/></w:r>'))
    return _save(doc, path)


def _run(text: str) -> str:
    return f'<w:r {nsdecls("w")}><w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def nested_name(path: Path) -> Path:
    """``{ { QUOTE "INCLUDETEXT" } "file:///etc/passwd" }``: the field's name is computed."""
    doc = _template()
    p = doc.add_paragraph()._p
    runs = [
        ("fldChar", "begin"),
        ("fldChar", "begin"),
        ("instrText", ' QUOTE "INCLUDETEXT" '),
        ("fldChar", "separate"),
        ("t", "INCLUDETEXT"),
        ("fldChar", "end"),
        ("instrText", f' "{PASSWD}" '),
        ("fldChar", "separate"),
        ("t", "cached"),
        ("fldChar", "end"),
    ]
    for tag, value in runs:
        if tag == "fldChar":
            xml = f'<w:fldChar w:fldCharType="{value}"/>'
        else:
            xml = f'<w:{tag} xml:space="preserve">{escape(value)}</w:{tag}>'
        p.append(parse_xml(f"<w:r {nsdecls('w')}>{xml}</w:r>"))
    return _save(doc, path)


def alt_chunk(path: Path, url: str) -> Path:
    """An altChunk importing an HTML file that shows a picture from ``url``."""
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    doc = _template()
    html = f'<html><body><p>chunk</p><img src="{url}/chunk.png"></body></html>'.encode()
    part = Part(PackURI("/word/chunk1.html"), "text/html", html, doc.part.package)
    rid = doc.part.relate_to(part, RT.A_F_CHUNK)
    doc.element.body.insert(0, parse_xml(f'<w:altChunk {nsdecls("w", "r")} r:id="{rid}"/>'))
    return _save(doc, path)


def attached_template(path: Path) -> Path:
    """What Word writes in a document made from a .dotx: settings name the template file."""
    doc = _template()
    settings = doc.part._settings_part
    rid = settings.relate_to(
        "file:///C:/Users/clerk/Templates/Letterhead.dotx", ATTACHED_TEMPLATE, True
    )
    settings.element.insert(0, parse_xml(f'<w:attachedTemplate {nsdecls("w", "r")} r:id="{rid}"/>'))
    return _save(doc, path)


def with_hyperlink(path: Path, url: str) -> Path:
    """A plain hyperlink, a HYPERLINK field and a PAGE field: nothing is fetched for these."""
    doc = _template()
    p = doc.add_paragraph("الموقع: ")
    rid = doc.part.relate_to(url, RT.HYPERLINK, True)
    p._p.append(
        parse_xml(f'<w:hyperlink {nsdecls("w", "r")} r:id="{rid}">{_run(url)}</w:hyperlink>')
    )
    p._p.append(
        parse_xml(
            f'<w:fldSimple {nsdecls("w")} w:instr=" HYPERLINK &quot;{url}&quot; ">'
            f"{_run('الموقع')}</w:fldSimple>"
        )
    )
    p._p.append(
        parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE ">{_run("1")}</w:fldSimple>')
    )
    return _save(doc, path)


def _part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def _rels(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "\n".join(zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".rels"))


# -- refused in templates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "via", "message"),
    [
        ("body", "image", r"word/document\.xml: a linked picture to {url}/x\.png; "),
        ("header", "image", r"word/header1\.xml: a linked picture to {url}/x\.png; "),
        (
            "body",
            "hyperlink",
            r"word/document\.xml: a hyperlink to {url}/x\.png used as the source of "
            r"<a:blip r:link>; ",
        ),
    ],
    ids=["body", "header", "hyperlink-as-picture"],
)
def test_a_linked_picture_is_refused_naming_the_template(
    tmp_path: Path, server: Server, where: str, via: str, message: str
):
    path = linked_picture(tmp_path / "memo.docx", f"{server.url}/x.png", where=where, via=via)
    expected = "^memo\\.docx: refused: " + message.format(url=server.url) + REFUSED_LINK
    with pytest.raises(TemplateError, match=expected):
        template_fields(path)
    with pytest.raises(TemplateError, match=expected):
        render_docx(path, SUBJECT, Limits())
    # the message only: nothing is converted here; that the conversion fetches nothing is
    # test_the_converter_fetches_nothing_a_document_links_to


@pytest.mark.parametrize(
    ("instruction", "simple", "shown"),
    [
        ((f' INCLUDETEXT "{PASSWD}" ',), False, f'INCLUDETEXT "{PASSWD}"'),
        ((" INCLUDE", f'TEXT "{PASSWD}" \\* MERGEFORMAT'), False, f'INCLUDETEXT "{PASSWD}"'),
        ((f' includepicture "{PASSWD}" \\d',), True, f'includepicture "{PASSWD}" \\d'),
        ((' INCLUDEPICTURE "http://127.0.0.1:9/x.png" ',), False, "INCLUDEPICTURE"),
        ((' DDEAUTO c:\\\\Windows\\\\System32\\\\cmd.exe "/c calc" ',), False, "DDEAUTO"),
        ((f' LINK Word.Document.12 "{PASSWD}" "" \\a ',), True, "LINK Word.Document.12"),
    ],
    ids=["includetext", "split-over-runs", "lowercase-simple", "includepicture", "ddeauto", "link"],
)
def test_fields_that_include_files_or_links_are_refused(
    tmp_path: Path, instruction: tuple[str, ...], simple: bool, shown: str
):
    path = field_template(tmp_path / "circular.docx", *instruction, simple=simple)
    with pytest.raises(TemplateError) as raised:
        render_docx(path, SUBJECT, Limits())
    message = str(raised.value)
    assert message.startswith(f"circular.docx: refused: word/document.xml: field {shown}")
    assert message.endswith(REFUSED_FIELD)
    assert "\n" not in message


def test_a_field_whose_name_comes_from_a_nested_field_is_refused(tmp_path: Path):
    path = nested_name(tmp_path / "memo.docx")
    with pytest.raises(TemplateError, match=r"^memo\.docx: refused: .* \(and 1 more\); "):
        template_fields(path)
    # the inner QUOTE names a dangerous field too: any such token is refused
    assert [str(ref) for ref in find_external(path.read_bytes())] == [
        'word/document.xml: field QUOTE "INCLUDETEXT"',
        f'word/document.xml: a field whose name comes from a nested field: "{PASSWD}"',
    ]


def test_an_alt_chunk_is_refused(tmp_path: Path, server: Server):
    path = alt_chunk(tmp_path / "memo.docx", server.url)
    with pytest.raises(
        TemplateError,
        match=r"memo\.docx: refused: word/document\.xml: an altChunk importing chunk1\.html; "
        "a template may not import other files: paste their content instead",
    ):
        render_docx(path, SUBJECT, Limits())


def test_a_template_that_writes_a_field_with_jinja_is_refused_after_rendering(tmp_path: Path):
    doc = Document()
    doc.add_paragraph(
        "{{ \"</w:t></w:r><w:fldSimple w:instr='INCLUDETEXT file:///etc/passwd'><w:r><w:t>x"
        '</w:t></w:r></w:fldSimple><w:r><w:t>"|safe }}'
    )
    path = _save(doc, tmp_path / "memo.docx")
    assert template_fields(path).required == ()  # the template itself has no field
    with pytest.raises(
        TemplateError,
        match="^memo.docx: refused after rendering: word/document.xml: field INCLUDETEXT "
        "file:///etc/passwd; ",
    ):
        render_docx(path, {}, Limits())


def test_the_refusal_counts_the_other_references(tmp_path: Path, server: Server):
    doc = Document()
    for n in range(3):
        doc.add_paragraph().add_run().add_picture(io.BytesIO(png()))
        rid = doc.part.relate_to(f"{server.url}/{n}.png", RT.IMAGE, True)
        blip = doc.element.body.xpath(".//a:blip")[n]
        blip.set(qn("r:link"), rid)  # linked and embedded: Word's "Insert and Link"
    path = _save(doc, tmp_path / "memo.docx")
    with pytest.raises(TemplateError, match=r"/0\.png \(and 2 more\); "):
        render_docx(path, {}, Limits())


def test_a_doctype_is_refused(tmp_path: Path):
    doc = Document()
    doc.add_paragraph("ENTITY_HERE")
    data = io.BytesIO()
    doc.save(data)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data.getvalue())) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            content = zin.read(info)
            if info.filename == "word/document.xml":
                head, _, rest = content.partition(b"?>")
                content = head + b'?><!DOCTYPE w:document [<!ENTITY e "text">]>' + rest
                content = content.replace(b"ENTITY_HERE", b"&e;")
            zout.writestr(info, content)
    with pytest.raises(
        TemplateError, match=r"^memo\.docx: refused: word/document\.xml: an XML DOCTYPE; "
    ):
        render_docx(out.getvalue(), {}, Limits(), name="memo.docx")


# -- kept or stripped -------------------------------------------------------------------------


def test_an_attached_template_is_stripped_and_the_template_renders(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = attached_template(tmp_path / "memo.docx")
    assert "Letterhead.dotx" in _rels(path.read_bytes())
    [found] = find_external(path.read_bytes())
    assert str(found) == (
        "word/settings.xml: an attached template to "
        "file:///C:/Users/clerk/Templates/Letterhead.dotx"
    )
    with caplog.at_level(logging.INFO, logger="docarchive.templates.external"):
        out = render_docx(path, SUBJECT, Limits())
    assert docx_text(out) == "موضوع الكتاب: الدوام الرسمي"
    assert "Letterhead.dotx" not in _rels(out)
    assert b"attachedTemplate" not in _part(out, "word/settings.xml")
    assert find_external(out) == []
    assert "memo.docx: stripped word/settings.xml: an attached template" in caplog.text


def test_hyperlinks_and_ordinary_fields_are_kept(tmp_path: Path, server: Server):
    path = with_hyperlink(tmp_path / "letter.docx", f"{server.url}/page")
    assert find_external(path.read_bytes()) == []
    out = render_docx(path, SUBJECT, Limits())
    assert f"{server.url}/page" in _rels(out)
    body = _part(out, "word/document.xml").decode("utf-8")
    assert "HYPERLINK" in body and "PAGE" in body and "<w:hyperlink" in body


@pytest.mark.parametrize("kind", [*KINDS, "report_overdue"])
def test_builtin_templates_pass_unchanged(kind: str):
    template = builtin_templates()[kind].read_bytes()
    assert find_external(template) == []
    assert strip_external(template, kind) is template  # not even rewritten
    if kind in KINDS:
        rendered = render_kind(kind)
        assert strip_external(rendered, kind) is rendered


def test_strip_removes_every_reference_and_keeps_field_results(tmp_path: Path, server: Server):
    data = field_template(tmp_path / "a.docx", f' INCLUDETEXT "{PASSWD}" ').read_bytes()
    hostile = [
        data,
        field_template(tmp_path / "b.docx", f"INCLUDEPICTURE {server.url}/x.png", simple=True),
        linked_picture(tmp_path / "c.docx", f"{server.url}/x.png", where="header"),
        linked_picture(tmp_path / "d.docx", f"{server.url}/x.png", via="hyperlink"),
        alt_chunk(tmp_path / "e.docx", server.url),
        nested_name(tmp_path / "f.docx"),
    ]
    for item in hostile:
        source = item if isinstance(item, bytes) else item.read_bytes()
        assert find_external(source) != []
        stripped = strip_external(source, "doc")
        assert find_external(stripped) == []
        assert b"r:link" not in _part(stripped, "word/document.xml")
        text = docx_text(stripped)
        assert text.startswith("موضوع الكتاب: {{ subject }}")
        if "cached" in docx_text(source):
            assert "cached" in text  # a field's last result stays, as plain text
    body = _part(strip_external(data, "doc"), "word/document.xml")
    assert b"passwd" not in body and b"instrText" not in body and b"fldChar" not in body


# -- nothing is fetched on the way to the PDF -------------------------------------------------


@pytest.mark.official_pdf
def test_the_converter_fetches_nothing_a_document_links_to(
    tmp_path: Path, server: Server, caplog: pytest.LogCaptureFixture
):
    docs = [
        linked_picture(tmp_path / "body.docx", f"{server.url}/body.png"),
        linked_picture(tmp_path / "header.docx", f"{server.url}/header.png", where="header"),
        linked_picture(tmp_path / "hyperlink.docx", f"{server.url}/hl.png", via="hyperlink"),
        field_template(tmp_path / "pic.docx", f' INCLUDEPICTURE "{server.url}/f.png" \\d '),
        field_template(tmp_path / "text.docx", f' INCLUDETEXT "{PASSWD}" '),
    ]
    with PdfConverter() as converter, caplog.at_level(logging.WARNING):
        pdfs = converter.convert([p.read_bytes() for p in docs], [p.name for p in docs])
    assert server.requests == []
    assert all(pdf.startswith(b"%PDF") for pdf in pdfs)
    assert "body.docx: stripped before conversion: word/document.xml: a linked picture" in (
        caplog.text
    )
    passwd = Path("/etc/passwd").read_text("utf-8").split(":", 1)[0]  # "root"
    text = tmp_path / "text.pdf"
    text.write_bytes(pdfs[-1])
    assert "cached" in pdf_text(text) and passwd + ":x:" not in pdf_text(text)


@pytest.mark.official_pdf
def test_libreoffice_alone_would_fetch_the_linked_picture(tmp_path: Path, server: Server):
    """The control for the test above: without the strip, LibreOffice fetches the picture."""
    data = linked_picture(tmp_path / "body.docx", f"{server.url}/body.png").read_bytes()
    with PdfConverter() as converter:
        converter._run([data], ["body.docx"], None)  # the bare LibreOffice run
    assert server.requests == ["/body.png"]


@pytest.fixture
def office(tmp_path: Path, server: Server) -> Path:
    """An archive whose own circular template has a picture linked to the server."""
    root = tmp_path / "archive"
    Archive.open(root).close()
    settings = root / "docarchive.toml"
    settings.write_text(
        settings.read_text("utf-8") + '\n[templates]\nfolder = "templates"\n', encoding="utf-8"
    )
    (root / "templates").mkdir()
    linked_picture(root / "templates" / "circular.docx", f"{server.url}/circular.png")
    return root


@pytest.mark.official_pdf
def test_issuing_from_a_hostile_office_template_fetches_nothing_and_costs_no_number(
    office: Path, server: Server
):
    refused = (
        rf"^circular\.docx: refused: word/document\.xml: a linked picture to {server.url}/circular"
    )
    with Archive.open(office) as archive:
        with pytest.raises(TemplateError, match=refused):
            archive.issue("circular", SUBJECT)
        with pytest.raises(TemplateError, match=refused):
            archive.render("circular", SUBJECT, format="pdf")
        assert archive.register("circular") == []
        record = archive.issue("decision", _decision())
        assert [f.role for f in record.files] == ["original", "rendition"]
    assert server.requests == []


def _decision() -> dict[str, Any]:
    data = example("decision")
    return {k: v for k, v in data.items() if k not in ("number", "date")}


# -- bypasses and limits ----------------------------------------------------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _docx(*, body: str = "", parts: dict[str, bytes] | None = None, document: bytes = b"") -> bytes:
    """A python-docx document with ``body`` (WordprocessingML) before its sectPr, ``document``
    instead of its document.xml, and the extra or replaced zip members ``parts``."""
    data = io.BytesIO()
    _template().save(data)
    parts = dict(parts or {})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data.getvalue())) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            content = parts.pop(info.filename, None) or zin.read(info)
            if info.filename == "word/document.xml":
                if document:
                    content = document
                elif body:
                    head, sep, tail = content.partition(b"<w:sectPr")
                    content = head + body.encode("utf-8") + sep + tail
            zout.writestr(info, content)
        for name, content in parts.items():
            zout.writestr(name, content)
    return out.getvalue()


def _fld(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def _instr(text: str, tag: str = "instrText") -> str:
    return f'<w:r><w:{tag} xml:space="preserve">{escape(text)}</w:{tag}></w:r>'


def _field(*pieces: str) -> str:
    instruction = "".join(pieces)
    result = f"{_fld('separate')}{_run('cached')}{_fld('end')}"
    return f"<w:p>{_fld('begin')}{instruction}{result}</w:p>"


def _kinds(data: bytes) -> list[str]:
    return [ref.kind for ref in find_external(data)]


@pytest.mark.parametrize(
    "body",
    [
        f"<w:p>{_fld('begin') * 200_000}</w:p>",  # nested as deep as it goes
        "<w:p>" + (_fld("begin") + _instr(" PAGE ") + _fld("end")) * 110_000 + "</w:p>",
    ],
    ids=["nested", "many"],
)
def test_fields_beyond_the_limits_are_refused_quickly(body: str):
    data = _docx(body=body)
    started = time.monotonic()
    [ref] = find_external(data)
    assert ref.kind == "limit"
    with pytest.raises(TemplateError, match=r"^doc: refused: word/document\.xml: (more than|fi)"):
        strip_external(data, "doc")
    assert time.monotonic() - started < 60  # was quadratic: many minutes and gigabytes


def test_stripping_many_fields_is_linear():
    simple = f'<w:fldSimple w:instr=" INCLUDETEXT {PASSWD} ">{_run("cached")}</w:fldSimple>'
    nested = _field(_instr(" QUOTE "), *[_fld("begin"), _instr(" PAGE "), _fld("end")] * 30)
    data = _docx(body=f"<w:p>{simple * 40_000}</w:p>" + nested * 300)
    started = time.monotonic()
    stripped = strip_external(data, "doc")
    assert time.monotonic() - started < 60  # quadratic took many minutes
    assert find_external(stripped) == []
    assert docx_text(stripped).count("cached") == 40_300


@pytest.mark.parametrize(
    "encode",
    [
        lambda xml: xml.encode("utf-16-le"),  # no byte order mark
        lambda xml: b" " * 300 + xml.encode("utf-8"),  # the declaration past the head
        lambda xml: xml.replace("UTF-8", "UTF-16", 1).encode("utf-16"),
    ],
    ids=["utf16le-without-bom", "declaration-pushed-away", "utf16-with-bom"],
)
def test_parts_in_other_encodings_are_read(encode: Any):
    data = _docx(body=_field(_instr(f' INCLUDETEXT "{PASSWD}" ')))
    xml = _part(data, "word/document.xml").decode("utf-8")
    refs = find_external(_docx(document=encode(xml)))
    assert refs and refs[0].part == "word/document.xml"
    assert refs[0].kind in ("field", "broken")  # refused either way


@pytest.mark.parametrize(
    "body",
    [
        _field(_instr(f'"INCLUDETEXT" "{PASSWD}"')),
        _field(_instr(f"'INCLUDETEXT' {PASSWD}")),
        _field(
            f'<mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="w">{_instr(" QUOTE ")}'
            f"</mc:Choice><mc:Fallback>{_instr(f' INCLUDETEXT {PASSWD!r} ')}</mc:Fallback>"
            "</mc:AlternateContent>"
        ),
        _field(  # INCLUDE, then TEXT in one branch only: joined, the name is INCLUDEQUOTETEXT
            _instr(" INCLUDE"),
            f'<mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="w">{_instr("QUOTE")}'
            f"</mc:Choice><mc:Fallback>{_instr('')}</mc:Fallback></mc:AlternateContent>",
            _instr(f'TEXT "{PASSWD}"'),
        ),
        _field(_instr(" QUOTE ", "delInstrText"), _instr(f' INCLUDETEXT "{PASSWD}" ')),
        _field(_instr(" INCLUDE"), _instr("X", "delInstrText"), _instr(f'TEXT "{PASSWD}"')),
        _field(  # { I{ QUOTE "NCLUDETEXT" } "file:///etc/passwd" }
            _instr(" I"),
            _fld("begin"),
            _instr(' QUOTE "NCLUDETEXT" '),
            _fld("separate"),
            _run("NCLUDETEXT"),
            _fld("end"),
            _instr(f' "{PASSWD}" '),
        ),
    ],
    ids=[
        "quoted-name",
        "single-quoted-name",
        "alternate-content",
        "name-across-alternate-content",
        "del-instr-text",
        "name-across-del-instr-text",
        "computed-name-after-a-letter",
    ],
)
def test_field_names_hidden_from_a_naive_reading_are_refused(body: str):
    data = _docx(body=body)
    assert "field" in _kinds(data)
    with pytest.raises(TemplateError, match=REFUSED_FIELD):
        render_docx(data, SUBJECT, Limits(), name="memo.docx")
    stripped = strip_external(data, "doc")
    assert find_external(stripped) == [] and "cached" in docx_text(stripped)


def test_fields_that_merely_mention_a_dangerous_name_are_refused_too():
    """The price of refusing every token: false positives, on odd templates only."""
    assert _kinds(_docx(body=_field(_instr(' QUOTE "LINK" ')))) == ["field"]
    assert _kinds(_docx(body=_field(_instr(' QUOTE "a link" ')))) == ["field"]
    assert _kinds(_docx(body=_field(_instr(' QUOTE "linked" ')))) == []


def test_a_header_stored_under_another_name_is_read():
    base = _docx()
    header = _docx(body=_field(_instr(f' INCLUDETEXT "{PASSWD}" ')))
    xml = _part(header, "word/document.xml")  # any XML: the field is what counts
    rels = _part(base, "word/_rels/document.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rIdX" Target="footer1.bin" Type="http://schemas.openxmlformats.org'
        b'/officeDocument/2006/relationships/footer"/></Relationships>',
    )
    types = _part(base, "[Content_Types].xml").replace(
        b"</Types>", b'<Default Extension="bin" ContentType="application/octet-stream"/></Types>'
    )
    data = _docx(
        parts={
            "word/footer1.bin": xml,
            "word/_rels/document.xml.rels": rels,
            "[Content_Types].xml": types,
        }
    )
    assert [(ref.part, ref.kind) for ref in find_external(data)] == [("word/footer1.bin", "field")]
    # a relationship's target is read whatever it looks like: UTF-16, or garbage
    data = _docx(parts={"word/footer1.bin": b"\x00junk", "word/_rels/document.xml.rels": rels})
    assert _kinds(data) == ["broken"]


def test_binary_pictures_are_not_read_as_xml(tmp_path: Path):
    doc = _template()
    doc.add_paragraph().add_run().add_picture(io.BytesIO(png()))
    data = _save(doc, tmp_path / "pic.docx").read_bytes()
    assert find_external(data) == []
    assert strip_external(data, "doc") is data


SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">{}</svg>'


def _svg_docx(svg: str) -> bytes:
    base = _docx()
    types = _part(base, "[Content_Types].xml").replace(
        b"</Types>", b'<Default Extension="svg" ContentType="image/svg+xml"/></Types>'
    )
    rels = _part(base, "word/_rels/document.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rIdS" Target="media/logo.svg" Type="http://schemas.openxmlformats.org'
        b'/officeDocument/2006/relationships/image"/></Relationships>',
    )
    return _docx(
        parts={
            "word/media/logo.svg": svg.encode("utf-8"),
            "[Content_Types].xml": types,
            "word/_rels/document.xml.rels": rels,
        }
    )


def test_an_svg_with_a_doctype_is_refused_saying_what_to_do():
    data = _svg_docx('<?xml version="1.0"?><!DOCTYPE svg>' + SVG.format(""))
    with pytest.raises(
        TemplateError,
        match=r"^memo\.docx: refused: word/media/logo\.svg: an SVG image with an XML DOCTYPE; "
        "remove the DOCTYPE from that SVG image",
    ):
        render_docx(data, SUBJECT, Limits(), name="memo.docx")


@pytest.mark.parametrize(
    ("inner", "refused"),
    [
        ('<image href="http://127.0.0.1:9/x.png"/>', True),
        (f'<image xlink:href="{PASSWD}"/>', True),
        ('<use href="other.svg#a"/>', True),
        ('<rect style="fill: url(http://127.0.0.1:9/p.svg#g)"/>', True),
        ("<style>@import 'http://127.0.0.1:9/a.css';</style>", True),
        ('<linearGradient id="g"/><rect style="fill: url(#g)"/><use href="#g"/>', False),
        ('<image xlink:href="data:image/png;base64,iVBORw0KGgo="/>', False),
    ],
)
def test_svg_links_outside_the_image_are_refused(inner: str, refused: bool):
    data = _svg_docx(SVG.format(inner))
    if not refused:
        assert find_external(data) == []
        return
    assert _kinds(data) == ["svg-link"]
    with pytest.raises(TemplateError, match=r"^memo\.docx: refused: word/media/logo\.svg: an SVG"):
        render_docx(data, SUBJECT, Limits(), name="memo.docx")
    stripped = strip_external(data, "doc")
    assert find_external(stripped) == []
