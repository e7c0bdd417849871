"""False alarms: pressure-alert episodes while the TRUE force stayed under the limit, per script.

Each script is played offline through the simulated glove's physics: the force model
(massage_glove.portable.forcemodel, the code the simulated glove's ADC runs: FSR curve,
creep, ADC noise, faults) gives the counts at the device's own sample times, and the same
model's true force (`truth_us`, no creep, noise or glitches) is the ground truth, known
independently of the chain. The counts go through the chain in blocks of 1 with those
timestamps, the region following the script's segments (set between blocks, as a routine
does), tared on the first second (off the body). The new chain and the baseline see the
same counts in the same run.

An episode is one press of one hand as the rules tell it: the first alert of rule
too_much, over_limit or over_limit_hand of each (hand, episode) pair (reminders,
`repeat`, are not new episodes). It is FALSE when no sensor it names (the alert's sensor;
for over_limit_hand every sensor of the hand) had a true force at or above its limit (the
region's `limit_n` for that sensor, the end of the allowed band) at any millisecond from
LOOKBACK_S before the alert to LOOKAHEAD_S after it (the reading can lead the truth: creep
adds up to 4 % to the sensed force, so a ramp's prompt may come a few ms before the true
crossing; that prompt is about a press that did reach the limit). The other episodes are
counted as true.

Scripts (SCRIPTS; every one 200 Hz, 16 channels):

* heavy, novice: the demo routine (scripts.routine_script) by the heavy trainee (pushes
  stages a band up: many true alerts; false ones come from creep and the filter's
  overshoot near an edge) and by the novice (inconsistent pressure, tremor 0.3 N);
* tremor 6, 9, 12 Hz: holds of 4 random sensors at 0.80-0.97 of their limit (region
  lower_back) with a tremor of TREMOR_AMP_N at that frequency (DOMAIN.md 2: hand tremor
  6-12 Hz): the true force comes near the limit and sometimes over it;
* ADC noise: the same holds, no tremor, ADC noise NOISE_COUNTS rms (four times the force
  model's default of 2 counts);
* glitch 1 / glitch 2: the same holds, no tremor, and GLITCHES_PER_S single-channel glitches
  of 1 or 2 consecutive samples: the ADC reading of one channel replaced by a value between
  the reading of its limit (tared) and the reading just below saturation. That is what
  an unsettled multiplexer gives: the firmware walks the 74HC4067 in Gray order, and a
  channel whose mux output has not settled reads its predecessor's voltage
  (hardware/README.md, "Sampling on the RP2040"); a pressed neighbour of the same class
  reads anything up to the saturation reading. Settled, the error is about one count
  (hardware/BOM.md, anti-alias filter), so such glitches come from a fault (a slow select
  line, a marginal board); glitches at or above the saturation reading are over range,
  too much by design in both chains (docs/SIGNAL.md 2.5), and at full scale a short, a
  broken sample in both (the simulated glove's "saturated" and "short" fault kinds), so
  neither is in this script. The glitches are written into the counts after the force
  model (the ADC's output), never into the truth.

    python -m benchmarks.false_alarms [--only glitch2,tremor9] [--seconds 60]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from array import array

import numpy as np

from massage_glove.portable.forcemodel import MUX_INPUTS, ForceModel
from massage_glove.samples import SampleBlock
from massage_glove.sim import scripts

from . import common

RATE_HZ = 200.0
HOLD_REGION = "lower_back"      # allowed band medium: the limit is the medium|firm edge
PRESSURE_RULES = ("too_much", "over_limit", "over_limit_hand")
LOOKBACK_S = 0.3                # longer than the chain's delay and dwell (tens of ms)
LOOKAHEAD_S = 0.3               # a prompt a little ahead of the true crossing (the reading
                                # leads the truth by creep and noise) is about that press
TRUTH_STEP_US = 1000            # the truth is searched at every millisecond
TARE_S = 1.0
LEAD_IN_S = 2.0
HOLD_LEVELS = (0.80, 0.97)      # hold force as a fraction of the sensor's limit
HOLD_S = (2.0, 4.0)
GAP_S = (0.4, 1.0)
SENSORS_PER_HOLD = 4
TREMOR_AMP_N = 0.3              # the novice trainee's tremor (sim/scripts.py TRAINEES)
NOISE_COUNTS = 8.0              # 4 x the force model's default 2 counts rms
GLITCHES_PER_S = 4.0            # over the whole glove
GLITCH_REUSE_S = 1.0            # a channel glitches at most once a second (> clear_ms)
HOLD_SECONDS = 60.0
SCRIPTS = ("heavy", "novice", "tremor6", "tremor9", "tremor12", "adc_noise", "glitch1", "glitch2")


def _off(d):
    return {"duration_s": float(d), "region": "off", "technique": "off", "stage": "off",
            "ramp_s": 0.0}


def hold_script(seconds: float, seed: int, tremor_hz: float = 9.0, tremor_amp_n: float = 0.0,
                noise_counts: float = 2.0, hands=("right", "left")) -> dict:
    """Holds of SENSORS_PER_HOLD random sensors at HOLD_LEVELS of their limit (HOLD_REGION)."""
    rng = random.Random(seed)
    table = common.channel_table(hands)
    dev = common.device_info(RATE_HZ, hands)
    from massage_glove.signal import default_profile_set
    prof = default_profile_set().resolve(HOLD_REGION, "trained", "normal", dev.channels)
    limit = prof.limit_n
    segs = [_off(LEAD_IN_S)]
    t = LEAD_IN_S
    while True:
        hold = rng.uniform(*HOLD_S)
        gap = rng.uniform(*GAP_S)
        if t + hold + gap + 1.0 > seconds:
            break
        picks = rng.sample(range(len(table)), SENSORS_PER_HOLD)
        segs.append({"duration_s": hold, "region": HOLD_REGION, "technique": "hold",
                     "stage": "hold", "ramp_s": rng.uniform(0.1, 0.4), "peak_spread": 0.0,
                     "force_by_channel": {table[j][1]: round(float(limit[j]) * rng.uniform(*HOLD_LEVELS), 3)
                                          for j in picks}})
        segs.append(_off(gap))
        t += hold + gap
    segs.append(_off(max(0.5, seconds - t)))
    return {"seed": seed, "segments": segs, "tremor": {"amp_n": tremor_amp_n, "hz": tremor_hz},
            "noise_counts": noise_counts, "creep": {"fraction": 0.04, "tau_s": 8.0}, "faults": []}


def make_script(name: str, seconds: float = HOLD_SECONDS, seed: int = 11) -> tuple[dict, int]:
    """(force-model script, glitch length in samples: 0 for none) of a named script."""
    if name in ("heavy", "novice"):
        return scripts.routine_script(seed=seed, trainee=name, lead_in_s=LEAD_IN_S), 0
    if name.startswith("tremor"):
        return hold_script(seconds, seed, float(name[6:]), TREMOR_AMP_N), 0
    if name == "adc_noise":
        return hold_script(seconds, seed, noise_counts=NOISE_COUNTS), 0
    if name in ("glitch1", "glitch2"):
        return hold_script(seconds, seed), int(name[-1])
    raise ValueError(f"unknown script {name!r}: use one of {', '.join(SCRIPTS)}")


def play(script: dict, rate_hz: float = RATE_HZ, hands=("right", "left")) -> dict:
    """Counts (channel order) at the device's sample times and the true force every ms."""
    table = common.channel_table(hands)
    full = (1 << int(common.firmware_config()["ADC_BITS"])) - 1
    model = ForceModel(script, table, full)
    n = int(model.duration_s * rate_hz)
    t_us = scripts.sample_times_us(rate_hz, n)
    cols = [c[0] for c in table]
    raw = np.empty((n, MUX_INPUTS), np.uint16)
    buf = array("H", [0] * MUX_INPUTS)
    regions = []
    for k in range(n):
        model.fill_counts(int(t_us[k]), buf)
        raw[k] = buf
        seg = model.segment_at(t_us[k] / 1e6)
        regions.append(seg["region"] if seg else "off")
    tt = np.arange(0, int(t_us[-1]) + 1, TRUTH_STEP_US, dtype=np.int64)
    truth = np.array([model.truth_us(int(x)) for x in tt], np.float64)
    return {"t_us": t_us, "counts": raw[:, cols], "regions": regions, "truth_t_us": tt,
            "truth_n": truth, "names": list(model.names), "full": full}


def add_glitches(counts: np.ndarray, t_us: np.ndarray, lo_counts: np.ndarray,
                 hi_counts: np.ndarray, length: int, per_s: float = GLITCHES_PER_S,
                 start_s: float = LEAD_IN_S, seed: int = 7) -> list[tuple[int, int, int]]:
    """Write glitches of `length` samples into `counts` (in place): channel j reads a value
    uniform in [lo_counts[j], hi_counts[j]) there. Returns [(sample, channel, value)]."""
    rng = random.Random(seed)
    n, n_ch = counts.shape
    t_s = t_us / 1e6
    last = np.full(n_ch, -np.inf)
    out = []
    k = int(np.searchsorted(t_s, start_s))
    mean_gap = 1.0 / per_s
    while True:
        k += max(1, int(round(rng.expovariate(1.0 / mean_gap) * RATE_HZ)))
        if k + length + 2 >= n:
            break
        free = [j for j in range(n_ch) if t_s[k] - last[j] >= GLITCH_REUSE_S
                and hi_counts[j] > lo_counts[j]]
        if not free:
            continue
        j = rng.choice(free)
        v = int(rng.uniform(float(lo_counts[j]), float(hi_counts[j])))
        counts[k:k + length, j] = v
        last[j] = t_s[k]
        out.append((k, j, v))
    return out


def episodes(alerts, chain_hand_of: dict, names: list[str]) -> list[dict]:
    """First alert of each (hand, episode) among pressure alerts: [{t_s, sensors, rule}]."""
    seen, out = set(), []
    for a in alerts:
        if a.rule not in PRESSURE_RULES or a.repeat:
            continue
        key = (a.hand, a.episode)
        if key in seen:
            continue
        seen.add(key)
        if a.sensor in names:
            idx = [names.index(a.sensor)]
        else:
            idx = [j for j, n in enumerate(names) if chain_hand_of[n] == a.hand]
        out.append({"t_s": float(a.t_s), "sensors": idx, "rule": a.rule, "sensor": a.sensor})
    return out


def is_false(ep: dict, truth_t_s: np.ndarray, truth_n: np.ndarray, limit_n: np.ndarray,
             lookback_s: float = LOOKBACK_S, lookahead_s: float = LOOKAHEAD_S) -> bool:
    """True when no sensor of the episode reached its limit in [t - lookback, t + lookahead]."""
    a = int(np.searchsorted(truth_t_s, ep["t_s"] - lookback_s))
    z = int(np.searchsorted(truth_t_s, ep["t_s"] + lookahead_s, side="right"))
    win = truth_n[a:z][:, ep["sensors"]]
    return not bool(np.any(win >= limit_n[ep["sensors"]][None, :]))


def run_chain(which: str, data: dict, rate_hz: float = RATE_HZ, hands=("right", "left")) -> dict:
    """Feed `data` (from play, glitches included) through one chain in blocks of 1."""
    dev = common.device_info(rate_hz, hands)
    pipe = common.make_chain(which, dev, rate_hz)
    counts, t_s = data["counts"], data["t_us"] / 1e6
    n = counts.shape[0]
    seq = np.arange(n, dtype=np.int64)
    flags = np.zeros(n, np.uint8)
    tare_n = int(TARE_S * rate_hz)
    pipe.tare(SampleBlock(seq[:tare_n], t_s[:tare_n], t_s[:tare_n], counts[:tare_n], flags[:tare_n]))
    region = next((r for r in data["regions"] if r != "off"), None)
    pipe.set_region(region)
    limits = {region: pipe.profile.limit_n.copy()}
    alerts = []
    wall = 0.0
    for k in range(tare_n, n):
        r = data["regions"][k]
        if r != "off" and r != pipe.region:
            pipe.set_region(r)
            limits.setdefault(r, pipe.profile.limit_n.copy())
        t0 = time.perf_counter()
        res = pipe.process(SampleBlock(seq[k:k + 1], t_s[k:k + 1], t_s[k:k + 1],
                                       counts[k:k + 1], flags[k:k + 1]))
        wall += time.perf_counter() - t0
        for a in res.alerts:
            alerts.append((a, pipe.region))
    hand_of = {c.name: c.hand for c in dev.channels}
    tt = data["truth_t_us"] / 1e6
    false_eps, true_eps = [], 0
    eps = []
    seen = set()
    for a, r in alerts:
        if a.rule not in PRESSURE_RULES or a.repeat or (a.hand, a.episode) in seen:
            continue
        seen.add((a.hand, a.episode))
        ep = episodes([a], hand_of, data["names"])[0]
        ep["region"] = r
        eps.append(ep)
    for ep in eps:
        if is_false(ep, tt, data["truth_n"], limits[ep["region"]]):
            false_eps.append({k: ep[k] for k in ("t_s", "sensor", "rule")})
        else:
            true_eps += 1
    return {"chain": which, "episodes": len(eps), "false": len(false_eps), "true": true_eps,
            "false_at": false_eps[:20], "process_wall_s": wall, "samples": n - tare_n}


def measure(name: str, seconds: float = HOLD_SECONDS, seed: int = 11) -> dict:
    """One script through the new chain and the baseline."""
    t0 = time.perf_counter()
    script, glitch_len = make_script(name, seconds, seed)
    data = play(script)
    glitches = []
    if glitch_len:
        dev = common.device_info(RATE_HZ)
        p = common.make_chain("baseline", dev, RATE_HZ, HOLD_REGION)
        tare_n = int(TARE_S * RATE_HZ)
        t = data["t_us"][:tare_n] / 1e6
        tare = p.tare(SampleBlock(np.arange(tare_n), t, t, data["counts"][:tare_n],
                                  np.zeros(tare_n, np.uint8)))
        lo = np.ceil(p.converter.counts_from_force_n(p.profile.limit_n, tare))
        hi = np.floor(np.asarray(p.converter.saturated_counts, np.float64))
        glitches = add_glitches(data["counts"], data["t_us"], lo, hi, glitch_len, seed=seed)
    out = {"script": name, "seconds": len(data["t_us"]) / RATE_HZ, "rate_hz": RATE_HZ,
           "glitch_samples": glitch_len, "glitches": len(glitches),
           "new": run_chain("new", data), "baseline": run_chain("baseline", data)}
    out["wall_s"] = time.perf_counter() - t0
    return out


def run(names=SCRIPTS, seconds: float = HOLD_SECONDS, seed: int = 11) -> dict:
    return {"chains": common.chains(), "lookback_s": LOOKBACK_S, "lookahead_s": LOOKAHEAD_S,
            "scripts": [measure(n, seconds, seed) for n in names]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(SCRIPTS))
    ap.add_argument("--seconds", type=float, default=HOLD_SECONDS)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = run(tuple(x for x in a.only.split(",") if x), a.seconds)
    for s in r["scripts"]:
        print(f"{s['script']:>10}: new {s['new']['false']} false / {s['new']['episodes']} episodes; "
              f"baseline {s['baseline']['false']} / {s['baseline']['episodes']}"
              + (f"; {s['glitches']} glitches" if s["glitch_samples"] else "")
              + f"  ({s['wall_s']:.1f} s)", file=sys.stderr)
    print(json.dumps(r, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
