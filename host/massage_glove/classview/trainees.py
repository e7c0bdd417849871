"""Simulated trainees for the class view: recorded sessions replayed live, each on LSL.

    massage-glove class-demo LOG --trainees 6 --loopback    (then: massage-glove class --loopback)

Each trainee is a ReplaySession of LOG (the live chain on the recorded counts, at the
recorded pace, from its own start offset, looping) with an LslTap under its own name:
to the class view it is indistinguishable from a trainee running `live --lsl`.
"""
from __future__ import annotations

import threading
import time

from ..lsl import LslTap
from ..replay import ReplaySession


class Trainee:
    """One simulated trainee; stop() takes its streams off the network, start() brings them back."""

    def __init__(self, slog, name: str, start_s: float = 0.0, speed: float = 1.0):
        self.slog = slog
        self.name = name
        self.start_s = start_s
        self.speed = speed
        self.session = None
        self.tap = None
        self._thread = None
        self._stop = threading.Event()

    def start(self) -> "Trainee":
        s = ReplaySession(self.slog, speed=self.speed, start_s=self.start_s)
        s.opt.trainee = self.name
        self.tap = LslTap(s)
        s.opt.taps = (self.tap,)
        self.session = s
        self._stop.clear()
        s.start()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            s = self.session
            if s is not None and s.done:           # at the end: again from the start offset
                s.done = False
                s.seek(self.start_s)

    def stop(self) -> None:
        self._stop.set()
        if self.session is not None:
            self.session.close()
        self.tap = None                         # outlets go with it
        self.session = None

    @property
    def alerts(self):
        return self.session.replayed if self.session is not None else []
