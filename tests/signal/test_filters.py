"""Live and zero-phase filters: chunk invariance, spike rejection, stated vs measured delay."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from massage_glove.signal.filters import (LiveFilter, LowPass, SpikeMedian, design_lowpass,
                                          filter_zero_phase, live_delay_ms)

RATE = 200.0


def _signal(n=600, nch=3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    x = 5 + 3 * np.sin(2 * np.pi * 1.2 * t)[:, None] + rng.normal(0, 0.5, (n, nch))
    x[100, 0] += 30.0                                   # a spike
    return x


def _chunked(obj_factory, x, cuts):
    obj = obj_factory()
    idx = [0] + sorted(set(cuts)) + [x.shape[0]]
    return np.concatenate([obj.process(x[a:b]) for a, b in zip(idx[:-1], idx[1:])], axis=0)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=1, max_value=599), max_size=12))
def test_live_filter_chunked_equals_whole(cuts):
    x = _signal()
    whole = LiveFilter(3, RATE).process(x)
    np.testing.assert_allclose(_chunked(lambda: LiveFilter(3, RATE), x, cuts), whole, rtol=0, atol=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=1, max_value=599), max_size=12))
def test_spike_median_chunked_equals_whole(cuts):
    x = _signal()
    whole = SpikeMedian(3).process(x)
    np.testing.assert_array_equal(_chunked(lambda: SpikeMedian(3), x, cuts), whole)


def test_chunks_of_one_sample():
    x = _signal(200)
    whole = LiveFilter(3, RATE).process(x)
    f = LiveFilter(3, RATE)
    one = np.concatenate([f.process(x[i:i + 1]) for i in range(200)])
    np.testing.assert_allclose(one, whole, atol=1e-12)


def test_spike_rejected():
    x = np.full((50, 1), 2.0)
    x[20, 0] = 40.0
    y = SpikeMedian(1).process(x)
    assert np.all(y == 2.0)
    lp = LiveFilter(1, RATE).process(x)
    assert np.max(lp) < 2.01


def test_starts_at_rest_and_keeps_dc():
    x = np.full((100, 2), 7.5)
    np.testing.assert_allclose(LiveFilter(2, RATE).process(x), x, atol=1e-12)


def _step_delay_ms(rate, cutoff, kind="butter", spike=True):
    """50 % crossing of a unit step through the live filter, measured from the step.

    The input steps between samples k-1 and k, so its own 50 % point is at k - 0.5.
    """
    n, k = 400, 100
    x = np.zeros((n, 1))
    x[k:] = 1.0
    f = LiveFilter(1, rate, cutoff, kind=kind, spike=spike)
    # feed in uneven chunks: the measurement must not depend on them
    y = np.concatenate([f.process(x[a:b]) for a, b in ((0, 37), (37, 101), (101, 250), (250, n))])[:, 0]
    i = int(np.argmax(y >= 0.5))
    cross = i - 1 + (0.5 - y[i - 1]) / (y[i] - y[i - 1])
    return (cross - (k - 0.5)) * 1000.0 / rate


@pytest.mark.parametrize("rate,cutoff,kind", [(200, 15, "butter"), (200, 10, "butter"),
                                              (1000, 15, "butter"), (200, 15, "bessel")])
def test_step_delay_matches_stated(rate, cutoff, kind):
    stated = live_delay_ms(rate, cutoff, kind=kind)
    measured = _step_delay_ms(rate, cutoff, kind)
    # within one sample period or 10 %, whichever is larger
    assert measured == pytest.approx(stated, abs=max(1000.0 / rate, 0.1 * stated))


def test_default_live_delay_figure():
    # the figure quoted in docs/SIGNAL.md
    assert live_delay_ms(200.0) == pytest.approx(13.6, abs=0.2)
    assert _step_delay_ms(200.0, 15.0) == pytest.approx(20.3, abs=0.5)
    assert LiveFilter(16, 200.0).delay_ms() == pytest.approx(live_delay_ms(200.0))


def test_zero_phase_has_no_delay():
    t = np.arange(2000) / RATE
    x = np.sin(2 * np.pi * 1.0 * t)
    y = filter_zero_phase(x, RATE)
    lag = np.argmax(np.correlate(y[200:-200], x[200:-200], "full")) - (len(x) - 400 - 1)
    assert lag == 0
    assert y.shape == x.shape


def test_design_checks():
    with pytest.raises(ValueError):
        design_lowpass(200, 120)
    with pytest.raises(ValueError):
        design_lowpass(200, 15, kind="cheby")
    assert LowPass(1, 200).sos.shape == (1, 6)
