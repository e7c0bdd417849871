"""A drawing of the back with its ten regions (data/regions.json): live in the window, as SVG in the review.

    bm = BackMap(ax, names)                     # matplotlib axes; names: {region id: display name}
    bm.update("neck", "light", {"neck": 42.0})  # current region and its limit, seconds worked
    svg = back_svg(stats, names)                # {region: {"seconds": s, "pct_in_band": p}}

The back is seen from behind, as the person massaging sees it with the receiver lying
face down: head at the top, the left side of the body on the left. Units: the torso is
2 wide (x from -1 to 1) and 2.3 tall (y from 0, the tailbone, to 2.3, the top of the neck).
Regions on both sides of the spine are drawn twice (one shape per side).

The shapes are a teaching diagram, not anatomy to scale: where a region starts and ends
on a real back is what regions.json's notes say.
"""
from __future__ import annotations

import html
import math

# region id -> shapes (each a polygon, (x, y) corners); the right side mirrors the left
_LEFT = {
    "upper_trapezius": [[(-0.17, 2.00), (-0.17, 1.86), (-0.88, 1.72), (-0.94, 1.80), (-0.62, 1.92)]],
    "shoulder_blades": [[(-0.30, 1.76), (-0.72, 1.70), (-0.70, 1.34), (-0.42, 1.22), (-0.30, 1.30)]],
    "paraspinals": [[(-0.22, 1.84), (-0.07, 1.84), (-0.07, 0.46), (-0.22, 0.46)]],
    "ribs": [[(-0.28, 1.20), (-0.70, 1.30), (-0.78, 1.02), (-0.28, 0.98)]],
    "sides": [[(-0.72, 1.70), (-0.88, 1.72), (-0.96, 1.30), (-0.90, 0.72), (-0.80, 0.74), (-0.78, 1.02),
               (-0.70, 1.30)]],
    "kidney": [[(-0.28, 0.98), (-0.78, 1.02), (-0.80, 0.74), (-0.28, 0.76)]],
    "lower_back": [[(-0.28, 0.76), (-0.80, 0.74), (-0.90, 0.72), (-0.94, 0.44), (-0.28, 0.46)]],
}
_MIDDLE = {
    "neck": [[(-0.17, 2.30), (0.17, 2.30), (0.17, 1.86), (-0.17, 1.86)]],
    "spine": [[(-0.07, 1.86), (0.07, 1.86), (0.07, 0.46), (-0.07, 0.46)]],
    "sacrum": [[(-0.34, 0.46), (0.34, 0.46), (0.14, 0.04), (-0.14, 0.04)]],
}
# the body behind the regions
OUTLINE = [(-0.17, 2.30), (-0.17, 2.00), (-0.62, 1.92), (-0.94, 1.80), (-1.0, 1.62), (-0.96, 1.30),
           (-0.90, 0.72), (-0.94, 0.44), (-0.98, 0.10), (-0.6, 0.0), (0.6, 0.0), (0.98, 0.10), (0.94, 0.44),
           (0.90, 0.72), (0.96, 1.30), (1.0, 1.62), (0.94, 1.80), (0.62, 1.92), (0.17, 2.00), (0.17, 2.30)]
XLIM = (-1.08, 1.08)
YLIM = (-0.05, 2.38)


def _shapes() -> dict[str, list[list[tuple[float, float]]]]:
    out = {rid: [list(p) for p in polys] for rid, polys in _MIDDLE.items()}
    for rid, polys in _LEFT.items():
        out[rid] = [list(p) for p in polys] + [[(-x, y) for x, y in p] for p in polys]
    return out


REGION_SHAPES = _shapes()
REGION_ORDER = ("neck", "upper_trapezius", "shoulder_blades", "spine", "paraspinals", "ribs", "sides",
                "kidney", "lower_back", "sacrum")    # top to bottom, the SVG's numbering

WORKED_COLOUR = "#5e3c99"      # time worked (purple: not one of the band colours)
CURRENT_EDGE = "#1a1a1a"
IDLE_FACE = "#f4f1ec"
EDGE = "#8c8c8c"


def worked_alpha(seconds: float, most_seconds: float) -> float:
    """Fill strength for `seconds` worked, relative to the region worked most (0.06 .. 0.75)."""
    if not (seconds > 0) or not (most_seconds > 0):
        return 0.0
    return 0.06 + 0.69 * min(1.0, seconds / most_seconds)


def clock(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 60}:{s % 60:02d}"


def centroid(poly) -> tuple[float, float]:
    xs, ys = zip(*poly)
    return sum(xs) / len(xs), sum(ys) / len(ys)


class BackMap:
    """The back drawn into a matplotlib axes; `update()` shows the current region and time worked.

    `patches[region]` are the region's shapes; `update` returns whether anything changed
    (the caller redraws then).
    """

    def __init__(self, ax, names: dict | None = None, *, fontsize: float = 11.0):
        from matplotlib.patches import Polygon

        self.ax = ax
        self.names = dict(names or {})
        ax.set_xlim(*XLIM)
        ax.set_ylim(*YLIM)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.add_patch(Polygon(OUTLINE, closed=True, facecolor="#f3d9c4", edgecolor="#9c7a62", lw=1.5, zorder=0))
        self.patches: dict[str, list] = {}
        for rid, polys in REGION_SHAPES.items():
            self.patches[rid] = []
            for poly in polys:
                p = Polygon(poly, closed=True, facecolor=IDLE_FACE, edgecolor=EDGE, lw=0.8, zorder=1)
                ax.add_patch(p)
                self.patches[rid].append(p)
        self._state = None

    def update(self, current: str | None, limit_colour: str | None, seconds: dict) -> bool:
        """Highlight `current` (edged, filled in its limit's colour when given) and fill each
        region by the time worked there. Returns True when the picture changed."""
        from matplotlib.colors import to_rgba

        most = max([float(v) for v in seconds.values() if math.isfinite(float(v))] + [0.0])
        state = (current, limit_colour, tuple(sorted((k, round(float(v), 0)) for k, v in seconds.items())))
        if state == self._state:
            return False
        self._state = state
        for rid, patches in self.patches.items():
            a = worked_alpha(float(seconds.get(rid, 0.0)), most)
            r, g, b, _ = to_rgba(WORKED_COLOUR)
            base = to_rgba(IDLE_FACE)
            face = tuple(base[i] * (1 - a) + (r, g, b)[i] * a for i in range(3)) + (1.0,)
            for p in patches:
                p.set_facecolor(face)
                if rid == current:
                    p.set_edgecolor(limit_colour or CURRENT_EDGE)
                    p.set_linewidth(3.5)
                    p.set_zorder(3)
                else:
                    p.set_edgecolor(EDGE)
                    p.set_linewidth(0.8)
                    p.set_zorder(1)
        return True


def stats_from_bands(bands: dict) -> dict:
    """back_svg's stats from a session summary's "bands" ({region: {hand: {"on_body_s",
    "in_allowed_s", ...}}}): time worked = the busier hand's time on the body, % in band over
    both hands' time on the body."""
    out = {}
    for region, hands in bands.items():
        if region == "none" or not isinstance(hands, dict):
            continue
        on = [float(h.get("on_body_s", 0.0)) for h in hands.values()]
        ok = [float(h.get("in_allowed_s", 0.0)) for h in hands.values()]
        total = sum(on)
        out[region] = {"seconds": max(on, default=0.0),
                       "pct_in_band": round(100.0 * sum(ok) / total, 1) if total > 0 else None}
    return out


def _fmt_pct(p) -> str:
    return "-" if p is None else f"{p:.0f} %"


KEY_CHAR_PX = 7.4                  # average width of a 13 px sans-serif character (key layout)


def back_svg(stats: dict, names: dict, *, current: str | None = None, drawing_px: int = 260,
             title: str = "Time and pressure in band per region") -> str:
    """The back as a standalone SVG string, each region shaded by its % in band, numbered, and
    a key with its name, time worked and % in band. Every text is XML-escaped.

    stats: {region id: {"seconds": float >= 0, "pct_in_band": float in 0..100 or None}};
    regions missing from `stats` read "not worked". names: {region id: display name}.
    """
    for rid, st in stats.items():
        sec = st.get("seconds", 0.0)
        pct = st.get("pct_in_band")
        if not isinstance(sec, (int, float)) or not math.isfinite(sec) or sec < 0:
            raise ValueError(f"back_svg: stats[{rid!r}]['seconds'] must be a number >= 0, not {sec!r}")
        if pct is not None and (not isinstance(pct, (int, float)) or not (0.0 <= pct <= 100.0)):
            raise ValueError(f"back_svg: stats[{rid!r}]['pct_in_band'] must be 0..100 or None, not {pct!r}")
    e = lambda s: html.escape(str(s), quote=True)            # noqa: E731
    draw_w = float(drawing_px)
    scale = draw_w / (XLIM[1] - XLIM[0])
    draw_h = (YLIM[1] - YLIM[0]) * scale
    height_px = max(draw_h + 40, 30 + 22 * (len(REGION_ORDER) + 2))

    def pt(x, y):
        return f"{(x - XLIM[0]) * scale:.1f},{(YLIM[1] - y) * scale + 30:.1f}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="backmap" width="__W__" '
           f'height="{height_px:.0f}" viewBox="0 0 __W__ {height_px:.0f}" role="img" '
           f'aria-label="{e(title)}">',
           f'<title>{e(title)}</title>',
           f'<text x="4" y="18" font-size="14" font-weight="bold" font-family="sans-serif">{e(title)}</text>',
           f'<polygon points="{" ".join(pt(x, y) for x, y in OUTLINE)}" fill="#f3d9c4" stroke="#9c7a62"/>']
    order = [r for r in REGION_ORDER if r in REGION_SHAPES] + [r for r in REGION_SHAPES if r not in REGION_ORDER]
    keys = {}
    for rid in order:
        st = stats.get(rid)
        name = names.get(rid, rid)
        if st is None or not st.get("seconds"):
            keys[rid] = ("#e6e6e6", f"{name}: not worked")
        else:
            pct = st.get("pct_in_band")
            # in band share as lightness of one blue: 100 % deep, 0 % pale (and the number says it)
            keys[rid] = (_mix("#ffffff", "#1f5fb0", 0.15 + 0.85 * ((pct or 0.0) / 100.0)),
                         f"{name}: {clock(st['seconds'])} worked, {_fmt_pct(pct)} in band")
    width_px = int(draw_w + 24 + KEY_CHAR_PX * max(len(f"10 {lab}") for _f, lab in keys.values()))
    out[0] = out[0].replace("__W__", str(width_px))
    for n, rid in enumerate(order, 1):
        fill, label = keys[rid]
        cls = "region current" if rid == current else "region"
        stroke = ' stroke="#1a1a1a" stroke-width="3"' if rid == current else ' stroke="#8c8c8c"'
        for poly in REGION_SHAPES[rid]:
            out.append(f'<polygon class="{cls}" data-region="{e(rid)}" points="{" ".join(pt(x, y) for x, y in poly)}" '
                       f'fill="{fill}"{stroke}><title>{e(label)}</title></polygon>')
        cx, cy = centroid(REGION_SHAPES[rid][-1])
        x, y = pt(cx, cy).split(",")
        out.append(f'<text x="{x}" y="{float(y) + 4:.1f}" font-size="11" text-anchor="middle" '
                   f'font-family="sans-serif" font-weight="bold">{n}</text>')
        ky = 40 + 22 * (n - 1)
        out.append(f'<text class="key" data-region="{e(rid)}" x="{draw_w + 14:.0f}" y="{ky}" font-size="13" '
                   f'font-family="sans-serif"><tspan font-weight="bold">{n}</tspan> {e(label)}</text>')
    out.append(f'<text x="{draw_w + 14:.0f}" y="{40 + 22 * len(order) + 8}" font-size="11" fill="#555" '
               f'font-family="sans-serif">deeper blue: more of the time in band</text>')
    out.append("</svg>")
    return "\n".join(out)


def _mix(c0: str, c1: str, a: float) -> str:
    a = min(1.0, max(0.0, a))
    p = [int(c0[i:i + 2], 16) for i in (1, 3, 5)]
    q = [int(c1[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * a):02x}" for x, y in zip(p, q))
