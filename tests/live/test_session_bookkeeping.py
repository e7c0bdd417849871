"""The session's own bookkeeping per block (band summary, trace ring, the state the view
reads) against the per-block numpy code it replaced, on one recorded stream.

The reference below is the earlier `LiveSession._process` bookkeeping and `BandSummary.add`,
kept verbatim: for every block it counts each hand's samples with numpy and recomputes the
force bands, the held times and the ring. The session must give bit-identical results from
the same chain results, for every block size (one sample at 200 Hz, a few at 1 kHz, long
blocks from a recording or a burst after a stall), through contact and no contact, every
band, over range, a broken sensor and a region change.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signal"))
from chain_helpers import make_block, make_device, nominal_counts  # noqa: E402
from massage_glove.live.session import LiveSession, SessionOptions  # noqa: E402
from massage_glove.live.state import BANDS  # noqa: E402
from massage_glove.signal.bands import TOO_MUCH, classify_n  # noqa: E402

RATE = 200.0
DEV = make_device(RATE)


class _Link:
    def __init__(self):
        self.info = DEV
        self.stats = SimpleNamespace(lost_samples=0)


class OldSummary:
    """BandSummary as it was: numpy counts per hand and band for every block."""

    def __init__(self, rate_hz):
        self.dt = 1.0 / rate_hz
        self.data = {}

    def add(self, region, hand, on, band, allowed):
        r = self.data.setdefault(region or "none", {})
        h = r.setdefault(hand, {"seconds": 0.0, "on_body_s": 0.0, "in_allowed_s": 0.0,
                                "bands_s": {b: 0.0 for b in BANDS}, "fault_s": 0.0})
        n = band.shape[0]
        h["seconds"] += n * self.dt
        h["on_body_s"] += float(on.sum()) * self.dt
        for k, name in enumerate(BANDS):
            h["bands_s"][name] += float(((band == k) & on).sum()) * self.dt
        h["fault_s"] += float((band < 0).sum()) * self.dt
        h["in_allowed_s"] += float(((band >= 0) & (band <= allowed) & on).sum()) * self.dt


class OldState:
    """The view's state as the old per-block code kept it (ring, last rows, held)."""

    def __init__(self, g):
        L = g.ring_t.shape[0]
        n_ch = g.n_ch
        self.ring_t = np.full(L, np.nan)
        self.ring_f = np.full((L, n_ch), np.nan)
        self.ring_o = np.zeros((L, n_ch), bool)
        self.ring_i = self.ring_n = 0
        self.held_t = np.full(n_ch, np.nan)
        self.held_f = np.full(n_ch, np.nan)
        self.summary = OldSummary(g.pipeline.rate_hz)

    def push_trace(self, t, f, o):
        n = t.shape[0]
        L = self.ring_t.shape[0]
        if n >= L:
            t, f, o, n = t[-L:], f[-L:], o[-L:], L
        i = self.ring_i
        first = min(n, L - i)
        self.ring_t[i:i + first] = t[:first]
        self.ring_f[i:i + first] = f[:first]
        self.ring_o[i:i + first] = o[:first]
        if first < n:
            self.ring_t[:n - first] = t[first:]
            self.ring_f[:n - first] = f[first:]
            self.ring_o[:n - first] = o[first:]
        self.ring_i = (i + n) % L
        self.ring_n = min(L, self.ring_n + n)

    def process(self, g, res, t_sess, region, prof, hands):
        on = ~np.isnan(res.filtered_n) & (np.nan_to_num(res.filtered_n) >= prof.contact_n)
        allowed = prof.allowed_band
        for h, hand in enumerate(hands):
            cols = g.hand_of == h
            self.summary.add(region, hand, on[:, cols].any(axis=1), res.hand_band[:, h], allowed)
        inst = classify_n(res.filtered_n, prof.edges_n)
        inst[res.over_range] = TOO_MUCH
        there = (inst >= res.band) & (res.band >= 0)
        any_there = there.any(axis=0)
        last = len(inst) - 1 - np.argmax(there[::-1], axis=0)
        cols = np.flatnonzero(any_there)
        self.push_trace(t_sess, res.filtered_n, res.over_range)
        self.last = (res.band[-1].copy(), inst[-1].copy(), res.filtered_n[-1].copy(),
                     res.fault[-1].copy(), res.hand_band[-1].copy())
        self.held_t[cols] = t_sess[last[cols]]
        self.held_f[cols] = res.filtered_n[last[cols], cols]


def stream() -> np.ndarray:
    """40 s of counts: presses through every band on both hands, no contact between them,
    a sensor over range, a sensor open (broken) for a while, noise everywhere."""
    rng = np.random.default_rng(23)
    n = int(40 * RATE)
    f = np.zeros((n, 16))
    for j in (0, 1, 4, 7, 8, 10, 15):
        level = np.repeat(rng.choice([0.0, 0.0, 2.0, 6.0, 11.0, 17.0, 30.0], 150), n // 150 + 1)[:n]
        f[:, j] = np.clip(level + rng.normal(0, 0.4, n), 0, None)
    c = nominal_counts(f, DEV)
    c[3000:3600, 2] = 4000                       # over range: too much
    c[5000:5400, 9] = 0                          # open: a broken sensor ...
    c[6500:7700, 8:16] = 0                       # ... and every sensor of a hand
    return c


def run(block_size: int):
    s = LiveSession([_Link()], SessionOptions(region="neck", log=False, bell=False, buzz=False))
    g = s.gloves[0]
    g.tared = True
    s._apply_region(g, "neck", "start")
    ref = OldState(g)
    process = g.pipeline.process

    def chain(block):
        res = process(block)
        ref.process(g, res, g.session_time(block.t_device_s), g.pipeline.region,
                    g.pipeline.profile, g.pipeline.hands)
        return res

    g.pipeline.process = chain
    c = stream()
    b = make_block(c, RATE, t0=100.0)
    b.t_host_s[:] = s.t_start_host + np.arange(len(b)) / RATE
    for i in range(0, len(b), block_size):
        if i >= len(b) // 2 and g.pipeline.region == "neck":
            s._apply_region(g, "paraspinals", "key")    # a region change half way
        s._on_block(g, b.slice(i, min(len(b), i + block_size)))
    return s, g, ref


def same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


@pytest.mark.parametrize("block_size", [1, 3, 16, 17, 64, 500, 3000])
def test_bookkeeping_is_bit_identical_to_the_per_block_numpy_code(block_size):
    s, g, ref = run(block_size)
    # the summary's running seconds, as floats, exactly (not only after rounding)
    assert s.summary.data == ref.summary.data
    assert set(s.summary.data) == {"neck", "paraspinals"}
    spent = s.summary.data["neck"]["right"]["bands_s"]
    assert all(spent[b] > 0 for b in BANDS), "every band was visited"
    assert s.summary.data["paraspinals"]["left"]["fault_s"] > 0, "a hand with every sensor broken counts as fault"
    band, inst, force, fault, hand_band = ref.last
    assert same(g.last_band, band) and same(g.last_inst, inst) and same(g.last_force, force)
    assert same(g.last_fault, fault) and same(g.last_hand_band, hand_band)
    assert same(g.held_t, ref.held_t) and same(g.held_f, ref.held_f)
    assert np.isfinite(g.held_t).sum() >= 7
    assert same(g.ring_t, ref.ring_t) and same(g.ring_f, ref.ring_f) and same(g.ring_o, ref.ring_o)
    assert (g.ring_i, g.ring_n) == (ref.ring_i, ref.ring_n)


def test_summary_add_and_add_block_agree():
    """The per-hand entry point (kept for callers that have one hand's arrays) and the
    per-block one give the same seconds."""
    from massage_glove.live.session import BandSummary
    rng = np.random.default_rng(5)
    a, b = BandSummary(RATE), BandSummary(RATE)
    for n in (1, 2, 5, 16, 17, 40, 1, 1, 300):
        on = rng.random((n, 2)) < 0.6
        band = rng.integers(-1, 4, (n, 2)).astype(np.int8)
        for h, hand in enumerate(("right", "left")):
            a.add("neck", hand, on[:, h], band[:, h], 1)
        b.add_block("neck", ("right", "left"), on, band, 1)
    assert a.data == b.data and a.as_dict() == b.as_dict()
