"""A moving wall clock and every stop signal.

The host's wall clock is stepped by an hour in the middle of a stream (as NTP or a user
setting the time would): nothing about the samples may change. `massage-glove live` is
sent SIGTERM and SIGHUP (a service manager, a closed terminal or an ssh drop): the log is
closed complete, the exit status is 128 + the signal's number, and the simulated glove's
MicroPython process and its temp dir are gone. After SIGKILL of the host the simulated
glove dies with it."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from massage_glove.link import GloveLink
from massage_glove.live.session import LiveSession, SessionOptions
from massage_glove.log import load

from fakeglove import FakeGlove
from faultkit import TIMEOUT_S, cli_env, live_argv, wait_until

RATE = 200


class SteppingClock:
    """The wall clock, with a step that a test sets (seconds)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.mark.parametrize("step_s", [3600.0, -3600.0])
def test_a_wall_clock_step_moves_no_sample(step_s):
    clock = SteppingClock()
    with FakeGlove(rate_hz=RATE) as fg:
        link = GloveLink.open(fg.port, reconnect=False, clock=clock)
        link.start()
        blocks, events = [], []

        def read_for(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                b, e = link.read(timeout=0.05)
                if len(b):
                    blocks.append(b)
                events.extend(e)
        read_for(1.0)
        clock.offset = step_s
        read_for(1.0)
        link.close()
    seq = np.concatenate([b.seq for b in blocks])
    t = np.concatenate([b.t_device_s for b in blocks])
    # truth: the fake glove sent every sample, one period apart, numbered from 0
    assert np.array_equal(seq, np.arange(seq[0], seq[0] + len(seq)))
    assert np.allclose(np.diff(t), 1.0 / RATE, atol=1e-6)
    assert link.stats.lost_samples == 0
    assert not [e for e in events if e.kind in ("gap", "boot", "stall", "clock")], \
        [(e.kind, e.text) for e in events]


def test_a_wall_clock_step_neither_ends_nor_prolongs_a_session(tmp_path):
    clock = SteppingClock()
    with FakeGlove(rate_hz=RATE) as fg:
        link = GloveLink.open(fg.port, reconnect=False, clock=clock)
        try:
            s = LiveSession([link], SessionOptions(region="neck", log_dir=tmp_path, bell=False,
                                                   buzz=False), clock=clock).start()
            g = s.gloves[0]
            assert wait_until(lambda: (g.device_time_now() or 0) >= 0.5)
            clock.offset = 3600.0
            done = threading.Event()
            threading.Thread(target=lambda: (s.wait(3.0), done.set()), daemon=True).start()
            assert done.wait(TIMEOUT_S), "the session ended"
            summary = s.close()
        finally:
            link.close()
    # truth: --duration 3 s of the glove's samples (200 Hz), whatever the wall clock did
    assert 2.9 <= summary["duration_s"] <= 3.5, summary["duration_s"]
    # session time starts when the session does; the glove's samples from its first one
    assert abs(g.samples / RATE - (summary["duration_s"] - g.t0_sess)) < 0.05, g.samples
    assert summary["problems"] == []


# --- signals ---------------------------------------------------------------------------

class Live:
    def __init__(self, tmp_path, *args):
        self.proc = subprocess.Popen(live_argv(tmp_path, "--region", "paraspinals", *args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=cli_env())
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for ln in self.proc.stderr:
            self.lines.append(ln.rstrip("\n"))

    def line(self, prefix):
        return next((ln for ln in self.lines if ln.startswith(prefix)), None)

    def sim_dir(self) -> Path:
        return Path(self.line("simulated glove on ").split()[3]).parent

    def log_path(self) -> Path:
        return Path(self.line("logging to ")[len("logging to "):])


def glove_processes(sim_dir: Path) -> list[int]:
    marker = f"MASSAGE_GLOVE_SIM={sim_dir / 'sim.json'}".encode()
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                out.append(int(pid))
        except OSError:
            continue
    return out


def _kill_leftovers(sim_dir):
    for pid in glove_processes(sim_dir):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_stop_signals_close_the_log_and_unplug_the_glove(tmp_path, sig):
    lp = Live(tmp_path)
    sim_dir = None
    try:
        assert wait_until(lambda: lp.line("logging to ") is not None), lp.lines
        sim_dir = lp.sim_dir()
        path = lp.log_path()
        assert wait_until(lambda: path.exists() and len(load(path).samples) >= 200)
        assert glove_processes(sim_dir), "the simulated glove runs"
        lp.proc.send_signal(sig)
        rc = lp.proc.wait(timeout=TIMEOUT_S)
    finally:
        if lp.proc.poll() is None:
            lp.proc.kill()
            lp.proc.wait()
    try:
        assert rc == 128 + sig, (rc, lp.lines[-5:])
        log = load(path)
        assert log.complete and not log.problems, log.problems
        assert len(log.samples) >= 200
        assert wait_until(lambda: not glove_processes(sim_dir), 5.0), "MicroPython left running"
        assert not sim_dir.exists(), "the simulated glove's temp dir is left behind"
    finally:
        _kill_leftovers(sim_dir)


def test_sigkill_of_the_host_ends_the_simulated_glove_and_its_dir_is_swept(tmp_path):
    from massage_glove.sim.glove import sweep_stale_dirs
    lp = Live(tmp_path)
    sim_dir = None
    try:
        assert wait_until(lambda: lp.line("logging to ") is not None), lp.lines
        sim_dir = lp.sim_dir()
        assert glove_processes(sim_dir)
        lp.proc.send_signal(signal.SIGKILL)
        lp.proc.wait(timeout=TIMEOUT_S)
        # PR_SET_PDEATHSIG: the kernel ends the glove with its host
        assert wait_until(lambda: not glove_processes(sim_dir), 5.0), "MicroPython outlived its host"
        assert sim_dir.exists()
        sweep_stale_dirs()                   # what every new simulated glove does first
        assert not sim_dir.exists()
    finally:
        if lp.proc.poll() is None:
            lp.proc.kill()
            lp.proc.wait()
        if sim_dir is not None:
            _kill_leftovers(sim_dir)
