"""The terminal view in a real terminal: tmux at 80x24 runs the view on a fake session, and
the screen a person sees (capture-pane) holds the region, stage, hands, sensors, alert and keys."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

SCRIPT = """
import sys, time
sys.path.insert(0, {here!r})
import numpy as np
from fakesource import FakeSource, demo_routine
from massage_glove.live.view_term import TermView

class Src(FakeSource):
    def snapshot(self):
        self.advance(0.2)
        if self.t_s > 60:
            self.key("q")
        return super().snapshot()

src = Src(hands=("left", "right"), routine=demo_routine())
cols = np.array([16.0 if n == "R_index" else 2.0 for n, *_ in src.names])
src._force = lambda t: np.tile(cols, (len(t), 1))
src.advance(10.0)
src.alert("Far too much pressure on the right index. Ease off now.")
TermView(src, fps=5).run()
"""


def _tmux(*args, check=True):
    return subprocess.run(["tmux", "-L", "mg-live-view-test", *args], capture_output=True, text=True,
                          check=check, timeout=20)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_view_fits_80x24_in_tmux(tmp_path):
    script = tmp_path / "view.py"
    script.write_text(SCRIPT.format(here=str(HERE)))
    _tmux("new-session", "-d", "-s", "v", "-x", "80", "-y", "24",
          f"{sys.executable} {script} 2>{tmp_path / 'err.txt'}")
    try:
        screen = ""
        for _ in range(100):            # until the first frame is up (at most ~10 s)
            time.sleep(0.1)
            screen = _tmux("capture-pane", "-p", "-t", "v").stdout
            if "worst sensors" in screen and "q quit" in screen:
                break
        (tmp_path / "screen.txt").write_text(screen)
        lines = screen.rstrip("\n").split("\n")
        assert len(lines) <= 24 and max(len(x) for x in lines) <= 80
        assert "Along the spine (paraspinals)" in lines[0] and "FIRM" in lines[0]
        assert "Stage 1/2: Warm-up: light effleurage" in screen and "left" in screen
        assert "LEFT HAND" in screen and "RIGHT HAND" in screen and "TOO MUCH" in screen
        assert "R_index" in screen and "too much" in screen and "┃" in screen
        assert "DANGER: Far too much pressure" in screen
        assert "space pause" in screen and "q quit" in screen
        # one frame, redrawn in place: the history holds no earlier frames
        history = _tmux("capture-pane", "-p", "-S", "-200", "-t", "v").stdout
        assert history.count("worst sensors") == 1
        _tmux("send-keys", "-t", "v", "q")
        for _ in range(50):
            time.sleep(0.1)
            if _tmux("has-session", "-t", "v", check=False).returncode != 0:
                break
        else:
            pytest.fail("the view did not quit on q")
    finally:
        _tmux("kill-server", check=False)
    assert (tmp_path / "err.txt").read_text() == ""
