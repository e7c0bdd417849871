"""One truth per moment, in the state the views draw: the session's snapshot fed sample
blocks of known force (no threads, no glove: the session's own processing path).

* over range is too much, with "> 20 N (over range)", never a fault; the band summary counts
  its time as too much;
* a sensor's band, its colour and its number come from the same sample; a band the chain
  still holds is stated as held, with the force and how long ago;
* a banner belongs to the region and hand it names: it goes when the region changes, and
  says how long ago it was once the hand is back in band;
* alert times carry both clocks, named.
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
from massage_glove.signal.bands import classify_n  # noqa: E402

RATE = 200.0
DEV = make_device(RATE)
TH, IDX = 0, 1
T0_DEV = 100.0                       # the glove's clock at the first sample


class _Link:
    def __init__(self):
        self.info = DEV
        self.stats = SimpleNamespace(lost_samples=0)


def session(region="neck") -> LiveSession:
    s = LiveSession([_Link()], SessionOptions(region=region, log=False, bell=False, buzz=False))
    g = s.gloves[0]
    g.tared = True
    s._apply_region(g, region, "start")
    return s


def feed(s: LiveSession, force_n, t0: float, block: int = 4) -> None:
    """Push (n, 16) newtons through the session in link-sized blocks from session time t0."""
    g = s.gloves[0]
    c = nominal_counts(force_n, DEV) if np.asarray(force_n).dtype != np.uint16 else force_n
    b = make_block(c, RATE, t0=T0_DEV + t0)
    b.t_host_s[:] = s.t_start_host + t0 + np.arange(len(b)) / RATE
    for i in range(0, len(b), block):
        s._on_block(g, b.slice(i, min(len(b), i + block)))


def check_one_truth(snap) -> None:
    for v in snap.sensors:
        if v.band in ("none", "fault") or v.over_range:
            continue
        assert v.band == BANDS[int(classify_n(v.force_n, v.edges_n))], (v.name, v.force_n, v.band)
        if v.held_band:
            assert BANDS.index(v.held_band) > BANDS.index(v.band)
            assert f"held: {v.held_band.replace('_', ' ')}" in v.label


def test_over_range_is_too_much_not_a_fault():
    s = session("upper_trapezius")
    f = np.zeros((int(7 * RATE), 16))
    c = nominal_counts(f, DEV)
    c[200:1200, TH] = 3500                          # 5 s above the FSR 402's 20 N
    feed(s, c[:600], 0.0)
    snap = s.snapshot()
    v = snap.sensors[TH]
    assert v.over_range and v.band == "too_much" and v.fault == ""
    assert v.label == "> 20 N (over range)" and v.force_text == "> 20 N (over range)"
    assert snap.hand_band["right"] == "too_much"
    assert snap.trace_over_range[-1, TH] and snap.trace_force[-1, TH] == 20.0
    a = snap.alerts[0]
    assert a.rule == "too_much" and "> 20 N (over range)" in a.text and a.active
    feed(s, c[600:], 3.0)
    summary = s._summary()
    too_much_s = summary["bands"]["upper_trapezius"]["right"]["bands_s"]["too_much"]
    assert too_much_s == pytest.approx(5.0, abs=0.05)      # the whole saturated press
    assert summary["bands"]["upper_trapezius"]["right"]["fault_s"] == 0.0
    # one press: one prompt (a reminder may follow after holdoff_s, marked as a repeat)
    assert [a["rule"] for a in summary["alerts"] if not a["repeat"]] == ["too_much"]


@pytest.mark.parametrize("after_ms", [20, 40, 60, 80])
def test_band_and_number_from_the_same_sample_held_band_stated(after_ms):
    s = session("upper_trapezius")
    f = np.zeros((400 + after_ms // 5, 16))
    f[100:400, TH] = 16.0                           # too much ...
    f[400:, TH] = 9.5                               # ... then firm: the chain holds too much a while
    feed(s, f, 0.0, block=1)
    snap = s.snapshot()
    check_one_truth(snap)
    v = snap.sensors[TH]
    if v.held_band:
        assert v.held_band == "too_much" and v.band == "firm"
        assert v.held_force_n >= 15.0
        assert 0.0 <= v.held_age_s <= after_ms / 1000.0
        assert v.label.startswith("firm (held: too much, ")
        assert snap.hand_held["right"].startswith("held: too much")
    else:
        assert v.band == "firm" and "held" not in v.label
    if after_ms == 20:
        assert v.held_band == "too_much"            # the dwell (100 ms) is still running


def test_one_truth_through_random_presses():
    rng = np.random.default_rng(4)
    s = session("neck")
    t = np.arange(int(20 * RATE)) / RATE
    f = np.zeros((len(t), 16))
    for j in (TH, IDX, 8):
        level = np.repeat(rng.uniform(0, 19, 80), len(t) // 80 + 1)[:len(t)]
        f[:, j] = np.clip(level + rng.normal(0, 0.3, len(t)), 0, None)
    for i in range(0, len(t), 40):
        feed(s, f[i:i + 40], i / RATE)
        check_one_truth(s.snapshot())


def test_a_banner_belongs_to_its_region_and_hand():
    s = session("neck")
    f = np.zeros((int(2 * RATE), 16))
    f[40:200, TH] = 6.0                             # over the neck's light limit, right hand
    feed(s, f[:120], 0.0)
    snap = s.snapshot()
    assert [(a.rule, a.hand, a.region, a.active) for a in snap.alerts] == [
        ("over_limit", "right", "neck", True)]
    feed(s, f[120:], 0.6)                           # the hand back in band for 1 s
    snap = s.snapshot()
    a, = snap.alerts
    assert not a.active and a.text == f"{a.age_s:.0f} s ago: {a.message}"
    assert 1.5 <= a.age_s <= 1.9
    g = s.gloves[0]
    s._apply_region(g, "spine", "key")              # the region changes: the banner goes
    feed(s, np.zeros((20, 16)), 2.0)
    assert s.snapshot().alerts == ()


def test_alert_times_carry_both_clocks():
    s = session("neck")
    f = np.zeros((int(2 * RATE), 16))
    f[100:200, TH] = 6.0
    feed(s, f, 0.0)
    a, = s._summary()["alerts"]
    assert "t_s" not in a
    assert a["t_session_s"] == pytest.approx(0.5, abs=0.02)
    assert a["t_device_s"] - a["t_session_s"] == pytest.approx(T0_DEV, abs=1e-3)
    assert a["hand"] == "right" and a["episode"] == 1 and a["repeat"] is False
