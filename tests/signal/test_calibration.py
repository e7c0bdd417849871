"""Counts to force: divider round trip, curve fits, calibration files, tare and faults."""
from __future__ import annotations

import json

import numpy as np
import pytest

from chain_helpers import make_device, nominal_counts
from massage_glove.errors import CalibrationError, DataFileError, GloveError, TareError
from massage_glove.portable import fsr
from massage_glove.signal.calibration import (
    FAULT_OPEN, FAULT_SATURATED, FAULT_SHORT, Calibration, ForceConverter, PchipCurve, PowerLaw,
    conductance_s_from_counts, counts_from_conductance_s, fit_channel, fit_pchip, fit_power_law,
    load_for_glove, pressure_kpa)


def test_nominal_power_law_matches_fsr_py():
    for cls, p in fsr.NOMINAL.items():
        law = PowerLaw.nominal(cls)
        f = np.array([0.5, 1.0, 4.0, 9.0, 15.0])
        g = fsr.conductance_from_force(f, p["r1_ohm"], p["exponent"])
        np.testing.assert_allclose(law.conductance_s(f), g, rtol=1e-12)
        np.testing.assert_allclose(law.force_n(g), f, rtol=1e-12)


def test_round_trip_force_counts_force_exact(device):
    conv = ForceConverter(device)
    f = np.linspace(0.5, 19.0, 40)[:, None] * np.ones((1, 16))
    f[:, 7] = np.linspace(1.0, 90.0, 40)
    f[:, 15] = np.linspace(1.0, 90.0, 40)
    counts = nominal_counts(f, device, exact=True)
    np.testing.assert_allclose(conv.force_n(counts), f, rtol=1e-9)
    np.testing.assert_allclose(conv.counts_from_force_n(f[10]), counts[10], rtol=1e-9)


def test_round_trip_with_integer_counts_is_within_quantisation(device):
    conv = ForceConverter(device)
    f = np.linspace(1.0, 18.0, 30)[:, None] * np.ones((1, 16))
    back = conv.force_n(nominal_counts(f, device))
    # one count near 18 N on an FSR 402 is about 0.5 % of force
    np.testing.assert_allclose(back[:, :7], f[:, :7], rtol=0.01)


def test_divider_edges_are_finite():
    g = conductance_s_from_counts(np.array([0, 61, 4095]), 1500.0, 100000.0, 4095)
    assert np.all(np.isfinite(g))
    assert g[0] < 0 < g[2]
    assert counts_from_conductance_s(-1.0, 1500.0, 100000.0, 4095) == pytest.approx(
        fsr.unloaded_counts(1500.0, 100000.0, 4095))


def test_pressure_kpa():
    # 4 N over the FSR 402's 126.7 mm^2 is about 31.6 kPa
    assert pressure_kpa(4.0, 126.7) == pytest.approx(31.57, abs=0.01)


def test_power_fit_recovers_parameters_and_reports_error():
    a, b = 5.0e4, 1.3
    loads = np.array([0.5, 1, 2, 4, 7, 10, 15, 20])
    g = (loads / a) ** (1 / b)
    law, err = fit_power_law(loads, g)
    assert law.a == pytest.approx(a, rel=1e-6)
    assert law.b == pytest.approx(b, rel=1e-9)
    assert err.rms_n < 1e-6 and err.method == "residual"
    # with 3 % multiplicative noise the error is reported, in N and %
    rng = np.random.default_rng(1)
    noisy = g * np.exp(rng.normal(0, 0.03, g.size))
    law2, err2 = fit_power_law(loads, noisy)
    assert law2.b == pytest.approx(b, rel=0.1)
    pred = law2.force_n(noisy)
    assert err2.max_n == pytest.approx(np.max(np.abs(pred - loads)))
    assert err2.rms_pct == pytest.approx(np.sqrt(np.mean((100 * (pred - loads) / loads) ** 2)))
    assert 0 < err2.rms_pct < 10


def test_fit_channel_from_counts_recovers_nominal(device):
    loads = [0.5, 1, 2, 5, 10, 15, 20]
    counts = nominal_counts(np.array(loads)[:, None] * np.ones((1, 16)), device, exact=True)[:, 0]
    cc = fit_channel("R_thumb", "fsr402", loads, counts, 1500, 100000, model="power")
    nom = PowerLaw.nominal("fsr402")
    assert cc.curve.a == pytest.approx(nom.a, rel=1e-6)
    assert cc.curve.b == pytest.approx(nom.b, rel=1e-6)
    cp = fit_channel("R_thumb", "fsr402", loads, counts, 1500, 100000, model="pchip")
    np.testing.assert_allclose(cp.curve.force_n(cp.curve.g_s), loads, rtol=1e-9)
    assert cp.fit_error.method == "leave_one_out"
    assert cp.fit_error.max_pct < 1.0     # a power law is linear in log-log: PCHIP reproduces it


def test_pchip_is_monotone_and_inverts():
    g = np.array([1e-4, 3e-4, 8e-4, 1.5e-3, 2e-3])
    f = np.array([0.5, 2.0, 6.0, 12.0, 20.0])
    c = PchipCurve(g, f)
    gg = np.geomspace(1e-6, 5e-3, 500)
    ff = c.force_n(gg)
    assert np.all(np.diff(ff) > 0)
    np.testing.assert_allclose(c.force_n(c.conductance_s(ff)), ff, rtol=1e-8)
    assert c.force_n(0.0) == 0.0 and c.force_n(-1.0) == 0.0


def test_pchip_rejects_readings_that_fall_with_load():
    with pytest.raises(CalibrationError, match="do not rise"):
        fit_pchip([1, 2, 5], [1e-4, 3e-4, 2e-4])
    with pytest.raises(CalibrationError):
        fit_power_law([1, 1], [1e-4, 1.1e-4])


def test_calibration_save_load_round_trip(tmp_path, device):
    loads = [0.5, 1, 2, 5, 10, 15, 20]
    counts = nominal_counts(np.array(loads)[:, None] * np.ones((1, 16)), device, exact=True)
    chans = []
    for j, ch in enumerate(device.channels):
        model = "pchip" if j % 2 else "power"
        chans.append(fit_channel(ch.name, ch.sensor_class, loads, counts[:, j], ch.r_divider_ohm,
                                 ch.r_bleed_ohm, model=model))
    cal = Calibration(device.glove_id, "2025-03-14", 12, tuple(chans), 10.0, "test rig")
    path = cal.save(tmp_path / f"{device.glove_id}.json")
    doc = json.loads(path.read_text())
    assert doc["format"] == "massage-glove/calibration" and doc["version"] == 1
    for key in ("r_divider_ohm", "r_bleed_ohm", "loads_n", "readings_counts", "model", "params", "fit_error"):
        assert key in doc["channels"][0]
    assert doc["loading_time_s"] == 10.0
    back = Calibration.load(path)
    assert back == cal
    conv = ForceConverter(device, back)
    f = np.full((1, 16), 7.0)
    np.testing.assert_allclose(conv.force_n(nominal_counts(f, device, exact=True)), f, rtol=1e-3)
    assert load_for_glove(device, tmp_path) == cal
    other = make_device(glove_id="other")
    assert load_for_glove(other, tmp_path).is_nominal
    (tmp_path / "other.json").write_text(path.read_text())
    with pytest.raises(DataFileError, match="glove_id"):
        load_for_glove(other, tmp_path)


def test_fault_mask(device):
    conv = ForceConverter(device)
    counts = nominal_counts(np.full((5, 16), 5.0), device)
    counts[0, 0] = 0                                 # broken wire
    counts[1, 1] = 4095                              # short
    counts[2, 2] = int(np.ceil(conv.saturated_counts[2])) + 1
    counts[3, 7] = nominal_counts(np.full((1, 16), 150.0), device)[0, 7]   # beyond FSR 406 range
    m = conv.faults(counts)
    assert m[0, 0] == FAULT_OPEN and m[1, 1] == FAULT_SHORT
    assert m[2, 2] == FAULT_SATURATED and m[3, 7] == FAULT_SATURATED
    assert np.count_nonzero(m) == 4
    # an unloaded healthy sensor is not open
    rest = nominal_counts(np.zeros((1, 16)), device)
    assert not conv.faults(rest).any()
    # the saturation threshold is the reading at the class's f_max_n
    at_max = nominal_counts(np.full((1, 16), 20.0), device, exact=True)[0]
    assert conv.saturated_counts[0] == np.floor(at_max[0])
    assert conv.faults(nominal_counts(np.full((1, 16), 20.0), device))[0, 0] == FAULT_SATURATED
    assert not conv.faults(nominal_counts(np.full((1, 16), 19.5), device)).any()


def test_tare_in_conductance_removes_preload(device):
    conv = ForceConverter(device)
    # mounting preload of 0.8 N on every sensor, plus ADC noise
    rng = np.random.default_rng(3)
    pre = np.full((200, 16), 0.8)
    quiet = np.clip(nominal_counts(pre, device, exact=True) + rng.normal(0, 1.0, pre.shape), 0, 4095)
    tare = conv.tare_s(quiet.astype(np.uint16), max_force_n=2.0)
    g_pre = PowerLaw.nominal("fsr402").conductance_s(0.8)
    assert tare[0] == pytest.approx(g_pre, rel=0.15)
    # the conductances of preload and applied force add (FSR in parallel contact): 6 N applied
    g_total = PowerLaw.nominal("fsr402").conductance_s(6.0) + g_pre
    counts = counts_from_conductance_s(g_total, 1500, 100000, 4095)
    f = conv.force_n(np.full((1, 16), counts), tare)
    assert f[0, 0] == pytest.approx(6.0, rel=0.03)


def test_tare_refuses_a_pressed_sensor(device):
    conv = ForceConverter(device)
    f = np.zeros((100, 16))
    f[:, 3] = 5.0
    with pytest.raises(TareError, match="R_ring") as e:
        conv.tare_s(nominal_counts(f, device), max_force_n=2.0)
    assert isinstance(e.value, GloveError)


def test_tare_skips_broken_channel(device):
    conv = ForceConverter(device)
    c = nominal_counts(np.zeros((50, 16)), device)
    c[:, 5] = 0
    t = conv.tare_s(c, max_force_n=2.0)
    assert t[5] == 0.0


def test_fit_calibration_for_a_glove_from_held_loads(device):
    from massage_glove.signal.calibration import fit_calibration, settled_reading_counts
    rate, hold = 200.0, 10.0
    loads = {"fsr402": [0.5, 1, 2, 5, 10, 15, 20], "fsr406": [1, 2, 5, 10, 20, 35, 50]}
    rng = np.random.default_rng(0)
    readings, per_channel_loads = {}, {}
    for j, ch in enumerate(device.channels[:8]):
        rs = []
        for load in loads[ch.sensor_class]:
            f = np.zeros((int(hold * rate) + 50, 16))
            f[:, j] = load * (1 + 0.03 * (1 - np.exp(-np.arange(f.shape[0]) / rate / 3.0)))  # creep
            c = nominal_counts(f, device, exact=True)[:, j] + rng.normal(0, 2.0, f.shape[0])
            rs.append(float(settled_reading_counts(c, rate, hold)))
        readings[ch.name] = rs
        per_channel_loads[ch.name] = loads[ch.sensor_class]
    cal = fit_calibration(device, per_channel_loads, readings, model="power", loading_time_s=hold)
    assert [c.model for c in cal.channels] == ["power"] * 8 + ["nominal"] * 8
    for c in cal.channels[:8]:
        assert c.fit_error.max_pct < 2.0
    with pytest.raises(CalibrationError, match="shorter than the loading time"):
        settled_reading_counts(np.zeros((100, 16)), rate, hold)
