"""Turn a terminal capture (`tmux capture-pane -p -e`: text with ANSI colours) into a PNG.

    python docs/screenshots/ansi_to_png.py capture.ans out.png [--cols 80] [--rows 24]

rich parses the ANSI codes; each cell is drawn in a monospace font (DejaVu Sans Mono) with
its foreground, background and bold, on a dark terminal background.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from rich.color import Color
from rich.console import Console
from rich.text import Text

BG = (30, 30, 30)
FG = (220, 220, 220)
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu",)


def _font(bold: bool, size: int):
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for d in FONT_DIRS:
        p = Path(d) / name
        if p.exists():
            return ImageFont.truetype(str(p), size)
    return ImageFont.load_default()


def _rgb(color: Color | None, default):
    if color is None or color.is_default:
        return default
    t = color.get_truecolor()
    return (t.red, t.green, t.blue)


def render(ansi: str, cols: int, rows: int, size: int = 18) -> Image.Image:
    regular, bold = _font(False, size), _font(True, size)
    cw = int(round(regular.getlength("M")))
    ch = int(size * 1.25)
    img = Image.new("RGB", (cols * cw + 16, rows * ch + 16), BG)
    draw = ImageDraw.Draw(img)
    console = Console(width=cols, color_system="truecolor", force_terminal=True)
    # one Text for the whole capture: tmux carries attributes over from line to line
    lines = Text.from_ansi(ansi.rstrip("\n")).split("\n", allow_blank=True)
    for r, text in enumerate(lines[:rows]):
        col = 0
        for seg in text.render(console):
            style = seg.style
            fg = _rgb(style.color if style else None, FG)
            bg = _rgb(style.bgcolor if style else None, BG)
            if style is not None and style.reverse:
                fg, bg = (bg if bg != BG else BG), (fg if fg != FG else FG)
            f = bold if style is not None and style.bold else regular
            if style is not None and style.dim:
                fg = tuple(int(c * 0.6 + b * 0.4) for c, b in zip(fg, BG))
            for c in seg.text:
                if col >= cols:
                    break
                x, y = 8 + col * cw, 8 + r * ch
                if bg != BG:
                    draw.rectangle((x, y, x + cw - 1, y + ch - 1), fill=bg)
                if c != " ":
                    draw.text((x, y + (ch - size) // 2 - 1), c, font=f, fill=fg)
                col += 1
    return img


def plain(ansi: str) -> str:
    """The capture as plain text (what a person reads, without colours)."""
    return Text.from_ansi(ansi.rstrip("\n")).plain + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("out")
    ap.add_argument("--cols", type=int, default=80)
    ap.add_argument("--rows", type=int, default=24)
    ap.add_argument("--text", help="also write the plain text here")
    a = ap.parse_args()
    if a.text:
        Path(a.text).write_text(plain(Path(a.capture).read_text(encoding="utf-8", errors="replace")),
                                encoding="utf-8")
    render(Path(a.capture).read_text(encoding="utf-8", errors="replace"), a.cols, a.rows).save(a.out)


if __name__ == "__main__":
    main()
