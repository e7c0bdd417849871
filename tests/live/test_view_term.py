"""The terminal view: render() from a fake source, the log-friendly lines, the run loop."""
from __future__ import annotations

import io

from fakesource import FakeSource, demo_routine
from massage_glove.live.view_term import TermView, compact_line, force_bar, render


def source(**kw):
    src = FakeSource(hands=("left", "right"), routine=demo_routine(), **kw)
    src.advance(12.0)
    return src


def test_render_shows_region_bands_sensors_stage_and_keys():
    src = source()
    snap = src.snapshot()
    text = render(snap)
    assert "REGION: Along the spine (paraspinals)" in text and "limit FIRM" in text
    assert "STAGE 1/2: Warm-up: light effleurage" in text and "0:18 left" in text
    assert "next: The neck, lightly" in text
    for hand in ("left", "right"):
        label = {"none": "NO CONTACT", "light": "LIGHT", "medium": "MEDIUM", "firm": "FIRM",
                 "too_much": "TOO MUCH", "fault": "SENSOR FAULT"}[snap.hand_band[hand]]
        assert f"{hand.upper()}: [ {' '.join(label)} ]" in text
    for s in snap.sensors:
        line = next(x for x in text.splitlines() if x.startswith(s.name + " "))
        assert f"{s.force_n:5.1f} N" in line
    assert "> p Along the spine (paraspinals)" in text and "n Neck and head" in text
    assert "space: pause / resume" in text and "q: quit" in text
    assert "\x1b" not in text
    assert max(len(x) for x in text.splitlines()) <= 80


def test_render_alerts_problems_pause_and_faults():
    src = source()
    src.faults[3] = "open"
    src.alert("Too much pressure on the neck: ease off now.")
    src.advance(2.0)
    src.alert("Hold too long: release slowly.", "warning")
    src.problems = ("glove R disconnected",)
    src.key(" ")
    text = render(src.snapshot())
    lines = text.splitlines()
    assert "WARNING: Hold too long: release slowly." in lines
    assert "DANGER (2 s ago): Too much pressure on the neck: ease off now." in lines
    assert "PROBLEM: glove R disconnected" in lines
    assert "PAUSED" in text
    assert "L_ring" in text and "--- N  sensor fault (open)" in text
    src.advance(6.0)               # aged out
    assert "ease off now" not in render(src.snapshot())


def test_render_in_colour_and_after_a_region_key():
    src = source()
    src.key("n")
    text = render(src.snapshot(), colour=True)
    assert "REGION: Neck and head" in text and "\x1b[34mLIGHT\x1b[0m" in text


def test_force_bar_marks_edges_and_force():
    assert force_bar(0.0, (4.0, 9.0, 15.0), width=20) == "....|....|.....|...."
    assert force_bar(10.0, (4.0, 9.0, 15.0), width=20).startswith("##########")
    assert force_bar(float("nan"), (4.0, 9.0, 15.0), width=20).count("#") == 0


def test_compact_line():
    src = source()
    src.alert("Ease off.")
    line = compact_line(src.snapshot())
    assert "\n" not in line
    assert "paraspinals (limit firm)" in line and "L=" in line and "R=" in line
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
    src.alert("Too much pressure: ease off.")
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


def test_run_on_a_terminal_redraws_in_place_and_restores_the_cursor():
    src = StopAfter(3, hands=("right",))
    out = FakeTty()
    TermView(src, fps=200, stream=out, stdin=io.StringIO()).run()
    text = out.getvalue()
    assert text.count("\x1b[H") == 3 and "\x1b[?25l" in text
    assert text.rstrip("\n").endswith("\x1b[?25h")


def test_ctrl_c_quits_cleanly():
    class Interrupting(FakeSource):
        def snapshot(self):
            raise KeyboardInterrupt

    src = Interrupting()
    out = FakeTty()
    TermView(src, stream=out, stdin=io.StringIO()).run()
    assert not src.running and out.getvalue().rstrip("\n").endswith("\x1b[?25h")


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
