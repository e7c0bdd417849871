"""The whole chain: shapes and units, tare, alert latency, firmware hard limits."""
from __future__ import annotations

import numpy as np
import pytest

from chain_helpers import make_block, make_device, nominal_counts
from massage_glove.errors import TareError
from massage_glove.signal.bands import TOO_MUCH
from massage_glove.signal.calibration import PowerLaw, counts_from_conductance_s
from massage_glove.signal.pipeline import LIMIT_OFF, Pipeline
from massage_glove.signal.filters import live_delay_ms

RATE = 200.0


def test_result_arrays(device):
    p = Pipeline(device)
    f = np.zeros((300, 16))
    f[:, 0] = 3.0
    f[:, 7] = 20.0
    r = p.process(make_block(nominal_counts(f, device)))
    assert r.force_n.shape == r.filtered_n.shape == r.band.shape == r.fault.shape == (300, 16)
    assert r.hand_band.shape == (300, 2)
    assert r.band.dtype == np.int8 and r.hand_band.dtype == np.int8 and r.fault.dtype == np.uint8
    np.testing.assert_allclose(r.filtered_n[-1, [0, 7]], [3.0, 20.0], rtol=0.01)
    assert r.band[-1, 0] == 0 and r.band[-1, 7] == 1          # 20 N on the palm is medium
    assert r.pressure_kpa[-1, 0] == pytest.approx(3.0 / 126.7 * 1000, rel=0.01)
    assert r.filtered is r.filtered_n
    assert p.delay_ms == pytest.approx(live_delay_ms(RATE))
    empty = p.process(make_block(np.zeros((0, 16))))
    assert empty.band.shape == (0, 16) and empty.alerts == []


def test_tare_then_forces(device):
    p = Pipeline(device)
    g_pre = PowerLaw.nominal("fsr402").conductance_s(1.0)
    quiet = np.full((100, 16), counts_from_conductance_s(g_pre, 1500, 100000, 4095))
    quiet[:, 7] = nominal_counts(np.zeros((1, 16)), device)[0, 7]
    p.tare(make_block(np.round(quiet)))
    g = PowerLaw.nominal("fsr402").conductance_s(5.0) + g_pre
    c = np.round(np.full((50, 16), counts_from_conductance_s(g, 1500, 100000, 4095)))
    c[:, 7] = nominal_counts(np.zeros((1, 16)), device)[0, 7]
    r = p.process(make_block(c))
    assert r.force_n[-1, 0] == pytest.approx(5.0, rel=0.02)
    pressed = nominal_counts(np.full((100, 16), 6.0), device)
    with pytest.raises(TareError):
        p.tare(make_block(pressed))


@pytest.mark.parametrize("rate", [200.0, 1000.0])
@pytest.mark.parametrize("ramp_ms", [50, 100, 300])
@pytest.mark.parametrize("mult", [1.1, 1.5, 2.0, 3.0])
def test_over_limit_alert_within_30_ms_of_a_pressing_ramp(rate, ramp_ms, mult):
    """Latency from the unsmoothed force crossing the limit to the alert."""
    dev = make_device(rate)
    n = int(2 * rate)
    k = n // 2
    L = int(ramp_ms * rate / 1000)
    f = np.zeros((n, 16))
    top = mult * 4.0
    f[k:k + L, 0] = np.linspace(top / L, top, L)
    f[k + L:, 0] = top
    i = int(np.argmax(f[:, 0] >= 4.0))
    t_cross = (i - 1 + (4.0 - f[i - 1, 0]) / (f[i, 0] - f[i - 1, 0])) / rate
    p = Pipeline(dev, rate_hz=rate)
    p.set_region("neck")
    a = [x for x in p.process(make_block(nominal_counts(f, dev), rate)).alerts if x.rule == "over_limit"]
    assert a and a[0].t_s - t_cross <= 0.030 + 1e-9


def test_hard_limits_map_the_too_much_edge_to_counts(device):
    p = Pipeline(device)
    p.set_region("neck")
    lim = p.hard_limits_counts()
    exact = nominal_counts(np.r_[[15.0] * 7, 40.0, [15.0] * 7, 40.0][None], device, exact=True)[0]
    assert lim == [int(np.ceil(x)) for x in exact]
    assert p.hard_limits_counts("upper_trapezius") == lim        # too much is the same everywhere
    # the limit trips exactly where the host says too much
    conv = p.converter
    f_at = conv.force_n(np.array([lim]))[0]
    assert np.all(f_at >= np.r_[[15.0] * 7, 40.0, [15.0] * 7, 40.0] - 1e-9)
    # a sensitive receiver lowers every limit
    ps = Pipeline(device, sensitivity="sensitive")
    assert all(a < b for a, b in zip(ps.hard_limits_counts("neck"), lim))
    # an edge beyond the sensor's range falls back to the saturation reading (saturated = too much)
    pw = Pipeline(device, sensitivity=2.0)                       # 30 N > 20 N range of FSR 402
    assert pw.hard_limits_counts("neck")[0] == int(conv.saturated_counts[0])
    # the glove's limit command takes these as they are: 0 < limit < full scale
    assert all(0 < x < 4095 for x in lim) and LIMIT_OFF == 0


def test_hard_limits_follow_the_tare(device):
    p = Pipeline(device)
    before = p.hard_limits_counts("neck")
    g_pre = PowerLaw.nominal("fsr402").conductance_s(1.0)
    quiet = np.full((50, 16), np.round(counts_from_conductance_s(g_pre, 1500, 100000, 4095)))
    p.tare(make_block(quiet))
    after = p.hard_limits_counts("neck")
    assert after[0] > before[0]
    # raw counts at the limit still read as the too-much edge after tare
    f = p.converter.force_n(np.array([after]), p.tare_s)[0]
    assert f[0] == pytest.approx(15.0, rel=0.01)


def test_band_too_much_at_the_hard_limit(device):
    p = Pipeline(device)
    p.set_region("neck")
    lim = p.hard_limits_counts()
    c = np.tile(nominal_counts(np.zeros((1, 16)), device), (100, 1))
    c[20:, 0] = lim[0] + 2
    r = p.process(make_block(c))
    assert r.band[-1, 0] == TOO_MUCH
