"""Tiles as text (terminal) and the shared wording; names are escaped for the terminal."""
from __future__ import annotations

import math

from ..live.state import BAND_COLOURS, BAND_LABELS

ANSI_BG = {"none": "\x1b[47;30m", "light": "\x1b[44;97m", "medium": "\x1b[42;30m",
           "firm": "\x1b[43;30m", "too_much": "\x1b[41;97m", "fault": "\x1b[45;97m"}
RESET = "\x1b[0m"
TILE_KEYS = "123456789abcdefghijklmnoprstuvwxyz"     # key of the n-th tile (q quits)


def safe_text(s: str, limit: int = 200) -> str:
    """Printable text only: control characters (escape sequences, newlines) shown as \\xNN."""
    out = []
    for ch in str(s)[:limit]:
        if ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def health(t) -> str:
    if t.lost:
        return "LOST: no data"
    if not t.glove_connected:
        return "glove disconnected"
    parts = []
    if t.lost_samples:
        parts.append(f"lost {t.lost_samples}")
    if t.stalls:
        parts.append(f"stalls {t.stalls}")
    return ", ".join(parts) or "link ok"


def pct(t) -> str:
    p = t.pct_in_target
    return "-" if p is None else f"{p:.0f}%"


def tile_lines(t, width: int = 38, colour: bool = False, flash_on: bool = True, key: str = "") -> list[str]:
    w = width - 2
    name = safe_text(t.name, 60)
    head = f"[{key}] {name}" if key else name
    if t.attention:
        head = f"!! {head} - {t.reason.upper()}"
    lines = [head[:w], safe_text(f"{t.region_name}" + (f" / {t.stage_name}" if t.stage_name else ""))[:w]]
    hands = []
    for h in t.hands:
        b = "none" if t.lost else t.hand_band.get(h, "none")
        label = f" {h[0].upper()} {BAND_LABELS.get(b, b)} "
        hands.append(f"{ANSI_BG.get(b, '')}{label}{RESET}" if colour else label)
    lines.append(" ".join(hands))
    lines.append(f"in target {pct(t)}  too much x{t.episodes}")
    lines.append(safe_text(t.last_alert or "no alert")[:w])
    lines.append(health(t)[:w])
    if colour and t.attention and flash_on:
        lines[0] = f"\x1b[41;97;1m{lines[0]}{RESET}"
    return lines


def render_text(tiles, *, width: int = 120, colour: bool = False, flash_on: bool = True,
                title: str = "") -> str:
    tile_w = 40
    per_row = max(1, width // tile_w)
    out = [title or f"class view: {len(tiles)} trainees  (key: open a trainee, q: quit)"]
    for r in range(0, len(tiles), per_row):
        row = tiles[r:r + per_row]
        blocks = [tile_lines(t, tile_w, colour, flash_on, TILE_KEYS[r + i] if r + i < len(TILE_KEYS) else "")
                  for i, t in enumerate(row)]
        for k in range(max(len(b) for b in blocks)):
            cells = []
            for b in blocks:
                txt = b[k] if k < len(b) else ""
                vis = len(_strip_ansi(txt))
                cells.append(txt + " " * max(0, tile_w - vis))
            out.append("".join(cells).rstrip())
        out.append("")
    if not tiles:
        out.append("no trainee found yet: each trainee runs `massage-glove live --lsl`")
    return "\n".join(out)


def _strip_ansi(s: str) -> str:
    import re
    return re.sub(r"\x1b\[[0-9;]*m", "", s)


def band_colour(b: str) -> str:
    return BAND_COLOURS.get(b, BAND_COLOURS["none"])


def flash_phase(now: float, hz: float = 2.0) -> bool:
    return math.floor(now * hz * 2) % 2 == 0
