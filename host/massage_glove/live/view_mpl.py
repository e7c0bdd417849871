"""The live window: force traces over the region's bands, each hand's band and picture, routine, alerts.

Read at a glance from a metre away. The window only ever sees LiveSnapshots; it asks the
source for one per frame and sends keys back with `source.key()`:

    MplView(session, fps=30).run()            # blocks until quit or the window closes

`LiveFigure(fig, first_snapshot)` is the drawing itself, usable on any canvas (tests and
the benchmark use the Agg canvas offscreen). It draws with blitting:

* static artists (axes, ticks, legends, band shading, the hand outlines, the region
  header and the key legend) are drawn once with `canvas.draw()`, and the figure is then
  copied as the background;
* every frame restores that background and draws only the animated artists (traces,
  sensor markers, each hand's band, countdown, alerts, status, problems, pause);
* when something static changes (region, its limit or band edges, the set of sensors)
  the static artists are updated and the background is captured again; a resize or any
  full redraw recaptures it too (draw_event).

Band shading: the two sensor classes have different band edges (FSR 402 fingertips and
knuckles, FSR 406 palm heel), so each hand has one trace axes per sensor class, each
shaded with its own class's edges for the current region (the median over the class's
sensors, should learned edges differ by sensor).

The hand pictures show the backs of the hands as the trainee sees them while working:
left hand on the left (thumb to its right), right hand on the right (thumb to its left).
"""
from __future__ import annotations

import logging
import textwrap
import time

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyBboxPatch, Patch, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Bbox

from ..backmap import BackMap
from .sanitize import clean
from .views import short_control
from .state import BAND_COLOURS, BAND_LABELS, BAND_LETTERS, BAND_TEXT_COLOURS, BANDS, LiveSnapshot

log = logging.getLogger(__name__)

FIG_SIZE_IN = (16.0, 9.0)
FIG_DPI = 80                       # 1280 x 720 pixels
BAND_ALPHA = 0.14                  # shading behind the traces
ALERT_SHOW_S = 5.0                 # an alert stays on screen this long
ALERT_BLINK_S = 1.0                # ... and flashes for the first second
ALERT_BLINK_PERIOD_S = 0.25        # one flash (on + off)
ALERT_WRAP = 58                    # characters per banner line
ALERT_LINES = 2                    # banner lines at most (the full sentence is in the log)
OLDER_ALERT_CHARS = 60             # one line each under the routine
KEYS_LINE_CHARS = 92               # key legend line length (monospace, clear of the problems box)
STAGE_TITLE_CHARS = 40            # clear of the countdown
INSTRUCTION_WRAP = 56             # characters per instruction line
INSTRUCTION_LINES = 3              # lines at most (the routine's instructions are written short)
LONG_LABEL_SHRINK = 0.7            # font of a hand's band name longer than "TOO MUCH"
MARK_SHOW_S = 4.0                  # a mark is acknowledged on screen this long
MARK_LINES = 3                     # marks drawn on each trace axes at most (the newest)
BAND_LABEL_FIT = 1.15              # a band's name is shown when the band is this x the text tall
# Text grows and shrinks with the window: every font size is its size at the design size
# (FIG_SIZE_IN, 1280 x 720 at FIG_DPI) times min(width / 16 in, height / 9 in).
PROBLEM_WRAP = 40                  # characters per line of the problems box
ALERTS_LISTED = 3                  # the newest in the banner, older ones below it
TRACE_PX_PER_BUCKET = 2            # traces keep the lowest and highest sample per 2 pixels
FULL_BLIT_FRACTION = 0.6          # above this share of the figure, one full blit instead
EXTENT_PAD_PX = 3                  # margin around an artist's extent (antialiasing, line width)
YLIM_HEADROOM = 1.35               # trace axes top = too-much edge x this
HAND_ORDER = ("left", "right")
CLASS_ORDER = ("fsr402", "fsr406")
CLASS_TITLES = {"fsr402": "fingertips and knuckles", "fsr406": "heel of the hand"}
DEFAULT_CONTROLS = ((" ", "pause / resume"), ("m", "mark a moment"), ("z", "zero the sensors"),
                    ("q", "quit"))
SEVERITY_COLOURS = {"danger": BAND_COLOURS["too_much"], "warning": "#b35900",
                    "info": BAND_COLOURS["medium"]}
PAUSE_COLOUR = "#333333"
TEXT_DARK = "#1a1a1a"
SKIN = "#f3d9c4"
SKIN_EDGE = "#9c7a62"

# Trace colour and line style per sensor site (a legend names them).
SITE_STYLES = {
    "thumb": ("#d62790", "-"),
    "index": ("#1f3fbf", "-"),
    "middle": ("#111111", "-"),
    "ring": ("#8c564b", "-"),
    "little": ("#17a2b8", "-"),
    "knuckle_index": ("#1f3fbf", "--"),
    "knuckle_middle": ("#111111", "--"),
    "palm_heel": ("#111111", "-"),
}
OTHER_STYLES = (("#6a3d9a", ":"), ("#b15928", ":"), ("#555555", ":"))

# The back of a right hand, fingers up, thumb to the left (units: finger widths).
# Sensor positions per site; the left hand is the mirror image (x -> -x).
_FINGERS = (  # site, x centre, length
    ("index", -1.5, 2.6), ("middle", -0.5, 2.9), ("ring", 0.5, 2.7), ("little", 1.5, 2.1))
_FINGER_W = 0.88
_PALM = (-2.0, -2.6, 4.0, 4.1)     # x, y, width, height; knuckle line at y = 1.5
_KNUCKLE_Y = 1.5
_THUMB = ((-1.85, -0.6), 2.5, 40.0)  # base point, length, angle from vertical (deg, to the left)
_SENSOR_R = 0.42


def _thumb_tip() -> tuple[float, float]:
    (bx, by), length, ang = _THUMB
    a = np.radians(ang)
    d = length - 0.5
    return bx - d * np.sin(a), by + d * np.cos(a)


SITE_POS = {
    **{site: (x, _KNUCKLE_Y + length - 0.48) for site, x, length in _FINGERS},
    "thumb": _thumb_tip(),
    "knuckle_index": (-1.5, _KNUCKLE_Y),
    "knuckle_middle": (-0.5, _KNUCKLE_Y),
    "palm_heel": (0.0, -1.75),
}
HAND_XLIM = (-4.3, 3.2)
HAND_YLIM = (-4.4, 4.8)


def _darker(colour: str, amount: float = 0.35) -> tuple:
    """`colour` mixed towards black (band names in pale band colours stay readable on white)."""
    from matplotlib.colors import to_rgb
    return tuple(c * (1.0 - amount) for c in to_rgb(colour))


def fit_band_labels(bounds_px, label_px: float, fit: float = BAND_LABEL_FIT) -> list[bool]:
    """Which bands' names to show: those whose band is at least `fit` x the text height.

    Each name sits at its band's middle, so names shown this way never overlap each other.
    """
    return [(hi - lo) >= fit * label_px for lo, hi in zip(bounds_px[:-1], bounds_px[1:])]


def wrap_lines(text: str, width: int, lines: int) -> list[str]:
    """`text` wrapped to at most `lines` lines of `width` characters; cut text ends in " ..."."""
    out = textwrap.wrap(text, width)
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        while len(last) + 4 > width and " " in last:
            last = last.rsplit(" ", 1)[0]
        out[-1] = last + " ..."
    return out


def over_range_runs(x: np.ndarray, f: np.ndarray, over, columns) -> tuple[np.ndarray, np.ndarray]:
    """The over-range samples of `columns` as one polyline: each run at its force (the range),
    runs separated by nan. Empty when nothing is over range."""
    if over is None or not len(x):
        return np.zeros(0), np.zeros(0)
    xs, ys = [], []
    for j in columns:
        o = over[:, j]
        if not o.any():
            continue
        d = np.diff(np.r_[0, o.astype(np.int8), 0])
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
            xs += [x[a], x[b - 1], np.nan]
            ys += [f[a, j], f[b - 1, j], np.nan]
    return np.asarray(xs, float), np.asarray(ys, float)


def _hands_of(snapshot: LiveSnapshot) -> list[str]:
    present = []
    for s in snapshot.sensors:
        if s.hand not in present:
            present.append(s.hand)
    return [h for h in HAND_ORDER if h in present] + [h for h in present if h not in HAND_ORDER]


def _countdown(seconds: float) -> str:
    s = max(0, int(np.ceil(seconds)))
    return f"{s // 60}:{s % 60:02d}"


def _controls(snapshot: LiveSnapshot):
    return tuple(snapshot.extra.get("controls", DEFAULT_CONTROLS)) if snapshot.extra else DEFAULT_CONTROLS


def _key_name(k: str) -> str:
    return "space" if k == " " else k


def visible_alerts(snapshot: LiveSnapshot, show_s: float = ALERT_SHOW_S):
    """The alerts still on screen, newest first."""
    return [a for a in sorted(snapshot.alerts, key=lambda a: a.age_s) if a.age_s <= show_s]


def alert_flash_on(age_s: float) -> bool:
    """Whether a new alert's banner is in its bright phase (always, once it stops flashing)."""
    if age_s >= ALERT_BLINK_S:
        return True
    return (age_s % ALERT_BLINK_PERIOD_S) < ALERT_BLINK_PERIOD_S / 2


def decimate_minmax(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about 2 x `buckets` samples of a trace that draw like all of them.

    The samples are cut into `buckets` runs of equal length; of each run the lowest and the
    highest sample are kept, in time order, so peaks (and a too-much spike) stay exactly as
    tall. A run containing nan keeps its nan (the trace shows a gap). The result is a subset
    of the input samples (copies); a trace already short enough is returned as it is.
    """
    n = len(y)
    if n <= 2 * buckets:
        return x, y
    k = -(-n // buckets)                     # samples per run
    m = n // k                               # full runs; the rest is kept whole
    yy = y[:m * k].reshape(m, k)
    nan_row = np.isnan(yy).any(axis=1)
    lo = np.nanargmin(np.where(np.isnan(yy), np.inf, yy), axis=1)
    hi = np.nanargmax(np.where(np.isnan(yy), -np.inf, yy), axis=1)
    lo = np.where(nan_row, np.argmax(np.isnan(yy), axis=1), lo)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    idx = (np.arange(m) * k)[:, None] + np.column_stack([first, second])
    idx = np.concatenate([idx.ravel(), np.arange(m * k, n)])
    return x[idx], y[idx]


def _merge_rects(rects: list, slack: float = 1.25) -> list:
    """Fewer, larger rectangles covering `rects`: two merge when their bounding box is at most
    `slack` times their summed area (copying to the screen costs per copy as well as per pixel)."""
    out = list(rects)
    merged = True
    while merged and len(out) > 1:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                u = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                if _area(u) <= slack * (_area(a) + _area(b)):
                    out[i] = u
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out


def _area(r) -> float:
    return (r[2] - r[0]) * (r[3] - r[1])


def _overlap(a, b) -> bool:
    """Whether two (x0, y0, x1, y1) rectangles share any pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class _Group:
    """One trace axes: the sensors of one hand and one sensor class."""

    def __init__(self, hand: str, sensor_class: str, columns: list[int]):
        self.hand, self.sensor_class, self.columns = hand, sensor_class, columns
        self.ax = None
        self.lines = []
        self.spans = []
        self.limit_line = None
        self.span_labels = []
        self.mark_lines = []
        self.over_line = None


class _HandPicture:
    def __init__(self, hand: str):
        self.hand = hand
        self.ax = None
        self.markers: dict[int, Circle] = {}     # trace column -> marker
        self.letters: dict[int, Text] = {}       # trace column -> the band's letter on the marker
        self.band_text = None
        self.name_text = None
        self.held_text = None


class LiveFigure:
    """The live view drawn into `fig`; `frame(snapshot)` draws one blitted frame.

    `update(snapshot)` only updates the artists and returns the animated ones (what a
    frame draws over the background); `frame()` does update + blit, capturing the
    background again first when it is stale (`background_captures` counts captures).
    """

    def __init__(self, fig, first_snapshot: LiveSnapshot):
        self.fig = fig
        self.canvas = fig.canvas
        self.background = None
        self.background_captures = 0
        self._saving = False
        self._layout_key = None
        self._static_key = None
        self._animated: list = []
        self._always_dirty: set = set()
        self._drawn: dict = {}
        self.last_blit: list = []
        self._build(first_snapshot)
        self._apply_static(first_snapshot)
        self._cid = self.canvas.mpl_connect("draw_event", self._on_draw)

    # --- keys that decide when static artists must change ----------------------------
    @staticmethod
    def layout_key(s: LiveSnapshot):
        return tuple((v.name, v.hand, v.site, v.sensor_class) for v in s.sensors)

    @staticmethod
    def static_key(s: LiveSnapshot):
        return (s.region, s.region_name, s.region_limit, s.region_note, s.skill, s.region_keys,
                tuple(v.edges_n for v in s.sensors), _controls(s))

    # --- building ---------------------------------------------------------------------
    def _build(self, s: LiveSnapshot) -> None:
        fig = self.fig
        fig.clear()
        fig.set_facecolor("white")
        self._layout_key = self.layout_key(s)
        self._static_key = None
        self.background = None
        self._scale = 1.0
        anim: list = []

        def animated(artist):
            artist.set_animated(True)
            anim.append(artist)
            return artist

        hands = _hands_of(s)
        self.hands = hands
        # trace axes: per hand, per sensor class
        groups: list[_Group] = []
        for hand in hands:
            classes = []
            for v in s.sensors:
                if v.hand == hand and v.sensor_class not in classes:
                    classes.append(v.sensor_class)
            classes.sort(key=lambda c: (CLASS_ORDER.index(c) if c in CLASS_ORDER else len(CLASS_ORDER), c))
            for cls in classes:
                cols = [j for j, v in enumerate(s.sensors) if v.hand == hand and v.sensor_class == cls]
                groups.append(_Group(hand, cls, cols))
        self.groups = groups
        # the heel's single trace gets room for its four band names too
        ratios = [1.35 if len(g.columns) > 1 else 1.0 for g in groups] or [1.0]
        if groups:
            gs = fig.add_gridspec(len(groups), 1, left=0.062, right=0.53, top=0.695, bottom=0.195,
                                  height_ratios=ratios, hspace=0.22)
        first_ax = None
        site_handles: dict[str, Line2D] = {}
        for i, g in enumerate(groups):
            ax = fig.add_subplot(gs[i, 0], sharex=first_ax)
            first_ax = first_ax or ax
            g.ax = ax
            ax.set_xlim(-s.window_s, 0.0)
            ax.tick_params(labelsize=12)
            short = "fingers" if g.sensor_class == "fsr402" else (
                "heel" if g.sensor_class == "fsr406" else g.sensor_class)
            ax.set_ylabel(f"{g.hand.upper()}\n{short}, N", fontsize=12, fontweight="bold",
                          linespacing=1.0, labelpad=4)
            ax.grid(axis="x", color="#dddddd", lw=0.8)
            if i < len(groups) - 1:
                ax.tick_params(labelbottom=False)
            else:
                ax.set_xlabel("seconds ago", fontsize=12)
            for b in BANDS:
                r = Rectangle((0.0, 0.0), 1.0, 1.0, transform=ax.get_yaxis_transform(),
                              facecolor=BAND_COLOURS[b], alpha=BAND_ALPHA, lw=0, zorder=0)
                ax.add_patch(r)
                g.spans.append(r)
                # the band's name outside the data, right of the axes
                g.span_labels.append(ax.text(1.008, 0.0, BAND_LABELS[b].lower(), ha="left",
                                             va="center", fontsize=11, fontweight="bold",
                                             color=_darker(BAND_COLOURS[b]),
                                             transform=ax.get_yaxis_transform(), clip_on=False,
                                             zorder=1))
            g.limit_line = ax.axhline(0.0, color=BAND_COLOURS["too_much"], lw=1.8, ls=(0, (6, 3)),
                                      zorder=1)
            others = iter(OTHER_STYLES * 4)
            for j in g.columns:
                v = s.sensors[j]
                colour, ls = SITE_STYLES.get(v.site) or next(others)
                label = clean(v.site).replace("knuckle_", "knuckle ").replace("palm_heel", "heel")
                (line,) = ax.plot([], [], color=colour, ls=ls, lw=2.0, label=label, zorder=2)
                g.lines.append(animated(line))
                site_handles.setdefault(label, line)
            # samples over the sensor's range: a thick too-much bar along the trace
            (ol,) = ax.plot([], [], color=BAND_COLOURS["too_much"], lw=6, solid_capstyle="butt",
                            zorder=2.5)
            g.over_line = animated(ol)
            for _ in range(MARK_LINES):
                ml = ax.axvline(0.0, color=TEXT_DARK, lw=1.4, ls=(0, (2, 2)), zorder=3)
                ml.set_visible(False)
                g.mark_lines.append(animated(ml))
        # one legend for the sensor sites, above the traces and outside them
        self.legend = None
        if site_handles:
            self.legend = fig.legend(list(site_handles.values()), list(site_handles), loc="lower left",
                                     bbox_to_anchor=(0.055, 0.70), ncol=min(8, len(site_handles)),
                                     fontsize=11, frameon=False, handlelength=1.6, columnspacing=0.8,
                                     handletextpad=0.5, borderaxespad=0.0)

        # hand pictures and each hand's band, big; the back beside them
        self.pictures: list[_HandPicture] = []
        n = max(1, len(hands))
        x0, x1 = 0.60, 0.865
        w = (x1 - x0) / n
        band_fs = 24 if n > 1 else 30
        for i, hand in enumerate(hands):
            p = _HandPicture(hand)
            left = x0 + i * w
            ax = fig.add_axes((left + 0.004, 0.13, w - 0.008, 0.47))
            p.ax = ax
            ax.set_xlim(*(HAND_XLIM if hand != "left" else (-HAND_XLIM[1], -HAND_XLIM[0])))
            ax.set_ylim(*HAND_YLIM)
            ax.set_aspect("equal")
            ax.axis("off")
            mirror = -1.0 if hand == "left" else 1.0
            self._draw_hand_outline(ax, mirror)
            loose = 0
            for j, v in enumerate(s.sensors):
                if v.hand != hand:
                    continue
                if v.site in SITE_POS:
                    x, y = SITE_POS[v.site]
                else:       # a site the picture does not know: a row under the hand
                    x, y = -2.5 + 1.1 * loose, -3.8
                    loose += 1
                c = Circle((mirror * x, y), _SENSOR_R, facecolor=BAND_COLOURS["none"],
                           edgecolor=TEXT_DARK, lw=1.5, zorder=5)
                ax.add_patch(c)
                p.markers[j] = animated(c)
                # the second cue: the band's letter on the dot (L, M, F, !)
                p.letters[j] = animated(ax.text(mirror * x, y, "", ha="center", va="center_baseline",
                                                fontsize=10, fontweight="bold", color=TEXT_DARK,
                                                zorder=6))
            cx = left + w / 2
            p.name_text = fig.text(cx, 0.735, f"{hand.upper()} HAND", ha="center", va="center",
                                   fontsize=14, fontweight="bold", color=TEXT_DARK)
            p.band_text = animated(fig.text(
                cx, 0.665, "", ha="center", va="center", fontsize=band_fs,
                fontweight="bold", color="white",
                bbox=dict(boxstyle="round,pad=0.3", facecolor=BAND_COLOURS["none"], lw=0)))
            # a higher band the chain still holds, said with its force and age
            p.held_text = animated(fig.text(cx, 0.612, "", ha="center", va="center", fontsize=11,
                                            color=TEXT_DARK, style="italic"))
            self.pictures.append(p)
        back_ax = fig.add_axes((0.872, 0.13, 0.123, 0.47))
        self.backmap = BackMap(back_ax, {rid: name for _k, rid, name in s.region_keys})
        for rid_patches in self.backmap.patches.values():
            for patch in rid_patches:
                animated(patch)
        self.back_title = fig.text(0.9335, 0.735, "BACK", ha="center", va="center", fontsize=14,
                                   fontweight="bold", color=TEXT_DARK)
        self.back_limit = fig.text(0.9335, 0.665, "", ha="center", va="center", fontsize=15,
                                   fontweight="bold", color=TEXT_DARK,
                                   bbox=dict(boxstyle="round,pad=0.3", facecolor=BAND_COLOURS["none"], lw=0))
        self.back_time = animated(fig.text(0.9335, 0.115, "", ha="center", va="center", fontsize=12,
                                           color=TEXT_DARK))

        # header: region (static), routine stage (animated)
        self.region_text = fig.text(0.012, 0.955, "", fontsize=26, fontweight="bold", va="center",
                                    ha="left", color=TEXT_DARK)
        self.limit_text = fig.text(0.012, 0.885, "", fontsize=18, fontweight="bold", va="center",
                                   ha="left", color="white",
                                   bbox=dict(boxstyle="round,pad=0.3", facecolor=BAND_COLOURS["none"], lw=0))
        self.note_text = fig.text(0.175, 0.885, "", fontsize=14, va="center", ha="left", color=TEXT_DARK,
                                  linespacing=1.1)
        self.stage_title = animated(fig.text(0.60, 0.965, "", fontsize=16, fontweight="bold",
                                             va="center", ha="left", color=TEXT_DARK))
        self.stage_instr = animated(fig.text(0.60, 0.925, "", fontsize=14.5, va="top", ha="left",
                                             color=TEXT_DARK, linespacing=1.1))
        self.stage_next = animated(fig.text(0.60, 0.822, "", fontsize=14, va="center", ha="left",
                                            color="#444444", style="italic"))
        self.stage_clock = animated(fig.text(0.993, 0.965, "", fontsize=30, fontweight="bold",
                                             va="center", ha="right", color=TEXT_DARK,
                                             family="monospace"))

        # footer: key legend (static), status (animated)
        self.keys_text = fig.text(0.012, 0.035, "", fontsize=13, va="bottom", ha="left",
                                  color=TEXT_DARK, family="monospace", linespacing=1.3)
        self.status_text = animated(fig.text(0.012, 0.013, "", fontsize=11, va="center", ha="left",
                                             color="#555555"))

        # overlays (animated): alert banner and older alerts, problems, paused, mark
        # the banner has its own band above the traces, so steady traces never redraw it
        self.alert_banner = animated(fig.text(
            0.296, 0.795, "", fontsize=18, fontweight="bold", ha="center", va="center", wrap=False,
            color="white", zorder=10,
            linespacing=1.15,
            bbox=dict(boxstyle="round,pad=0.4", facecolor=SEVERITY_COLOURS["danger"], lw=2,
                      edgecolor=SEVERITY_COLOURS["danger"])))
        self.alert_older = animated(fig.text(0.60, 0.778, "", fontsize=12, ha="left", va="center",
                                             color=TEXT_DARK, linespacing=1.2))
        # problems: bottom right, clear of the traces (so they never force a redraw there)
        self.problems_text = animated(fig.text(
            0.83, 0.025, "", fontsize=15, fontweight="bold", ha="center", va="bottom", color="white",
            zorder=11, bbox=dict(boxstyle="round,pad=0.5", facecolor="#c62828", edgecolor="#7f0000", lw=2)))
        # paused: a badge in the header and a frame round the window; nothing is covered
        self.paused_text = animated(fig.text(
            0.993, 0.822, "PAUSED  (space resumes)", fontsize=15, fontweight="bold", ha="right",
            va="center", color="white", zorder=12,
            bbox=dict(boxstyle="round,pad=0.3", facecolor=PAUSE_COLOUR, lw=0)))
        self.paused_frame = animated(Rectangle((0.0015, 0.0015), 0.997, 0.997, transform=fig.transFigure,
                                               fill=False, edgecolor=PAUSE_COLOUR, lw=6, zorder=12))
        fig.add_artist(self.paused_frame)
        self.mark_text = animated(fig.text(
            0.60, 0.06, "", fontsize=15, fontweight="bold", ha="left", va="center", color="white",
            zorder=11, bbox=dict(boxstyle="round,pad=0.35", facecolor=TEXT_DARK, lw=0)))
        self._animated = anim
        self._always_dirty = {a for g in groups for a in (*g.lines, *g.mark_lines, g.over_line)}
        self._drawn = {}
        for t in fig.findobj(Text):
            t.set_parse_math(False)      # a "$" in a name or an alert is a dollar, not TeX
        self._base_fonts = {t: t.get_fontsize() for t in fig.findobj(Text)}
        self._base_ticks = {g.ax: 12 for g in groups}
        self._size_seen = None
        self._rescale()

    def _rescale(self) -> bool:
        """Font sizes for the figure's size now (see FIG_SIZE_IN); True when they changed."""
        # in inches: font sizes are points, so a screen's pixel density is already in them
        w_in, h_in = self.fig.get_size_inches()
        size = (round(w_in, 3), round(h_in, 3))
        if size == self._size_seen:
            return False
        self._size_seen = size
        k = min(size[0] / FIG_SIZE_IN[0], size[1] / FIG_SIZE_IN[1])
        k = max(0.5, k)
        self._scale = k
        for t, base in self._base_fonts.items():
            t.set_fontsize(base * k)
        for ax, base in self._base_ticks.items():
            ax.tick_params(labelsize=base * k)
        if self.legend is not None:
            for t in self.legend.get_texts():
                t.set_fontsize(11 * k)
        self.background = None
        self._static_key = None          # band names are fitted again at this size
        return True

    @staticmethod
    def _draw_hand_outline(ax, mirror: float) -> None:
        """Palm, four fingers, thumb and knuckles of one hand (static)."""
        style = dict(facecolor=SKIN, edgecolor=SKIN_EDGE, lw=2.0, zorder=1)
        px, py, pw, ph = _PALM
        x = px if mirror > 0 else -(px + pw)
        ax.add_patch(FancyBboxPatch((x, py), pw, ph, boxstyle="round,pad=0,rounding_size=0.9", **style))
        for _site, fx, length in _FINGERS:
            ax.add_patch(FancyBboxPatch((mirror * fx - _FINGER_W / 2, _KNUCKLE_Y - 0.6), _FINGER_W,
                                        length + 0.6, boxstyle=f"round,pad=0,rounding_size={_FINGER_W / 2}",
                                        **style))
        (bx, by), length, ang = _THUMB
        thumb = FancyBboxPatch((mirror * bx - _FINGER_W / 2 - 0.05, by), _FINGER_W + 0.1, length,
                               boxstyle=f"round,pad=0,rounding_size={_FINGER_W / 2}", **style)
        thumb.set_transform(Affine2D().rotate_deg_around(mirror * bx, by, mirror * ang) + ax.transData)
        ax.add_patch(thumb)
        # cover the finger roots so the palm reads as one shape
        ax.add_patch(Rectangle((x + 0.08, _KNUCKLE_Y - 0.75), pw - 0.16, 0.7, facecolor=SKIN, lw=0, zorder=1))
        for _site, fx, _length in _FINGERS:      # knuckles
            ax.add_patch(Circle((mirror * fx, _KNUCKLE_Y), 0.3, facecolor="none", edgecolor=SKIN_EDGE,
                                lw=1.2, zorder=2))

    def _apply_static(self, s: LiveSnapshot) -> None:
        """Region header, band shading and limit line, key legend: the background's content."""
        self._static_key = self.static_key(s)
        self.background = None
        limit = s.region_limit if s.region_limit in BANDS else None
        for g in self.groups:
            edges = np.median(np.array([s.sensors[j].edges_n for j in g.columns], float), axis=0)
            e = [0.0, *edges]
            top = float(edges[-1]) * YLIM_HEADROOM
            g.ax.set_ylim(0.0, top)
            bounds = [*e, top]
            h_px = g.ax.bbox.height
            label_px = g.span_labels[0].get_fontsize() * self.fig.dpi / 72.0
            shown = fit_band_labels([b / top * h_px for b in bounds], label_px)
            for k, (r, lab) in enumerate(zip(g.spans, g.span_labels)):
                r.set_y(bounds[k])
                r.set_height(bounds[k + 1] - bounds[k])
                lab.set_y((bounds[k] + bounds[k + 1]) / 2)
                lab.set_visible(shown[k])
            if limit is not None and BANDS.index(limit) < len(edges):
                g.limit_line.set_ydata([edges[BANDS.index(limit)]] * 2)
                g.limit_line.set_visible(True)
            else:
                g.limit_line.set_visible(False)
        self.region_text.set_text(clean(s.region_name) + (f"   ({clean(s.skill)})" if s.skill else ""))
        if limit is not None:
            for box, text in ((self.limit_text, f"limit: {BAND_LABELS[limit]}"),
                              (self.back_limit, f"limit {BAND_LABELS[limit]}")):
                box.set_text(text)
                box.get_bbox_patch().set_facecolor(BAND_COLOURS[limit])
                box.set_color(BAND_TEXT_COLOURS[limit])
                box.set_visible(True)
        else:
            self.limit_text.set_visible(False)
            self.back_limit.set_visible(False)
        self.note_text.set_text("\n".join(textwrap.wrap(clean(s.region_note), 60)[:2]))
        regions = [(("> " if rid == s.region else "  ") + clean(f"{k} {rid.replace('_', ' ')}"))
                   for k, rid, name in s.region_keys]
        lines, line = [], ""
        for r in regions:
            if line and len(line) + len(r) + 2 > KEYS_LINE_CHARS:
                lines.append(line)
                line = ""
            line += ("  " if line else "") + r
        if line:
            lines.append(line)
        ctrl = "  ".join(f"[{_key_name(k)}] {short_control(what)}" for k, what in _controls(s))
        self.keys_text.set_text("\n".join([*lines, ctrl]))

    # --- per frame --------------------------------------------------------------------
    def update(self, s: LiveSnapshot) -> list:
        """Update every artist from the snapshot; returns the animated artists to draw."""
        if self.layout_key(s) != self._layout_key:
            self._build(s)
        self._rescale()
        if self.static_key(s) != self._static_key:
            self._apply_static(s)
        # traces: x in seconds before now, so the axes never move
        x = np.asarray(s.trace_t, float) - s.t_s
        f = np.asarray(s.trace_force, float)
        over = s.trace_over_range
        over = np.asarray(over, bool) if over is not None and np.shape(over) == f.shape else None
        for g in self.groups:
            buckets = max(16, int(g.ax.bbox.width / TRACE_PX_PER_BUCKET))
            for line, j in zip(g.lines, g.columns):
                if f.ndim == 2 and j < f.shape[1] and len(x) == f.shape[0]:
                    line.set_data(*decimate_minmax(x, f[:, j], buckets))
                else:
                    line.set_data([], [])
            g.over_line.set_data(*over_range_runs(x, f, over, g.columns))
        # hand pictures and bands
        for p in self.pictures:
            for j, c in p.markers.items():
                band = s.sensors[j].band
                c.set_facecolor(BAND_COLOURS.get(band, BAND_COLOURS["none"]))
                c.set_hatch("///" if band == "fault" else None)
                if band == "fault":
                    c.set_hatchcolor("white")
                letter = p.letters[j]
                letter.set_text(BAND_LETTERS.get(band, ""))
                letter.set_color(BAND_TEXT_COLOURS.get(band, TEXT_DARK))
            band = s.hand_band.get(p.hand, "none")
            label = BAND_LABELS.get(band, band.upper())
            p.band_text.set_text(label)
            # long names ("NO CONTACT", "SENSOR FAULT") smaller, so they stay in their column
            p.band_text.set_fontsize(self._base_fonts[p.band_text] * self._scale
                                     * (LONG_LABEL_SHRINK if len(label) > 8 else 1.0))
            p.band_text.get_bbox_patch().set_facecolor(BAND_COLOURS.get(band, BAND_COLOURS["none"]))
            p.band_text.set_color(BAND_TEXT_COLOURS.get(band, "white"))
            p.held_text.set_text(textwrap.shorten(clean((s.hand_held or {}).get(p.hand, "")), 34,
                                                  placeholder="..."))
        # the back: the current region, time worked per region (coarse steps: redrawn seldom)
        times = {r: 5.0 * np.floor(float(t) / 5.0) for r, t in (s.region_time_s or {}).items()}
        self.backmap.update(s.region or None, None, times)
        worked = (s.region_time_s or {}).get(s.region, 0.0) if s.region else 0.0
        self.back_time.set_text(f"{_countdown(worked)} worked here" if s.region else "")
        # marks: on the traces, and acknowledged with their time
        marks = [m for m in s.mark_times if s.t_s - m <= s.window_s][-MARK_LINES:]
        for g in self.groups:
            for k, ml in enumerate(g.mark_lines):
                if k < len(marks):
                    ml.set_xdata([marks[k] - s.t_s] * 2)
                    ml.set_visible(True)
                else:
                    ml.set_visible(False)
        if s.mark_times and s.t_s - s.mark_times[-1] <= MARK_SHOW_S:
            self.mark_text.set_text(f"Mark {s.marks} saved at {_countdown(s.mark_times[-1])}")
            self.mark_text.set_visible(True)
        else:
            self.mark_text.set_text("")
            self.mark_text.set_visible(False)
        # routine
        st = s.stage
        if st is not None:
            self.stage_title.set_text(textwrap.shorten(clean(f"Stage {st.index + 1}/{st.count}: {st.name}"),
                                                       STAGE_TITLE_CHARS, placeholder=" ..."))
            self.stage_instr.set_text("\n".join(wrap_lines(clean(st.instruction), INSTRUCTION_WRAP,
                                                            INSTRUCTION_LINES)))
            self.stage_next.set_text(clean(f"Next: {st.next_name}") if st.next_name else "Last stage")
            self.stage_clock.set_text(_countdown(st.remaining_s))
            self.stage_clock.set_color(BAND_COLOURS["too_much"] if st.remaining_s <= 5 else TEXT_DARK)
        else:
            self.stage_title.set_text("No guided routine")
            self.stage_instr.set_text("Press a region key (below) for where you are working.")
            self.stage_next.set_text("")
            self.stage_clock.set_text("")
        # alerts
        shown = visible_alerts(s)
        if shown:
            a = shown[0]
            colour = SEVERITY_COLOURS.get(a.severity, SEVERITY_COLOURS["danger"])
            on = alert_flash_on(a.age_s)
            self.alert_banner.set_text("\n".join(wrap_lines(clean(a.text), ALERT_WRAP, ALERT_LINES)))
            self.alert_banner.set_color("white" if on else colour)
            self.alert_banner.get_bbox_patch().set_facecolor(colour if on else "white")
            self.alert_banner.get_bbox_patch().set_edgecolor(colour)
            self.alert_banner.set_visible(True)
            older = [textwrap.shorten(f"{b.age_s:.0f} s ago: {clean(b.message or b.text)}", OLDER_ALERT_CHARS,
                                      placeholder="...")
                     for b in shown[1:ALERTS_LISTED]]
            self.alert_older.set_text("\n".join(older))
            self.alert_older.set_visible(bool(older))
        else:
            self.alert_banner.set_text("")
            self.alert_banner.set_visible(False)
            self.alert_older.set_text("")
            self.alert_older.set_visible(False)
        self.problems_text.set_text("\n".join(line for p in s.problems
                                              for line in textwrap.wrap(f"PROBLEM: {clean(p)}", PROBLEM_WRAP)))
        self.problems_text.set_visible(bool(s.problems))
        self.paused_text.set_visible(bool(s.paused))
        self.paused_frame.set_visible(bool(s.paused))
        self.status_text.set_text(f"{int(s.t_s) // 60}:{int(s.t_s) % 60:02d}   marks {s.marks}   {clean(s.status)}")
        return list(self._animated)

    def frame(self, s: LiveSnapshot) -> list:
        """Draw one frame with blitting; returns the animated artists (as `update`).

        Only what changed is drawn again: the trace axes every frame, other animated
        artists when their look changed or when they overlap something redrawn. Each of
        those areas is restored from the background first, so nothing is drawn twice over
        itself, and only those areas are copied to the screen.
        """
        artists = self.update(s)
        if self.background is None:
            self.canvas.draw()          # static artists; draw_event captures and draws the rest
            return artists
        renderer = self.canvas.get_renderer()
        now: dict = {}
        dirty: list = []
        todo: set = set()
        for a in artists:
            sig = self._signature(a)
            before = self._drawn.get(a)
            if a not in self._always_dirty and before is not None and before[0] == sig:
                now[a] = before             # unchanged: same pixels as last frame
                continue
            now[a] = (sig, self._extent(a, renderer))
            todo.add(a)
            dirty += [e for e in (before[1] if before else None, now[a][1]) if e is not None]
        grown = True
        while grown:                    # whatever overlaps a restored area is drawn again
            grown = False
            for a in artists:
                ext = now[a][1]
                if a not in todo and ext is not None and any(_overlap(ext, d) for d in dirty):
                    todo.add(a)
                    if ext not in dirty:
                        dirty.append(ext)
                    grown = True
        self._drawn = now
        dirty = list(dict.fromkeys(dirty))
        area = sum((d[2] - d[0]) * (d[3] - d[1]) for d in dirty)
        if area > FULL_BLIT_FRACTION * self.fig.bbox.width * self.fig.bbox.height:
            self.canvas.restore_region(self.background)
            for a in artists:
                self.fig.draw_artist(a)
            self.canvas.blit(self.fig.bbox)
            self.last_blit = [self.fig.bbox]
            return artists
        for d in dirty:
            self._restore(d)
        for a in artists:
            if a in todo:
                self.fig.draw_artist(a)
        blits = _merge_rects(dirty)
        for d in blits:
            self.canvas.blit(Bbox.from_extents(*d))
        self.last_blit = blits
        return artists

    def _restore(self, bbox) -> None:
        """Restore one area (x0, y0, x1, y1 display pixels, origin bottom left) from the background."""
        h = self.fig.bbox.height
        x0, y0, x1, y1 = bbox
        self.canvas.restore_region(self.background, bbox=(x0, h - y1, x1, h - y0), xy=(0, 0))

    @staticmethod
    def _signature(a):
        """What the artist looks like (for artists that are not redrawn every frame)."""
        if not a.get_visible():
            return None
        if isinstance(a, Text):
            patch = a.get_bbox_patch()
            return (a.get_text(), a.get_color(), a.get_position(),
                    None if patch is None else (patch.get_facecolor(), patch.get_edgecolor()))
        if isinstance(a, Patch):
            return (a.get_facecolor(), a.get_edgecolor(), a.get_hatch(), a.get_linewidth())
        return id(a)

    def _extent(self, a, renderer):
        """The pixels the artist covers (whole pixels, with a margin), None if it draws nothing."""
        if not a.get_visible():
            return None
        if isinstance(a, Line2D):
            return tuple(a.axes.bbox.extents)
        if isinstance(a, Text):
            if not a.get_text():
                return None
            ext = a.get_window_extent(renderer)
            patch = a.get_bbox_patch()
            if patch is not None:
                a.update_bbox_position_size(renderer)
                ext = Bbox.union([ext, patch.get_window_extent(renderer)])
        else:
            ext = a.get_window_extent(renderer)
        pad = EXTENT_PAD_PX
        x0, y0, x1, y1 = ext.extents
        fb = self.fig.bbox
        return (max(0.0, np.floor(x0) - pad), max(0.0, np.floor(y0) - pad),
                min(fb.width, np.ceil(x1) + pad), min(fb.height, np.ceil(y1) + pad))

    def _on_draw(self, event) -> None:
        if self._saving or (event is not None and event.canvas is not self.canvas):
            return
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.background_captures += 1
        renderer = self.canvas.get_renderer()
        for a in self._animated:
            self.fig.draw_artist(a)
        self._drawn = {a: (self._signature(a), self._extent(a, renderer)) for a in self._animated}

    def savefig(self, path, **kw) -> None:
        """Save the current picture (static and animated artists) to a file."""
        self._saving = True
        try:
            for a in self._animated:
                a.set_animated(False)
            self.fig.savefig(path, **kw)
        finally:
            for a in self._animated:
                a.set_animated(True)
            self._saving = False
            self.background = None

    def close(self) -> None:
        self.canvas.mpl_disconnect(self._cid)


class MplView:
    """The interactive window: a timer asks the source for a snapshot and draws it, `fps` times a second.

    Keys pressed in the window go to `source.key()` (matplotlib's own key shortcuts are
    switched off, so region keys like "s" or "l" do not save or change scales). Closing
    the window quits the session; the window closes when the source stops running.
    """

    def __init__(self, source, fps: float = 30, sound=None):
        self.source = source
        self.sound = sound            # a SoundMonitor (live/sound.py), started with the window
        self.fps = float(fps)
        self.live: LiveFigure | None = None
        self.frames = 0
        self._fig = None
        self._timer = None
        self._errors = 0
        self._due: float | None = None

    def run(self) -> None:
        import matplotlib.pyplot as plt

        with plt.rc_context({"toolbar": "None"}):
            fig = plt.figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI)
        self._fig = fig
        manager = fig.canvas.manager
        if manager is not None:
            if getattr(manager, "key_press_handler_id", None) is not None:
                fig.canvas.mpl_disconnect(manager.key_press_handler_id)
            try:
                manager.set_window_title("massage-glove live")
            except Exception:     # some backends have no title
                pass
        _fit_to_screen(fig)
        self.live = LiveFigure(fig, self.source.snapshot())
        fig.canvas.mpl_connect("key_press_event", self._on_key)
        fig.canvas.mpl_connect("close_event", self._on_close)
        self._timer = fig.canvas.new_timer(interval=max(1, int(1000 / self.fps)))
        self._timer.add_callback(self._tick)
        self._timer.start()
        if self.sound is not None:
            self.sound.start()
        try:
            plt.show(block=True)
        finally:
            if self.sound is not None:
                self.sound.stop()
            self._timer.stop()
            self.live.close()
            plt.close(fig)

    def _tick(self) -> None:
        if not self.source.running:
            self._timer.stop()
            import matplotlib.pyplot as plt
            plt.close(self._fig)
            return
        try:
            self.live.frame(self.source.snapshot())
            self.frames += 1
        except Exception:        # a bad frame must not stop the window; say it once
            self._errors += 1
            if self._errors == 1:
                log.exception("live view: drawing a frame failed")
        # keep the frame rate: the timer waits `interval` after each frame (and the toolkit's
        # own screen update), so aim each wait at the next frame's due time; when a frame
        # ran late, the missed frames are dropped rather than caught up
        period = 1.0 / self.fps
        now = time.perf_counter()
        self._due = self._due + period if self._due is not None else now + period
        if self._due < now:
            self._due = now + period / 2
        self._timer.interval = max(1, int((self._due - now) * 1000.0))

    def _on_key(self, event) -> None:
        k = event.key
        if k is None:
            return
        if k in ("escape", "ctrl+c", "ctrl+q"):
            k = "q"
        elif k == "space":
            k = " "
        elif len(k) == 1:
            k = k.lower()
        else:
            return
        self.source.key(k)

    def _on_close(self, event) -> None:
        if self.source.running:
            self.source.key("q")


def _fit_to_screen(fig, margin: float = 0.94) -> None:
    """Shrink the window to fit the screen (Tk reports its size; other toolkits keep theirs).

    The text scales with the window (LiveFigure), so a smaller screen gets a smaller but
    complete picture rather than a window cut off at the screen's edge.
    """
    try:
        win = fig.canvas.manager.window
        sw, sh = int(win.winfo_screenwidth()), int(win.winfo_screenheight())
    except Exception:          # not Tk, or no screen size: leave the window as it is
        return
    w_in, h_in = fig.get_size_inches()
    w_px, h_px = w_in * fig.dpi, h_in * fig.dpi
    k = min(1.0, margin * sw / w_px, margin * sh / h_px)
    if k < 1.0:
        fig.set_size_inches(w_in * k, h_in * k, forward=True)
