"""The live view in a terminal: the same information as the window, as refreshing text.

    TermView(session).run()        # blocks until quit (q, Ctrl-C) or the session stops

On a terminal the screen is redrawn in place `fps` times a second (cursor home, no
scrolling) and keys are read from stdin in cbreak mode; the terminal is restored on
exit, also after an error or Ctrl-C. When the output is not a terminal (a log file, CI),
one compact line is written every second instead, and each new alert once on its own
line, so the log stays readable.

`render(snapshot)` is the screen as a string (no terminal needed).
"""
from __future__ import annotations

import math
import os
import sys
import time

from .state import BAND_LABELS, BANDS, LiveSnapshot

ALERT_SHOW_S = 5.0           # alerts stay listed this long
ALERTS_LISTED = 3
BAR_WIDTH = 24               # characters of a force bar
BAR_HEADROOM = 1.35          # bar full scale = too-much edge x this
LINE_PERIOD_S = 1.0          # compact line interval when the output is not a terminal
DEFAULT_CONTROLS = ((" ", "pause / resume"), ("m", "mark a moment"), ("z", "zero the sensors"),
                    ("q", "quit"))

# ANSI SGR codes per band (blue, green, yellow, red, grey, magenta)
_SGR = {"light": "34", "medium": "32", "firm": "33", "too_much": "1;31", "none": "90",
        "fault": "35", "danger": "1;31", "warning": "33", "info": "34", "problem": "1;37;41",
        "bold": "1", "dim": "2", "reverse": "7"}
_HOME, _CLEAR_EOL, _CLEAR_EOS = "\x1b[H", "\x1b[K", "\x1b[J"
_HIDE_CURSOR, _SHOW_CURSOR, _CLEAR = "\x1b[?25l", "\x1b[?25h", "\x1b[2J"
_HAND_ORDER = ("left", "right")


def _paint(text: str, what: str, colour: bool) -> str:
    if not colour or what not in _SGR:
        return text
    return f"\x1b[{_SGR[what]}m{text}\x1b[0m"


def _clock(seconds: float) -> str:
    s = max(0, int(math.ceil(seconds)))
    return f"{s // 60}:{s % 60:02d}"


def _hands(s: LiveSnapshot) -> list[str]:
    seen = list(dict.fromkeys(v.hand for v in s.sensors)) or list(s.hand_band)
    return [h for h in _HAND_ORDER if h in seen] + [h for h in seen if h not in _HAND_ORDER]


def _controls(s: LiveSnapshot):
    return tuple(s.extra.get("controls", DEFAULT_CONTROLS)) if s.extra else DEFAULT_CONTROLS


def _key_name(k: str) -> str:
    return "space" if k == " " else k


def _alerts(s: LiveSnapshot):
    return [a for a in sorted(s.alerts, key=lambda a: a.age_s) if a.age_s <= ALERT_SHOW_S]


def force_bar(force_n: float, edges_n, width: int = BAR_WIDTH) -> str:
    """A bar of `width` characters: '#' up to the force, '|' at the band edges, '.' elsewhere."""
    full = float(edges_n[-1]) * BAR_HEADROOM
    cells = ["."] * width
    for e in edges_n:
        k = min(width - 1, int(round(e / full * width)))
        cells[k] = "|"
    if math.isfinite(force_n):
        n = max(0, min(width, int(round(force_n / full * width))))
        for k in range(n):
            cells[k] = "#"
    return "".join(cells)


def _wrap(text: str, width: int, indent: str) -> list[str]:
    import textwrap
    return textwrap.wrap(text, max(20, width - len(indent)), initial_indent=indent,
                         subsequent_indent=indent) or []


def render(s: LiveSnapshot, *, colour: bool = False, width: int = 80) -> str:
    """The whole screen for one snapshot (lines joined by newlines, no trailing newline)."""
    rule = "-" * width
    out: list[str] = []
    limit = s.region_limit if s.region_limit in BANDS else ""
    head = f"REGION: {s.region_name}"
    if limit:
        head += "   limit " + _paint(BAND_LABELS[limit], limit, colour)
    if s.skill:
        head += f"   ({s.skill})"
    out.append(_paint(head, "bold", colour) if not limit else head)
    if s.region_note:
        out += _wrap(s.region_note, width, "  ")
    if s.paused:
        out.append(_paint("  *** PAUSED: press space to resume ***", "reverse", colour))
    out.append(rule)
    st = s.stage
    if st is not None:
        title = f"STAGE {st.index + 1}/{st.count}: {st.name}"
        left = f"{_clock(st.remaining_s)} left"
        out.append(title + " " * max(1, width - len(title) - len(left)) + _paint(left, "bold", colour))
        out += _wrap(st.instruction, width, "  ")
        out.append(f"  next: {st.next_name}" if st.next_name else "  last stage")
    else:
        out.append("No guided routine: press a region key for where you are working.")
    out.append(rule)
    # each hand's band, big-ish
    cells = []
    for hand in _hands(s):
        band = s.hand_band.get(hand, "none")
        label = BAND_LABELS.get(band, band.upper())
        cells.append(f"{hand.upper()}: " + _paint(f"[ {' '.join(label)} ]", band, colour))
    out.append("    ".join(cells))
    out.append(rule)
    # per sensor
    name_w = max([len(v.name) for v in s.sensors] + [4])
    for v in s.sensors:
        bar = force_bar(v.force_n, v.edges_n)
        force = f"{v.force_n:5.1f} N" if math.isfinite(v.force_n) else "  --- N"
        label = v.label or BAND_LABELS.get(v.band, v.band).lower()
        if v.over_range:
            force = ""                                    # the label says "> 20 N (over range)"
        elif not v.label and v.band == "fault" and v.fault:
            label += f" ({v.fault})"
        out.append(f"{v.name:<{name_w}} {_paint(bar, v.band, colour)} {force}  {_paint(label, v.band, colour)}")
    # alerts and problems
    shown = _alerts(s)
    if shown or s.problems:
        out.append(rule)
    for i, a in enumerate(shown[:ALERTS_LISTED]):
        prefix = f"{a.severity.upper()} ({a.age_s:.0f} s ago): " if i else f"{a.severity.upper()}: "
        lines = _wrap(prefix + ((a.message or a.text) if i else a.text), width, "")
        out += [_paint(x, a.severity, colour) if i == 0 else x for x in lines]
    for p in s.problems:
        out += [_paint(x, "problem", colour) for x in _wrap("PROBLEM: " + p, width, "")]
    out.append(rule)
    # key legend and status
    regions = [("> " if rid == s.region else "") + f"{k} {name}" for k, rid, name in s.region_keys]
    out += _wrap("keys: " + "   ".join(regions), width, "")
    out.append("      " + "   ".join(f"{_key_name(k)}: {what}" for k, what in _controls(s)))
    out.append(_paint(f"{_clock(s.t_s)}  marks {s.marks}  {s.status}", "dim", colour))
    return "\n".join(out)


def compact_line(s: LiveSnapshot) -> str:
    """One line for a log: time, region and limit, hand bands, stage, newest alert, problems."""
    parts = [f"{_clock(s.t_s)}", f"{s.region or '-'} (limit {s.region_limit})"]
    parts.append(" ".join(f"{h[0].upper()}={s.hand_band.get(h, 'none')}" for h in _hands(s)))
    if s.stage is not None:
        st = s.stage
        parts.append(f"stage {st.index + 1}/{st.count} {st.name} {_clock(st.remaining_s)} left"
                     + (f", next {st.next_name}" if st.next_name else ""))
    if s.paused:
        parts.append("PAUSED")
    shown = _alerts(s)
    if shown:
        parts.append(f"alert: {shown[0].text}")
    for p in s.problems:
        parts.append(f"PROBLEM: {p}")
    return " | ".join(parts)


class TermView:
    """Refreshing text view; `stdin` is read for keys when it is a terminal."""

    def __init__(self, source, fps: float = 5, stream=None, stdin=None):
        self.source = source
        self.fps = float(fps)
        self.stream = stream if stream is not None else sys.stdout
        self.stdin = stdin if stdin is not None else sys.stdin
        self.tty = _isatty(self.stream)
        self._seen_alerts: set = set()

    def render(self, snapshot: LiveSnapshot) -> str:
        width = 80
        if self.tty:
            try:
                width = os.get_terminal_size(self.stream.fileno()).columns
            except (OSError, ValueError):
                pass
        return render(snapshot, colour=self.tty, width=max(60, min(width, 120)))

    def run(self) -> None:
        keys = _Keyboard(self.stdin) if _isatty(self.stdin) else None
        period = 1.0 / self.fps
        last_line = -math.inf
        try:
            if keys is not None:
                keys.start()
            if self.tty:
                self._write(_HIDE_CURSOR + _CLEAR)
            while self.source.running:
                t0 = time.monotonic()
                snap = self.source.snapshot()
                if self.tty:
                    frame = self.render(snap).replace("\n", _CLEAR_EOL + "\n")
                    self._write(_HOME + frame + _CLEAR_EOL + "\n" + _CLEAR_EOS)
                else:
                    for a in reversed(snap.alerts):
                        key = (a.t_s, a.rule, a.sensor, a.text)
                        if key not in self._seen_alerts:
                            self._seen_alerts.add(key)
                            self._write(f"ALERT {_clock(a.t_s)} {a.severity}: {a.text}\n")
                    if t0 - last_line >= LINE_PERIOD_S:
                        last_line = t0
                        self._write(compact_line(snap) + "\n")
                wait = max(0.0, period - (time.monotonic() - t0))
                if keys is not None:
                    for k in keys.read(wait):
                        self.source.key(k)
                        if k == "q":
                            break
                else:
                    time.sleep(wait)
        except KeyboardInterrupt:
            self.source.key("q")
        finally:
            if keys is not None:
                keys.stop()
            if self.tty:
                self._write(_SHOW_CURSOR + "\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def _isatty(f) -> bool:
    try:
        return bool(f.isatty())
    except (AttributeError, ValueError):
        return False


class _Keyboard:
    """Single key presses from a terminal (cbreak mode on POSIX, msvcrt on Windows)."""

    def __init__(self, stdin):
        self.stdin = stdin
        self._old = None

    def start(self) -> None:
        if os.name == "nt":
            return
        import termios
        import tty
        fd = self.stdin.fileno()
        self._old = termios.tcgetattr(fd)
        tty.setcbreak(fd)

    def stop(self) -> None:
        if self._old is not None:
            import termios
            termios.tcsetattr(self.stdin.fileno(), termios.TCSADRAIN, self._old)
            self._old = None

    def read(self, timeout_s: float) -> list[str]:
        """Keys pressed, waiting at most `timeout_s` for the first."""
        if os.name == "nt":
            import msvcrt
            end = time.monotonic() + timeout_s
            out = []
            while True:
                while msvcrt.kbhit():
                    out.append(msvcrt.getwch())
                if out or time.monotonic() >= end:
                    return _keys(out)
                time.sleep(0.02)
        import select
        fd = self.stdin.fileno()
        ready, _, _ = select.select([fd], [], [], timeout_s)
        if not ready:
            return []
        data = os.read(fd, 64).decode("utf-8", "replace")
        return _keys(list(data))


def _keys(chars: list[str]) -> list[str]:
    """Terminal characters to view keys: Esc alone quits, escape sequences (arrows) are ignored."""
    if chars[:1] == ["\x1b"]:
        return ["q"] if len(chars) == 1 else []
    out = []
    for c in chars:
        if c in ("\x03", "\x04"):          # Ctrl-C / Ctrl-D typed through
            out.append("q")
        elif c == " " or c.isprintable():
            out.append(c.lower())
    return out
