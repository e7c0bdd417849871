"""Helpers of the fault tests: a live session on the simulated glove, waiting on conditions,
reading the session log back, and running the CLI as a separate process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from massage_glove.link import GloveLink
from massage_glove.live.session import LiveSession, SessionOptions
from massage_glove.log import load

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# Generous: the machine running the tests may be busy; a condition normally holds long before.
TIMEOUT_S = 60.0


def wait_until(cond, timeout: float = TIMEOUT_S, poll: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(poll)
    return bool(cond())


class LiveRun:
    """A LiveSession on one simulated glove, logging to `log_dir` (closed by close())."""

    def __init__(self, sim, log_dir, *, region: str | None = "paraspinals", **options):
        self.sim = sim
        self.link = GloveLink.open(sim.port)
        opts = SessionOptions(region=region, log_dir=log_dir, bell=False, buzz=False, **options)
        try:
            self.session = LiveSession([self.link], opts).start()
        except BaseException:
            self.link.close()
            raise
        self.glove = self.session.gloves[0]
        self.summary: dict | None = None

    @property
    def samples(self) -> int:
        return self.glove.samples

    def wait_samples(self, more: int, timeout: float = TIMEOUT_S) -> bool:
        target = self.samples + more
        return wait_until(lambda: self.samples >= target, timeout)

    def close(self) -> dict:
        if self.summary is None:
            try:
                self.summary = self.session.close()
            finally:
                self.link.close()
        return self.summary

    def log(self):
        return load(self.close()["gloves"][0]["log"])


def events(log, kind: str) -> list:
    return [e for e in log.events if e.kind == kind]


def assert_log_is_whole(log, summary: dict) -> None:
    """The log is closed cleanly, holds every sample the session saw, in rising order."""
    assert log.complete and not log.problems, log.problems
    g = summary["gloves"][0]
    assert g["log_error"] is None
    assert len(log.samples) == g["samples"], "every sample the session saw is in the log"
    assert np.all(np.diff(log.samples.seq) > 0), "sample numbers keep rising"
    assert np.all(np.diff(log.samples.t_device_s) > 0), "device time keeps rising"


def cli_env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "host") + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def live_argv(log_dir, *args) -> list[str]:
    """`massage-glove live` on the simulated glove, headless, JSON summary, no bell."""
    return [PYTHON, "-m", "massage_glove.cli", "live", "--simulate", "--headless", "--json",
            "--no-bell", "--log-dir", str(log_dir), *map(str, args)]


def run_cli(*args, timeout: float = 300.0, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "massage_glove.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=cli_env(), **popen)


def summary_of(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout)
