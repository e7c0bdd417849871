"""Force to pressure band (light / medium / firm / too much) with hysteresis and dwell.

Each sensor has three edges in newtons (light|medium, medium|firm, firm|too much). Each edge
is a Schmitt trigger with dwell (docs/SIGNAL.md section 4):

* it switches on when the force has been at or above the edge for `dwell_up` samples in a row;
* it switches off when the force has been below edge * (1 - hysteresis) for `dwell_down`
  samples in a row;
* otherwise it keeps its state.

The band is the number of edges that are on (0 light .. 3 too much). Going up is quick
(the safety alerts depend on it) and going down is slow, so tremor or noise at an edge
does not make the band flicker. NaN input (a broken sensor) gives UNKNOWN and holds the
state; +inf (a saturated sensor) counts as above every edge.

The whole-hand band is the highest band of the hand's sensors: a hand is as deep as its
deepest point (one thumb pressing too hard is too much even if the palm is light).
"""
from __future__ import annotations

import numpy as np

BANDS = ("light", "medium", "firm", "too_much")
BAND_TEXT = ("light", "medium", "firm", "too much")
LIGHT, MEDIUM, FIRM, TOO_MUCH = 0, 1, 2, 3
UNKNOWN = -1
N_EDGES = 3


def band_index(name: str) -> int:
    """Index of a band name ("light" .. "too_much")."""
    return BANDS.index(name)


def samples_for_ms(ms: float, rate_hz: float) -> int:
    """A duration in milliseconds as a whole number of samples at rate_hz (at least 1)."""
    return max(1, int(round(ms * rate_hz / 1000.0)))


def classify_n(force_n, edges_n) -> np.ndarray:
    """Band (int8) of each force without hysteresis or dwell: the number of edges reached.

    force_n (..., n_channels) newtons; edges_n (n_channels, 3) or (3,) ascending newtons.
    NaN gives UNKNOWN; +inf gives TOO_MUCH.
    """
    f = np.asarray(force_n, np.float64)
    e = np.asarray(edges_n, np.float64)
    out = np.asarray((f[..., None] >= e).sum(axis=-1), np.int8)
    return np.where(np.isnan(f), np.int8(UNKNOWN), out).astype(np.int8)


def run_lengths(cond: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each sample (0 where False), along axis 0.

    cond: bool (n, ...); carry: int (...) the run length just before the first sample.
    """
    n = cond.shape[0]
    idx = np.arange(1, n + 1).reshape((n,) + (1,) * (cond.ndim - 1))
    last_false = np.maximum.accumulate(np.where(cond, 0, idx), axis=0)
    runs = idx - last_false
    return np.where(last_false == 0, runs + carry, runs)


class BandClassifier:
    """Streaming band per sensor: hysteresis and dwell, chunk-invariant.

    edges_n: (n_channels, 3) newtons, ascending per row.
    hysteresis_fraction: an edge switches off below edge * (1 - this).
    dwell_up_ms / dwell_down_ms: how long the force must stay past an edge before the band
    follows (converted to samples at rate_hz, at least 1 sample).
    """

    def __init__(self, edges_n, rate_hz: float, hysteresis_fraction: float = 0.1,
                 dwell_up_ms: float = 10.0, dwell_down_ms: float = 100.0):
        self.rate_hz = float(rate_hz)
        if not 0 <= hysteresis_fraction < 1:
            raise ValueError("hysteresis_fraction must be in [0, 1)")
        self.hysteresis_fraction = float(hysteresis_fraction)
        self.dwell_up = samples_for_ms(dwell_up_ms, rate_hz)
        self.dwell_down = samples_for_ms(dwell_down_ms, rate_hz)
        self.set_edges(edges_n)
        nch = self.edges_n.shape[0]
        self._on = np.zeros((nch, N_EDGES), bool)
        self._run_up = np.zeros((nch, N_EDGES), np.int64)
        self._run_down = np.zeros((nch, N_EDGES), np.int64)
        self._last_x = np.full(nch, np.nan)     # last non-NaN force seen per channel

    @property
    def n_channels(self) -> int:
        return self.edges_n.shape[0]

    @property
    def off_n(self) -> np.ndarray:
        """(n_channels, 3) newtons: each edge switches off below this (edge * (1 - hysteresis))."""
        return self._off_n

    def set_edges(self, edges_n) -> None:
        """Change the edges (a new region or profile).

        The band restarts from the last force seen, against the new edges and without
        hysteresis or dwell: the hysteresis of one region says nothing about the next, and
        the force has already been there for a while.
        """
        e = np.array(edges_n, np.float64)
        if e.ndim != 2 or e.shape[1] != N_EDGES:
            raise ValueError(f"edges must be (n_channels, 3), got {e.shape}")
        if hasattr(self, "edges_n") and e.shape != self.edges_n.shape:
            raise ValueError("the number of channels cannot change")
        if np.any(e <= 0) or np.any(np.diff(e, axis=1) <= 0):
            raise ValueError("edges must be positive and ascending")
        self.edges_n = e
        self._off_n = e * (1.0 - self.hysteresis_fraction)
        if hasattr(self, "_last_x"):
            seen = ~np.isnan(self._last_x)
            self._on[seen] = self._last_x[seen, None] >= e[seen]
            self._run_up[:] = 0
            self._run_down[:] = 0

    def reset(self) -> None:
        self._on[:] = False
        self._run_up[:] = 0
        self._run_down[:] = 0
        self._last_x[:] = np.nan

    def process(self, force_n) -> np.ndarray:
        """Bands (int8, (n, n_channels)) for (n, n_channels) newtons."""
        f = np.asarray(force_n, np.float64)
        n = f.shape[0]
        if n == 0:
            return np.zeros((0, self.n_channels), np.int8)
        x = f[:, :, None]
        up = x >= self.edges_n            # NaN compares False: neither up nor down
        down = x < self._off_n
        ru = run_lengths(up, self._run_up)
        rd = run_lengths(down, self._run_down)
        ev = np.where(ru == self.dwell_up, 1, np.where(rd == self.dwell_down, -1, 0)).astype(np.int8)
        idx = np.arange(1, n + 1)[:, None, None]
        last = np.maximum.accumulate(np.where(ev != 0, idx, 0), axis=0)
        last_ev = np.take_along_axis(ev, np.maximum(last - 1, 0), axis=0)
        on = np.where(last == 0, self._on[None], last_ev == 1)
        self._on = on[-1].copy()
        self._run_up = ru[-1].copy()
        self._run_down = rd[-1].copy()
        seen = ~np.isnan(f)
        any_seen = seen.any(axis=0)
        last_row = n - 1 - np.argmax(seen[::-1], axis=0)
        self._last_x[any_seen] = f[last_row[any_seen], np.flatnonzero(any_seen)]
        bands = on.sum(axis=2).astype(np.int8)
        bands[np.isnan(f)] = UNKNOWN
        return bands


def hand_band(bands, hand_of_channel, n_hands: int) -> np.ndarray:
    """Whole-hand band (int8, (n, n_hands)): the highest band among the hand's sensors.

    bands: (n, n_channels) int8; hand_of_channel: (n_channels,) hand index of each column.
    UNKNOWN sensors are ignored; a hand whose sensors are all UNKNOWN is UNKNOWN.
    """
    b = np.asarray(bands)
    h = np.asarray(hand_of_channel)
    out = np.full((b.shape[0], n_hands), UNKNOWN, np.int8)
    for k in range(n_hands):
        cols = np.flatnonzero(h == k)
        if cols.size:
            out[:, k] = b[:, cols].max(axis=1)
    return out
