"""Bands: edges, hysteresis and dwell, chunk invariance, whole-hand band."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from massage_glove.signal.bands import (FIRM, LIGHT, MEDIUM, TOO_MUCH, UNKNOWN, BandClassifier,
                                        classify_n, hand_band, run_lengths)

RATE = 200.0
EDGES = np.array([[4.0, 9.0, 15.0], [10.0, 25.0, 40.0]])


def test_classify_without_hysteresis():
    f = np.array([[0.0, 0.0], [3.99, 9.99], [4.0, 10.0], [9.0, 25.0], [15.0, 40.0], [np.nan, np.inf]])
    b = classify_n(f, EDGES)
    assert b.tolist() == [[0, 0], [0, 0], [1, 1], [2, 2], [3, 3], [UNKNOWN, TOO_MUCH]]


def test_run_lengths_with_carry():
    c = np.array([1, 1, 0, 1, 1, 1], bool)[:, None]
    assert run_lengths(c, np.array([5]))[:, 0].tolist() == [6, 7, 0, 1, 2, 3]


def _noisy_edge_signal(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    # a hand holding right at the light|medium edge: noise (4 %) plus 8 Hz tremor
    x = 4.0 + 0.16 * rng.standard_normal(n) + 0.1 * np.sin(2 * np.pi * 8 * t)
    return x


def _transitions(b):
    return int(np.count_nonzero(np.diff(b)))


def test_hysteresis_and_dwell_stop_flicker():
    x = np.stack([_noisy_edge_signal(), 2.5 * _noisy_edge_signal(seed=1)], axis=1)
    raw = BandClassifier(EDGES, RATE, hysteresis_fraction=0.0, dwell_up_ms=0, dwell_down_ms=0).process(x)
    good = BandClassifier(EDGES, RATE).process(x)
    assert _transitions(raw[:, 0]) > 100 and _transitions(raw[:, 1]) > 100
    assert _transitions(good[:, 0]) <= 2 and _transitions(good[:, 1]) <= 2
    assert good[-1, 0] == MEDIUM


def test_dwell_up_ignores_a_one_sample_blip_and_follows_two():
    c = BandClassifier(EDGES[:1], RATE)            # dwell_up 10 ms = 2 samples
    x = np.zeros((20, 1))
    x[5] = 5.0
    assert c.process(x).max() == LIGHT
    x[10:12] = 5.0
    b = c.process(x)
    assert b[10, 0] == LIGHT and b[11, 0] == MEDIUM


def test_dwell_down_and_hysteresis():
    c = BandClassifier(EDGES[:1], RATE, hysteresis_fraction=0.1, dwell_down_ms=100)
    x = np.r_[np.full(10, 5.0), np.full(40, 3.7), np.full(40, 3.5)][:, None]
    b = c.process(x)[:, 0]
    assert np.all(b[2:50] == MEDIUM)              # 3.7 N is inside the hysteresis (off below 3.6 N)
    assert np.all(b[50:69] == MEDIUM)             # 19 samples below: not yet
    assert np.all(b[69:] == LIGHT)                # 20 samples = 100 ms below: down


def test_nan_is_unknown_and_holds_state_inf_is_too_much():
    c = BandClassifier(EDGES[:1], RATE)
    x = np.r_[np.full(5, 10.0), np.full(5, np.nan), np.full(3, 10.0), np.full(4, np.inf)][:, None]
    b = c.process(x)[:, 0]
    assert b[4] == FIRM and np.all(b[5:10] == UNKNOWN) and np.all(b[10:13] == FIRM)
    assert b[13] == FIRM and b[14] == TOO_MUCH


def test_jump_to_too_much_reaches_it_after_dwell():
    c = BandClassifier(EDGES, RATE)
    x = np.zeros((10, 2))
    x[3:] = [30.0, 100.0]
    b = c.process(x)
    assert b[3].tolist() == [LIGHT, LIGHT] and b[4].tolist() == [TOO_MUCH, TOO_MUCH]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=1, max_value=1199), max_size=15), st.integers(0, 10))
def test_chunked_equals_whole(cuts, seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0, 1.0, (1200, 2)), axis=0) % 50
    x[rng.integers(0, 1200, 20), 0] = np.nan
    x[rng.integers(0, 1200, 20), 1] = np.inf
    whole = BandClassifier(EDGES, RATE).process(x)
    c = BandClassifier(EDGES, RATE)
    idx = [0] + sorted(set(cuts)) + [1200]
    parts = np.concatenate([c.process(x[a:b]) for a, b in zip(idx[:-1], idx[1:])])
    np.testing.assert_array_equal(parts, whole)


def test_set_edges_keeps_state_and_follows_new_edges():
    c = BandClassifier(EDGES[:1], RATE)
    c.process(np.full((5, 1), 5.0))
    c.set_edges(EDGES[:1] * 0.5)                    # a sensitive receiver: 5 N is now firm
    assert c.process(np.full((3, 1), 5.0))[-1, 0] == FIRM


def test_hand_band_is_max_of_the_hands_sensors():
    b = np.array([[0, 2, 1, UNKNOWN], [UNKNOWN, UNKNOWN, 3, 0]], np.int8)
    hands = np.array([0, 0, 1, 1])
    assert hand_band(b, hands, 2).tolist() == [[2, 1], [UNKNOWN, 3]]
