"""The review's fast paths give, bit for bit, what the general functions they stand for give.

Session reprocesses a log with shortcuts that must not change one output value: counts to
force and faults through a table of every count value, the spike median without sorting,
bands by one comparison per edge, each region's work on its runs of samples, each hand's
maxima from one masked copy. Each is compared here with the general function (or the
formulation it replaced) on inputs that reach its edges: ties, values exactly at the band
edges, +inf, NaN, open / shorted / saturated counts, power-law and PCHIP calibrations, a
stream with sensor faults, saturation and region changes. Equality is of the bytes
(`tobytes`), so a sign of zero or a NaN payload would show.
"""
from __future__ import annotations

import numpy as np
import pytest

from massage_glove.log import load
from massage_glove.portable import fsr
from massage_glove.review import report as R
from massage_glove.signal import filter_zero_phase
from massage_glove.signal.bands import TOO_MUCH, classify_n
from massage_glove.signal.calibration import FAULT_SATURATED, ForceConverter, fit_calibration

from .corpus import make_device


def same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _streams():
    rng = np.random.default_rng(11)
    n = 3000
    walk = np.abs(np.cumsum(rng.normal(0, 0.3, (n, 4)), axis=0))
    ties = np.round(walk, 0)                          # long runs of equal values
    plateau = np.repeat(rng.uniform(0, 30, (n // 50, 4)), 50, axis=0)
    spikes = walk.copy()
    spikes[rng.integers(0, n, 60), rng.integers(0, 4, 60)] = 55.0
    zeros = np.zeros((n, 4))
    signed = np.round(rng.normal(0, 0.4, (n, 4)), 0)   # -0.0 and 0.0 side by side
    return [walk, ties, plateau, spikes, zeros, -zeros, signed, walk[:, 0], walk[:3], walk[:4]]


@pytest.mark.parametrize("k", range(10))
def test_median3_then_zero_phase_is_filter_zero_phase(k):
    x = _streams()[k]
    for rate, cut in ((200.0, 45.0), (1000.0, 45.0), (200.0, 25.0)):
        assert same(filter_zero_phase(R.median3(x), rate, cut, spike=False), filter_zero_phase(x, rate, cut))


def test_median3_is_np_median_with_nan_and_inf():
    rng = np.random.default_rng(5)
    x = np.round(rng.uniform(-3, 3, (500, 3)), 0)
    x[rng.integers(0, 500, 40), rng.integers(0, 3, 40)] = np.nan
    x[rng.integers(0, 500, 20), rng.integers(0, 3, 20)] = np.inf
    x[rng.integers(0, 500, 20), rng.integers(0, 3, 20)] = -np.inf
    ref = np.concatenate([x[:1], np.median(np.stack([x[:-2], x[1:-1], x[2:]]), axis=0), x[-1:]])
    assert same(R.median3(x), ref)


def test_edges_reached_is_classify_n():
    edges = np.array([[4.0, 9.0, 15.0]] * 3 + [[10.0, 25.0, 40.0]])
    at_edges = np.repeat(edges.T, 3, axis=0) + np.array([-1e-12, 0.0, 1e-12] * 3)[:, None]
    rng = np.random.default_rng(2)
    f = np.vstack([at_edges, rng.uniform(0, 60, (400, 4)), np.zeros((2, 4)), np.full((1, 4), np.inf)])
    assert same(R.edges_reached(f, edges), classify_n(f, edges))
    assert same(R.edges_reached(f[:, 0], edges[0]), classify_n(f[:, 0], edges[0]))


def _calibration(device, model):
    loads = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
    rd = {c.name: [fsr.counts_from_force(f * (1.0 + 0.05 * i), c.sensor_class, c.r_divider_ohm,
                                         c.r_bleed_ohm, 4095) for i, f in enumerate(loads)]
          for c in device.channels[::2]}
    return fit_calibration(device, loads, rd, model=model, date="2026-01-01")


@pytest.mark.parametrize("model", [None, "power", "pchip"])
def test_per_count_tables_are_the_conversion(model):
    dev = make_device()
    conv = ForceConverter(dev, _calibration(dev, model) if model else None)
    rng = np.random.default_rng(8)
    n_ch = len(dev.channels)
    counts = rng.integers(0, 4096, (5000, n_ch)).astype(np.uint16)
    counts[:10] = 0                                   # open
    counts[10:20] = 4095                              # shorted
    counts[20:30] = np.floor(conv.saturated_counts).astype(np.uint16)   # saturated
    tare = rng.uniform(-1e-6, 1e-6, n_ch)

    def fn(c):
        return conv.faults(c), conv.force_n_from_conductance(conv.conductance_s(c) - tare)
    fault, force = R._per_count(counts, fn)
    ref_fault, ref_force = fn(counts)
    assert same(fault, ref_fault) and same(force, ref_force)
    assert (fault & FAULT_SATURATED).any() and (fault != 0).sum() > (fault & FAULT_SATURATED).sum()
    # counts that are not integers take the general path
    fl = counts[:50].astype(np.float64) + 0.25
    assert all(same(a, b) for a, b in zip(R._per_count(fl, fn), fn(fl)))


def _reference_bands(S):
    """Band, ratio, contact and the hands' aggregates as the review computed them before
    its fast paths: a boolean mask per region, classify_n, np.where over the whole arrays."""
    n, nch = S.force.shape
    band = np.full((n, nch), -1, np.int8)
    ratio = np.zeros((n, nch))
    contact = np.zeros((n, nch), bool)
    settle = lambda x: np.where(np.isfinite(x), x, 0.0)  # noqa: E731
    for r in [None] + S.regions_seen:
        m = S.region == r if r is not None else np.equal(S.region, None)
        if not m.any():
            continue
        P = S.ps.resolve(r if r in S.ps.regions else None, S.skill, S.sensitivity, S.device.channels)
        fr, sat = S.force[m], S.saturated[m]
        band[m] = np.where(sat, TOO_MUCH, np.where(np.isnan(fr), -1, classify_n(settle(fr), P.edges_n)))
        ratio[m] = np.where(sat, np.inf, settle(fr) / P.limit_n)
        contact[m] = (settle(fr) >= P.contact_n) | sat
    H = len(S.hands)
    light_edge = np.array([S.ps.classes[c.sensor_class].edges_n[0] for c in S.device.channels])
    rel = np.where(contact, S.force_filled / light_edge, 0.0)
    cols = [S.hand_of == h for h in range(H)]
    return {"band": band, "ratio": ratio, "contact": contact,
            "hand_light_ratio": np.stack([rel[:, c].max(axis=1) for c in cols], 1),
            "hand_contact": np.stack([contact[:, c].any(axis=1) for c in cols], 1),
            "hand_band": np.stack([np.where(contact[:, c], band[:, c], -1).max(axis=1) for c in cols], 1),
            "hand_ratio": np.stack([np.where(contact[:, c], ratio[:, c], 0.0).max(axis=1) for c in cols], 1)}


@pytest.mark.parametrize("name", ["sensor_fault", "saturated", "good_back", "right_glove"])
def test_session_fast_paths_on_faults_and_region_changes(corpus, name):
    if name not in corpus:
        pytest.skip(f"{name} is not in this corpus selection")
    _, path, _, _ = corpus[name]
    S = R.Session(load(path))
    ref = _reference_bands(S)
    for k, v in ref.items():
        assert same(getattr(S, k), v), k
    # the stream reaches the paths this is about
    assert len(S.regions_seen) >= 2 or name == "right_glove"
    if name == "sensor_fault":
        assert ((S.fault != 0) & ~S.saturated).any()
    if name == "saturated":
        assert S.saturated.any()


def test_coded_labels_are_the_object_array_operations():
    from massage_glove.review import metrics as M
    rng = np.random.default_rng(4)
    t = np.sort(rng.uniform(0, 100, 4000))
    t[1000:1010] = t[1000]                            # equal sample times
    ct = list(rng.uniform(-5, 105, 40)) + [50.0, 50.0, 50.0]   # unsorted, before/after, ties
    names = ["neck", None, "paraspinals", "neck", "end", "warm_up", None, "cool_down"]
    labels = [names[i % len(names)] for i in range(len(ct))]
    ints = list(range(len(ct)))
    for lab, initial in ((labels, None), (labels, "neck"), (ints, -1)):
        c = R.Coded(*M.label_codes(t, ct, lab, initial))
        ref = M.labels_at(t, ct, lab, initial)
        assert c.labels.tolist() == ref.tolist() and c.labels.dtype == ref.dtype
        assert c.distinct() == list(dict.fromkeys(ref.tolist()))
        for pred in (lambda v: v in ("neck", "end"), lambda v: isinstance(v, str) and v.startswith("cool"),
                     lambda v: v is None, lambda v: v == 3):
            assert same(c.mask(pred), M.label_mask(ref, pred))
        for v in set(lab) | {"nowhere"}:
            assert same(c.eq(v), ref == v if v is not None else np.equal(ref, None))
        assert R.change_bounds(c) == M.change_bounds(ref)
    cs = [R.Coded(*M.label_codes(t, ct, lab, i)) for lab, i in ((labels, None), (ints, -1), (labels[::-1], "x"))]
    assert R.change_bounds(*cs) == M.change_bounds(*(c.labels for c in cs))
    empty = R.Coded(*M.label_codes(np.zeros(0), ct, labels))
    assert R.change_bounds(empty) == M.change_bounds(empty.labels) == [] and empty.distinct() == []


def test_hand_blocks_layouts():
    s = slice
    assert R._hand_blocks([s(0, 8), s(8, 16)], 16)[0].tolist() == [0, 8]
    st, order = R._hand_blocks([s(8, 16), s(0, 8)], 16)      # left channels first
    assert st.tolist() == [0, 8] and order.tolist() == [1, 0]
    assert R._hand_blocks([s(0, 16)], 16)[0].tolist() == [0]
    assert R._hand_blocks([s(0, 7), s(8, 16)], 16) is None    # a channel of no hand
    assert R._hand_blocks([s(0, 8), np.array([8, 10, 12])], 16) is None   # not side by side
    assert R._hand_blocks([s(0, 8), s(8, 15)], 16) is None


@pytest.mark.parametrize("name", ["saturated", "sensor_fault"])
def test_hand_maxima_block_path_is_the_general_one(corpus, name, monkeypatch):
    if name not in corpus:
        pytest.skip(f"{name} is not in this corpus selection")
    _, path, _, _ = corpus[name]
    slog = load(path)
    fast = R.Session(slog)
    monkeypatch.setattr(R, "_hand_blocks", lambda hc, n_ch: None)
    general = R.Session(slog)
    for k in ("hand_light_ratio", "hand_band", "hand_ratio", "hand_contact", "hand_force"):
        assert same(getattr(fast, k), getattr(general, k)), k
