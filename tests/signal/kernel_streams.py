"""Scripted glove streams for the kernel equality tests: every rule, every fault, stage changes.

A stream is a list of stages (region, technique hint, seconds) and, per sample, the counts a
nominal glove reads under a scripted force (chain_helpers.nominal_counts), with ADC noise
of a few counts, single-sample glitches and injected sensor faults (open, short, noisy,
over range). Each stage is made to fire one or more rules (the stated truth, checked on
the reference chain's alerts in test_kernel_equal.py):

    neck             thumb 6.2 N (over_limit), middle 17 N (too_much); R_ring open
    kidney+kneading  thumb 6 N + heel of hand 14 N (over_limit_hand); L_index shorted
    kidney           tapotement 6/s on the index finger (percussion); L_middle noisy
    spine            thumb 2 N held still (static_pressure)
    paraspinals+eff. firm strokes before any warm-up (too_deep_too_fast)
    traps+heel_sink  heel of hand 15 N for 11.5 s (hold_too_long, 10 s); L_thumb over
                     range for 11.5 s (too_much, then sensor_saturated after 10 s)
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from chain_helpers import make_block, make_device, nominal_counts
from massage_glove.portable import fsr
from massage_glove.samples import SampleBlock
from massage_glove.signal.calibration import (Calibration, ChannelCalibration, PowerLaw,
                                              fit_channel)

TH, IDX, MID, RING, PALM = 0, 1, 2, 3, 7            # right hand; the left hand is + 8
L_TH, L_IDX, L_MID = 8, 9, 10
PRELOAD_N = 0.3                                      # glove on, not pressing: the tare takes it
TARE_S = 1.0

STAGES = (("quiet", None, None, 2.0),
          ("neck", "neck", None, 2.5),
          ("hand", "kidney", "kneading", 2.0),
          ("tapotement", "kidney", None, 3.0),
          ("spine", "spine", None, 7.0),
          ("deep", "paraspinals", "effleurage", 5.0),
          ("hold", "upper_trapezius", "heel_sink", 12.0),
          ("end", None, None, 1.0))


@dataclasses.dataclass(frozen=True)
class Stream:
    rate_hz: float
    counts: np.ndarray              # (n, 16) uint16
    t_s: np.ndarray                 # (n,)
    stages: tuple                   # (start, end, region, technique) sample ranges

    @property
    def device(self):
        return make_device(int(self.rate_hz))


def _strokes(n, rate, peak_tip, peak_palm, per_min=45):
    t = np.arange(n) / rate
    phase = (t * per_min / 60.0) % 1.0
    push = np.where(phase < 0.65, np.sin(np.pi * phase / 0.65), 0.0)
    f = np.zeros((n, 16))
    f[:, :7] = 0.2 + (peak_tip - 0.2) * push[:, None]
    f[:, 7] = 0.2 + (peak_palm - 0.2) * push
    return f


@lru_cache(maxsize=None)
def stream(rate_hz: float, seed: int = 7) -> Stream:
    rng = np.random.default_rng(seed)
    dev = make_device(int(rate_hz))
    R = rate_hz
    parts, faults, stages = [], [], []
    i0 = 0
    for name, region, tech, secs in STAGES:
        n = int(round(secs * R))
        f = np.full((n, 16), PRELOAD_N)
        over = {}                                    # channel -> (slice, counts or "noisy")

        def s(a, b=None):
            return slice(int(a * R), n if b is None else int(b * R))
        if name == "neck":
            f[s(0.5), TH] = 6.2
            f[s(1.5), MID] = 17.0
            over[RING] = (s(1.0, 2.0), 0)
        elif name == "hand":
            f[s(0.5), TH] = 6.0
            f[s(0.5), PALM] = 14.0
            over[L_IDX] = (s(0.5, 1.5), dev.full_scale)
        elif name == "tapotement":
            L = int(0.05 * R)
            pulse = 5.0 * np.sin(np.pi * np.arange(L) / L)
            for k in range(int(3.0 * 6)):
                a = int(k * R / 6.0) + 10
                seg = f[a:a + L, IDX]
                f[a:a + L, IDX] = np.maximum(seg, pulse[:seg.shape[0]])
            over[L_MID] = (s(0.5, 2.0), "noisy")
        elif name == "spine":
            f[s(1.0), TH] = 2.0
        elif name == "deep":
            f = np.maximum(f, _strokes(n, R, 12.0, 30.0))
        elif name == "hold":
            f[s(0.5), PALM] = 15.0
            over[L_TH] = (s(0.5), 3500)
        c = nominal_counts(f, dev).astype(np.int64)
        c += rng.integers(-2, 3, c.shape)                       # ADC noise
        glitch = rng.random(c.shape) < 0.002                   # one-sample glitches
        c[glitch] += rng.choice([-400, 400], int(glitch.sum()))
        for ch, (sl, v) in over.items():
            m = c[sl, ch].shape[0]
            c[sl, ch] = (2000 + 450 * np.where(np.arange(m) % 2, 1, -1)
                         + rng.integers(-50, 51, m)) if v == "noisy" else v
        parts.append(c)
        stages.append((i0, i0 + n, region, tech))
        i0 += n
    counts = np.clip(np.concatenate(parts), 0, dev.full_scale).astype(np.uint16)
    t = np.arange(counts.shape[0]) / R
    return Stream(float(rate_hz), counts, t, tuple(stages))


def mixed_calibration(device, seed: int = 5) -> Calibration:
    """PCHIP curves on the first four sensors of each hand, a power law with b = 0.5 (the
    square-root path) on the little finger, fitted power laws elsewhere; readings from the
    nominal curve with a few percent of error."""
    rng = np.random.default_rng(seed)
    full = device.full_scale
    chans = []
    for j, c in enumerate(device.channels):
        k = j % 8
        top = fsr.NOMINAL[c.sensor_class]["f_max_n"]
        loads = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0]) * top / 20.0
        g = PowerLaw.nominal(c.sensor_class).conductance_s(loads) * rng.uniform(0.95, 1.05, 7)
        reading = full * c.r_divider_ohm * (g + 1 / c.r_bleed_ohm) / (
            c.r_divider_ohm * (g + 1 / c.r_bleed_ohm) + 1.0)
        if k == 4:
            nom = PowerLaw.nominal(c.sensor_class)
            g5 = nom.conductance_s(5.0)
            curve = PowerLaw(5.0 / g5 ** 0.5, 0.5)
            chans.append(ChannelCalibration(c.name, c.sensor_class, c.r_divider_ohm,
                                            c.r_bleed_ohm, curve, "power"))
            continue
        model = "pchip" if k < 4 else "power"
        chans.append(fit_channel(c.name, c.sensor_class, loads.tolist(), reading.tolist(),
                                 c.r_divider_ohm, c.r_bleed_ohm, device.adc_bits, model))
    return Calibration(device.glove_id, "2026-01-01", device.adc_bits, tuple(chans))


def run(pipe, st: Stream, block: int | None, retare_stage: int | None = None) -> dict:
    """Tare on the first second, then the stream in blocks of `block` samples (None: each
    stage whole), cut where the stage changes, region and technique set at each stage.
    retare_stage: before that stage, the offsets are halved (assigned, as a replay does)
    and an empty block is processed."""
    k = int(TARE_S * st.rate_hz)
    pipe.tare(make_block(st.counts[:k], st.rate_hz))
    res = []
    for m, (a, b, region, tech) in enumerate(st.stages):
        pipe.set_region(region)
        pipe.set_technique(tech)
        if m == retare_stage:
            pipe.tare_s = pipe.tare_s * 0.5
            res.append(pipe.process(SampleBlock(np.arange(0), st.t_s[:0], st.t_s[:0],
                                                st.counts[:0], np.zeros(0, np.uint8))))
        size = (b - a) if block is None else block
        for i in range(a, b, size):
            j = min(b, i + size)
            res.append(pipe.process(SampleBlock(np.arange(i, j), st.t_s[i:j], st.t_s[i:j],
                                                st.counts[i:j], np.zeros(j - i, np.uint8))))
    out = {f: np.concatenate([getattr(r, f) for r in res])
           for f in ("t_s", "force_n", "filtered_n", "pressure_kpa", "band", "hand_band", "fault")}
    out["alerts"] = [a for r in res for a in r.alerts]
    out["region"] = [r.region for r in res for _ in range(len(r.t_s))]
    out["tare_s"] = pipe.tare_s.copy()
    return out


@lru_cache(maxsize=None)
def sim_stream(rate_hz: float, seconds: float = 110.0, trainee: str = "heavy",
               seed: int = 3) -> Stream:
    """The simulated glove's force model (sim.scripts, the model the simulated glove runs)
    of a trainee on the default routine: the counts it reads, and its stages (region and
    technique) wherever they change; "off" stages have no region."""
    from massage_glove.signal.profiles import default_profile_set
    from massage_glove.sim import scripts
    dev = make_device(int(rate_hz))
    chans = [(c.index, c.name, c.hand, c.site, c.sensor_class, c.r_divider_ohm, c.r_bleed_ohm)
             for c in dev.channels]
    script = scripts.routine_script(seed=seed, trainee=trainee, lead_in_s=2.0)
    n = int(seconds * rate_hz)
    gt = scripts.ground_truth(script, chans, rate_hz, n)
    techniques = default_profile_set().techniques
    key = [(None if r == scripts.OFF_REGION else r, t if t in techniques else None)
           for r, t in zip(gt["region"], gt["technique"])]
    stages, a = [], 0
    for i in range(1, n + 1):
        if i == n or key[i] != key[a]:
            stages.append((a, i) + key[a])
            a = i
    counts = np.asarray(gt["counts"][:, :len(dev.channels)], np.uint16)
    return Stream(float(rate_hz), counts, np.asarray(gt["t_s"], np.float64), tuple(stages))
