"""Scripts for the simulated glove's force model: massage routines, calibration holds, ground truth.

A script is the JSON-able dict that ``massage_glove.portable.forcemodel.ForceModel`` plays
(its module docstring defines the format). This module builds scripts from a plan of
massage stages (``routine_script``) or from fixed loads (``held_forces_script``), and
evaluates one on the host with the same ForceModel class the simulated glove runs
(``ground_truth``), so a test can compare measured and applied force sample for sample.

Force levels come from the band edges in ``massage_glove/data/bands.json`` (newtons per
sensor class): a stage planned at "medium" peaks inside the medium band of every class.
"""
from __future__ import annotations

import json
import random
from array import array
from importlib import resources

import numpy as np

from massage_glove.portable.forcemodel import (DEFAULT_RATE_PER_MIN, MUX_INPUTS, TECHNIQUES,
                                               ForceModel)

REGIONS = ("neck", "spine", "kidney", "lower_back", "ribs", "sacrum", "sides", "paraspinals",
           "shoulder_blades", "upper_trapezius")
OFF_REGION = "off"
BANDS = ("light", "medium", "firm", "too_much")

# Where in its band a planned stage peaks: light at this share of the light/medium edge,
# medium and firm at this share of the way through the band, too_much at this multiple of
# the firm/too-much edge. Peaks vary stroke to stroke by the trainee's peak_spread, so the
# positions keep the good trainee's peaks inside the band.
LIGHT_POSITION = 0.65
BAND_POSITION = 0.55
TOO_MUCH_FACTOR = 1.3

# Trainee profiles (engineering defaults, not measurements):
#   good    steady strokes at the planned rate and band
#   heavy   pushes some medium/firm stages into the next band (HEAVY_SHARE of them, at
#           least one); light stays light
#   rushed  double stroke rate (tapotement capped at RUSHED_MAX_TAP_PER_S strikes/s)
#   novice  inconsistent pressure and timing ("hard, then barely, then hard") and a
#           shakier hand
TRAINEES = {
    "good": {"peak_spread": 0.10, "timing_spread": 0.05, "tremor_n": 0.12},
    "heavy": {"peak_spread": 0.10, "timing_spread": 0.05, "tremor_n": 0.15},
    "rushed": {"peak_spread": 0.12, "timing_spread": 0.08, "tremor_n": 0.12},
    "novice": {"peak_spread": 0.35, "timing_spread": 0.15, "tremor_n": 0.30},
}
HEAVY_SHARE = 0.6
RUSHED_MAX_TAP_PER_S = 12.0
TREMOR_HZ = 9.0

# About three minutes: warm-up effleurage light then medium, kneading the upper trapezius,
# thumb work along the paraspinals, the lower back at medium with care, and a light,
# slowing cool-down (DOMAIN.md section 4: warm up first, deeper means slower, finish lighter).
DEFAULT_PLAN = [
    {"stage": "warm_up", "region": "paraspinals", "technique": "effleurage",
     "duration_s": 25.0, "band": "light"},
    {"stage": "warm_up", "region": "sides", "technique": "effleurage",
     "duration_s": 15.0, "band": "light"},
    {"stage": "warm_up", "region": "paraspinals", "technique": "effleurage",
     "duration_s": 20.0, "band": "medium"},
    {"stage": "kneading", "region": "upper_trapezius", "technique": "kneading",
     "duration_s": 30.0, "band": "firm", "rate_per_min": 70.0},
    {"stage": "thumb_work", "region": "paraspinals", "technique": "thumb_circles",
     "duration_s": 25.0, "band": "firm", "rate_per_min": 50.0},
    {"stage": "thumb_work", "region": "paraspinals", "technique": "hold",
     "duration_s": 12.0, "band": "firm"},
    {"stage": "lower_back", "region": "lower_back", "technique": "kneading",
     "duration_s": 20.0, "band": "medium", "rate_per_min": 60.0},
    {"stage": "cool_down", "region": "paraspinals", "technique": "effleurage",
     "duration_s": 20.0, "band": "light", "rate_per_min": 38.0},
]


def band_edges() -> dict[str, list[float]]:
    """Band edges (N) per sensor class from the packaged bands.json: {cls: [e1, e2, e3]}."""
    text = (resources.files("massage_glove") / "data" / "bands.json").read_text("utf-8")
    return {cls: [float(e) for e in c["edges_n"]] for cls, c in json.loads(text)["classes"].items()}


def band_force(band: str, cls: str, edges: dict[str, list[float]] | None = None) -> float:
    """Peak force (N) that lies in `band` for sensor class `cls` (see LIGHT_POSITION ...)."""
    edges = band_edges() if edges is None else edges
    if band not in BANDS:
        raise ValueError("unknown band %r: use one of %s" % (band, ", ".join(BANDS)))
    e = edges[cls]
    if band == "light":
        return LIGHT_POSITION * e[0]
    if band == "too_much":
        return TOO_MUCH_FACTOR * e[2]
    lo, hi = (e[0], e[1]) if band == "medium" else (e[1], e[2])
    return lo + BAND_POSITION * (hi - lo)


def _check_stage(i: int, st: dict) -> None:
    if st.get("technique") not in TECHNIQUES:
        raise ValueError("plan stage %d: technique %r is not one of %s"
                         % (i, st.get("technique"), ", ".join(TECHNIQUES)))
    region = st.get("region")
    if region not in REGIONS and region != OFF_REGION:
        raise ValueError("plan stage %d: region %r is not one of %s (or %r)"
                         % (i, region, ", ".join(REGIONS), OFF_REGION))
    if st["technique"] not in ("off", "rest") and st.get("band") not in BANDS:
        raise ValueError("plan stage %d: band %r is not one of %s"
                         % (i, st.get("band"), ", ".join(BANDS)))
    if not float(st.get("duration_s", 0)) > 0:
        raise ValueError("plan stage %d: duration_s must be > 0" % i)


def _off(duration_s: float) -> dict:
    return {"duration_s": float(duration_s), "region": OFF_REGION, "technique": "off",
            "stage": "off"}


def routine_script(plan: list[dict] | None = None, seed: int = 0, trainee: str = "good",
                   lead_in_s: float = 2.0, lead_out_s: float = 2.0,
                   hands: tuple[str, ...] = ("right", "left"), noise_counts: float = 2.0,
                   creep: dict | None = None, faults: list[dict] | None = None) -> dict:
    """A force-model script that performs `plan` (default DEFAULT_PLAN) as `trainee` would.

    plan: stages {"stage", "region", "technique", "duration_s", "band"} with optional
    "rate_per_min" and "hands". Each stage becomes one segment whose peak force per class
    lies in its band; the segment also records "band" (what was applied) and
    "planned_band". The script starts and ends with lead_in_s / lead_out_s off the body
    (0 N, for the tare). seed drives both the trainee's choices and the model's noise.
    """
    plan = DEFAULT_PLAN if plan is None else plan
    if trainee not in TRAINEES:
        raise ValueError("unknown trainee %r: use one of %s" % (trainee, ", ".join(TRAINEES)))
    prof = TRAINEES[trainee]
    edges = band_edges()
    rng = random.Random(seed)
    for i, st in enumerate(plan):
        _check_stage(i, st)

    bumped: set[int] = set()
    if trainee == "heavy":
        cand = [i for i, st in enumerate(plan) if st.get("band") in ("medium", "firm")]
        bumped = {i for i in cand if rng.random() < HEAVY_SHARE}
        if cand and not bumped:
            bumped = {rng.choice(cand)}

    segments = [_off(lead_in_s)] if lead_in_s > 0 else []
    for i, st in enumerate(plan):
        tech = st["technique"]
        seg = {"duration_s": float(st["duration_s"]), "region": st["region"], "technique": tech,
               "stage": st.get("stage", tech), "hands": list(st.get("hands", hands)),
               "peak_spread": prof["peak_spread"], "timing_spread": prof["timing_spread"]}
        band = st.get("band")
        if band is not None:
            planned = band
            if i in bumped:
                band = BANDS[min(BANDS.index(band) + 1, len(BANDS) - 1)]
            seg["band"] = band
            seg["planned_band"] = planned
            if tech not in ("off", "rest"):
                seg["force_n"] = {cls: round(band_force(band, cls, edges), 3) for cls in edges}
        if tech in DEFAULT_RATE_PER_MIN:
            rate = float(st.get("rate_per_min", DEFAULT_RATE_PER_MIN[tech]))
            if trainee == "rushed":
                rate *= 2.0
                if tech == "tapotement":
                    rate = min(rate, RUSHED_MAX_TAP_PER_S * 60.0)
            seg["rate_per_min"] = rate
        segments.append(seg)
    if lead_out_s > 0:
        segments.append(_off(lead_out_s))
    return {
        "seed": int(seed),
        "trainee": trainee,
        "segments": segments,
        "tremor": {"amp_n": prof["tremor_n"], "hz": TREMOR_HZ},
        "noise_counts": float(noise_counts),
        "creep": dict(creep) if creep is not None else {"fraction": 0.04, "tau_s": 8.0},
        "faults": list(faults or []),
    }


def _channel_name(ch) -> str:
    return ch if isinstance(ch, str) else ch[1]


def held_forces_script(levels: list, channels: list, hold_s: float = 4.0, gap_s: float = 2.0,
                       ramp_s: float = 0.5, seed: int = 0, noise_counts: float = 0.0,
                       creep_fraction: float = 0.0, region: str = "paraspinals") -> dict:
    """Steady holds at known forces, for calibration and band tests.

    levels: one entry per hold, each a number (N on every channel), a dict of channel name
    -> N, or a dict of sensor class -> N (then `channels` must be channel tuples with the
    class at index 4). channels: channel names or (mux, name, hand, site, cls, ...) tuples.
    Each hold lasts hold_s with raised-cosine ramps of ramp_s inside it (so the plateau is
    hold_s - 2 * ramp_s at exactly the level: no tremor, no stroke spread), separated by
    gap_s off the body; the script starts and ends off the body. Sensor artefacts are off
    by default (noise_counts, creep_fraction).
    """
    names = [_channel_name(c) for c in channels]
    classes = {_channel_name(c): c[4] for c in channels if not isinstance(c, str)}
    segments = [_off(gap_s)]
    for k, level in enumerate(levels):
        if isinstance(level, dict):
            byc = {}
            for key, val in level.items():
                if key in names:
                    byc[key] = float(val)
                elif key in classes.values():
                    byc.update({n: float(val) for n, c in classes.items() if c == key})
                else:
                    raise ValueError("hold %d: %r is neither a channel name nor a sensor class "
                                     "of the given channels" % (k, key))
        else:
            byc = {n: float(level) for n in names}
        segments.append({"duration_s": float(hold_s), "region": region, "technique": "hold",
                         "stage": "hold_%d" % k, "force_by_channel": byc, "peak_spread": 0.0,
                         "ramp_s": float(ramp_s), "tremor_scale": 0.0})
        segments.append(_off(gap_s))
    return {"seed": int(seed), "segments": segments, "tremor": {"amp_n": 0.0, "hz": TREMOR_HZ},
            "noise_counts": float(noise_counts),
            "creep": {"fraction": float(creep_fraction), "tau_s": 8.0}, "faults": []}


def calibration_script(sensors: list, loads_n: list, hold_s: float = 4.0, gap_s: float = 2.0,
                       seed: int = 0, noise_counts: float = 2.0, creep_fraction: float = 0.04) -> dict:
    """Known loads placed on one sensor at a time, each for hold_s, lifted for gap_s: the
    calibration procedure (calibration/README.md) as the simulated glove plays it, through
    the same FSR physics, with sensor noise and creep on."""
    levels = [{s: float(w)} for s in sensors for w in loads_n]
    return held_forces_script(levels, list(sensors), hold_s=hold_s, gap_s=gap_s, ramp_s=0.1,
                              seed=seed, noise_counts=noise_counts, creep_fraction=creep_fraction)


def sample_times_us(rate_hz: float, n_samples: int, t0_us: int = 0) -> np.ndarray:
    """Sample k at t0_us + round(k * 1e6 / rate_hz) microseconds (int64)."""
    k = np.arange(int(n_samples), dtype=np.int64)
    return t0_us + np.floor(k * (1e6 / float(rate_hz)) + 0.5).astype(np.int64)


def ground_truth(script: dict, channels: list, rate_hz: float, n_samples: int,
                 t0_us: int = 0, full: int = 4095) -> dict:
    """Evaluate `script` on the host at rate_hz with the glove's own ForceModel.

    Returns {"t_us": int64 (n,), "t_s": float64 (n,), "force_n": float64 (n, n_channels)
    true force in channel order, "counts": uint16 (n, MUX_INPUTS) what fill_counts gives
    (mux order, as the glove reads them), "region", "technique", "stage": lists of n labels
    ("off" / None after the script's end), "names": channel names}.
    """
    model = ForceModel(script, channels, full)
    t_us = sample_times_us(rate_hz, n_samples, t0_us)
    n = len(t_us)
    force = np.zeros((n, model.n_channels))
    counts = np.zeros((n, MUX_INPUTS), np.uint16)
    out = array("H", [0] * MUX_INPUTS)
    region, technique, stage = [], [], []
    for k in range(n):
        t = int(t_us[k])
        force[k] = model.truth_us(t)
        model.fill_counts(t, out)
        counts[k] = out
        seg = model.segment_at(t / 1e6)
        region.append(seg["region"] if seg else OFF_REGION)
        technique.append(seg["technique"] if seg else "off")
        stage.append(seg.get("stage") if seg else None)
    return {"t_us": t_us, "t_s": t_us / 1e6, "force_n": force, "counts": counts,
            "region": region, "technique": technique, "stage": stage, "names": list(model.names)}
