"""The fast alert path: too much and over the region's limit told from the unsmoothed force
on its second sample at or over the edge, against scripted forces whose crossing sample is
stated in the script (not read back from the chain)."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from chain_helpers import make_block, make_device, nominal_counts, split_block
from massage_glove.portable import fsr
from massage_glove.signal.bands import samples_for_ms
from massage_glove.signal.pipeline import Pipeline
from massage_glove.signal.profiles import default_profile_set
from massage_glove.signal.rules import RuleEngine
from massage_glove.signal.rules_kernel import RuleKernel

TH, IDX, MID, PALM = 0, 1, 2, 7          # right thumb, index, middle, heel of hand
PRESSURE = ("too_much", "over_limit", "over_limit_hand")
DEV_CLASS = [c.sensor_class for c in make_device().channels]


def settings(**kw):
    return dataclasses.replace(default_profile_set().settings, **kw)


def chain(force_n, stages, rate=200.0, cuts=(), engine_cls=RuleEngine, **setting_overrides):
    """The live chain's stages (Pipeline: counts -> force, filter, bands, faults) on the
    nominal counts of `force_n`, and a rule engine given the unsmoothed force as raw_n.

    stages: [(first sample, region, technique)] in order (the first at 0); cuts: extra
    block boundaries. Returns (alerts, t_s)."""
    dev = make_device(int(rate))
    s = settings(**setting_overrides)
    p = Pipeline(dev, rate_hz=rate, settings=s)
    eng = engine_cls(dev.channels, rate_hz=rate, settings=s)
    block = make_block(nominal_counts(force_n, dev), rate)
    starts = [a for a, _, _ in stages]
    alerts = []
    cur = object()
    for b in split_block(block, sorted(set(cuts) | set(starts))):
        i0 = int(b.seq[0])
        _, region, tech = [x for x in stages if x[0] <= i0][-1]
        if region != cur:
            cur = region
            p.set_region(region)
        p.set_technique(tech)
        r = p.process(b)
        alerts += eng.process(r.t_s, r.filtered_n, r.band, r.fault, region, tech, raw_n=r.force_n)
    return alerts, block.t_device_s


def step(rate, level, sensor, n_s=1.0, at_s=0.5):
    """Zero, then `level` newtons on `sensor` from sample k on: the crossing is sample k."""
    n = int(n_s * rate)
    k = int(at_s * rate)
    f = np.zeros((n, 16))
    f[k:, sensor] = level
    return f, k


def said_newtons(a) -> float:
    """The force an alert's sentence says (the first "<x> N")."""
    return float(re.search(r"(\d+(?:\.\d+)?) N\b", a.text).group(1))


# --- the second sample at or over the limit ------------------------------------------------

@pytest.mark.parametrize("engine", [RuleEngine, RuleKernel])
@pytest.mark.parametrize("rate", [200.0, 1000.0])
@pytest.mark.parametrize("region,sensor,level,rule", [
    ("neck", TH, 8.0, "over_limit"),                   # twice the neck's 4 N limit
    ("neck", TH, 5.0, "over_limit"),                   # 1.25 x the limit
    ("lower_back", PALM, 32.0, "over_limit"),          # over the medium edge (25 N)
    ("lower_back", PALM, 50.0, "too_much"),            # straight past 40 N: too much only
    ("upper_trapezius", PALM, 60.0, "too_much"),       # 1.5 x the too-much edge (40 N)
    ("upper_trapezius", MID, 17.0, "too_much"),        # over the fingertip's 15 N edge
    ("upper_trapezius", TH, 30.0, "too_much"),         # beyond the range: over range
])
def test_a_step_is_told_on_its_second_sample_over_the_limit(engine, rate, region, sensor, level, rule):
    f, k = step(rate, level, sensor)
    alerts, t = chain(f, [(0, region, None)], rate, engine_cls=engine)
    a = [x for x in alerts if x.rule in PRESSURE]
    # over range is too much on its first sample already where the band's dwell is one
    # sample (200 Hz: dwell_up_ms 5); otherwise the fast path tells it on the second
    over_range = level > fsr.NOMINAL[DEV_CLASS[sensor]]["f_max_n"]
    dwell = samples_for_ms(default_profile_set().settings.dwell_up_ms, rate)
    first = k if over_range and dwell == 1 else k + 1
    assert a and a[0].rule == rule and a[0].t_s == t[first], [(x.t_s, x.rule) for x in a]
    assert len(a) == 1                                  # one press, one alert
    assert a[0].value >= a[0].limit
    # the filtered chain alone is later (spike median and low-pass), or as early for over range
    slow, _ = chain(f, [(0, region, None)], rate, engine_cls=engine, fast_alert_samples=0)
    slow = [x for x in slow if x.rule in PRESSURE]
    assert slow and (slow[0].t_s > t[k + 1] or (over_range and slow[0].t_s == t[first]))


@pytest.mark.parametrize("rate", [200.0, 1000.0])
@pytest.mark.parametrize("ramp_ms", [20.0, 100.0, 300.0])
def test_a_ramp_is_told_on_the_second_sample_past_its_crossing(rate, ramp_ms):
    """A press rising linearly to twice the neck's limit (4 N). The script puts the limit
    half-way between two samples: the crossing is sample k (the first at or over 4 N)."""
    lim = 4.0
    n = int(rate)
    dn = ramp_ms * rate / 1000.0                    # samples to reach 2 x lim
    slope = 2 * lim / dn                             # N per sample
    k = int(rate // 2)
    x = np.arange(n) - (k - 0.5 - lim / slope)       # force(k - 0.5) == lim exactly
    f = np.zeros((n, 16))
    f[:, TH] = np.clip(x * slope, 0.0, 2 * lim)
    assert f[k - 1, TH] < lim <= f[k, TH]            # the stated crossing
    alerts, t = chain(f, [(0, "neck", None)], rate)
    a = [x for x in alerts if x.rule in PRESSURE]
    assert a and a[0].t_s == t[k + 1] and a[0].rule == "over_limit"
    assert a[0].value >= lim and said_newtons(a[0]) >= lim


# --- glitches -------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [200.0, 1000.0])
@pytest.mark.parametrize("level", [6.0, 17.0, 30.0])
def test_a_one_sample_glitch_never_alerts_through_the_fast_path(rate, level):
    """One sample at 1.5 x the neck's limit, at too much, or over range, once every 0.1 s
    for 2 s: never two samples in a row, so the fast path never fires: the alerts are the
    filtered chain's alone. Those are none (the spike median removes the glitch), except
    over range: a sample over range is too much by itself (DOMAIN.md 2)."""
    n = int(2 * rate)
    f = np.zeros((n, 16))
    f[int(0.05 * rate)::int(0.1 * rate), MID] = level
    alerts, _ = chain(f, [(0, "neck", None)], rate)
    slow, _ = chain(f, [(0, "neck", None)], rate, fast_alert_samples=0)
    assert alerts == slow
    if level <= fsr.NOMINAL["fsr402"]["f_max_n"]:
        assert alerts == []


@pytest.mark.parametrize("rate", [200.0, 1000.0])
def test_a_two_sample_excursion_is_a_press(rate):
    """Two samples in a row at twice the neck's limit are a press as far as the fast path
    goes: told on the second of them, with the unsmoothed force. The smoothed force peaks
    at 5 N at 200 Hz (told 2 samples later) and under the limit at 1 kHz (never told)."""
    f, k = step(rate, 0.0, TH)
    f[k:k + 2, TH] = 8.0
    alerts, t = chain(f, [(0, "neck", None)], rate)
    assert [(x.rule, x.t_s) for x in alerts] == [("over_limit", t[k + 1])]
    assert alerts[0].value >= 4.0 and said_newtons(alerts[0]) == pytest.approx(alerts[0].value, abs=0.05)
    slow, _ = chain(f, [(0, "neck", None)], rate, fast_alert_samples=0)
    assert slow == [] or [(x.rule, x.t_s > t[k + 1]) for x in slow] == [("over_limit", True)]


# --- an alert's number agrees with its words -----------------------------------------------

@pytest.mark.parametrize("rate", [200.0, 1000.0])
def test_fast_alerts_say_a_force_at_or_over_the_limit(rate):
    """Presses of every shape (steps, 20 ms ramps, two-sample excursions, a press that
    goes on to too much, two sensors of one hand): every pressure alert's value is at or
    over its limit and its sentence says that value."""
    n = int(6 * rate)
    f = np.zeros((n, 16))
    r = int(rate)
    f[r // 2:r, TH] = 6.0                                         # step over the limit
    f[int(1.5 * r):int(1.5 * r) + r // 50, IDX] = np.linspace(0, 9, r // 50)   # 20 ms ramp
    f[int(1.5 * r) + r // 50:2 * r, IDX] = 9.0
    f[int(2.5 * r):int(2.5 * r) + 2, MID] = 7.0                   # two samples
    f[3 * r:int(3.3 * r), TH] = 6.0                               # over the limit, then
    f[int(3.3 * r):int(3.6 * r), TH] = 18.0                       # too much: one press
    f[int(4.5 * r):5 * r, [TH, IDX, PALM]] = [6.0, 7.0, 14.0]     # three sensors of a hand
    alerts, _ = chain(f, [(0, "neck", None)], rate)
    press = [a for a in alerts if a.rule in ("too_much", "over_limit")]
    assert len(press) >= 5
    for a in press:
        assert a.value >= a.limit, a
        if "over range" not in a.text:
            assert said_newtons(a) == pytest.approx(a.value, abs=0.05), a.text
    hand = [a for a in alerts if a.rule == "over_limit_hand"]
    assert len(hand) == 1 and hand[0].value == 3
    # the third press is one episode told once for each rule
    third = [a for a in alerts if 3.0 <= a.t_s < 3.7]
    assert [a.rule for a in third] == ["over_limit", "too_much"] and third[0].episode == third[1].episode


def test_reminders_keep_their_force_past_the_limit():
    """A press held 16 s over the neck's limit is reminded once, 15 s after its first
    alert (told on the second sample over the limit), with a force past the limit."""
    rate = 200.0
    f = np.zeros((int(18 * rate), 16))
    f[100:int(17 * rate), TH] = 6.0
    alerts, t = chain(f, [(0, "neck", None)], rate)
    alerts = [a for a in alerts if a.rule in PRESSURE]          # the neck's hold time too
    assert [a.repeat for a in alerts] == [False, True]
    assert alerts[0].t_s == t[101] and alerts[1].t_s == pytest.approx(t[101] + 15.0)
    assert all(a.value >= a.limit for a in alerts)


# --- region changes never hold it back ------------------------------------------------------

@pytest.mark.parametrize("rate", [200.0, 1000.0])
def test_a_region_change_never_holds_the_fast_path_back(rate):
    """9.3 N on the thumb is fine on the traps and over the neck's 4 N: after the change to
    the neck it is told on the first sample (the last traps sample was over 4 N too); a
    press that crosses the neck's limit on the last traps sample is told on the first neck
    sample; too much at the change likewise."""
    n = int(2 * rate)
    c = n // 2
    f = np.zeros((n, 16))
    f[:, TH] = 9.3                                   # held through the change
    f[c - 1:, 8] = 6.0                               # left thumb: crosses 4 N just before it
    f[c - 1:, 10] = 17.0                             # left middle: too much from the same sample
    alerts, t = chain(f, [(0, "upper_trapezius", None), (c, "neck", None)], rate,
                      cuts=range(0, n, 7))
    assert [a.rule for a in alerts if a.t_s < t[c]] == []          # fine on the traps
    after = {(a.hand, a.rule): a for a in alerts if a.t_s == t[c]}
    assert ("right", "over_limit") in after and ("left", "too_much") in after, alerts
    assert after[("right", "over_limit")].value >= 4.0
    assert after[("left", "too_much")].value >= 15.0


# --- off is today's chain, and chunking -----------------------------------------------------

def _session(rate):
    r = int(rate)
    f = np.zeros((8 * r, 16))
    f[r // 2:r, TH] = 6.0
    f[int(1.2 * r):int(1.2 * r) + 2, IDX] = 9.0
    f[2 * r:int(2.3 * r), MID] = 18.0
    f[3 * r:4 * r, [TH, IDX, PALM]] = [6.0, 7.0, 14.0]
    f[5 * r:int(7.5 * r), 9] = 2.0                   # held on the spine
    f[int(4.5 * r):int(4.5 * r) + 1, 10] = 30.0      # a one-sample glitch
    return f


STAGES = [(0, "neck", None), (1200, "spine", None), (1500, "kidney", "kneading")]


@pytest.mark.parametrize("rate", [200.0, 1000.0])
def test_fast_path_off_gives_the_bands_only_alerts(rate):
    f = _session(rate)
    stages = [(int(a * rate / 200.0), r, tch) for a, r, tch in STAGES]
    off, _ = chain(f, stages, rate, fast_alert_samples=0)
    dev = make_device(int(rate))
    s = settings(fast_alert_samples=0)
    p = Pipeline(dev, rate_hz=rate, settings=s)
    eng = RuleEngine(dev.channels, rate_hz=rate, settings=s)
    ref = []
    for b in split_block(make_block(nominal_counts(f, dev), rate), [a for a, _, _ in stages]):
        _, region, tech = [x for x in stages if x[0] <= int(b.seq[0])][-1]
        p.set_region(region)
        p.set_technique(tech)
        r = p.process(b)
        ref += eng.process(r.t_s, r.filtered_n, r.band, r.fault, region, tech)     # no raw_n
    assert off == ref and len(ref) >= 4
    on, _ = chain(f, stages, rate)
    assert on != off          # the fast path changes times and values


@hsettings(max_examples=12, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=1, max_value=1599), max_size=12))
def test_fast_path_chunked_equals_whole(cuts):
    f = _session(200.0)
    whole, _ = chain(f, STAGES, 200.0)
    parts, _ = chain(f, STAGES, 200.0, cuts=cuts)
    assert parts == whole
    one, _ = chain(f[:400], STAGES[:1], 200.0, cuts=range(400))
    assert one == chain(f[:400], STAGES[:1], 200.0)[0]


@pytest.mark.parametrize("rate", [200.0, 1000.0])
def test_the_pipeline_tells_a_press_on_its_second_sample(rate):
    """End to end: Pipeline passes its unsmoothed force to its rules, so its own alerts
    come on the second sample at or over the limit, with a force past it."""
    f, k = step(rate, 8.0, TH)
    dev = make_device(int(rate))
    p = Pipeline(dev, rate_hz=rate)
    p.set_region("neck")
    block = make_block(nominal_counts(f, dev), rate)
    alerts = [a for b in split_block(block, range(0, len(block), 3)) for a in p.process(b).alerts]
    assert [(a.rule, a.t_s) for a in alerts] == [("over_limit", block.t_device_s[k + 1])]
    assert alerts[0].value >= alerts[0].limit == 4.0
