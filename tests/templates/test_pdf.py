"""The official PDF: LibreOffice in batches, checked as a person would read the page."""

from __future__ import annotations

import io
import os
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from tplhelpers import (
    KINDS,
    Word,
    example,
    is_arabic,
    pdf_lines,
    pdf_text,
    read_line,
    render_kind,
)

from docarchive import Archive, TemplateError
from docarchive.templates import PdfConverter, docx_to_pdf

A4_WIDTH = 595.3
MARGIN = 56.7  # 20 mm
RIGHT_EDGE = A4_WIDTH - MARGIN


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The four built-in templates, rendered and converted in one batch."""
    folder = tmp_path_factory.mktemp("pdf")
    docs = [render_kind(kind) for kind in KINDS]
    out = docx_to_pdf(docs, [f"{kind}.docx" for kind in KINDS])
    assert len(out) == len(KINDS)
    paths = {}
    for kind, pdf in zip(KINDS, out, strict=True):
        paths[kind] = folder / f"{kind}.pdf"
        paths[kind].write_bytes(pdf)
    return paths


def _lines(pdf: Path, page: int | None = 1) -> list[str]:
    return [read_line(words) for words in pdf_lines(pdf, page)]


def _line_with(pdf: Path, start: str) -> list[Word]:
    for words in pdf_lines(pdf):
        if read_line(words).startswith(start):
            return words
    raise AssertionError(f"no line starts with {start!r} in {pdf.name}")


@pytest.mark.parametrize("kind", KINDS)
def test_pdf_text_has_subject_and_number_in_logical_order(pdfs: dict[str, Path], kind: str):
    data = example(kind)
    lines = _lines(pdfs[kind])
    text = " ".join(lines)
    if kind == "letter_en":
        assert f"Ref.: {data['number']}" in lines
        assert f"Subject: {data['subject']}" in text
    else:
        # read from the glyph positions: right to left, each word and number in order
        assert f"العدد: {data['number']}" in lines
        assert f"م/ {data['subject']}" in text
        assert "الموافق: ١٤٤٨/٠٦/١٢ هـ" in lines
    # pdftotext's own text (bidi controls stripped, NFKC) holds the subject too, except
    # where its bidi heuristics reorder digits and brackets inside an Arabic line
    if kind != "assignment":
        assert data["subject"] in pdf_text(pdfs[kind])
    assert data["signatory"]["name"] in _lines(pdfs[kind], page=None)


@pytest.mark.parametrize("kind", ["circular", "decision", "assignment"])
def test_arabic_lines_run_right_to_left_from_the_right_margin(pdfs: dict[str, Path], kind: str):
    subject = _line_with(pdfs[kind], "م/ ")
    first = max(subject, key=lambda w: w.x1)
    assert first.text.endswith("م"), first  # visual order: "/م" is "م/" read from the right
    assert [w.x1 for w in sorted(subject, key=lambda w: w.x0)] == sorted(w.x1 for w in subject)
    # the letterhead: number and date on the left, the ministry on the right
    for start in ("التاريخ:", "العدد:"):
        line = _line_with(pdfs[kind], start)
        assert max(w.x1 for w in line) < A4_WIDTH / 2  # the number block is on the left...
    greeting = _line_with(pdfs[kind], "تحية طيبة" if kind != "decision" else "استناداً")
    assert abs(max(w.x1 for w in greeting) - RIGHT_EDGE) < 40  # indented first line at most
    ministry = _line_with(pdfs[kind], "جمهورية العراق")
    assert min(w.x0 for w in ministry) > A4_WIDTH / 2  # ...and the letterhead on the right


def test_the_english_letter_runs_left_to_right(pdfs: dict[str, Path]):
    greeting = _line_with(pdfs["letter_en"], "Dear Sir or Madam,")
    assert not is_arabic(greeting)
    assert abs(min(w.x0 for w in greeting) - MARGIN) < 2
    ref = _line_with(pdfs["letter_en"], "Ref.:")
    assert abs(max(w.x1 for w in ref) - RIGHT_EDGE) < 15  # right-aligned in its cell


def test_tables_run_right_to_left(pdfs: dict[str, Path]):
    words = [w for line in pdf_lines(pdfs["decision"]) for w in line]
    heads = {w.text[::-1]: w for w in words if w.text[::-1] in ("ت", "الاسم", "الصفة", "الجهة")}
    assert (
        len(heads) == 4
        and max(w.y0 for w in heads.values()) - min(w.y0 for w in heads.values()) < 3
    )  # one row
    assert heads["ت"].x0 > heads["الاسم"].x0 > heads["الصفة"].x0 > heads["الجهة"].x0
    assert heads["ت"].x1 > RIGHT_EDGE - 30  # the first column on the right


def _ink(png: Path, box: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    image = Image.open(png).convert("L").crop(box)
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    return [(x, y) for y in range(height) for x in range(width) if pixels[x, y] < 128]


def _bodies(points: list[tuple[int, int]]) -> int:
    """Connected blobs of ink bigger than a fifth of the biggest (letters, not dots)."""
    todo = set(points)
    sizes = []
    while todo:
        stack = [todo.pop()]
        size = 0
        while stack:
            x, y = stack.pop()
            size += 1
            for n in ((x + dx, y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)):
                if n in todo:
                    todo.remove(n)
                    stack.append(n)
        sizes.append(size)
    return sum(1 for s in sizes if s >= max(sizes) / 5)


def test_rendered_page_is_right_aligned_with_joined_letters(pdfs: dict[str, Path], tmp_path: Path):
    pdf = pdfs["circular"]
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    page = tmp_path / "p-1.png"
    scale = 50 / 72
    greeting = _line_with(pdf, "تحية طيبة")
    y0, y1 = (
        round(min(w.y0 for w in greeting) * scale),
        round(max(w.y1 for w in greeting) * scale),
    )
    ink = _ink(page, (0, y0, round(A4_WIDTH * scale), y1 + 1))
    assert ink, "the greeting is on the page"
    assert abs(max(x for x, _ in ink) - RIGHT_EDGE * scale) < 4  # ink ends at the right margin
    assert min(x for x, _ in ink) > A4_WIDTH * scale / 2
    # joined letters: "تحية" is one body of ink (ت ح ي ة joined) beside its dots, while
    # "بغداد" is three (بغد, ا and د do not join to the left): the check can tell
    assert _word_bodies(pdf, greeting, "تحية", tmp_path) == 1
    address = _line_with(pdfs["assignment"], "بغداد")
    assert _word_bodies(pdfs["assignment"], address, "بغداد", tmp_path) == 3


def _word_bodies(pdf: Path, line: list[Word], word: str, tmp_path: Path) -> int:
    """The bodies of ink of ``word`` (logical text) on page 1, rendered at 200 dpi."""
    (box,) = [w for w in line if w.text == word[::-1]]
    k = 200 / 72
    x, y = round(box.x0 * k) - 2, round(box.y0 * k) - 2
    width, height = round((box.x1 - box.x0) * k) + 4, round((box.y1 - box.y0) * k) + 4
    prefix = tmp_path / f"word-{len(list(tmp_path.iterdir()))}"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", "-x", str(x), "-y", str(y),
         "-W", str(width), "-H", str(height), str(pdf), str(prefix)],
        check=True,
    )  # fmt: skip
    return _bodies(_ink(Path(f"{prefix}-1.png"), (0, 0, width, height)))


def test_batch_api_keeps_the_order(pdfs: dict[str, Path]):
    for kind, pdf in pdfs.items():
        assert pdf.read_bytes().startswith(b"%PDF")
        assert example(kind)["signatory"]["title"] in pdf_text(pdf)


def test_a_document_libreoffice_cannot_read_is_named(tmp_path: Path):
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<<< not xml")
    good = render_kind("letter_en")
    with (
        PdfConverter() as converter,
        pytest.raises(
            TemplateError, match=r"LibreOffice could not convert broken.docx to PDF \(1 of 2"
        ),
    ):
        converter.convert([good, broken.getvalue()], ["letter.docx", "broken.docx"])
    with pytest.raises(TemplateError, match=r"notes.docx: not a .docx file \(not a zip"):
        docx_to_pdf([b"plain text"], ["notes.docx"])


def _processes_using(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_a_hung_libreoffice_is_stopped_and_cleaned_up():
    docx = render_kind("circular")
    with PdfConverter(timeout=0.2) as converter:
        profile = converter.profile
        with pytest.raises(
            TemplateError,
            match=r"LibreOffice did not finish converting circular.docx within 0.2 s; "
            r"it was stopped and its profile removed",
        ):
            converter.convert([docx], ["circular.docx"])
        assert _processes_using(str(profile)) == []
        assert not profile.exists()
        # the next batch starts afresh
        (pdf,) = converter.convert([docx], ["circular.docx"], timeout=120)
        assert pdf.startswith(b"%PDF")
    assert not profile.parent.exists()


def test_missing_libreoffice_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(TemplateError, match=r"LibreOffice is not at .*: install it with"):
        PdfConverter(soffice=tmp_path / "soffice")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        TemplateError, match=r"LibreOffice \(soffice\) is not installed: install it with"
    ):
        PdfConverter()


def test_archive_renders_a_pdf(archive: Archive, tmp_path: Path):
    data = example("decision")
    pdf = tmp_path / "decision.pdf"
    pdf.write_bytes(archive.render("decision", data, format="pdf"))
    lines = _lines(pdf)
    assert f"العدد: {data['number']}" in lines
    assert f"م/ {data['subject']}" in " ".join(lines)
    with pytest.raises(TemplateError, match="unknown output format 'odt'"):
        archive.render("decision", data, format="odt")


def test_cli_renders_a_pdf(cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path):
    root = tmp_path / "archive"
    cli("init", str(root), check=True)
    data = tmp_path / "assignment.json"
    data.write_text(
        (Path(__file__).parents[2] / "examples" / "data" / "assignment.json").read_text("utf-8"),
        encoding="utf-8",
    )
    out = tmp_path / "assignment.pdf"
    proc = cli("render", "assignment", str(data), "-o", str(out), root=root, check=True)
    assert proc.stdout.strip() == f"wrote {out}"
    lines = _lines(out)
    assert "العدد:" in lines  # a draft: no number yet
    assert "م/ إحالة المناقصة العامة رقم (٢٣) لسنة ٢٠٢٦ — تجهيز وتنصيب منظومة الطاقة" in " ".join(
        lines
    )
    bad = cli("render", "assignment", str(data), "-o", str(tmp_path / "x.odt"), root=root)
    assert bad.returncode == 1
    assert bad.stderr.strip().endswith("x.odt: the output must be a .docx or a .pdf file")
    assert os.path.getsize(out) > 10_000
