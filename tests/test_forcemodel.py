# The simulated glove's force model: reproducibility, technique shapes, artefacts, MicroPython parity.
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from array import array
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
try:
    import massage_glove  # noqa: F401
except ImportError:     # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "host"))

from massage_glove.portable import fsr  # noqa: E402
from massage_glove.portable.forcemodel import MUX_INPUTS, ForceModel  # noqa: E402
from massage_glove.sim import scripts  # noqa: E402

FULL = 4095
PORTABLE = ROOT / "host" / "massage_glove" / "portable"


def _load_config():
    spec = importlib.util.spec_from_file_location("glove_config_for_tests",
                                                  ROOT / "firmware" / "glove" / "config.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CFG = _load_config()
CHANNELS = [c + (float(CFG.SENSOR_CLASSES[c[4]]["r_divider_ohm"]),
                 float(CFG.SENSOR_CLASSES[c[4]]["r_bleed_ohm"])) for c in CFG.channels()]
NAMES = [c[1] for c in CHANNELS]
MUX = {c[1]: c[0] for c in CHANNELS}


def seg(technique, duration_s, force=(6.0, 18.0), **kw):
    s = {"duration_s": duration_s, "region": "paraspinals", "technique": technique,
         "force_n": {"fsr402": force[0], "fsr406": force[1]}}
    s.update(kw)
    return s


def script(segments, seed=0, tremor=0.0, noise=0.0, creep=0.0, tau=5.0, faults=()):
    return {"seed": seed, "segments": segments, "tremor": {"amp_n": tremor, "hz": 9.0},
            "noise_counts": noise, "creep": {"fraction": creep, "tau_s": tau},
            "faults": list(faults)}


def off(d=1.0):
    return {"duration_s": d, "region": "off", "technique": "off"}


def gt(sc, rate_hz, seconds=None):
    dur = sum(s["duration_s"] for s in sc["segments"]) if seconds is None else seconds
    return scripts.ground_truth(sc, CHANNELS, rate_hz, int(round(dur * rate_hz)))


def col(g, name):
    return g["force_n"][:, NAMES.index(name)]


def crossings(x, level):
    """Number of upward crossings of `level`."""
    above = x > level
    return int(np.count_nonzero(above[1:] & ~above[:-1]))


# --- reproducibility ----------------------------------------------------------------------

def test_same_seed_same_output_and_different_seeds_differ():
    sc = scripts.routine_script(seed=7, plan=scripts.DEFAULT_PLAN[:4])
    a = gt(sc, 50, 40)
    b = gt(sc, 50, 40)
    np.testing.assert_array_equal(a["force_n"], b["force_n"])
    np.testing.assert_array_equal(a["counts"], b["counts"])
    c = gt(dict(sc, seed=8), 50, 40)
    assert np.abs(a["force_n"] - c["force_n"]).max() > 0.5
    assert np.count_nonzero(a["counts"] != c["counts"]) > a["counts"].size // 2


def test_evaluation_order_does_not_matter():
    # Stateless: the counts at t depend on t only, not on which times were asked before.
    sc = scripts.routine_script(seed=3, plan=scripts.DEFAULT_PLAN[:5])
    m1 = ForceModel(sc, CHANNELS, FULL)
    m2 = ForceModel(sc, CHANNELS, FULL)
    ts = [int(t) for t in np.random.default_rng(0).integers(0, int(m1.duration_s * 1e6), 300)]
    o1, o2 = array("H", [0] * 16), array("H", [0] * 16)
    got1 = []
    for t in sorted(ts):
        m1.fill_counts(t, o1)
        got1.append((t, list(o1), m1.truth_us(t)))
    for t, counts, truth in reversed(got1):
        m2.fill_counts(t, o2)
        assert list(o2) == counts
        assert m2.truth_us(t) == truth


# --- technique shapes ---------------------------------------------------------------------

@pytest.mark.parametrize("rate,dur,seed", [(45.0, 60.0, 0), (40.0, 30.0, 1), (50.0, 48.0, 2)])
def test_effleurage_stroke_count_matches_rate(rate, dur, seed):
    sc = script([off(), seg("effleurage", dur, (6.0, 18.0), rate_per_min=rate), off()],
                seed=seed, tremor=0.15)
    g = gt(sc, 100)
    palm = col(g, "R_palm_heel")
    expected = rate * dur / 60.0
    assert crossings(palm, 0.6 * 18.0) == round(expected)
    # smooth strokes on a small baseline: never lifts off inside the segment, peaks near force_n
    inside = (g["t_s"] > 2.0) & (g["t_s"] < 1.0 + dur - 1.0)
    assert palm[inside].min() > 0.08 * 18.0
    assert 0.85 * 18.0 < np.percentile(palm[inside], 99) < 1.2 * 18.0
    # fingers glide with the palm, knuckles carry nothing
    assert col(g, "R_middle").max() > 0.85 * 6.0
    assert col(g, "R_knuckle_index").max() == 0.0


def test_stroke_intervals_vary_from_stroke_to_stroke():
    sc = script([seg("effleurage", 80.0, rate_per_min=45.0, timing_spread=0.08)], tremor=0.0)
    g = gt(sc, 200)
    palm = col(g, "R_palm_heel")
    up = np.flatnonzero((palm[1:] > 9.0) & (palm[:-1] <= 9.0)) / 200.0
    iv = np.diff(up)
    assert abs(iv.mean() - 60.0 / 45.0) < 0.05
    assert iv.std() > 0.02          # not a metronome
    peaks = [palm[int(a * 200):int(b * 200)].max() for a, b in zip(up[:-1], up[1:])]
    assert np.std(peaks) > 0.2      # stroke-to-stroke variation of the peak


def test_kneading_hands_alternate_and_thumb_leads():
    sc = script([seg("kneading", 20.0, (10.0, 20.0), rate_per_min=80.0)])
    g = gt(sc, 200)
    r, l_ = col(g, "R_thumb"), col(g, "L_thumb")
    # 26.7 strokes; the first and last are cut by the fade in / out of the script
    assert crossings(r, 6.0) == pytest.approx(80 * 20 / 60, abs=2)
    up = np.flatnonzero((r[1:] > 6.0) & (r[:-1] <= 6.0)) / 200.0
    assert np.median(np.diff(up)) == pytest.approx(0.75, abs=0.03)
    assert np.corrcoef(r, l_)[0, 1] < -0.2       # half a stroke apart
    assert r.max() > col(g, "R_little").max() > 0.0
    assert col(g, "R_palm_heel").max() < 0.7 * 20.0


def test_thumb_circles_thumb_dominant():
    sc = script([seg("thumb_circles", 10.0, (12.0, 30.0))])
    g = gt(sc, 200)
    thumb = col(g, "R_thumb")
    assert thumb.max() > 10.0
    for other in ("R_index", "R_middle", "R_ring", "R_little"):
        assert col(g, other).max() < 0.35 * thumb.max()
    assert thumb[(g["t_s"] > 1) & (g["t_s"] < 9)].min() > 0.3 * 12.0   # never leaves the skin


@pytest.mark.parametrize("strikes_per_s", [4.0, 6.0, 10.0])
def test_tapotement_spectral_peak_at_strike_rate(strikes_per_s):
    sc = script([seg("tapotement", 20.0, (8.0, 15.0), rate_per_min=strikes_per_s * 60)],
                tremor=0.1)
    g = gt(sc, 1000)
    x = col(g, "R_knuckle_index")
    spec = np.abs(np.fft.rfft(x - x.mean()))
    freqs = np.fft.rfftfreq(len(x), 1e-3)
    assert freqs[np.argmax(spec)] == pytest.approx(strikes_per_s, abs=0.15)
    # short impacts with the hand off the skin between them
    on = x > 0
    edges = np.flatnonzero(np.diff(on.astype(int)))
    runs = np.diff(edges)[::2] if on[0] == 0 else np.diff(edges)[1::2]
    assert 25 <= np.median(runs) <= 65 and runs.max() <= 65
    assert len(runs) == pytest.approx(strikes_per_s * 20, abs=2)
    assert 6.0 < x.max() < 10.0
    assert col(g, "R_thumb").max() == 0.0


def test_hold_ramps_in_and_out_and_is_steady():
    sc = script([off(), seg("hold", 10.0, (6.0, 30.0), peak_spread=0.0), off()])
    g = gt(sc, 200)
    palm = col(g, "R_palm_heel")
    t = g["t_s"]
    plateau = palm[(t > 3.0) & (t < 9.0)]
    assert np.all(plateau == 30.0)
    assert np.abs(np.diff(palm)).max() < 0.5       # 200 Hz: ramps, not steps
    assert palm[t < 1.0].max() == 0.0 and palm[t > 11.0].max() == 0.0


def test_rest_and_off():
    sc = script([seg("rest", 5.0, (0.4, 2.0)), off(5.0)], tremor=0.1)
    g = gt(sc, 100)
    t = g["t_s"]
    rest = g["force_n"][(t > 1) & (t < 4)]
    assert 0.0 < rest.max() < 2.5
    assert np.all(g["force_n"][t > 6.0] == 0.0)


def test_transitions_ramp_without_steps():
    segs = [off(), seg("effleurage", 6.0, (3.0, 8.0)), seg("kneading", 6.0, (12.0, 33.0)),
            seg("hold", 6.0, (3.0, 33.0)), seg("thumb_circles", 6.0, (12.0, 20.0)),
            seg("effleurage", 6.0, (3.0, 8.0), rate_per_min=38.0)]
    g = gt(script(segs, seed=4), 1000)
    step = np.abs(np.diff(g["force_n"], axis=0)).max()
    assert step < 0.25                      # N per ms; a step between segments is several N
    assert np.all(g["force_n"][-1] < 0.5)   # the last segment fades out


def test_hands_not_working_carry_nothing():
    sc = script([seg("effleurage", 10.0, hands=["right"])])
    g = gt(sc, 100)
    left = [i for i, n in enumerate(NAMES) if n.startswith("L_")]
    assert g["force_n"][:, left].max() == 0.0
    assert col(g, "R_palm_heel").max() > 10.0


def test_tremor_is_in_truth_at_its_frequency():
    sc = script([seg("hold", 20.0, (6.0, 20.0), peak_spread=0.0, ramp_s=0.5)], tremor=0.3)
    sc["tremor"]["hz"] = 9.0
    g = gt(sc, 200)
    x = col(g, "R_palm_heel")[(g["t_s"] > 2) & (g["t_s"] < 18)]
    assert 0.25 < (x.max() - x.min()) / 2 < 0.35
    spec = np.abs(np.fft.rfft(x - x.mean()))
    f = np.fft.rfftfreq(len(x), 1 / 200)[np.argmax(spec)]
    assert 6.0 <= f <= 12.0 and f == pytest.approx(9.0, rel=0.04)


# --- sensor artefacts ---------------------------------------------------------------------

def test_truth_excludes_creep_noise_and_faults():
    segs = [off(), seg("hold", 30.0, (6.0, 20.0), peak_spread=0.0), off()]
    clean = gt(script(segs, tremor=0.1), 50)
    dirty = gt(script(segs, tremor=0.1, noise=5.0, creep=0.05, faults=[
        {"channel": "R_index", "kind": "saturated", "start_s": 5, "end_s": 10}]), 50)
    np.testing.assert_array_equal(clean["force_n"], dirty["force_n"])
    assert np.count_nonzero(clean["counts"] != dirty["counts"]) > clean["counts"].size // 2


def test_creep_raises_output_under_constant_load():
    frac, tau = 0.05, 5.0
    segs = [off(), seg("hold", 40.0, (6.0, 20.0), peak_spread=0.0, ramp_s=0.5), off(5.0)]
    g = gt(script(segs, creep=frac, tau=tau), 10)
    t = g["t_s"]
    palm_counts = g["counts"][:, MUX["R_palm_heel"]].astype(float)
    _, _, _, _, cls, rd, rb = CHANNELS[NAMES.index("R_palm_heel")]
    p = fsr.NOMINAL[cls]
    sensed = fsr.force_from_conductance(fsr.conductance_from_counts(palm_counts, rd, rb, FULL),
                                        p["r1_ohm"], p["exponent"])
    plateau = (t > 1.6) & (t < 40.4)
    ratio = sensed[plateau] / 20.0
    model = 1.0 + frac * (1.0 - np.exp(-(t[plateau] - 1.0) / tau))
    assert np.abs(ratio - model).max() < 0.01
    assert ratio[-1] > 1.04
    assert np.all(col(g, "R_palm_heel")[plateau] == 20.0)     # truth stays put


def test_noise_rms_and_unloaded_reading():
    g = gt(script([off(20.0)], noise=3.0), 200)
    c = g["counts"][:, MUX["R_thumb"]].astype(float)
    _, _, _, _, cls, rd, rb = CHANNELS[NAMES.index("R_thumb")]
    assert c.mean() == pytest.approx(fsr.unloaded_counts(rd, rb, FULL), abs=0.3)
    assert c.std() == pytest.approx(3.0, rel=0.1)
    a, b = g["counts"][:, MUX["R_thumb"]], g["counts"][:, MUX["R_index"]]
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1
    assert np.all(gt(script([off(5.0)], noise=0.0), 50)["counts"][:, MUX["R_thumb"]]
                  == round(fsr.unloaded_counts(rd, rb, FULL)))


SAT_402 = int(fsr.counts_from_force(fsr.NOMINAL["fsr402"]["f_max_n"], "fsr402",
                                    *CHANNELS[NAMES.index("L_middle")][5:7], FULL)) + 2


@pytest.mark.parametrize("kind,expect", [("saturated", SAT_402), ("short", FULL), ("open", 0)])
def test_faults_override_counts_in_their_window(kind, expect):
    # saturated: flat just above the reading at the top of the sensor's range, below a short
    assert 0 < SAT_402 < FULL - 16
    flt = {"channel": "L_middle", "kind": kind, "start_s": 2.0, "end_s": 4.0}
    g = gt(script([seg("effleurage", 6.0)], noise=2.0, faults=[flt]), 100)
    c = g["counts"][:, MUX["L_middle"]]
    t = g["t_s"]
    win = (t >= 2.0) & (t < 4.0)
    assert np.all(c[win] == expect)
    assert np.all(c[~win] != expect)
    assert np.all(g["counts"][win, MUX["R_middle"]] != expect)


def test_noisy_fault_adds_large_noise():
    flt = {"channel": "R_ring", "kind": "noisy", "start_s": 5.0, "end_s": 10.0}
    g = gt(script([off(15.0)], noise=1.0, faults=[flt]), 200)
    c = g["counts"][:, MUX["R_ring"]].astype(float)
    t = g["t_s"]
    assert c[(t >= 5) & (t < 10)].std() > 100
    assert c[t < 5].std() < 2


def test_counts_monotone_in_force_and_match_fsr_physics():
    levels = [0.0, 0.1, 0.19, 0.21, 0.3, 0.5, 0.7, 1.0, 1.5, 2, 3, 4, 6, 8, 10, 13, 16, 19, 20,
              25, 30, 40, 60, 80, 99, 120]
    sc = scripts.held_forces_script(levels, CHANNELS, hold_s=1.2, gap_s=0.2, ramp_s=0.1)
    g = gt(sc, 100)
    segs = sc["segments"]
    starts = np.cumsum([0.0] + [s["duration_s"] for s in segs])
    for i, (mux, name, hand, site, cls, rd, rb) in enumerate(CHANNELS):
        got = []
        for k, s in enumerate(segs):
            if s["technique"] != "hold":
                continue
            mid = np.argmin(np.abs(g["t_s"] - (starts[k] + starts[k + 1]) / 2))
            level = s["force_by_channel"][name]
            assert g["force_n"][mid, i] == pytest.approx(level, abs=1e-4)
            c = int(g["counts"][mid, mux])
            ref = fsr.counts_from_force(level, cls, rd, rb, FULL)
            assert abs(c - ref) <= 0.7, (name, level, c, ref)
            got.append(c)
        assert all(b >= a for a, b in zip(got, got[1:])), (name, got)
        assert got[-1] > got[0] + 1000


def test_counts_monotone_along_a_fine_force_sweep():
    # A 60 s hold ramps 0 -> 35 N and back over its ramps: counts follow force exactly.
    sc = script([seg("hold", 60.0, (19.0, 110.0), peak_spread=0.0, ramp_s=15.0)])
    g = gt(sc, 200)
    t = g["t_s"]
    rising = t < 15.0
    for name in ("R_thumb", "R_palm_heel"):
        f = col(g, name)[rising]
        c = g["counts"][rising, MUX[name]].astype(int)
        order = np.argsort(f, kind="stable")
        assert np.all(np.diff(c[order]) >= 0)


def test_unused_mux_inputs_read_zero():
    right = [c for c in CHANNELS if c[2] == "right"]
    m = ForceModel(script([seg("effleurage", 5.0)], noise=3.0), right, FULL)
    out = array("H", [7] * MUX_INPUTS)
    m.fill_counts(1_500_000, out)
    assert list(out[8:]) == [0] * 8 and min(out[:8]) > 0


# --- scripts -------------------------------------------------------------------------------

def test_default_plan_routine():
    sc = scripts.routine_script()
    segs = sc["segments"]
    total = sum(s["duration_s"] for s in segs)
    assert 150.0 <= total <= 210.0
    m = ForceModel(sc, CHANNELS, FULL)
    assert m.duration_s == pytest.approx(total)
    edges = scripts.band_edges()
    for s in segs:
        assert s["region"] in scripts.REGIONS or s["region"] == "off"
        if "force_n" in s:
            for cls, f in s["force_n"].items():
                e = [0.0] + edges[cls] + [1e9]
                b = scripts.BANDS.index(s["band"])
                assert e[b] < f < e[b + 1]
    work = [s for s in segs if s["technique"] != "off"]
    assert work[0]["technique"] == "effleurage" and work[0]["band"] == "light"
    assert work[-1]["technique"] == "effleurage" and work[-1]["band"] == "light"
    assert {s["stage"] for s in work} >= {"warm_up", "kneading", "thumb_work", "lower_back",
                                          "cool_down"}
    assert m.segment_at(0.5)["technique"] == "off"
    assert m.segment_at(total + 1.0) is None
    assert m.segment_at(30.0) is segs[2]


def test_good_trainee_peaks_fall_in_the_planned_band():
    plan = [dict(scripts.DEFAULT_PLAN[2], duration_s=40.0)]       # medium effleurage
    sc = scripts.routine_script(plan, seed=5)
    g = gt(sc, 100)
    e = scripts.band_edges()["fsr406"]
    palm = col(g, "R_palm_heel")
    up = np.flatnonzero((palm[1:] > 8.0) & (palm[:-1] <= 8.0))
    peaks = np.array([palm[a:b].max() for a, b in zip(up[:-1], up[1:])])
    assert len(peaks) > 20
    assert np.mean((peaks >= e[0]) & (peaks < e[1])) > 0.9


def test_trainee_profiles():
    good = scripts.routine_script(seed=2)
    heavy = scripts.routine_script(seed=2, trainee="heavy")
    rushed = scripts.routine_script(seed=2, trainee="rushed")
    novice = scripts.routine_script(seed=2, trainee="novice")
    bumped = [(g_["band"], h["band"]) for g_, h in zip(good["segments"], heavy["segments"])
              if "band" in g_ and g_["band"] != h["band"]]
    assert bumped
    for planned, got in bumped:
        assert planned in ("medium", "firm")
        assert scripts.BANDS.index(got) == scripts.BANDS.index(planned) + 1
    for g_, r in zip(good["segments"], rushed["segments"]):
        if "rate_per_min" in g_:
            assert r["rate_per_min"] == pytest.approx(2 * g_["rate_per_min"])
    assert all(n["peak_spread"] > g_["peak_spread"] for g_, n in
               zip(good["segments"], novice["segments"]) if "peak_spread" in g_)
    with pytest.raises(ValueError):
        scripts.routine_script(trainee="expert")
    with pytest.raises(ValueError):
        scripts.routine_script([dict(scripts.DEFAULT_PLAN[0], region="whole_back")])


def test_held_forces_script_levels_by_class_and_name():
    sc = scripts.held_forces_script([{"fsr402": 5.0, "fsr406": 20.0}, {"R_thumb": 2.5}],
                                    CHANNELS)
    g = gt(sc, 50)
    t = g["t_s"]
    h1 = (t > 4.0) & (t < 5.5)      # gap 2 s, hold 4 s with 0.5 s ramps
    h2 = (t > 10.0) & (t < 11.5)
    assert np.all(col(g, "L_index")[h1] == 5.0) and np.all(col(g, "L_palm_heel")[h1] == 20.0)
    assert np.all(col(g, "R_thumb")[h2] == 2.5) and np.all(col(g, "R_index")[h2] == 0.0)
    with pytest.raises(ValueError):
        scripts.held_forces_script([{"nosuch": 1.0}], CHANNELS)


def test_ground_truth_matches_fill_counts_and_script_is_json():
    sc = scripts.routine_script(seed=1, plan=scripts.DEFAULT_PLAN[:2])
    sc2 = json.loads(json.dumps(sc))
    g = scripts.ground_truth(sc2, CHANNELS, 200, 500, t0_us=1_000_000)
    assert g["force_n"].shape == (500, 16) and g["counts"].shape == (500, MUX_INPUTS)
    assert g["t_us"][0] == 1_000_000 and g["t_us"][1] - g["t_us"][0] == 5000
    m = ForceModel(sc, CHANNELS, FULL)
    out = array("H", [0] * 16)
    m.fill_counts(int(g["t_us"][123]), out)
    assert list(out) == list(g["counts"][123])
    assert g["technique"][0] == "off" and g["region"][-1] == "paraspinals"


@pytest.mark.parametrize("bad", [
    {"segments": []},
    {"segments": [{"duration_s": 1.0, "region": "neck", "technique": "shiatsu"}]},
    {"segments": [{"duration_s": 0.0, "region": "neck", "technique": "off"}]},
    {"segments": [{"duration_s": 1.0, "region": "neck", "technique": "hold"}]},
    {"segments": [{"duration_s": 1.0, "region": "off", "technique": "off"}],
     "faults": [{"channel": "R_nothing", "kind": "open"}]},
    {"segments": [{"duration_s": 1.0, "region": "off", "technique": "off"}],
     "faults": [{"channel": "R_index", "kind": "melted"}]},
])
def test_bad_scripts_are_rejected(bad):
    with pytest.raises(ValueError):
        ForceModel(bad, CHANNELS, FULL)


# --- MicroPython parity --------------------------------------------------------------------

def _micropython():
    exe = ROOT / ".venv" / "bin" / "micropython"
    if exe.exists():
        return str(exe)
    try:
        from massage_glove.paths import micropython_exe
        return micropython_exe()
    except (ImportError, FileNotFoundError):
        return None


MP = _micropython()

_MP_SNIPPET = """
import json, micropython
from array import array
from forcemodel import ForceModel
d = json.load(open(%r))
m = ForceModel(d["script"], [tuple(c) for c in d["channels"]], 4095)
out = array("H", [0] * 16)
ts = d["t_us"]
rows = [array("H", [0] * 16) for _ in ts]
def run(ts, rows):
    for k in range(len(ts)):
        m.fill_counts(ts[k], rows[k])
micropython.heap_lock()
run(ts, rows)            # raises MemoryError if fill_counts allocates
micropython.heap_unlock()
for r in rows:
    print(" ".join([str(v) for v in r]))
print("truth", " ".join(["%%.6f" %% f for f in m.truth_us(ts[len(ts) // 2])]))
"""


@pytest.mark.skipif(MP is None, reason="MicroPython unix port not installed")
def test_micropython_counts_match_cpython(tmp_path):
    sc = scripts.routine_script(seed=11, faults=[
        {"channel": "R_index", "kind": "noisy", "start_s": 30, "end_s": 40},
        {"channel": "L_thumb", "kind": "open", "start_s": 30, "end_s": 40},
        {"channel": "L_palm_heel", "kind": "saturated", "start_s": 60, "end_s": 61}])
    sc["segments"].insert(5, seg("tapotement", 6.0, (8.0, 15.0), rate_per_min=480.0))
    dur_us = int(sum(s["duration_s"] for s in sc["segments"]) * 1e6)
    rng = np.random.default_rng(1)
    ts = sorted(int(t) for t in rng.integers(0, dur_us + 3_000_000, 400))
    ts += [2**30 - 1, 2**30 + 12345, 2**31 + 7, 2**40 + 3]          # beyond the script
    ts += list(range(2_000_000, 2_800_000, 5000))                     # first cross-fade
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"script": sc, "channels": CHANNELS, "t_us": ts}))
    code = tmp_path / "case.py"
    code.write_text(_MP_SNIPPET % str(path))
    env = dict(os.environ, MICROPYPATH=str(PORTABLE))
    res = subprocess.run([MP, str(code)], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr + res.stdout
    lines = res.stdout.strip().splitlines()
    mp_counts = np.array([[int(v) for v in ln.split()] for ln in lines[:-1]])
    mp_truth = np.array([float(v) for v in lines[-1].split()[1:]])

    m = ForceModel(sc, CHANNELS, FULL)
    out = array("H", [0] * 16)
    cp_counts = []
    for t in ts:
        m.fill_counts(t, out)
        cp_counts.append(list(out))
    cp_counts = np.array(cp_counts)
    assert mp_counts.shape == cp_counts.shape
    assert np.abs(mp_counts - cp_counts).max() <= 1
    assert np.mean(mp_counts == cp_counts) > 0.99
    print("MicroPython == CPython for %.4f of counts" % np.mean(mp_counts == cp_counts))
    np.testing.assert_allclose(mp_truth, m.truth_us(ts[len(ts) // 2]), atol=1e-5)
    assert cp_counts.max() > 1000      # the comparison covered loaded sensors
