"""A stand-in for the live session: LiveSnapshots made from arrays, keys applied like the session does.

Deterministic: time moves only with `advance()`, forces come from a function of time.
"""
from __future__ import annotations

import numpy as np

from massage_glove.live.routine import Routine, Stage
from massage_glove.live.state import BANDS, AlertView, LiveSnapshot, SensorView

SITES = (("thumb", "fsr402"), ("index", "fsr402"), ("middle", "fsr402"), ("ring", "fsr402"),
         ("little", "fsr402"), ("knuckle_index", "fsr402"), ("knuckle_middle", "fsr402"),
         ("palm_heel", "fsr406"))
CLASS_EDGES = {"fsr402": (4.0, 9.0, 15.0), "fsr406": (10.0, 25.0, 40.0)}
CONTACT_N = {"fsr402": 0.5, "fsr406": 1.0}
# region id -> (key, name, limit band, edge factor, note)
REGIONS = {
    "neck": ("n", "Neck and head", "light", 0.8, "Use only light pressure on the neck and head."),
    "lower_back": ("l", "Lower back", "medium", 1.0, "Less is often more."),
    "paraspinals": ("p", "Along the spine (paraspinals)", "firm", 1.0, ""),
}
CONTROLS = ((" ", "pause / resume"), ("m", "mark a moment"), ("z", "zero the sensors"), ("q", "quit"))
ALERT_KEEP_S = 6.0


def demo_routine() -> Routine:
    return Routine("test", "Test routine", 0.0, (
        Stage("warm", "Warm-up: light effleurage", "paraspinals", "effleurage", 30.0, "light",
              "Long slow strokes up both sides of the spine. Light pressure."),
        Stage("neck", "The neck, lightly", "neck", "effleurage", 20.0, "light",
              "Gentle strokes down the back of the neck."),
    ))


def band_of(force: float, edges, contact: float) -> str:
    if not np.isfinite(force) or force < contact:
        return "none"
    return BANDS[int(np.searchsorted(np.asarray(edges), force, side="right"))]


class FakeSource:
    """`hands`: ("right",) or ("left", "right"); `force(t) -> (n_sensors,)` newtons."""

    def __init__(self, hands=("right",), rate_hz: float = 200.0, window_s: float = 10.0,
                 region: str = "paraspinals", force=None, routine: Routine | None = None):
        self.names = [(("R_" if h == "right" else "L_") + site, h, site, cls)
                      for h in hands for site, cls in SITES]
        self.n = len(self.names)
        self.rate_hz, self.window_s = rate_hz, window_s
        self.region = region
        self.t_s = 0.0
        self.paused = False
        self.marks = 0
        self.mark_times: list[float] = []
        self.region_time: dict[str, float] = {}
        self.keys: list[str] = []
        self.problems: tuple[str, ...] = ()
        self.faults: dict[int, str] = {}        # column -> fault kind (force reads nan)
        self.alerts: list[AlertView] = []       # without age
        self.routine = routine
        self._running = True
        self._force = force or self.default_force

    def default_force(self, t: np.ndarray) -> np.ndarray:
        """Smooth strokes, a different phase per sensor (n, n_sensors)."""
        k = np.arange(self.n)
        return 6.0 + 5.0 * np.sin(2 * np.pi * 0.5 * t[:, None] + 0.4 * k[None, :]) * (1 + (k % 8 == 7) * 2)

    # --- the source protocol ------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def key(self, k: str) -> None:
        self.keys.append(k)
        if k == "q":
            self._running = False
        elif k == " ":
            self.paused = not self.paused
        elif k == "m":
            self.marks += 1
            self.mark_times.append(self.t_s)
        else:
            for rid, (key, *_rest) in REGIONS.items():
                if key == k:
                    self.region = rid

    def advance(self, dt_s: float) -> None:
        """Time moves on; the current region counts it as worked."""
        self.t_s += dt_s
        self.region_time[self.region] = self.region_time.get(self.region, 0.0) + dt_s

    def alert(self, text: str, severity: str = "danger", rule: str = "too_much", sensor: str = "") -> None:
        self.alerts.insert(0, AlertView(self.t_s, rule, severity, text, sensor))

    def edges(self, cls: str) -> tuple[float, float, float]:
        f = REGIONS[self.region][3]
        return tuple(e * f for e in CLASS_EDGES[cls])

    def snapshot(self) -> LiveSnapshot:
        n_pts = int(round(self.window_s * self.rate_hz))
        t = self.t_s - (np.arange(n_pts)[::-1]) / self.rate_hz
        t = t[t >= 0] if self.t_s >= self.window_s else t[t >= 0]
        f = np.asarray(self._force(t), float).reshape(len(t), self.n).copy()
        for j in self.faults:
            f[:, j] = np.nan
        now = f[-1] if len(f) else np.full(self.n, np.nan)
        sensors = []
        for j, (name, hand, site, cls) in enumerate(self.names):
            edges = self.edges(cls)
            if j in self.faults:
                band, fault = "fault", self.faults[j]
            else:
                band, fault = band_of(now[j], edges, CONTACT_N[cls]), ""
            sensors.append(SensorView(name, hand, site, cls, edges, band, float(now[j]), fault))
        hand_band = {}
        for hand in dict.fromkeys(h for _, h, _, _ in self.names):
            bands = [s.band for s in sensors if s.hand == hand]
            ranked = [b for b in bands if b in BANDS]
            if all(b == "fault" for b in bands):
                hand_band[hand] = "fault"
            elif ranked:
                hand_band[hand] = max(ranked, key=BANDS.index)
            else:
                hand_band[hand] = "none"
        key, name, limit, _f, note = REGIONS[self.region]
        alerts = tuple(AlertView(a.t_s, a.rule, a.severity, a.text, a.sensor, self.t_s - a.t_s)
                       for a in self.alerts if self.t_s - a.t_s <= ALERT_KEEP_S)
        stage = self.routine.view(self.t_s) if self.routine is not None else None
        return LiveSnapshot(
            t_s=self.t_s, window_s=self.window_s, trace_t=t, trace_force=f, sensors=tuple(sensors),
            hand_band=hand_band, region=self.region, region_name=name, region_limit=limit,
            region_note=note, skill="trained",
            region_keys=tuple((k, rid, nm) for rid, (k, nm, *_r) in REGIONS.items()),
            alerts=alerts, stage=stage, status="fake glove 200 Hz ok", paused=self.paused,
            problems=self.problems, marks=self.marks, extra={"controls": CONTROLS},
            mark_times=tuple(self.mark_times), region_time_s=dict(self.region_time))
