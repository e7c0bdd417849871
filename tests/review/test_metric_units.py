"""Each metric function of review/metrics.py on small inputs whose answer is known exactly.

The corpus tests check the review as a whole; these pin the edges of every function (the
smallest run that has a rate, a median of zero, a boundary rate) so that a changed
comparison or constant is caught in a fraction of a second (mutation testing runs them
first)."""
from __future__ import annotations

import numpy as np
import pytest

from massage_glove.review import metrics as M

RATE = 200.0


def test_runs_and_bridge_gaps():
    m = np.array([0, 1, 1, 0, 0, 1, 0, 1], bool)
    assert M.runs(m) == [(1, 3), (5, 6), (7, 8)]
    assert M.runs(np.zeros(0, bool)) == []
    assert M.runs(np.ones(3, bool)) == [(0, 3)]
    assert M.bridge_gaps(m, 1).tolist() == [0, 1, 1, 0, 0, 1, 1, 1]
    assert M.bridge_gaps(m, 2).tolist() == [0, 1, 1, 1, 1, 1, 1, 1]
    assert M.bridge_gaps(m, 0).tolist() == m.tolist()
    # a gap at either end is not between Trues
    assert M.bridge_gaps(np.array([0, 1, 0], bool), 5).tolist() == [0, 1, 0]
    assert M.bridge_gaps(np.zeros(4, bool), 3).tolist() == [0, 0, 0, 0]


def test_labels_change_bounds_and_masks():
    t = np.arange(6.0)
    lab = M.labels_at(t, [3.0, 1.0], ["b", "a"], initial="z")
    assert lab.tolist() == ["z", "a", "a", "b", "b", "b"]
    no = M.labels_at(t, [2.0], [0], -1)
    assert no.tolist() == [-1, -1, 0, 0, 0, 0]
    # changes logged at the same time: the one logged last holds (a stable order)
    same = M.labels_at(np.array([0.5, 1.0, 2.0]), [1.0] * 40, list(range(40)), -1)
    assert same.tolist() == [-1, 39, 39]
    assert M.change_bounds(lab) == [(0, 1), (1, 3), (3, 6)]
    assert M.change_bounds(lab, no) == [(0, 1), (1, 2), (2, 3), (3, 6)]
    assert M.change_bounds(np.zeros(0, object)) == []
    a = np.array(["x", None, "cool", None], dtype=object)
    assert M.label_mask(a, lambda v: v is None).tolist() == [False, True, False, True]
    assert M.label_mask(a, lambda v: v == "cool").tolist() == [False, False, True, False]


def test_fill_faults():
    f = np.array([[1.0, 5.0], [np.nan, 5.0], [3.0, 6.0], [4.0, 30.0]])
    fault = np.array([[0, 0], [1, 0], [0, 0], [0, 1]], bool)
    sat = np.array([[0, 0], [0, 0], [0, 0], [0, 1]], bool)
    out = M.fill_faults(f, fault, sat, np.array([20.0, 20.0]))
    assert out[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]          # interpolated across the open sample
    assert out[3, 1] == 30.0 and out[:3, 1].tolist() == [5.0, 5.0, 6.0]
    out2 = M.fill_faults(np.array([[np.nan], [2.0]]), np.array([[0], [1]], bool),
                         np.array([[0], [1]], bool), np.array([20.0]))
    assert out2[1, 0] == 20.0 and out2[0, 0] == 0.0            # saturated reads its top, NaN 0
    # fault and saturation given as the converter's bit codes (uint8), not booleans
    codes = M.fill_faults(f, fault.astype(np.uint8) * 4, sat.astype(np.uint8), np.array([20.0, 20.0]))
    assert codes[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0] and codes[3, 1] == 30.0
    allbad = M.fill_faults(np.array([[1.0], [2.0]]), np.ones((2, 1), bool), np.zeros((2, 1), bool),
                           np.array([20.0]))
    assert allbad[:, 0].tolist() == [0.0, 0.0]
    assert f[1, 0] != f[1, 0]                                    # the input is not changed


def test_robust_cv():
    assert M.robust_cv([1.0, 2.0, 3.0]) == pytest.approx(1.4826 * 1.0 / 2.0)
    assert M.robust_cv([4, 4, 4, 4]) == 0.0
    assert M.robust_cv([1.0, 2.0]) is None
    assert M.robust_cv([0.0, 0.0, 0.0]) is None
    assert M.robust_cv([-1.0, -1.0, -1.0]) is None
    # one outlier does not move it
    assert M.robust_cv([10, 10, 10, 11, 9, 50]) == pytest.approx(1.4826 * 0.5 / 10)


def _train(rate_per_min, n, top=20.0, base=4.0, tremor=0.0, t0=0.5):
    T = 60.0 / rate_per_min
    t = np.arange(int((t0 + n * T + 0.5) * RATE)) / RATE
    ph = np.clip((t - t0) / T, 0, n)
    f = np.where((t >= t0) & (t < t0 + n * T), base + (top - base) * (0.5 - 0.5 * np.cos(2 * np.pi * ph)), 0.0)
    f += tremor * np.sin(2 * np.pi * 9.0 * t) * (f > 0)
    return t, f, t0 + (np.arange(n) + 0.5) * T


def test_detect_strokes_ignores_tremor_and_finds_every_top():
    t, f, tops = _train(45, 12, tremor=1.8)
    st = M.detect_strokes(t, f, RATE, 0.3, 0.08, 0.15, 4.0)
    assert st.peak_i.size == 12
    assert np.abs(st.t_s - tops).max() < 0.02
    assert np.abs(st.peak_n - 20.0).max() < 0.6
    # unfiltered, the tremor makes strokes of its own
    raw = M.detect_strokes(t, f, RATE, 0.3, 0.08, 0.0, None)
    assert raw.peak_i.size > 12
    # a prominence above the stroke's own swing finds none
    assert M.detect_strokes(t, f, RATE, 21.0, 0.08, 0.0, 4.0).peak_i.size == 0
    assert M.detect_strokes(t, f, RATE, 15.0, 0.08, 0.0, 4.0).peak_i.size == 12
    assert M.detect_strokes(t, f, RATE, 17.0, 0.08, 0.0, 4.0).peak_i.size == 1
    assert M.detect_strokes(t, f, RATE, 0.3, 0.08, 0.7, 4.0).peak_i.size == 12
    assert M.detect_strokes(t, f, RATE, 0.3, 0.08, 1.1, 4.0).peak_i.size == 0
    assert M.detect_strokes(t[:2], f[:2], RATE, 0.3, 0.08).peak_i.size == 0


def test_detect_strokes_places_a_strike_between_samples():
    t = np.arange(400) / RATE
    centre = 1.0 + 0.4 / RATE       # between samples
    f = np.clip(30.0 * (1 - ((t - centre) / 0.02) ** 2), 0, None)
    st = M.detect_strokes(t, f, RATE, 0.3, 0.08, 0.15, None)
    assert st.peak_i.size == 1 and abs(st.t_s[0] - centre) < 0.3 / RATE
    # the minimum interval merges strikes closer than it
    two = f + np.clip(30.0 * (1 - ((t - centre - 0.05) / 0.02) ** 2), 0, None)
    assert M.detect_strokes(t, two, RATE, 0.3, 0.04, 0.15, None).peak_i.size == 2
    assert M.detect_strokes(t, two, RATE, 0.3, 0.08, 0.15, None).peak_i.size == 1


def test_lowpass():
    x = np.r_[np.zeros(50), np.ones(50)]
    y = M.lowpass(x, RATE, 4.0)
    assert y is not x and abs(y[0]) < 0.05 and abs(y[-1] - 1) < 0.05 and 0.3 < y[50] < 0.7
    assert M.lowpass(x[:10], RATE, 4.0).tolist() == x[:10].tolist()
    assert M.lowpass(x, RATE, 95.0).tolist() == x.tolist()


def test_trim_edges():
    t = np.array([0.6, 1.0, 2.0, 3.0, 4.0, 4.3])
    s = M.Strokes(np.arange(6), t, np.ones(6))
    out = M.trim_edges(s)
    assert out.t_s.tolist() == [1.0, 2.0, 3.0, 4.0]
    keep = M.trim_edges(M.Strokes(np.arange(4), np.array([0.0, 1.0, 2.0, 3.0]), np.ones(4)))
    assert keep.t_s.size == 4
    three = M.Strokes(np.arange(3), np.array([0.0, 0.1, 1.0]), np.ones(3))
    assert M.trim_edges(three) is three
    # exactly half the median interval stays, at either end
    half = M.Strokes(np.arange(5), np.array([0.5, 1.0, 2.0, 3.0, 4.0]), np.ones(5))
    assert M.trim_edges(half).t_s.size == 5
    half_end = M.Strokes(np.arange(5), np.array([0.0, 1.0, 2.0, 3.0, 3.5]), np.ones(5))
    assert M.trim_edges(half_end).t_s.size == 5
    # four strokes are enough to trim
    four = M.Strokes(np.arange(4), np.array([0.0, 0.1, 1.1, 2.1]), np.ones(4))
    assert M.trim_edges(four).t_s.tolist() == [0.1, 1.1, 2.1]


def test_rhythm():
    t = np.array([0.0, 1.0, 2.0, 3.0, 6.0, 7.0])
    p = np.array([10.0, 11.0, 9.0, 10.0, 10.0, 30.0])
    r = M.rhythm(t, p, 2.5)
    assert r.count == 6 and r.rate_per_min == 60.0
    assert r.pauses == 1 and r.paused_s == pytest.approx(2.0)
    assert r.interval_cv == 0.0                      # the pause is left out of the regularity
    assert r.peak_cv == pytest.approx(1.4826 * 0.5 / 10.0)
    assert r.peak_median_n == 10.0
    lifted = M.rhythm(t, p, 2.5, np.array([0, 0, 0, 1, 0], bool))
    assert lifted.pauses == 0 and lifted.paused_s == 0.0
    assert M.rhythm(t, p, 3.5).pauses == 0 and M.rhythm(t, p, 3.0).pauses == 0
    three = M.rhythm(t[:3], p[:3], 2.5)
    assert three.rate_per_min == 60.0 and three.peak_cv is not None
    two = M.rhythm(t[:2], p[:2], 2.5)
    assert two.rate_per_min is None and two.peak_median_n == 10.5 and two.count == 2
    assert M.rhythm(t[:0], p[:0], 2.5).peak_median_n is None


def test_pace_verdict_boundaries():
    assert M.pace_verdict(None, 40, 50, 1.3) is None
    assert M.pace_verdict(40 / 1.3, 40, 50, 1.3) == "ok"
    assert M.pace_verdict(40 / 1.3 - 0.01, 40, 50, 1.3) == "too_slow"
    assert M.pace_verdict(65.0, 40, 50, 1.3) == "ok"
    assert M.pace_verdict(65.01, 40, 50, 1.3) == "too_fast"
    assert M.pace_verdict(45, 40, 50, 1.0) == "ok"


def test_third_ratio():
    t = np.arange(15.0)
    p = np.r_[np.full(5, 10.0), np.full(5, 9.0), np.full(5, 7.0)]
    assert M.third_ratio(t, p, 5) == pytest.approx(0.7)
    assert M.third_ratio(t[:14], p[:14], 5) is None
    assert M.third_ratio(t, p, 6) is None
    assert M.third_ratio(t, np.zeros(15), 5) is None
    assert M.third_ratio(np.arange(16.0), np.r_[p, 7.0], 5) == pytest.approx(0.7)


def test_steady_runs_hold_extent_and_release():
    t = np.arange(int(14 * RATE)) / RATE
    f = np.where((t >= 2) & (t < 12), 30.0, 0.0)
    ramp = 1.0
    up = np.clip((t - 2) / ramp, 0, 1)
    down = np.clip((12 - t) / ramp, 0, 1)
    f = 30.0 * np.minimum(up, down)
    eng = f > 1.0
    st = M.steady_runs(f, eng, RATE, 1.0, 0.3, 2.0)
    assert len(st) == 1
    a, b = st[0]
    s, e, level = M.hold_extent(f, a, b)
    assert level == 30.0
    assert (e - s) / RATE == pytest.approx(9.0, abs=0.011)     # half-level to half-level
    assert s / RATE == pytest.approx(2.5, abs=0.011)
    assert M.release_s(f, e, level, RATE) == pytest.approx(0.8, abs=0.011)
    assert M.release_s(np.zeros(50), 10, 30.0, RATE) == 0.0
    assert M.steady_runs(f, eng, RATE, 1.0, 0.3, 10.0) == []
    assert M.steady_runs(f, np.zeros_like(eng), RATE, 1.0, 0.3, 2.0) == []
    assert M.steady_runs(f[:10], eng[:10], RATE, 1.0, 0.3, 0.01) == []
    # a hold running to the array's ends
    s2, e2, _ = M.hold_extent(np.full(100, 5.0), 10, 90)
    assert (s2, e2) == (0, 100)


def test_episodes_and_costs():
    over = np.array([0, 1, 1, 0, 1, 0, 0, 0, 1], bool)
    assert M.episodes(over, 1) == [(1, 5), (8, 9)]
    assert M.episodes(over, 0) == [(1, 3), (4, 5), (8, 9)]
    c = M.miss_cost(np.array([0.5, 1.0, 1.1, 1.5, 3.0, np.inf]), 0.5)
    assert c.tolist() == pytest.approx([0.0, 0.0, 0.2, 1.0, 1.0, 1.0])
    assert M.falloff(0.95, 0.95, 0.8) == 1.0 and M.falloff(0.875, 0.95, 0.8) == pytest.approx(0.5)
    assert M.falloff(0.7, 0.95, 0.8) == 0.0 and M.falloff(1.0, 0.95, 0.8) == 1.0
    assert M.falloff(0.25, 0.5, 0.0) == pytest.approx(0.5)
    assert M.falloff(1.0, 1.0, 1.0) == 1.0 and M.falloff(0.5, 1.0, 1.0) == 0.0
    assert M.cv_part([0.1, 0.3, 0.5], [1, 1, 2], 0.2) == pytest.approx((1 + 0.5 + 0) / 4)
    assert M.cv_part([], [], 0.2) is None
    assert M.cv_part([0.1], [0], 0.2) is None


def test_tremor_rms():
    t = np.arange(int(4 * RATE)) / RATE
    f = 10.0 + 1.0 * np.sin(2 * np.pi * 9.0 * t) + 5.0 * np.sin(2 * np.pi * 0.75 * t)
    m = np.ones(t.size, bool)
    m[:100] = m[-100:] = False
    assert M.tremor_rms_n(f, m, RATE, (6.0, 12.0)) == pytest.approx(1 / np.sqrt(2), rel=0.05)
    assert M.tremor_rms_n(f, m[:150] if False else np.zeros(t.size, bool), RATE, (6.0, 12.0)) is None
    assert M.tremor_rms_n(f, m, 20.0, (6.0, 12.0)) is None


def test_third_ratio_uneven_times():
    # span 9 s, thirds end at 3 s and start at 6 s: early = t 0, 3; late = t 6, 9
    t = np.array([0.0, 3.0, 4.0, 5.0, 6.0, 9.0])
    p = np.array([10.0, 20.0, 1.0, 1.0, 5.0, 15.0])
    assert M.third_ratio(t, p, 2) == pytest.approx(10.0 / 15.0)
    # a middle below 1 N is still a middle
    assert M.third_ratio(t, np.array([0.5, 0.5, 1, 1, 1, 1.0]), 2) == pytest.approx(2.0)
    # one early stroke (t 0), three late (6, 8, 9): too few early ones
    assert M.third_ratio(np.array([0.0, 4, 5, 6, 8, 9]), np.ones(6), 2) is None


def test_steady_runs_windows():
    # window of 2 samples, trailing: only [10, 10] (ending at index 2) is steady
    assert M.steady_runs(np.array([0, 10, 10, 0, 0, 0.0]), np.array([0, 1, 1, 0, 0, 0], bool),
                         1.0, 1.0, 0.1, 2.0) == [(1, 3)]
    # a spread of exactly tolerance x peak (8 - 4 = 0.5 x 8) is steady
    assert M.steady_runs(np.array([0, 8, 4, 0, 0.0]), np.array([0, 1, 1, 0, 0], bool),
                         1.0, 2.0, 0.5, 2.0) == [(1, 3)]
    # window of 3: the trailing window 1..3 is steady, the 20 N after it does not count
    eng = np.array([0, 1, 1, 1, 1, 0, 0], bool)
    assert M.steady_runs(np.array([0, 10, 10, 10, 0, 0, 0.0]), eng, 1.0, 3.0, 0.1, 3.0) == [(1, 4)]
    assert M.steady_runs(np.array([0, 10, 10, 10, 20, 0, 0.0]), eng, 1.0, 3.0, 0.1, 3.0) == [(1, 4)]
    # as long as the window, starting at sample 0
    assert M.steady_runs(np.full(4, 10.0), np.ones(4, bool), 1.0, 4.0, 0.1, 4.0) == [(0, 4)]


def test_hold_extent_half_level_edges():
    # level 10, half 5: samples at exactly 5 N belong to the hold
    f = np.array([0, 0, 5, 10, 10, 10, 5, 0.0])
    assert M.hold_extent(f, 3, 6) == (2, 7, 10.0)


def test_release_s_edges():
    # 90 % of 10 N is 9 N: the last sample at or above it is index 1, 10 % (1 N) at index 2
    assert M.release_s(np.array([10, 9, 0, 0.0]), 2, 10.0, 1.0) == 1.0
    # never falls to 10 % within 5 s after the end (end 3): counted to the 5 s horizon
    f = np.r_[np.full(3, 10.0), np.full(10, 9.0), np.zeros(3)]
    assert M.release_s(f, 3, 10.0, 1.0) == (3 + 5 - 2) / 1.0


def test_rhythm_simultaneous_strokes():
    # median interval 0: no rate; the 1 s interval is a pause of 1 s beyond the median
    r = M.rhythm(np.array([0.0, 0.0, 0.0, 1.0]), np.ones(4), 2.5)
    assert r.rate_per_min is None and r.pauses == 1 and r.paused_s == 1.0


def test_masks_given_as_0_1_integers():
    # the mask functions take any 0/1 (truthy) series, not only numpy bools
    assert M.runs(np.array([0, 1, 1, 0, 1])) == [(1, 3), (4, 5)]
    assert M.runs(np.array([True])) == [(0, 1)]
    assert M.bridge_gaps(np.array([1, 0, 1, 0, 0, 1]), 1).tolist() == [True, True, True, False, False, True]
    lifted = M.rhythm(np.array([0.0, 1, 2, 3, 6, 7]), np.full(6, 10.0), 2.5, np.array([1, 0, 0, 0, 0]))
    assert lifted.pauses == 1 and lifted.paused_s == 2.0          # the long interval was not lifted
    t = np.arange(int(2 * RATE)) / RATE
    f = np.sin(2 * np.pi * 9.0 * t)
    m = np.zeros(t.size, int)
    m[100:300] = 1
    assert M.tremor_rms_n(f, m, RATE, (6.0, 12.0)) == pytest.approx(M.tremor_rms_n(f, m.astype(bool), RATE, (6.0, 12.0)))
    assert M.tremor_rms_n(f, m, RATE, (6.0, 12.0)) == pytest.approx(1 / np.sqrt(2), rel=0.05)


def test_change_bounds_of_nothing():
    assert M.change_bounds() == []


def test_fill_faults_integer_force():
    # a force given in whole newtons is interpolated in floats: halfway between 1 and 2
    out = M.fill_faults(np.array([[1], [9], [2]]), np.array([[0], [1], [0]], bool),
                        np.zeros((3, 1), bool), np.array([50.0]))
    assert out[:, 0].tolist() == [1.0, 1.5, 2.0]


def test_lowpass_length_and_cutoff_edges():
    alt = np.tile([1.0, -1.0], 8)                     # 16 samples at the Nyquist frequency
    y = M.lowpass(alt, 100.0, 5.0)                    # filtered: 16 samples are enough
    assert np.abs(np.diff(y)).max() < 0.5             # the sample-to-sample swing (2) is gone
    assert M.lowpass(alt, 100.0, 45.0).tolist() == alt.tolist()   # cutoff at 0.45 x rate: left as is
    # 2nd order: power gain 1 / (1 + (f / fc)^4) each way, at f = 2 fc: (1/17) forward and back
    t = np.arange(int(20 * RATE)) / RATE
    wc, w = np.tan(np.pi * 5.0 / RATE), np.tan(np.pi * 10.0 / RATE)   # bilinear prewarping
    gain = 1.0 / (1.0 + (w / wc) ** 4)
    y = M.lowpass(np.sin(2 * np.pi * 10.0 * t), RATE, 5.0)
    mid = slice(int(5 * RATE), int(15 * RATE))
    assert np.sqrt(np.mean(y[mid] ** 2)) == pytest.approx(gain / np.sqrt(2), rel=0.02)


def test_tremor_band_edges_and_order():
    t = np.arange(int(20 * RATE)) / RATE
    f = np.sin(2 * np.pi * 3.0 * t)
    m = np.zeros(t.size, bool)
    m[int(5 * RATE):int(15 * RATE)] = True
    # 2nd-order band-pass (6-12 Hz): power gain 1 / (1 + ((w^2 - w1 w2) / ((w2 - w1) w))^4)
    w1, w2, w = (np.tan(np.pi * x / RATE) for x in (6.0, 12.0, 3.0))
    gain = 1.0 / (1.0 + ((w * w - w1 * w2) / ((w2 - w1) * w)) ** 4)
    assert M.tremor_rms_n(f, m, RATE, (6.0, 12.0)) == pytest.approx(gain / np.sqrt(2), rel=0.02)
    # exactly rate_hz samples (one second) is enough; the band's top at Nyquist is not
    one = np.zeros(t.size, bool)
    one[1000:1200] = True
    assert M.tremor_rms_n(f, one, RATE, (6.0, 12.0)) is not None
    assert M.tremor_rms_n(f, m, 24.0, (6.0, 12.0)) is None


def test_detect_strokes_small_runs():
    st = M.detect_strokes(np.arange(3.0), np.array([0, 5.0, 0]), 1.0, 1.0, 0.1)
    assert st.peak_i.tolist() == [1] and st.t_s.tolist() == [1.0]
    none = M.detect_strokes(np.arange(2.0), np.array([0, 5.0]), 1.0, 1.0, 0.1)
    assert none.t_s.size == 0 and none.peak_n.size == 0
    assert np.zeros(2)[none.peak_i].size == 0                     # indices, usable as such


def test_detect_strokes_prominence_from_amplitude():
    # base 0, two 3 N bumps and one 20 N stroke
    x = np.zeros(40)
    x[5], x[15], x[25] = 3.0, 3.0, 20.0
    t = np.arange(40.0)
    assert M.detect_strokes(t, x, 1.0, 1.0, 0.1).peak_i.tolist() == [5, 15, 25]   # no relative part by default
    # a base of 10 N under 10 N strokes: amplitude (95th - 5th percentile) at most 10 N,
    # so 0.6 x it stays below the strokes' prominence of 10 N
    y = np.full(40, 10.0)
    y[5], y[15], y[25] = 20.0, 20.0, 20.0
    assert M.detect_strokes(t, y, 1.0, 1.0, 0.1, 0.6).peak_i.tolist() == [5, 15, 25]


def test_detect_strokes_parabola_next_to_the_ends():
    # peaks at sample 1 and at the one before last; vertex of the parabola through
    # (-1, y0), (0, y1), (1, y2): (y0 - y2) / (2 (y0 - 2 y1 + y2)) samples from the peak
    x = np.array([0, 10, 4, 1, 1, 4, 10, 2.0])
    t = np.arange(8) * 0.5
    st = M.detect_strokes(t, x, 2.0, 3.0, 0.1)
    assert st.peak_i.tolist() == [1, 6]
    v1 = (0 - 4) / (2 * (0 - 20 + 4))
    v6 = (4 - 2) / (2 * (4 - 20 + 2))
    assert st.t_s.tolist() == pytest.approx([0.5 * (1 + v1), 0.5 * (6 + v6)])
    # whole-sample times (integers) give the same answer
    assert M.detect_strokes(np.arange(8), x, 1.0, 3.0, 0.1).t_s.tolist() == pytest.approx([1 + v1, 6 + v6])
    # a flat top of three samples stays on its middle sample
    flat = M.detect_strokes(np.arange(7.0), np.array([0, 2, 9, 9, 9, 2, 0.0]), 1.0, 1.0, 0.1)
    assert flat.peak_i.tolist() == [3] and flat.t_s.tolist() == [3.0]


def test_detect_strokes_filtered_tops_stay_on_samples():
    t, f, _ = _train(45, 6)
    st = M.detect_strokes(t, f + 0.5 * np.sin(2 * np.pi * 0.3 * t), RATE, 0.3, 0.08, 0.15, 4.0)
    assert st.peak_i.size == 6 and st.t_s.tolist() == t[st.peak_i].tolist()


def test_trim_edges_scales_with_the_interval():
    # usual interval 2 s: a first and a last stroke 0.5 s from their neighbours (< 1 s) go
    t = np.array([0.0, 0.5, 2.5, 4.5, 6.5, 7.0])
    st = M.trim_edges(M.Strokes(np.arange(6), t, np.ones(6)))
    assert st.t_s.tolist() == [0.5, 2.5, 4.5, 6.5]


def test_steady_runs_force_level_edges():
    eng = np.ones(6, bool)
    assert M.steady_runs(np.zeros(6), eng, 1.0, 2.0, 0.1, 2.0) == []          # no force, no hold
    assert M.steady_runs(np.full(6, 0.5), eng, 1.0, 2.0, 0.1, 2.0) == [(0, 6)]  # a light one is one


def test_release_s_exact_tenth_and_cv_part_small_weights():
    assert M.release_s(np.array([10, 1, 0.0]), 1, 10.0, 1.0) == 1.0   # 1 N is 10 % of 10 N
    assert M.cv_part([0.1], [1.0], 0.2) == 1.0
    assert M.cv_part([0.3, 0.1], [0.25, 0.25], 0.2) == pytest.approx(0.75)


def test_detect_strokes_amplitude_is_the_5_to_95_percentile_span():
    # 5 strikes of 10 N in 100 samples of 0: the 95th percentile (linear interpolation at
    # rank 0.95 x 99 = 94.05) is 0.05 x 10 = 0.5 N, the 5th is 0, so 1.5 x amplitude = 0.75 N
    x = np.zeros(100)
    x[[10, 30, 50, 70, 90]] = 10.0
    st = M.detect_strokes(np.arange(100.0), x, 1.0, 0.1, 0.1, 1.5)
    assert st.peak_i.tolist() == [10, 30, 50, 70, 90]
