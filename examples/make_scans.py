"""Make the example paper scans in examples/data/scans/ from known text.

    python examples/make_scans.py [OUT_DIR]

Arabic letters as an office scanner delivers them — A4 at 200 dpi, a slight skew,
scanner specks — drawn in the Amiri font the package ships (arabic-reshaper and
python-bidi shape and order the text), so OCR quality can be measured against the
text they were drawn from (:data:`LETTERS`; tests/ingest/test_ocr.py does it):

- ``letter_circular.png``        greyscale PNG (the circular in data/circular.json)
- ``letter_decision.jpg``        JPEG quality 70 (the decision in data/decision.json)
- ``letter_assignment.tiff``     two pages, bilevel, Group 4 (data/assignment.json)
- ``letter_en_image_only.pdf``   an image-only PDF of an English letter, as a scanner
                                 writes it (no text layer)
- ``letter_circular.png.json``   a sidecar: sender, subject, department, received

The files are committed; the script documents how they were made. It needs Pillow,
arabic-reshaper, python-bidi and (for the PDF) img2pdf.
"""

from __future__ import annotations

import io
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = DATA / "scans"
FONTS = HERE.parent / "docarchive" / "fonts"
DPI = 200
A4 = (1654, 2339)  # pixels at 200 dpi
MARGIN = 150


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text("utf-8"))
    return data


def _letters() -> dict[str, list[list[str]]]:
    """Each scan's pages, each page a list of paragraphs (logical order, as typed)."""
    circular, decision = _load("circular"), _load("decision")
    assignment, english = _load("assignment"), _load("letter_en")
    head = [circular["ministry"], circular["office"]]
    return {
        "letter_circular.png": [
            [
                *head,
                "العدد: ٣٤١٢/م.و",
                "التاريخ: ١٥/٩/٢٠٢٦",
                f"م/ {circular['subject']}",
                *circular["body"],
                circular["signatory"]["name"],
                circular["signatory"]["title"],
            ]
        ],
        "letter_decision.jpg": [
            [
                *head,
                "العدد: ٧١٠١/ق",
                f"م/ {decision['subject']}",
                decision["preamble"],
                *decision["articles"][:3],
                decision["signatory"]["name"],
            ]
        ],
        "letter_assignment.tiff": [
            [
                assignment["ministry"],
                assignment["office"],
                f"إلى/ {assignment['contractor']['name']}",
                f"م/ {assignment['subject']}",
                *assignment["body"],
            ],
            [
                *(item["description"] for item in assignment["items"]),
                assignment["signatory"]["name"],
                assignment["signatory"]["title"],
                *assignment["copies"],
            ],
        ],
        "letter_en_image_only.pdf": [
            [
                english["ministry"],
                english["office"],
                *_english_paragraphs(english),
            ]
        ],
    }


def _english_paragraphs(letter: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("recipient", "subject", "greeting", "body", "closing"):
        value = letter.get(key)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(str(v) for v in value if isinstance(v, str))
        elif isinstance(value, dict):
            out.extend(str(v) for v in value.values() if isinstance(v, str))
    signatory = letter.get("signatory")
    if isinstance(signatory, dict):
        out.extend(str(v) for v in signatory.values() if isinstance(v, str))
    return out


LETTERS = _letters()


def truth(name: str) -> str:
    """The text a scan was drawn from, pages and paragraphs in reading order."""
    return "\n".join("\n".join(page) for page in LETTERS[name])


@dataclass(frozen=True)
class Look:
    skew: float  # degrees
    specks: float  # share of pixels turned to noise
    seed: int


LOOKS = {
    "letter_circular.png": Look(0.6, 0.002, 1),
    "letter_decision.jpg": Look(-0.4, 0.003, 2),
    "letter_assignment.tiff": Look(0.3, 0.001, 3),
    "letter_en_image_only.pdf": Look(-0.5, 0.002, 4),
}


def _visual(text: str) -> str:
    import arabic_reshaper
    from bidi.algorithm import get_display

    if not any("\u0600" <= c <= "\u06ff" for c in text):
        return text
    return str(get_display(arabic_reshaper.reshape(text), base_dir="R"))


def _wrap(text: str, font: Any, width: int) -> list[str]:
    """Logical-order lines that fit ``width`` pixels once shaped."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and font.getlength(_visual(trial)) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def draw_page(paragraphs: list[str], look: Look) -> Any:
    """One A4 page at 200 dpi: right-aligned Arabic (left-aligned English), skewed, specked."""
    from PIL import Image, ImageDraw, ImageFont

    basic = ImageFont.Layout.BASIC  # shaping by arabic-reshaper, the same on every machine
    body = ImageFont.truetype(str(FONTS / "Amiri-Regular.ttf"), 34, layout_engine=basic)
    bold = ImageFont.truetype(str(FONTS / "Amiri-Bold.ttf"), 38, layout_engine=basic)
    page = Image.new("L", A4, 255)
    pen = ImageDraw.Draw(page)
    y = MARGIN
    width = A4[0] - 2 * MARGIN
    for index, paragraph in enumerate(paragraphs):
        font = bold if index < 2 or paragraph.startswith("م/") else body
        arabic = any("\u0600" <= c <= "\u06ff" for c in paragraph)
        for line in _wrap(paragraph, font, width):
            shown = _visual(line)
            x = A4[0] - MARGIN - font.getlength(shown) if arabic else MARGIN
            pen.text((x, y), shown, font=font, fill=20)
            y += int(font.size * 1.9)
        y += int(body.size * 0.8)
    rng = random.Random(look.seed)
    page = page.rotate(look.skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
    pixels = page.load()
    assert pixels is not None
    for _ in range(int(A4[0] * A4[1] * look.specks)):
        x, y = rng.randrange(A4[0]), rng.randrange(A4[1])
        pixels[x, y] = rng.choice((0, 60, 120, 180))
    return page


def make(out: Path = OUT) -> list[Path]:
    import img2pdf

    out.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for name, pages in LETTERS.items():
        images = [draw_page(p, LOOKS[name]) for p in pages]
        path = out / name
        if name.endswith(".png"):
            images[0].save(path, dpi=(DPI, DPI), optimize=True)
        elif name.endswith(".jpg"):
            images[0].convert("RGB").save(path, quality=70, dpi=(DPI, DPI))
        elif name.endswith(".tiff"):
            bilevel = [im.point(lambda v: 255 if v > 160 else 0).convert("1") for im in images]
            bilevel[0].save(
                path,
                save_all=True,
                append_images=bilevel[1:],
                compression="group4",
                dpi=(DPI, DPI),
            )
        else:  # an image-only PDF, as a scanner writes it: a Group 4 page, no text layer
            tiff = io.BytesIO()
            images[0].point(lambda v: 255 if v > 160 else 0).convert("1").save(
                tiff, "TIFF", compression="group4", dpi=(DPI, DPI)
            )
            path.write_bytes(img2pdf.convert(tiff.getvalue()))
        made.append(path)
    sidecar = out / "letter_circular.png.json"
    sidecar.write_text(
        json.dumps(
            {
                "sender": "مكتب الوزير",
                "subject": LETTERS["letter_circular.png"][0][4][3:],
                "department": "قسم الأرشفة",
                "received": "2026-09-16",
                "classification": "internal",
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    made.append(sidecar)
    return made


if __name__ == "__main__":
    for made_path in make(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(f"{made_path}  {made_path.stat().st_size // 1024} KiB")
