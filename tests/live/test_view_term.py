"""The terminal view: rich layout rendered on a recording console at 80x24 and 120x40, what a
person reads there; the log-friendly lines; the run loop; device names cleaned."""
from __future__ import annotations

import dataclasses
import io
import re

import numpy as np

from fakesource import FakeSource, demo_routine
from massage_glove.live.state import BAND_LABELS, SensorView
from massage_glove.live.view_term import (TermView, compact_line, force_bar, limit_edge, region_key_lines,
                                          render)
from massage_glove.signal import default_profile_set

# right hand: index 16 N (too much for fingertips, edges 4/9/15), thumb 10 N (firm),
# palm heel 30 N (firm, edges 10/25/40), little 2 N (light); everything else 1 N
FORCES = {"R_index": 16.0, "R_thumb": 10.0, "R_palm_heel": 30.0, "R_little": 2.0}


def source(forces=FORCES, **kw):
    src = FakeSource(hands=("left", "right"), routine=demo_routine(), **kw)
    cols = np.array([forces.get(n, 1.0) for n, *_ in src.names])
    src._force = lambda t: np.tile(cols, (len(t), 1))
    src.advance(12.0)
    return src


def all_regions(snap):
    ps = default_profile_set()
    return dataclasses.replace(snap, region_keys=tuple((r.key, r.id, r.name) for r in ps.regions.values()))


def sensor_line(text, name):
    return next(x for x in text.splitlines() if re.search(rf"(^|\s){name}\s", x))


def test_80x24_shows_everything_a_trainee_needs():
    src = source()
    src.alert("Far too much pressure on the right index. Ease off now.")
    snap = all_regions(src.snapshot())
    text = render(snap, width=80, height=24)
    lines = text.splitlines()
    assert len(lines) == 24 and max(len(x) for x in lines) <= 80
    # region and its limit
    assert "Along the spine (paraspinals)" in lines[0] and "limit" in lines[0] and "FIRM" in lines[0]
    # stage and countdown (30 s stage, 12 s in)
    assert "Stage 1/2: Warm-up: light effleurage" in text and "0:18 left" in text
    # both hands' band (right: the index is too much; left: nothing above 1 N, light)
    assert re.search(r"LEFT HAND.*RIGHT HAND", text)
    box = "\n".join(x for x in lines if x.startswith("│"))
    assert "LIGHT" in box and "TOO MUCH" in box and box.index("LIGHT") < box.index("TOO MUCH")
    # the worst sensors, worst first, each with the region's limit marked on its bar
    # (ranked by hand: too much first, then force over the limit's edge: heel 30/40 N, thumb
    # 10/15 N, little 2/15 N, then the 1 N fingertips)
    rows = [x.split()[0] for x in lines if re.match(r"[LR]_\w+ ", x)]
    assert rows[:4] == ["R_index", "R_palm_heel", "R_thumb", "R_little"]
    assert len(rows) >= 8
    shown = rows
    assert " 16.0 N too much" in sensor_line(text, "R_index")
    assert " 30.0 N firm" in sensor_line(text, "R_palm_heel")
    for name in shown:
        assert sensor_line(text, name).count("┃") == 1
    # the current alert, the region keys (whole entries) and the controls
    assert "DANGER: Far too much pressure on the right index." in text
    for k, rid, _name in snap.region_keys:
        assert f"{k} {rid.replace('_', ' ')}" in text
    assert "space pause" in text and "q quit" in text


def test_limit_mark_sits_at_the_regions_limit():
    # paraspinals: limit firm, so the mark is at the too-much edge (15 N); on the neck
    # (limit light, edges x 0.8) it is at the light|medium edge (3.2 N)
    for region, edge in (("paraspinals", 15.0), ("neck", 3.2)):
        src = source()
        src.region = region
        snap = src.snapshot()
        v = next(s for s in snap.sensors if s.name == "R_thumb")
        assert abs(limit_edge(v, snap.region_limit) - edge) < 1e-9
        bar = force_bar(0.0, v.edges_n, limit_edge(v, snap.region_limit), width=27)
        full = v.edges_n[-1] * 1.35
        assert bar.index("!") == round(edge / full * 27)


def test_force_bar_marks_edges_limit_and_force():
    assert force_bar(0.0, (4.0, 9.0, 15.0), width=20) == "....|....|.....|...."
    assert force_bar(0.0, (4.0, 9.0, 15.0), 4.0, width=20) == "....!....|.....|...."
    assert force_bar(10.0, (4.0, 9.0, 15.0), 15.0, width=20).startswith("##########")
    assert force_bar(float("nan"), (4.0, 9.0, 15.0), width=20).count("#") == 0
    assert force_bar(99.0, (4.0, 9.0, 15.0), 15.0, width=20).count("#") == 19   # the limit stays


def test_120x40_uses_the_room():
    src = source()
    src.alert("Hold too long: release slowly.", "warning")
    src.advance(1.0)
    src.alert("Far too much pressure on the right index. Ease off now.")
    snap = all_regions(src.snapshot())
    small = render(snap, width=80, height=24)
    big = render(snap, width=120, height=40)
    lines = big.splitlines()
    assert len(lines) == 40 and max(len(x) for x in lines) <= 120
    for v in snap.sensors:                                 # every sensor, not just the worst
        assert re.search(rf"(^|\s){v.name}\s", big)
    assert sum(bool(re.search(rf"(^|\s){v.name}\s", small)) for v in snap.sensors) < 16
    assert re.search(r"L_\w+ .*R_\w+ ", big)                # the hands side by side
    assert "WARNING (1 s ago): Hold too long" in big        # older alerts have room
    assert "time per region" in big and "Along the spine (paraspinals) 0:13" in big
    # the key legend never breaks inside an entry, at any width
    for width in (60, 80, 100, 120):
        packed = region_key_lines(snap, width)
        assert [t for line in packed for t, _ in line] == [f"{k} {r.replace('_', ' ')}" for k, r, _ in snap.region_keys]
        assert all(len("  ".join(t for t, _ in line)) <= width for line in packed)


def test_pause_mark_problems_and_faults():
    src = source()
    src.faults[3] = "open"
    src.problems = ("glove R disconnected",)
    src.key(" ")
    src.key("m")
    text = render(src.snapshot())
    assert "PAUSED" in text.splitlines()[0]
    assert "PROBLEM: glove R disconnected" in text
    assert "mark 1 saved at 0:12" in text
    assert re.search(r"L_ring .*--- N sensor fault \(open\)", text)
    src.advance(5.0)
    assert "saved at" not in render(src.snapshot())


def test_device_names_and_texts_are_cleaned_and_never_markup():
    src = source()
    snap = src.snapshot()
    evil = "R_\x1b[2J\x07thumb[bold red]"
    sensors = tuple(dataclasses.replace(v, name=evil) if v.name == "R_thumb" else v for v in snap.sensors)
    snap = dataclasses.replace(snap, sensors=sensors, status="glove \x1b]0;pwned\x07 ok\u202e",
                               region_name="Neck\r\x1b[31m")
    for colour in (False, True):
        text = render(snap, colour=colour)
        assert "\x07" not in text and "\x1b]" not in text and "\u202e" not in text and "\r" not in text
        assert "\x1b[2J" not in text and "\x1b[31m" not in text
    plain = render(snap)
    assert "\x1b" not in plain
    assert "R_[2Jthumb[bold red]" in plain                 # shown as text, not as markup


def test_render_in_colour_uses_the_band_colours():
    src = source()
    text = render(src.snapshot(), colour=True)
    assert "\x1b[" in text
    assert "38;2;160;0;48" in text or "48;2;160;0;48" in text      # too much crimson #a00030


def test_compact_line():
    src = source()
    src.alert("Ease off.")
    line = compact_line(src.snapshot())
    assert "\n" not in line
    assert "paraspinals (limit firm)" in line and "L=light" in line and "R=too_much" in line
    assert "stage 1/2" in line and "alert: Ease off." in line


class StopAfter(FakeSource):
    def __init__(self, n, **kw):
        super().__init__(**kw)
        self.left = n

    def snapshot(self):
        self.left -= 1
        if self.left <= 0:
            self.key("q")
        self.advance(0.5)
        return super().snapshot()


def test_run_without_a_terminal_writes_plain_lines():
    src = StopAfter(4, hands=("right",), routine=demo_routine())
    src.alert("Too much pressure: ease off.\x1b[2J")
    out = io.StringIO()
    TermView(src, fps=200, stream=out, stdin=io.StringIO()).run()
    text = out.getvalue()
    assert "\x1b" not in text
    assert text.count("ALERT ") == 1 and "Too much pressure: ease off." in text
    assert "paraspinals (limit firm)" in text
    assert not src.running


class FakeTty(io.StringIO):
    def isatty(self):
        return True

    def fileno(self):
        raise io.UnsupportedOperation


def test_run_on_a_terminal_uses_the_alternate_screen_and_restores_it():
    src = StopAfter(3, hands=("right",))
    out = FakeTty()
    TermView(src, fps=200, stream=out, stdin=io.StringIO()).run()
    text = out.getvalue()
    assert "\x1b[?1049h" in text and "\x1b[?25l" in text            # alternate screen, no cursor
    assert text.rstrip().endswith("\x1b[?1049l") or text.rindex("\x1b[?1049l") > text.rindex("\x1b[?1049h")
    assert "\x1b[?25h" in text
    assert "Along the spine" in text


def test_ctrl_c_quits_cleanly():
    class Interrupting(FakeSource):
        def snapshot(self):
            raise KeyboardInterrupt

    src = Interrupting()
    out = FakeTty()
    TermView(src, stream=out, stdin=io.StringIO()).run()
    assert not src.running and "\x1b[?1049l" in out.getvalue()


def test_sound_starts_and_stops_with_the_view():
    events = []

    class Sound:
        def start(self):
            events.append("start")

        def stop(self):
            events.append("stop")

    TermView(StopAfter(2), fps=200, stream=io.StringIO(), stdin=io.StringIO(), sound=Sound()).run()
    assert events == ["start", "stop"]


def test_keys_from_a_terminal_in_cbreak_mode_and_restored(tmp_path):
    import os
    import pty
    import termios

    from massage_glove.live.view_term import _Keyboard

    master, slave = pty.openpty()
    with os.fdopen(slave, "r") as tty_in:
        before = termios.tcgetattr(slave)
        kb = _Keyboard(tty_in)
        kb.start()
        assert not termios.tcgetattr(slave)[3] & termios.ICANON
        os.write(master, b"nM ")
        assert kb.read(1.0) == ["n", "m", " "]
        os.write(master, b"\x1b[A")            # an arrow key: ignored
        assert kb.read(1.0) == []
        assert kb.read(0.0) == []
        kb.stop()
        assert termios.tcgetattr(slave) == before
    os.close(master)


def test_band_labels_are_the_shared_ones():
    assert BAND_LABELS["too_much"] == "TOO MUCH" and SensorView


def test_the_sessions_own_words_over_range_and_held():
    src = source()
    snap = src.snapshot()
    sensors = []
    for v in snap.sensors:
        if v.name == "R_index":       # saturated: too much, the label says so, no number column
            v = dataclasses.replace(v, band="too_much", force_n=20.0, over_range=True,
                                    force_text="> 20 N (over range)", label="> 20 N (over range)")
        elif v.name == "L_thumb":
            v = dataclasses.replace(v, label="light (held: medium, 5.2 N 0.4 s ago)")
        sensors.append(v)
    snap = dataclasses.replace(snap, sensors=tuple(sensors),
                               hand_held={"left": "held: medium, 5.2 N 0.4 s ago"})
    text = render(snap, width=80, height=24)
    line = sensor_line(text, "R_index")
    assert "> 20 N (over range)" in line and " 20.0 N" not in line
    assert text.splitlines().index(line) == min(i for i, x in enumerate(text.splitlines())
                                                if re.match(r"[LR]_\w+ ", x))      # worst first
    assert "light (held: medium" in text                             # cut short at 80 columns
    big = render(snap, width=140, height=40)                           # in full on a wide one
    assert "light (held: medium, 5.2 N 0.4 s ago)" in big
    assert "held: medium, 5.2 N 0.4 s ago" in text                 # under the left hand's box


def test_all_the_sessions_controls_fit_with_the_mark_acknowledged():
    from massage_glove.live.session import CONTROL_KEYS
    src = source()
    src.key("m")
    snap = all_regions(dataclasses.replace(src.snapshot(), extra={"controls": CONTROL_KEYS}))
    for width, height in ((80, 24), (120, 40)):
        text = render(snap, width=width, height=height)
        lines = text.splitlines()
        assert len(lines) == height and max(len(x) for x in lines) <= width
        for k, _what in CONTROL_KEYS:
            name = "space" if k == " " else k
            assert re.search(rf"(^|\s){re.escape(name)} \w", text), name
        assert "said ouch" in text and "q quit" in text
        assert "mark 1 saved at 0:12" in text
