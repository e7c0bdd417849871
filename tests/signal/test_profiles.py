"""Region profiles: defaults, skill caps, sensitivity, learned targets."""
from __future__ import annotations

import numpy as np
import pytest

from massage_glove.signal.bands import FIRM, LIGHT, MEDIUM
from massage_glove.signal.profiles import (REGION_IDS, ProfileSet, default_profile_set,
                                           learn_profile, load_profile, save_profile)

TABLE = {  # DOMAIN.md section 3
    "neck": LIGHT, "spine": LIGHT, "kidney": LIGHT, "lower_back": MEDIUM, "ribs": LIGHT,
    "sacrum": MEDIUM, "sides": MEDIUM, "paraspinals": FIRM, "shoulder_blades": FIRM,
    "upper_trapezius": FIRM,
}


def test_regions_match_domain_table():
    ps = default_profile_set()
    assert set(REGION_IDS) <= set(ps.regions)
    for rid, band in TABLE.items():
        r = ps.regions[rid]
        assert r.max_band == band, rid
        assert r.name and r.text and len(r.key) == 1
    keys = [r.key for r in ps.regions.values()]
    assert len(keys) == len(set(keys))
    assert not ps.regions["spine"].static_pressure and ps.regions["spine"].static_max_s
    assert not ps.regions["kidney"].percussion
    assert ps.regions["paraspinals"].hold_max_s == 15
    assert ps.region_for_key("n") == "neck"
    for name, src in ps.settings.sources.items():
        assert src, name


def test_resolve_trained_novice_sensitive(device):
    ps = default_profile_set()
    p = ps.resolve("upper_trapezius", "trained", "normal", device.channels)
    assert p.allowed_band == FIRM
    assert p.edges_n[0].tolist() == [4.0, 9.0, 15.0] and p.edges_n[7].tolist() == [10.0, 25.0, 40.0]
    assert p.limit_n[0] == 15.0 and p.too_much_n[7] == 40.0
    nov = ps.resolve("upper_trapezius", "novice", "normal", device.channels)
    assert nov.allowed_band == MEDIUM
    for rid in TABLE:
        assert ps.resolve(rid, "novice", "normal", device.channels).allowed_band <= MEDIUM
    sen = ps.resolve("neck", "trained", "sensitive", device.channels)
    np.testing.assert_allclose(sen.edges_n[0], [4 * 0.72, 9 * 0.72, 15 * 0.72])
    assert ps.resolve(None, "novice", 0.5, device.channels).allowed_band == MEDIUM
    with pytest.raises(ValueError):
        ps.resolve("elbow", "trained", "normal", device.channels)
    with pytest.raises(ValueError):
        ps.resolve("neck", "expert", "normal", device.channels)


def test_learn_profile_from_synthetic_percentiles(tmp_path, device):
    rate = 200.0
    n = 4000
    rng = np.random.default_rng(7)
    f = np.zeros((n, 16))
    labels = np.array(["neck"] * (n // 2) + ["upper_trapezius"] * (n // 2), dtype=object)
    # neck: fingertips uniform 1-3 N (P95 = 2.9 N); palm uniform 2-8 N (P95 = 7.7 N)
    f[: n // 2, :7] = rng.uniform(1.0, 3.0, (n // 2, 7))
    f[: n // 2, 7] = rng.uniform(2.0, 8.0, n // 2)
    # upper trapezius: fingertips uniform 5-13 N (P95 = 12.6 N); palm not used (no contact)
    f[n // 2:, :7] = rng.uniform(5.0, 13.0, (n // 2, 7))
    lp = learn_profile(f, labels, device.channels, rate_hz=rate, name="demo")
    neck = lp.regions["neck"]
    # the top of the allowed band (light, edge 0) is P95; other edges keep the 4:9:15 ratios
    assert neck["fsr402"].edges_n[0] == pytest.approx(2.9, rel=0.02)
    assert neck["fsr402"].edges_n[1] / neck["fsr402"].edges_n[0] == pytest.approx(9 / 4)
    assert neck["fsr406"].edges_n[0] == pytest.approx(7.7, rel=0.02)
    assert neck["fsr402"].target_n == pytest.approx((1.5, 2.5), rel=0.03)
    trap = lp.regions["upper_trapezius"]
    assert trap["fsr402"].edges_n[2] == pytest.approx(12.6, rel=0.02)      # firm|too much = P95
    assert "fsr406" not in trap                                             # no contact: defaults
    path = save_profile(lp, tmp_path / "demo.json")
    back = load_profile(path)
    assert back.regions["neck"]["fsr402"].edges_n == neck["fsr402"].edges_n
    ps = ProfileSet.load(learned_path=path)
    p = ps.resolve("neck", "trained", "sensitive", device.channels)
    np.testing.assert_allclose(p.edges_n[0], np.array(neck["fsr402"].edges_n) * 0.72)
    assert p.edges_source[0].startswith("learned")
    pt = ps.resolve("upper_trapezius", "trained", "normal", device.channels)
    assert pt.edges_n[7].tolist() == [10.0, 25.0, 40.0] and pt.edges_source[7] == "default"


def test_learned_edges_capped_below_sensor_range(device):
    f = np.zeros((1000, 16))
    f[:, :7] = 25.0                                  # beyond the FSR 402 range (20 N)
    f[:, 0] = np.linspace(5, 30, 1000)
    lp = learn_profile(f, ["paraspinals"] * 1000, device.channels, rate_hz=200.0)
    e = lp.regions["paraspinals"]["fsr402"].edges_n
    assert e[2] == pytest.approx(19.0) and e[0] < e[1] < e[2]
