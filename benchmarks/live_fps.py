"""Frames per second of the live window: blitting (LiveFigure) against full redraws.

16 channels (two gloves of 8 sensors), a 10 s window at 200 Hz (2000 points per trace),
the 1280x720 live figure. Three loops, each for `seconds` of wall time:

* blit:   LiveFigure.frame(), what the live window does;
* full:   the same LiveFigure picture, but a full canvas.draw() every frame;
* naive:  a plain figure (one axes per hand and sensor class, one line per sensor, a
          title) updated with set_data and fig.canvas.draw() every frame.

Always on the offscreen Agg canvas; also in a real TkAgg window when DISPLAY is set
(frames are flushed to the screen with canvas.flush_events()). The target is 30 fps.

    python -m benchmarks.live_fps [--seconds 3] [--no-window]

`run(seconds=...)` returns the numbers as a dict for a benchmark runner.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from massage_glove.live.state import BANDS, AlertView, LiveSnapshot, SensorView, StageView

RATE_HZ = 200.0
WINDOW_S = 10.0
FRAME_DT_S = 1.0 / 30.0          # session time between frames (the target frame rate)
TARGET_FPS = 30.0
SITES = (("thumb", "fsr402"), ("index", "fsr402"), ("middle", "fsr402"), ("ring", "fsr402"),
         ("little", "fsr402"), ("knuckle_index", "fsr402"), ("knuckle_middle", "fsr402"),
         ("palm_heel", "fsr406"))
EDGES_N = {"fsr402": (4.0, 9.0, 15.0), "fsr406": (10.0, 25.0, 40.0)}


class SnapshotStream:
    """Snapshots of two simulated gloves at 200 Hz, one per frame, from a precomputed signal."""

    def __init__(self, seconds_of_frames: float = 120.0, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.sensors = [(("L_" if h == "left" else "R_") + site, h, site, cls)
                        for h in ("left", "right") for site, cls in SITES]
        n = int((WINDOW_S + seconds_of_frames) * RATE_HZ)
        t = np.arange(n) / RATE_HZ
        k = np.arange(len(self.sensors))
        scale = np.where(k % 8 == 7, 2.5, 1.0)
        stroke = 0.5 + 0.5 * np.sin(2 * np.pi * 0.6 * t[:, None] + 0.35 * k[None, :])
        self.force = scale * (1.0 + 11.0 * stroke) + 0.3 * rng.standard_normal((n, len(k)))
        self.t = t
        self.n_win = int(WINDOW_S * RATE_HZ)
        self.frame = 0

    def next(self) -> LiveSnapshot:
        i1 = self.n_win + int(self.frame * FRAME_DT_S * RATE_HZ) % (len(self.t) - self.n_win)
        i0 = i1 - self.n_win
        self.frame += 1
        t_now = self.t[i1 - 1]
        f = self.force[i0:i1]
        sensors = []
        for j, (name, hand, site, cls) in enumerate(self.sensors):
            x = float(f[-1, j])
            e = EDGES_N[cls]
            band = "none" if x < 0.5 else BANDS[int(np.searchsorted(e, x, side="right"))]
            sensors.append(SensorView(name, hand, site, cls, e, band, x))
        hand_band = {h: max((s.band for s in sensors if s.hand == h and s.band in BANDS),
                            key=BANDS.index, default="none") for h in ("left", "right")}
        # an alert every 8 s, shown for 6 s (the banner flashes, then stays)
        age = t_now % 8.0
        alerts = (AlertView(t_now - age, "too_much", "danger",
                            "Too much pressure along the spine with the right thumb: ease off.",
                            "R_thumb", age),) if age < 6.0 else ()
        stage = StageView("Benchmark", 2, 9, "Kneading the shoulders",
                          "Squeeze and roll the tops of the shoulders with thumbs and fingers.",
                          30.0 - t_now % 30.0, "Along the shoulder blades")
        return LiveSnapshot(
            t_s=float(t_now), window_s=WINDOW_S, trace_t=self.t[i0:i1], trace_force=f,
            sensors=tuple(sensors), hand_band=hand_band, region="paraspinals",
            region_name="Along the spine (paraspinals)", region_limit="firm", region_note="",
            skill="trained", region_keys=(("n", "neck", "Neck and head"), ("p", "paraspinals",
                                          "Along the spine (paraspinals)")),
            alerts=alerts, stage=stage, status="L+R 200 Hz ok lost 0", marks=0)


class NaiveFigure:
    """A plain live plot: lines updated with set_data, the whole figure drawn every frame."""

    def __init__(self, fig, snap: LiveSnapshot):
        self.fig = fig
        groups = []
        for hand in ("left", "right"):
            for cls in ("fsr402", "fsr406"):
                cols = [j for j, s in enumerate(snap.sensors) if s.hand == hand and s.sensor_class == cls]
                groups.append(cols)
        axes = fig.subplots(len(groups), 1, sharex=True)
        self.lines = []
        for ax, cols in zip(axes, groups):
            ax.set_xlim(-WINDOW_S, 0)
            ax.set_ylim(0, 1.35 * snap.sensors[cols[0]].edges_n[-1])
            for j in cols:
                (line,) = ax.plot([], [], lw=2)
                self.lines.append((line, j))
        self.title = fig.suptitle("")

    def frame(self, snap: LiveSnapshot) -> None:
        x = snap.trace_t - snap.t_s
        for line, j in self.lines:
            line.set_data(x, snap.trace_force[:, j])
        bands = " ".join(f"{h}: {b}" for h, b in snap.hand_band.items())
        self.title.set_text(f"{snap.region_name}  {bands}  {snap.alerts[0].text if snap.alerts else ''}")
        self.fig.canvas.draw()


def _loop(draw, stream: SnapshotStream, seconds: float, flush=None) -> float:
    """Frames per second of draw(snapshot) over `seconds` of wall time (after one warm-up frame)."""
    draw(stream.next())
    if flush:
        flush()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        draw(stream.next())
        if flush:
            flush()
        n += 1
    return n / (time.perf_counter() - t0)


def _variants(make_fig, seconds: float, flush_of=None) -> dict:
    from massage_glove.live.view_mpl import LiveFigure

    out = {}
    stream = SnapshotStream()
    fig = make_fig()
    live = LiveFigure(fig, stream.next())
    flush = flush_of(fig) if flush_of else None
    out["blit_fps"] = _loop(live.frame, stream, seconds, flush)

    def full(snap):
        live.background = None
        live.frame(snap)

    out["full_fps"] = _loop(full, stream, seconds, flush)
    live.close()
    fig2 = make_fig()
    naive = NaiveFigure(fig2, stream.next())
    out["naive_fps"] = _loop(naive.frame, stream, seconds, flush_of(fig2) if flush_of else None)
    return out


def run_agg(seconds: float = 3.0) -> dict:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from massage_glove.live.view_mpl import FIG_DPI, FIG_SIZE_IN

    def make_fig():
        fig = Figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI)
        FigureCanvasAgg(fig)
        return fig

    return _variants(make_fig, seconds)


def run_window(seconds: float = 3.0, backend: str = "TkAgg") -> dict:
    """The same loops in a real window (needs a display)."""
    import matplotlib.pyplot as plt

    from massage_glove.live.view_mpl import FIG_DPI, FIG_SIZE_IN

    plt.switch_backend(backend)
    figs = []

    def make_fig():
        with plt.rc_context({"toolbar": "None"}):
            fig = plt.figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI)
        plt.show(block=False)
        fig.canvas.flush_events()
        figs.append(fig)
        return fig

    def flush_of(fig):
        return fig.canvas.flush_events

    try:
        out = _variants(make_fig, seconds, flush_of)
        out["size_px"] = list(figs[0].canvas.get_width_height())
    finally:
        for f in figs:
            plt.close(f)
    return out


def run(seconds: float = 3.0, window: bool | None = None) -> dict:
    """fps of blit / full redraw / naive loops on Agg, and in a TkAgg window when DISPLAY is set."""
    result = {"channels": 16, "points_per_trace": int(WINDOW_S * RATE_HZ), "window_s": WINDOW_S,
              "rate_hz": RATE_HZ, "target_fps": TARGET_FPS, "seconds": seconds,
              "agg": run_agg(seconds), "tkagg": None, "tkagg_error": None}
    if window is None:
        window = bool(os.environ.get("DISPLAY"))
    if window:
        try:
            result["tkagg"] = run_window(seconds)
        except Exception as e:       # no Tk, or the display went away: report, keep Agg numbers
            result["tkagg_error"] = f"{type(e).__name__}: {e}"
    checked = [result["agg"]] + ([result["tkagg"]] if result["tkagg"] else [])
    result["ok"] = all(r["blit_fps"] >= TARGET_FPS for r in checked)
    return result


def report(r: dict) -> str:
    lines = [f"live view fps: {r['channels']} channels, {r['window_s']:.0f} s window at "
             f"{r['rate_hz']:.0f} Hz ({r['points_per_trace']} points per trace), "
             f"{r['seconds']:.0f} s per loop",
             f"{'canvas':<8}{'blit':>10}{'full redraw':>14}{'naive':>10}",
             ]
    for name in ("agg", "tkagg"):
        v = r.get(name)
        if v:
            lines.append(f"{name:<8}{v['blit_fps']:>10.1f}{v['full_fps']:>14.1f}{v['naive_fps']:>10.1f}")
    if r.get("tkagg_error"):
        lines.append(f"tkagg    not measured: {r['tkagg_error']}")
    elif r.get("tkagg") is None:
        lines.append("tkagg    not measured (no DISPLAY)")
    lines.append(f"target >= {r['target_fps']:.0f} fps with blitting: {'met' if r['ok'] else 'NOT met'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="wall time per loop")
    ap.add_argument("--no-window", action="store_true", help="Agg only, even with a display")
    args = ap.parse_args(argv)
    r = run(args.seconds, window=False if args.no_window else None)
    print(report(r))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
