"""The class view's window (matplotlib) and terminal versions, and `massage-glove class`."""
from __future__ import annotations

import logging
import math
import os
import sys
import time

from .model import SETTINGS
from .render import TILE_KEYS, band_colour, flash_phase, health, pct, render_text, safe_text

log = logging.getLogger(__name__)

TILE_W_IN, TILE_H_IN = 3.2, 1.9
# terminal control: cursor home, clear to end of line / screen, hide / show the cursor, clear
_HOME, _CLEAR_EOL, _CLEAR_EOS = "\x1b[H", "\x1b[K", "\x1b[J"
_HIDE_CURSOR, _SHOW_CURSOR, _CLEAR = "\x1b[?25l", "\x1b[?25h", "\x1b[2J"


class ClassTermView:
    def __init__(self, source, fps: float | None = None, stream=None, stdin=None):
        self.source = source
        self.fps = float(fps or SETTINGS["fps"])
        self.stream = stream if stream is not None else sys.stdout
        self.stdin = stdin if stdin is not None else sys.stdin
        self.frames = 0

    def frame(self, width: int = 120, colour: bool = False) -> tuple[str, list]:
        tiles = self.source.tiles()
        return render_text(tiles, width=width, colour=colour,
                           flash_on=flash_phase(time.monotonic())), tiles

    def run(self) -> None:
        from ..live.view_term import TermView, _isatty, _Keyboard
        tty = _isatty(self.stream)
        keys = _Keyboard(self.stdin) if _isatty(self.stdin) else None
        period = 1.0 / self.fps
        try:
            if keys is not None:
                keys.start()
            if tty:
                self.stream.write(_HIDE_CURSOR + _CLEAR)
            while self.source.running:
                t0 = time.monotonic()
                width = 120
                if tty:
                    try:
                        width = os.get_terminal_size(self.stream.fileno()).columns
                    except (OSError, ValueError):
                        pass
                text, tiles = self.frame(width, colour=tty)
                if tty:
                    self.stream.write(_HOME + text.replace("\n", _CLEAR_EOL + "\n") + _CLEAR_EOS)
                else:
                    self.stream.write(text + "\n")
                self.stream.flush()
                self.frames += 1
                wait = max(0.0, period - (time.monotonic() - t0))
                if keys is None:
                    time.sleep(wait if tty else max(wait, 1.0))
                    continue
                for k in keys.read(wait):
                    if k == "q":
                        self.source.stop()
                        break
                    remote = open_remote(self.source, tiles, k)
                    if remote is not None:
                        keys.stop()
                        try:
                            TermView(remote, stream=self.stream, stdin=self.stdin).run()
                        finally:
                            remote.close()
                            keys.start()
        except KeyboardInterrupt:
            self.source.stop()
        finally:
            if keys is not None:
                keys.stop()
            if tty:
                self.stream.write(_SHOW_CURSOR + "\n")
                self.stream.flush()


def open_remote(source, tiles, k: str):
    """The full view of the tile with key k (None if there is none or its streams are gone)."""
    if k not in TILE_KEYS:
        return None
    i = TILE_KEYS.index(k)
    if i >= len(tiles):
        return None
    tr = source.trainees.get(tiles[i].key)
    if tr is None or tr.forces_info is None or "bands" not in tr.infos or "markers" not in tr.infos:
        return None
    from .remote import RemoteTrainee
    try:
        return RemoteTrainee(source.pylsl, tr.forces_info, tr.infos["bands"], tr.infos["markers"])
    except Exception as e:
        log.warning("cannot open %s's streams: %s", tiles[i].name, e)
        return None


class ClassFigure:
    """The grid of tiles on a matplotlib figure (drawn offscreen or in a window)."""

    def __init__(self, fig, n_max: int = 30):
        self.fig = fig
        self.axes = []
        self._n = 0

    def draw(self, tiles, now: float) -> None:
        import matplotlib.patches as mp
        fig = self.fig
        fig.clear()
        n = max(1, len(tiles))
        cols = min(6, max(1, math.ceil(math.sqrt(n * 1.6))))
        rows = math.ceil(n / cols)
        fig.set_size_inches(max(8.0, cols * TILE_W_IN), max(3.0, rows * TILE_H_IN + 0.5), forward=True)
        fig.text(0.01, 0.995, f"class view: {len(tiles)} trainees    key: open a trainee's live view    q: quit",
                 va="top", fontsize=10, parse_math=False)
        flash = flash_phase(now)
        top = 1.0 - 0.45 / fig.get_size_inches()[1]
        for i, t in enumerate(tiles):
            r, c = divmod(i, cols)
            w, h = 1.0 / cols, top / rows
            ax = fig.add_axes([c * w + 0.004, top - (r + 1) * h + 0.006, w - 0.008, h - 0.012])
            ax.set_axis_off()
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            edge = "#d62728" if t.attention else "#bbbbbb"
            face = "#ffd6d6" if t.attention and flash else ("#fff3f3" if t.attention else "white")
            if t.lost:
                face = "#e6e6e6"
            ax.add_patch(mp.FancyBboxPatch((0.01, 0.01), 0.98, 0.98, boxstyle="round,pad=0,rounding_size=0.04",
                                           fc=face, ec=edge, lw=3 if t.attention else 1))
            key = TILE_KEYS[i] if i < len(TILE_KEYS) else ""
            title = f"[{key}] {safe_text(t.name, 40)}"
            ax.text(0.05, 0.9, title, fontsize=11, weight="bold", va="top", parse_math=False, clip_on=True)
            if t.attention:
                ax.text(0.95, 0.9, t.reason.upper(), fontsize=9, color="#d62728", weight="bold",
                        va="top", ha="right", parse_math=False)
            where = safe_text(t.region_name + (f" / {t.stage_name}" if t.stage_name else ""), 60)
            if len(where) > 46:
                where = where[:45] + "…"
            ax.text(0.05, 0.72, where, fontsize=8, va="top", parse_math=False, clip_on=True)
            for k, hnd in enumerate(t.hands[:2]):
                b = "none" if t.lost else t.hand_band.get(hnd, "none")
                x0 = 0.05 + k * 0.46
                ax.add_patch(mp.Rectangle((x0, 0.4), 0.43, 0.17, fc=band_colour(b), ec="none"))
                from ..live.state import BAND_LABELS
                ax.text(x0 + 0.215, 0.485, f"{hnd[0].upper()}  {BAND_LABELS.get(b, b)}", fontsize=9,
                        ha="center", va="center", color="black" if b in ("none", "light", "firm") else "white",
                        weight="bold", parse_math=False)
            ax.text(0.05, 0.33, f"in target {pct(t)}    too much x{t.episodes}", fontsize=8, va="top",
                    parse_math=False)
            alert = safe_text(t.last_alert or "no alert", 200)
            if len(alert) > 58:
                alert = alert[:56] + "..."
            ax.text(0.05, 0.2, alert, fontsize=7, va="top", parse_math=False, clip_on=True,
                    color="#d62728" if t.last_alert_severity == "danger" else "black")
            ax.text(0.05, 0.07, health(t), fontsize=7, va="bottom", parse_math=False,
                    color="#d62728" if t.lost or not t.glove_connected else "#555555")
        if not tiles:
            fig.text(0.5, 0.5, "no trainee found yet: each trainee runs `massage-glove live --lsl`",
                     ha="center", parse_math=False)


class ClassMplView:
    def __init__(self, source, fps: float | None = None):
        self.source = source
        self.fps = float(fps or SETTINGS["fps"])
        self.frames = 0
        self._remote = []

    def run(self) -> None:
        import matplotlib.pyplot as plt
        with plt.rc_context({"toolbar": "None"}):
            fig = plt.figure(figsize=(12, 7))
        mgr = fig.canvas.manager
        if mgr is not None and getattr(mgr, "key_press_handler_id", None) is not None:
            fig.canvas.mpl_disconnect(mgr.key_press_handler_id)
        try:
            mgr.set_window_title("massage-glove class")
        except Exception:
            pass
        self.cf = ClassFigure(fig)
        self._tiles = []
        fig.canvas.mpl_connect("key_press_event", self._on_key)
        fig.canvas.mpl_connect("close_event", lambda e: self.source.stop())
        timer = fig.canvas.new_timer(interval=int(1000 / self.fps))

        def tick():
            if not self.source.running:
                timer.stop()
                plt.close("all")
                return
            self._tiles = self.source.tiles()
            self.cf.draw(self._tiles, time.monotonic())
            fig.canvas.draw_idle()
            self.frames += 1
        timer.add_callback(tick)
        timer.start()
        try:
            plt.show(block=True)
        finally:
            timer.stop()
            for r in self._remote:
                r.close()

    def _on_key(self, event) -> None:
        k = (event.key or "").lower()
        if k in ("q", "escape"):
            self.source.stop()
            return
        remote = open_remote(self.source, self._tiles, k)
        if remote is None:
            return
        import matplotlib.pyplot as plt
        from ..live.view_mpl import FIG_DPI, FIG_SIZE_IN, LiveFigure
        fig = plt.figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI)
        live = LiveFigure(fig, remote.snapshot())
        timer = fig.canvas.new_timer(interval=100)

        def tick():
            if not remote.running:
                timer.stop()
                plt.close(fig)
                return
            live.frame(remote.snapshot())
        timer.add_callback(tick)
        fig.canvas.mpl_connect("key_press_event", lambda e: remote.key((e.key or "").lower()))
        fig.canvas.mpl_connect("close_event", lambda e: remote.close())
        timer.start()
        self._remote.append(remote)
        fig.show()


def register(sub) -> None:
    s = sub.add_parser("class", help="the instructor's view of every trainee streaming with --lsl")
    s.add_argument("--headless", action="store_true", help="the terminal version")
    s.add_argument("--duration", type=float, default=None, help="quit after this many seconds")
    s.add_argument("--loopback", action="store_true",
                   help="LSL on this machine only (a demo or test with simulated trainees)")
    s.set_defaults(func=cmd_class)
    s = sub.add_parser("class-demo", help="simulated trainees for the class view: a recording "
                                          "replayed live by several trainees, each on LSL")
    s.add_argument("log", metavar="LOG")
    s.add_argument("--trainees", type=int, default=6)
    s.add_argument("--loopback", action="store_true", help="LSL on this machine only (as class --loopback)")
    s.add_argument("--duration", type=float, default=None)
    s.set_defaults(func=cmd_class_demo)


def cmd_class_demo(args) -> int:
    from ..errors import GloveError
    if not 1 <= args.trainees <= 60:
        raise GloveError(f"--trainees {args.trainees}: expected 1 .. 60")
    if args.loopback:
        from ..lsl_config import use_loopback
        use_loopback(os.environ.get("MASSAGE_GLOVE_LSL_SESSION", "massage-glove-class"))
    from ..log import load
    from .trainees import Trainee
    slog = load(args.log)
    t0 = float(slog.samples.t_device_s[0])
    dur = float(slog.samples.t_device_s[-1]) - t0
    stages = [e.t_device_s - t0 for e in slog.events if e.kind == "stage" and e.t_device_s is not None]
    first = min(stages) if stages else 0.0
    span = max(1.0, dur - first - 10.0)
    trainees = [Trainee(slog, f"trainee {i + 1:02d}", start_s=first + i * span / args.trainees).start()
                for i in range(args.trainees)]
    print(f"{args.trainees} simulated trainees streaming on LSL; Ctrl-C to stop", file=sys.stderr)
    t_end = time.monotonic() + args.duration if args.duration else None
    try:
        while t_end is None or time.monotonic() < t_end:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        for t in trainees:
            t.stop()
    return 0


def cmd_class(args) -> int:
    if args.loopback:
        from ..lsl_config import use_loopback
        use_loopback(os.environ.get("MASSAGE_GLOVE_LSL_SESSION", "massage-glove-class"))
    from ..live.views import display_available, load_gui_backend
    from .source import LslClass
    src = LslClass().start()
    if args.duration:
        import threading
        threading.Timer(args.duration, src.stop).start()
    try:
        view = None
        if not args.headless and display_available()[0] and load_gui_backend()[0]:
            view = ClassMplView(src)
        else:
            view = ClassTermView(src)
        print(f"class view: {'window' if isinstance(view, ClassMplView) else 'terminal'}",
              file=sys.stderr)
        view.run()
    finally:
        src.close()
    return 0
