"""The live view in a terminal: a rich Layout that sizes itself to the terminal.

    TermView(session).run()        # blocks until quit (q, Ctrl-C) or the session stops

On a terminal, rich's `Live` redraws the layout in the alternate screen (nothing piles up
in the scrollback) `fps` times a second, and keys are read from stdin in cbreak mode; the
terminal is restored on exit, also after an error or Ctrl-C. When the output is not a
terminal (a log file, CI), one compact line is written every second instead, and each new
alert once on its own line, so the log stays readable.

At 80 x 24 the screen holds, top to bottom: the region and its limit (and PAUSED), the
routine's stage and countdown, each hand's band, the worst sensors with the region's
limit marked on their bars, the current alert (or problem, or the last mark), the region
keys and the controls. A taller terminal lists more sensors and older alerts, a wider one
draws longer bars and puts the two hands' sensors side by side.

`build(snapshot, width, height)` is the layout; `render(snapshot, width, height)` the
screen as plain text (or with ANSI colour), through rich's recording console. Every
string that came from a device or a file (sensor names, glove label, alert text) is
shown as rich Text, never markup, with control characters removed.
"""
from __future__ import annotations

import io
import math
import os
import sys
import time

from rich.console import Console, Group
from rich.layout import Layout
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .sanitize import clean
from .views import short_control
from .state import BAND_COLOURS, BAND_LABELS, BAND_TEXT_COLOURS, BANDS, LiveSnapshot

ALERT_SHOW_S = 5.0           # alerts stay listed this long
MARK_SHOW_S = 4.0            # a mark is acknowledged this long
BAR_HEADROOM = 1.35          # bar full scale = too-much edge x this
LINE_PERIOD_S = 1.0          # compact line interval when the output is not a terminal
MIN_BAR = 24                 # cells of a force bar (two columns need room for this)
WORDS_MIN = 19               # "> 20 N (over range)" in full
TWO_COLUMNS_AT = 110         # from this width, the hands' sensors side by side
DEFAULT_CONTROLS = ((" ", "pause / resume"), ("m", "mark a moment"), ("z", "zero the sensors"),
                    ("q", "quit"))
SEVERITY_STYLES = {"danger": f"bold {BAND_TEXT_COLOURS['too_much']} on {BAND_COLOURS['too_much']}",
                   "warning": f"bold #1a1a1a on {BAND_COLOURS['firm']}", "info": "bold"}
PROBLEM_STYLE = "bold white on #c62828"
_HAND_ORDER = ("left", "right")
_RANK = {"too_much": 5, "fault": 4, "firm": 3, "medium": 2, "light": 1, "none": 0}


def band_style(band: str) -> str:
    return f"bold {BAND_TEXT_COLOURS.get(band, '#ffffff')} on {BAND_COLOURS.get(band, BAND_COLOURS['none'])}"


def _fg(band: str) -> str:
    c = BAND_COLOURS.get(band, BAND_COLOURS["none"])
    return f"bold {c}" if band in ("too_much", "firm") else c


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


def limit_edge(v, region_limit: str) -> float:
    """The force where the region's limit ends for this sensor (its too-much edge at most):
    the session's own figure (SensorView.limit_n) when it gives one."""
    limit_n = getattr(v, "limit_n", float("nan"))
    if math.isfinite(limit_n):
        return float(limit_n)
    if region_limit in BANDS and BANDS.index(region_limit) < len(v.edges_n):
        return float(v.edges_n[BANDS.index(region_limit)])
    return float(v.edges_n[-1])


def worst_first(s: LiveSnapshot) -> list:
    """Sensors, the most urgent first: too much, faults, then force as a share of the limit."""
    def key(v):
        share = v.force_n / limit_edge(v, s.region_limit) if math.isfinite(v.force_n) else 0.0
        return (-_RANK.get(v.band, 0), -share)
    return sorted(s.sensors, key=key)


def force_bar(force_n: float, edges_n, limit_n: float | None = None, width: int = 24) -> str:
    """`width` cells: '#' up to the force, '|' at the band edges, '!' at the region's limit, '.' else.

    Full scale is the too-much edge x BAR_HEADROOM; a force beyond it fills the bar.
    """
    full = float(edges_n[-1]) * BAR_HEADROOM
    cells = ["."] * width

    def cell(x):
        return min(width - 1, max(0, int(round(x / full * width))))

    for e in edges_n:
        cells[cell(e)] = "|"
    if limit_n is not None:
        cells[cell(limit_n)] = "!"
    if math.isfinite(force_n):
        for k in range(max(0, min(width, int(round(force_n / full * width))))):
            if cells[k] != "!":
                cells[k] = "#"
    return "".join(cells)


def _bar_text(v, limit_n: float, width: int) -> Text:
    raw = force_bar(v.force_n, v.edges_n, limit_n, width)
    t = Text()
    fill = BAND_COLOURS.get(v.band, BAND_COLOURS["none"])
    for c in raw:
        if c == "#":
            t.append("█", style=fill)
        elif c == "!":
            t.append("┃", style=f"bold {BAND_COLOURS['too_much']}")
        elif c == "|":
            t.append("│", style="dim")
        else:
            t.append("·", style="dim")
    return t


def _force_text(v) -> str:
    if getattr(v, "over_range", False):
        return ""                            # the label says "> 20 N (over range)"
    if math.isfinite(v.force_n):
        return f"{v.force_n:5.1f} N"
    if v.band == "too_much":
        return " >max N"
    return "  --- N"


def _band_word(v) -> str:
    """The sensor's state in words, as the session states it (held bands, over range)."""
    if getattr(v, "label", ""):
        return clean(v.label)
    label = BAND_LABELS.get(v.band, clean(v.band)).lower()
    if v.fault:
        label += f" ({clean(v.fault)})"
    return label


# --- the parts of the layout ------------------------------------------------------------------
def _header(s: LiveSnapshot, width: int, lines: int) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(clean(s.region_name) or "no region", style="bold")
    if s.region_limit in BANDS:
        t.append("  limit ")
        t.append(f" {BAND_LABELS[s.region_limit]} ", style=band_style(s.region_limit))
    if s.skill:
        t.append(f"  ({clean(s.skill)})", style="dim")
    if s.paused:
        t.append("   ")
        t.append(" PAUSED: space resumes ", style="bold reverse")
    clock = f"{_clock(s.t_s)}"
    room = width - len(t.plain) - len(clock)
    if room >= 2:
        t.append(" " * room)
        t.append(clock, style="dim")
    if lines > 1 and s.region_note:
        t.append("\n")
        t.append(clean(s.region_note), style="italic")
    return t


def _stage(s: LiveSnapshot, width: int, lines: int) -> Text:
    st = s.stage
    t = Text()
    if st is None:
        t.append("No guided routine: press a region key (below) for where you are working.")
        return t
    title = clean(f"Stage {st.index + 1}/{st.count}: {st.name}")
    left = f"{_clock(st.remaining_s)} left"
    room = max(10, width - len(left) - 1)
    if len(title) > room:
        title = title[:room - 1] + "…"
    t.append(title, style="bold")
    t.append(" " * max(1, width - len(title) - len(left)))
    t.append(left, style="bold reverse" if st.remaining_s <= 5 else "bold")
    import textwrap
    instr = textwrap.wrap(clean(st.instruction), width) or [""]
    keep = max(1, lines - 2)
    if len(instr) > keep:
        instr = instr[:keep]
        instr[-1] = instr[-1][:max(0, width - 1)].rstrip() + "…"
    for line in instr:
        t.append("\n" + line)
    if lines >= 3:
        t.append("\n")
        t.append(clean(f"next: {st.next_name}") if st.next_name else "last stage", style="dim")
    return t


def _hand_panels(s: LiveSnapshot, height: int = 3):
    row = Table.grid(expand=True, padding=(0, 1))
    hands = _hands(s)
    for _ in hands:
        row.add_column(ratio=1)
    cells = []
    for hand in hands:
        band = s.hand_band.get(hand, "none")
        label = BAND_LABELS.get(band, clean(band).upper())
        body = Text("\n" * ((height - 3) // 2) + label, justify="center", style=band_style(band))
        held = clean(s.hand_held.get(hand, "")) if getattr(s, "hand_held", None) else ""
        cells.append(Panel(body,
                           title=f"{hand.upper()} HAND", title_align="left",
                           subtitle=held or None, subtitle_align="right",
                           border_style=band_style(band),
                           style=band_style(band), padding=(0, 1), height=height))
    if cells:
        row.add_row(*cells)
    return row


def _sensor_rows(s: LiveSnapshot, sensors: list, width: int, rows: int) -> Table:
    """`rows` lines: a title, then the sensors in the given order with bars as wide as fits."""
    name_w = max([len(clean(v.name)) for v in s.sensors] + [4])
    # a fixed share for the words, whatever they say now (the layout does not jump when a
    # held band appears); longer words end in "…" (the hand's box has the held band in full)
    word_w = max(WORDS_MIN, min(40, (width - name_w - 12) * 2 // 5))
    bar_w = max(8, width - name_w - 8 - word_w - 4)
    g = Table.grid(padding=(0, 1))
    g.add_column(no_wrap=True, width=name_w)
    g.add_column(no_wrap=True, width=bar_w)
    g.add_column(no_wrap=True, width=7, justify="right")
    g.add_column(no_wrap=True, overflow="ellipsis", max_width=word_w)
    for v in sensors[:max(0, rows)]:
        g.add_row(Text(clean(v.name)), _bar_text(v, limit_edge(v, s.region_limit), bar_w),
                  Text(_force_text(v)), Text(_band_word(v), style=_fg(v.band)))
    return g


def two_columns(s: LiveSnapshot, width: int, rows: int) -> bool:
    """Both hands' sensors side by side: on a wide terminal, unless one column holds them all
    and some sensor's words (a held band) would not fit in half the width."""
    if width < TWO_COLUMNS_AT or len(_hands(s)) != 2:
        return False
    colw = (width - 2) // 2
    name_w = max([len(clean(v.name)) for v in s.sensors] + [4])
    room = max(12, colw - name_w - 12 - MIN_BAR // 2)
    fits = all(len(_band_word(v)) <= room for v in s.sensors)
    return fits or 1 + len(s.sensors) > rows


def _sensors(s: LiveSnapshot, width: int, rows: int, side_by_side: bool):
    title = Text(no_wrap=True, overflow="ellipsis")
    title.append("worst sensors", style="bold")
    title.append(f"   ┃ limit ({BAND_LABELS.get(s.region_limit, '-').lower()})",
                 style=f"bold {BAND_COLOURS['too_much']}")
    title.append("   │ band edges", style="dim")
    hands = _hands(s)
    if side_by_side and len(hands) == 2 and rows - 1 >= 3:
        grid = Table.grid(expand=True, padding=(0, 2))
        grid.add_column(ratio=1)
        grid.add_column(ratio=1)
        ranked = worst_first(s)
        cols = [[v for v in ranked if v.hand == h] for h in hands]
        colw = (width - 2) // 2
        grid.add_row(*[_sensor_rows(s, c, colw, rows - 1) for c in cols])
        return Group(title, grid)
    return Group(title, _sensor_rows(s, worst_first(s), width, rows - 1))


def _alert_area(s: LiveSnapshot, width: int, lines: int) -> Text:
    t = Text()
    out: list[tuple[str, str]] = []
    for p in s.problems:
        out.append((f"PROBLEM: {clean(p)}", PROBLEM_STYLE))
    shown = _alerts(s)
    for i, a in enumerate(shown):
        when = "" if i == 0 else f" ({a.age_s:.0f} s ago)"
        style = SEVERITY_STYLES.get(a.severity, "bold") if i == 0 else ""
        text = a.text if i == 0 else (getattr(a, "message", "") or a.text)
        out.append((f"{a.severity.upper()}{when}: {clean(text)}", style))
    if s.mark_times and s.t_s - s.mark_times[-1] <= MARK_SHOW_S:
        out.append((f"Mark {s.marks} saved at {_clock(s.mark_times[-1])}", "bold reverse"))
    import textwrap
    lines_out: list[tuple[str, str]] = []
    for text, style in out:
        for k, line in enumerate(textwrap.wrap(text, width) or [""]):
            lines_out.append((line, style))
    if not lines_out:
        lines_out = [("no alert", "dim")]
    for k, (line, style) in enumerate(lines_out[:lines]):
        if k:
            t.append("\n")
        t.append(line, style=style)
    return t


def region_key_lines(s: LiveSnapshot, width: int) -> list[list[tuple[str, bool]]]:
    """The region keys packed into lines of at most `width`, never breaking an entry."""
    entries = []
    for k, rid, name in s.region_keys:
        short = clean(rid).replace("_", " ") if width < 160 else clean(name)
        entries.append((f"{clean(k)} {short}", rid == s.region))
    lines: list[list[tuple[str, bool]]] = [[]]
    used = 0
    for text, current in entries:
        need = len(text) + (2 if lines[-1] else 0)
        if lines[-1] and used + need > width:
            lines.append([])
            used, need = 0, len(text)
        lines[-1].append((text, current))
        used += need
    return lines


def control_lines(s: LiveSnapshot, width: int) -> list[list[tuple[str, str]]]:
    """The control keys, then the mark acknowledgement or the status, packed into lines."""
    short = width < 100
    items = [(f"{_key_name(k)} " + (short_control(what) if short else what.split(" (")[0]), "bold")
             for k, what in _controls(s)]
    if s.mark_times and s.t_s - s.mark_times[-1] <= MARK_SHOW_S:
        items.append((f" mark {s.marks} saved at {_clock(s.mark_times[-1])} ", "bold reverse"))
    else:
        items.append((f"{_clock(s.t_s)}  marks {s.marks}  {clean(s.status)}", "dim"))
    lines: list[list[tuple[str, str]]] = [[]]
    used = 0
    for text, style in items:
        need = len(text) + (2 if lines[-1] else 0)
        if lines[-1] and used + need > width:
            if style == "dim":                 # the status ends the last line, cut short
                if width - used > 12:
                    lines[-1].append((text[:width - used - 2], style))
                break
            lines.append([])
            used, need = 0, len(text)
        lines[-1].append((text, style))
        used += need
    return lines


def _footer(s: LiveSnapshot, width: int, lines: int) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    key_lines = region_key_lines(s, width)
    for i, line in enumerate(key_lines[:max(1, lines - len(control_lines(s, width)))]):
        if i:
            t.append("\n")
        for j, (text, current) in enumerate(line):
            if j:
                t.append("  ")
            k, _, rest = text.partition(" ")
            if current:
                t.append(f"{k} {rest}", style="bold reverse")
            else:
                t.append(k, style="bold")
                t.append(" " + rest)
    for i, line in enumerate(control_lines(s, width)):
        t.append("\n")
        for j, (text, style) in enumerate(line):
            if j:
                t.append("  ")
            t.append(text, style=style)
    return t


def _sensor_rows_needed(s: LiveSnapshot, side_by_side: bool) -> int:
    hands = _hands(s)
    if side_by_side and len(hands) == 2:
        return 1 + max(sum(v.hand == h for v in s.sensors) for h in hands)
    return 1 + len(s.sensors)


def _worked(s: LiveSnapshot, width: int, lines: int) -> Text:
    """Time worked per region (the back map's numbers), packed into the lines there are."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if lines <= 0:
        return t
    t.append("time per region", style="bold")
    cells = [(rid, f"{clean(name)} {_clock(s.region_time_s.get(rid, 0.0))}")
             for _k, rid, name in s.region_keys]
    cw = max([len(c) for _r, c in cells] + [10]) + 2
    per_line = max(1, width // cw)
    for i in range(0, len(cells), per_line):
        if i // per_line + 1 >= lines:
            break
        t.append("\n")
        for rid, c in cells[i:i + per_line]:
            t.append(c.ljust(cw), style="bold reverse" if rid == s.region else
                     ("" if s.region_time_s.get(rid, 0.0) > 0 else "dim"))
    return t


def _sizes(width: int, height: int, s: LiveSnapshot) -> dict:
    """Lines per part for a terminal of `height` lines: the fixed minimum at 80 x 24, and a
    taller terminal's room to the sensors first, then to the alerts and the instruction."""
    keys = min(3, len(region_key_lines(s, width)))
    sz = {"head": 2, "stage": 3, "hands": 3, "alert": 2, "foot": keys + len(control_lines(s, width))}
    spare = height - sum(sz.values())
    sz["two_columns"] = two_columns(s, width, spare)
    need = _sensor_rows_needed(s, sz["two_columns"])
    sz["sensors"] = max(2, min(need, spare))
    spare -= sz["sensors"]
    if spare > 0:
        more = min(spare, 2)           # instruction lines
        sz["stage"] += more
        spare -= more
    if spare >= 4:
        sz["hands"] += 2               # taller band boxes
        spare -= 2
    if spare > 0:
        more = min(spare, 6)           # older alerts, problems, the last mark
        sz["alert"] += more
        spare -= more
    sz["worked"] = spare               # time per region, when there is room
    return sz


def build(s: LiveSnapshot, width: int = 80, height: int = 24) -> Layout:
    """The whole screen for one snapshot as a rich Layout of `height` lines."""
    sz = _sizes(width, height, s)
    root = Layout(name="root")
    root.split_column(
        Layout(_header(s, width, sz["head"]), name="head", size=sz["head"]),
        Layout(_stage(s, width, sz["stage"]), name="stage", size=sz["stage"]),
        Layout(_hand_panels(s, sz["hands"]), name="hands", size=sz["hands"]),
        Layout(_sensors(s, width, sz["sensors"], sz["two_columns"]), name="sensors", size=sz["sensors"]),
        Layout(_alert_area(s, width, sz["alert"]), name="alert", size=sz["alert"]),
        *([Layout(_worked(s, width, sz["worked"]), name="worked", size=sz["worked"])]
          if sz["worked"] > 0 else []),
        Layout(_footer(s, width, sz["foot"]), name="foot", size=sz["foot"]),
    )
    return root


def render(s: LiveSnapshot, *, width: int = 80, height: int = 24, colour: bool = False) -> str:
    """The screen as text, `height` lines of at most `width` characters (ANSI colour if asked)."""
    console = Console(width=width, height=height, record=True, file=io.StringIO(),
                      color_system="truecolor" if colour else None, force_terminal=colour,
                      legacy_windows=False, _environ={})
    console.print(build(s, width, height))
    return console.export_text(styles=colour).rstrip("\n")


def compact_line(s: LiveSnapshot) -> str:
    """One line for a log: time, region and limit, hand bands, stage, newest alert, problems."""
    parts = [f"{_clock(s.t_s)}", f"{clean(s.region) or '-'} (limit {s.region_limit})"]
    parts.append(" ".join(f"{h[0].upper()}={s.hand_band.get(h, 'none')}" for h in _hands(s)))
    if s.stage is not None:
        st = s.stage
        parts.append(clean(f"stage {st.index + 1}/{st.count} {st.name} {_clock(st.remaining_s)} left"
                           + (f", next {st.next_name}" if st.next_name else "")))
    if s.paused:
        parts.append("PAUSED")
    shown = _alerts(s)
    if shown:
        parts.append(f"alert: {clean(shown[0].text)}")
    if s.mark_times and s.t_s - s.mark_times[-1] <= LINE_PERIOD_S + 0.5:
        parts.append(f"mark {s.marks} at {_clock(s.mark_times[-1])}")
    for p in s.problems:
        parts.append(f"PROBLEM: {clean(p)}")
    return " | ".join(parts)


class TermView:
    """Refreshing terminal view; `stdin` is read for keys when it is a terminal.

    `sound`: a SoundMonitor (live/sound.py) started and stopped with the view, or None.
    """

    def __init__(self, source, fps: float = 5, stream=None, stdin=None, sound=None):
        self.source = source
        self.fps = float(fps)
        self.stream = stream if stream is not None else sys.stdout
        self.stdin = stdin if stdin is not None else sys.stdin
        self.tty = _isatty(self.stream)
        self.sound = sound
        self._seen_alerts: set = set()

    def _size(self) -> tuple[int, int]:
        try:
            sz = os.get_terminal_size(self.stream.fileno())
            return max(40, sz.columns), max(12, sz.lines)
        except (OSError, ValueError, AttributeError):
            return 80, 24

    def render(self, snapshot: LiveSnapshot) -> str:
        w, h = self._size()
        return render(snapshot, width=w, height=h, colour=self.tty)

    def run(self) -> None:
        keys = _Keyboard(self.stdin) if _isatty(self.stdin) else None
        if self.sound is not None:
            self.sound.start()
        try:
            if keys is not None:
                keys.start()
            if self.tty:
                self._run_live(keys)
            else:
                self._run_lines(keys)
        except KeyboardInterrupt:
            self.source.key("q")
        finally:
            if keys is not None:
                keys.stop()
            if self.sound is not None:
                self.sound.stop()

    def _wait_keys(self, keys, t0: float) -> None:
        wait = max(0.0, 1.0 / self.fps - (time.monotonic() - t0))
        if keys is None:
            time.sleep(wait)
            return
        for k in keys.read(wait):
            self.source.key(k)
            if k == "q":
                break

    def _run_live(self, keys) -> None:
        console = Console(file=self.stream, force_terminal=True)
        with Live(console=console, screen=True, auto_refresh=False, redirect_stdout=False,
                  redirect_stderr=False, transient=True) as live:
            while self.source.running:
                t0 = time.monotonic()
                snap = self.source.snapshot()
                w, h = console.size
                live.update(build(snap, w, h), refresh=True)
                self._wait_keys(keys, t0)

    def _run_lines(self, keys) -> None:
        last_line = -math.inf
        while self.source.running:
            t0 = time.monotonic()
            snap = self.source.snapshot()
            for a in reversed(snap.alerts):
                key = (a.t_s, a.rule, a.sensor, a.message or a.text)
                if key not in self._seen_alerts:
                    self._seen_alerts.add(key)
                    self._write(f"ALERT {_clock(a.t_s)} {a.severity}: {clean(a.text)}\n")
            if t0 - last_line >= LINE_PERIOD_S:
                last_line = t0
                self._write(compact_line(snap) + "\n")
            self._wait_keys(keys, t0)

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
