"""Charts drawn on the server as SVG: no script, no library in the browser."""

from __future__ import annotations

from html import escape

__all__ = ["department_bars"]


def department_bars(
    rows: list[tuple[str, int, int]], *, open_label: str, late_label: str, rtl: bool = True
) -> str:
    """Horizontal bars per department: open items, and the overdue part of them in red.

    ``rows`` are ``(department, open, overdue)``. In right-to-left pages the bars grow
    from the right, with the names on the right."""
    width, bar_h, gap, label_w = 720, 26, 10, 230
    top = 40
    height = top + max(len(rows), 1) * (bar_h + gap) + 10
    most = max((o for _, o, _ in rows), default=1) or 1
    scale = (width - label_w - 60) / most
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" '
        f'font-family="Amiri, serif" font-size="16">',
        f"<title>{escape(open_label)} / {escape(late_label)}</title>",
    ]
    # the legend
    lx = width - 20 if rtl else 20
    # right to left: each text starts at its x and runs leftwards (direction rtl, anchor
    # start), whatever direction the page around the chart has
    anchor = 'direction="rtl" text-anchor="start"' if rtl else 'direction="ltr" text-anchor="start"'
    parts.append(
        f'<rect x="{lx - 16 if rtl else lx}" y="10" width="16" height="16" fill="#7aa892"/>'
        f'<text x="{lx - 22 if rtl else lx + 22}" y="23" {anchor}>'
        f"{escape(open_label)}</text>"
        f'<rect x="{lx - 136 if rtl else lx + 120}" y="10" width="16" height="16" fill="#c0392b"/>'
        f'<text x="{lx - 142 if rtl else lx + 142}" y="23" {anchor}>'
        f"{escape(late_label)}</text>"
    )
    for n, (name, opened, late) in enumerate(rows):
        y = top + n * (bar_h + gap)
        w_open, w_late = opened * scale, late * scale
        if rtl:
            x0 = width - label_w
            parts.append(
                f'<text x="{width - 10}" y="{y + 18}" {anchor}>{escape(name)}</text>'
                f'<rect x="{x0 - w_open:.1f}" y="{y}" width="{w_open:.1f}" height="{bar_h}" '
                f'fill="#7aa892"><title>{escape(name)}: {opened}</title></rect>'
                f'<rect x="{x0 - w_late:.1f}" y="{y}" width="{w_late:.1f}" height="{bar_h}" '
                f'fill="#c0392b"><title>{escape(name)}: {late}</title></rect>'
                f'<text x="{x0 - w_open - 6:.1f}" y="{y + 18}" {anchor}>'
                f"{opened} / {late}</text>"
            )
        else:
            x0 = label_w
            parts.append(
                f'<text x="10" y="{y + 18}" {anchor}>{escape(name)}</text>'
                f'<rect x="{x0}" y="{y}" width="{w_open:.1f}" height="{bar_h}" fill="#7aa892">'
                f"<title>{escape(name)}: {opened}</title></rect>"
                f'<rect x="{x0}" y="{y}" width="{w_late:.1f}" height="{bar_h}" fill="#c0392b">'
                f"<title>{escape(name)}: {late}</title></rect>"
                f'<text x="{x0 + w_open + 6:.1f}" y="{y + 18}" {anchor}>{opened} / {late}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
