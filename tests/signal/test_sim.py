"""The chain on the simulated glove's ground truth: bands on held forces, alerts on violations."""
from __future__ import annotations

import numpy as np
import pytest

from chain_helpers import make_device
from massage_glove.samples import SampleBlock
from massage_glove.signal.bands import classify_n
from massage_glove.signal.pipeline import Pipeline

scripts = pytest.importorskip("massage_glove.sim.scripts")

RATE = 200.0
DEV = make_device(RATE)
CHANNELS = [(c.index, c.name, c.hand, c.site, c.sensor_class, c.r_divider_ohm, c.r_bleed_ohm)
            for c in DEV.channels]


def _run(script):
    n = int(sum(s["duration_s"] for s in script["segments"]) * RATE)
    gt = scripts.ground_truth(script, CHANNELS, RATE, n)
    regions = [None if r == scripts.OFF_REGION else r for r in gt["region"]]
    p = Pipeline(DEV, rate_hz=RATE)
    p.tare(SampleBlock(np.arange(100), gt["t_s"][:100], gt["t_s"][:100], gt["counts"][:100],
                       np.zeros(100, np.uint8)))
    cuts = [0] + [i for i in range(1, n) if regions[i] != regions[i - 1]] + [n]
    results = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        p.set_region(regions[a])
        results.append(p.process(SampleBlock(np.arange(a, b), gt["t_s"][a:b], gt["t_s"][a:b],
                                             gt["counts"][a:b], np.zeros(b - a, np.uint8))))
    return gt, results, p


def test_bands_agree_with_truth_on_held_forces():
    levels = [{"fsr402": 2.0, "fsr406": 5.0}, {"fsr402": 6.5, "fsr406": 17.0},
              {"fsr402": 12.0, "fsr406": 32.0}, {"fsr402": 17.5, "fsr406": 48.0}]
    gt, res, p = _run(scripts.held_forces_script(levels, CHANNELS, region="paraspinals"))
    band = np.concatenate([r.band for r in res])
    truth_f = gt["force_n"]
    truth = classify_n(truth_f, p.profile.edges_n)
    # settled: the true force has not changed over the last 0.3 s and someone is pressing
    w = int(0.3 * RATE)
    steady = np.zeros(truth_f.shape, bool)
    for i in range(w, truth_f.shape[0]):
        steady[i] = np.all(truth_f[i - w:i + 1] == truth_f[i], axis=0) & (truth_f[i] > 1.0)
    assert steady.sum() > 1000
    assert np.mean(band[steady] == truth[steady]) == 1.0
    filt = np.concatenate([r.filtered_n for r in res])
    np.testing.assert_allclose(filt[steady], truth_f[steady], rtol=0.02)


def test_clean_routine_raises_no_alert():
    # light regions first: the model cross-fades each stage into the next (ramp_s), so a
    # medium stage followed by a light-only region really does press medium there
    plan = [
        {"stage": "warm_up", "region": "paraspinals", "technique": "effleurage", "duration_s": 20.0, "band": "light"},
        {"stage": "work", "region": "neck", "technique": "effleurage", "duration_s": 10.0, "band": "light"},
        {"stage": "warm_up", "region": "sides", "technique": "effleurage", "duration_s": 15.0, "band": "medium"},
        {"stage": "work", "region": "lower_back", "technique": "kneading", "duration_s": 15.0, "band": "medium"},
        {"stage": "cool_down", "region": "sacrum", "technique": "effleurage", "duration_s": 10.0, "band": "light"},
    ]
    gt, res, _ = _run(scripts.routine_script(plan, seed=3, trainee="good"))
    assert [a for r in res for a in r.alerts] == []


def test_injected_violations_are_alerted():
    plan = [
        {"stage": "warm_up", "region": "paraspinals", "technique": "effleurage", "duration_s": 15.0, "band": "light"},
        {"stage": "bad", "region": "neck", "technique": "effleurage", "duration_s": 8.0, "band": "medium"},
        {"stage": "bad", "region": "kidney", "technique": "tapotement", "duration_s": 4.0, "band": "light"},
        {"stage": "ok", "region": "sides", "technique": "effleurage", "duration_s": 8.0, "band": "light"},
    ]
    faults = [{"channel": "L_ring", "kind": "open", "start_s": 30.0, "end_s": 35.0}]
    gt, res, _ = _run(scripts.routine_script(plan, seed=5, trainee="good", faults=faults))
    alerts = [a for r in res for a in r.alerts]
    over = [a for a in alerts if a.rule == "over_limit"]
    assert over and all(a.region == "neck" for a in over)
    assert 17.0 <= over[0].t_s <= 19.0                    # within the first stroke on the neck
    perc = [a for a in alerts if a.rule == "percussion"]
    assert perc and all(a.region == "kidney" for a in perc) and 25.0 <= perc[0].t_s <= 26.0
    broken = [a for a in alerts if a.rule == "sensor_broken"]
    assert [a.sensor for a in broken] == ["L_ring"] and 30.0 <= broken[0].t_s <= 30.6
    assert not [a for a in alerts if a.region == "sides" and a.rule not in ("sensor_broken",)]
