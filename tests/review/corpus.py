"""A labelled corpus of session logs whose truth is known exactly, for the review's tests.

Each scenario is a list of stages (region, technique, duration, the force per sensor class
at the top of a stroke, stroke rate, pauses, lifts, holds, tremor, a fatigue decline,
saturation and sensor faults) plus marks. `build(scenario, directory)` renders it to the
true force under every sensor at 200 Hz, turns the force into ADC counts with the FSR
physics the simulated glove uses (massage_glove.portable.fsr, nominal curves, ADC noise),
and writes a session log through the real log writer with the events a live session writes
(tare, stage, region, mark). It returns the log's path and the TRUTH: every stroke's time
and peak force (the hand's total force without tremor at the stroke's top), every hold's
start and end, the hands-on intervals, time per region and technique, and the true force
per sample (for the share of time in each band).

Everything is seeded: the same scenario gives the same file.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from massage_glove.log.writer import SessionLogWriter, make_header
from massage_glove.portable import fsr
from massage_glove.portable.forcemodel import SITE_WEIGHTS
from massage_glove.samples import Channel, DeviceInfo, SampleBlock
from massage_glove.signal.calibration import PowerLaw, counts_from_conductance_s

RATE_HZ = 200
LEAD_IN_S = 2.0           # hands off at the start (the tare) and at the end
LEAD_OUT_S = 2.0
SITES = (("thumb", "fsr402"), ("index", "fsr402"), ("middle", "fsr402"), ("ring", "fsr402"),
         ("little", "fsr402"), ("knuckle_index", "fsr402"), ("knuckle_middle", "fsr402"),
         ("palm_heel", "fsr406"))
RESISTORS = {"fsr402": (1500.0, 100000.0), "fsr406": (680.0, 100000.0)}
# Where a stage's stroke top lies in its band (per sensor class edges of bands.json):
# light at 0.65 of the light|medium edge, medium and firm 55 % into the band, too much
# at 1.3 x the firm|too-much edge (the same positions as the simulated trainee, sim/scripts.py).
EDGES = {"fsr402": (4.0, 9.0, 15.0), "fsr406": (10.0, 25.0, 40.0)}
# Baseline between strokes as a share of the top (contact is kept between strokes).
BASE = {"effleurage": 0.3, "kneading": 0.3, "thumb_circles": 0.45, "tapotement": 0.0}
TAP_IMPACT_S = 0.04
HOLD_RAMP_S = 1.5         # raised-cosine ramp into and out of a hold (a slow release)
ADC_NOISE_COUNTS = 2.0


def band_force(band: str, cls: str) -> float:
    e = EDGES[cls]
    if band == "light":
        return 0.65 * e[0]
    if band == "medium":
        return e[0] + 0.55 * (e[1] - e[0])
    if band == "firm":
        return e[1] + 0.55 * (e[2] - e[1])
    if band == "too_much":
        return 1.3 * e[2]
    if band == "feather":     # "light, feathery touches" (seed 003)
        return 0.2 * e[0]
    raise ValueError(band)


@dataclass(frozen=True)
class Stage:
    id: str
    region: str
    technique: str            # effleurage | kneading | thumb_circles | tapotement | hold
    duration_s: float
    band: str                 # light | medium | firm | too_much | feather
    rate_per_min: float | None = None
    hands: tuple = ("right", "left")
    scale: float = 1.0        # multiplies the band's force (e.g. 1.25 for "a bit over")
    spread: float = 0.06      # stroke-to-stroke peak spread (uniform +/-)
    timing: float = 0.04      # stroke start jitter, share of the interval (uniform +/-)
    pauses: tuple = ()        # (first stroke index, strokes left out): hand rests, no strokes
    lifts: tuple = ()         # (first stroke index, strokes left out): both hands off
    hold_s: float | None = None     # hold: seconds from the start of the stage (default: all)
    decline: tuple | None = None    # (from, to): stroke tops scaled linearly over the stage
    tremor_n: float = 0.12    # per loaded sensor, amplitude (N)
    tremor_hz: float = 9.0
    saturate: tuple = ()      # (t0 rel, t1 rel, channel): that sensor pressed past its range
    faults: tuple = ()        # (t0 rel, t1 rel, channel, "open" | "short")
    soften_after: tuple = ()  # (t rel, factor): from t rel + 1 s the force is x factor
    hand_scale: tuple = ()    # (hand, factor): that hand presses x factor (a lazy hand)


@dataclass(frozen=True)
class Scenario:
    name: str
    stages: tuple
    routine: str | None = None      # the routine the live session followed (header extra)
    marks: tuple = ()               # (t in session s from the first stage, tag)
    hands: tuple = ("right", "left")
    region_only: str | None = None  # a `--region` session: region event, no stage events
    seed: int = 1
    fault: str | None = None        # what is wrong (None: a good session)
    glove_id: str = "corpus-glove"
    free: bool = False              # no routine: regions chosen by key, no stage events


def make_device(hands=("right", "left"), glove_id="corpus-glove") -> DeviceInfo:
    chans = []
    for h, hand in enumerate(hands):
        for i, (site, cls) in enumerate(SITES):
            rd, rb = RESISTORS[cls]
            chans.append(Channel(h * 8 + i, ("R_" if hand == "right" else "L_") + site, hand, site,
                                 cls, rd, rb))
    return DeviceInfo(glove_id=glove_id, firmware="1.0.0", board="corpus", protocol=1,
                      hands=tuple(hands), channels=tuple(chans), adc_bits=12, vref_v=3.3,
                      rate_hz=int(RATE_HZ), min_rate_hz=1, max_rate_hz=1000, ts_bits=30,
                      seq_bits=16, ring_slots=512)


def counts_from_force(force_n: np.ndarray, device: DeviceInfo, rng) -> np.ndarray:
    """ADC counts a nominal glove reads under (n, n_channels) newtons, with ADC noise."""
    out = np.empty(force_n.shape)
    for j, c in enumerate(device.channels):
        p = fsr.NOMINAL[c.sensor_class]
        fj = np.clip(force_n[:, j], 0.0, p["f_max_n"])
        g = PowerLaw.nominal(c.sensor_class).conductance_s(np.maximum(fj, 1e-9))
        g = np.where(fj < p["f_min_n"], 0.0, g)
        out[:, j] = counts_from_conductance_s(g, c.r_divider_ohm, c.r_bleed_ohm, device.full_scale)
    out += rng.normal(0.0, ADC_NOISE_COUNTS, out.shape)
    return np.clip(np.round(out), 0, device.full_scale).astype(np.uint16)


def _decline(st: Stage, t_rel):
    """The stage's fatigue factor at stage time t_rel (1 without a decline)."""
    if st.decline is None:
        return 1.0 if np.isscalar(t_rel) else np.ones_like(t_rel)
    a, b = st.decline
    return a + (b - a) * np.asarray(t_rel) / st.duration_s


def _rc_rise(x):
    """Raised cosine 0 -> 1 for x in [0, 1]."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _stage_truth(st: Stage, t0: float, t: np.ndarray, device: DeviceInfo, rng, force: np.ndarray,
                 truth: dict) -> None:
    """Add the stage's force (t0 .. t0 + duration) into `force`; record its truth."""
    m = (t >= t0) & (t < t0 + st.duration_s)
    idx = np.flatnonzero(m)
    tt = t[idx] - t0
    weights = SITE_WEIGHTS["hold" if st.technique == "hold" else st.technique]
    tops = {cls: band_force(st.band, cls) * st.scale for cls in EDGES}
    strokes = {}
    for h, hand in enumerate(device.hands):
        cols = [j for j, c in enumerate(device.channels) if c.hand == hand]
        if hand not in st.hands:
            continue
        top_w = np.array([tops[device.channels[j].sensor_class]
                          * weights.get(device.channels[j].site, weights["_other"]) for j in cols])
        top_w = top_w * dict(st.hand_scale).get(hand, 1.0)
        env = np.zeros(idx.size)      # share of the top (0..1.x)
        peaks_t, peaks_n = [], []
        if st.technique == "hold":
            hs = st.hold_s if st.hold_s is not None else st.duration_s
            up = _rc_rise(tt / HOLD_RAMP_S)
            down = _rc_rise((hs - tt) / HOLD_RAMP_S)
            env = np.where(tt < hs, np.minimum(up, down), 0.0)
            truth["holds"].append({"hand": hand, "stage": st.id, "region": st.region,
                                   "t0_s": t0 + HOLD_RAMP_S / 2, "t1_s": t0 + hs - HOLD_RAMP_S / 2,
                                   "seconds": hs - HOLD_RAMP_S, "level_n": float(top_w.sum())})
        else:
            T = 60.0 / st.rate_per_min
            n = max(1, int(st.duration_s // T))
            T = st.duration_s / n
            off = 0.5 * T if (h == 1 and st.technique in ("kneading", "thumb_circles", "tapotement")) else 0.0
            bounds = np.arange(n + 1) * T
            jit = rng.uniform(-st.timing, st.timing, n + 1) * T
            jit[0] = jit[-1] = 0.0
            bounds = bounds + jit
            gains = 1.0 + rng.uniform(-st.spread, st.spread, n)
            skip = set()
            for k0, kn in st.pauses + st.lifts:
                skip.update(range(k0, k0 + kn))
            lifted = set()
            for k0, kn in st.lifts:
                lifted.update(range(k0, k0 + kn))
            base = BASE[st.technique]
            env[:] = base
            ts = tt - off
            for k in range(n):
                a, b = bounds[k], bounds[k + 1]
                sel = (ts >= a) & (ts < b)
                if off + b > st.duration_s + 1e-9:
                    continue            # an offset hand's stroke that would run past the stage
                if k in lifted:
                    env[sel] = 0.0
                    continue
                if k in skip:
                    continue
                L = b - a
                ph = (ts[sel] - a) / L
                if st.technique == "tapotement":
                    d = min(TAP_IMPACT_S, 0.8 * L)
                    x = (ts[sel] - a) / d
                    env[sel] = np.where(x < 1.0, 0.5 - 0.5 * np.cos(2 * np.pi * x), 0.0) * gains[k]
                    tp = a + d / 2
                elif st.technique == "kneading":
                    sq = 0.6
                    env[sel] = base + (1 - base) * np.where(ph < sq, 0.5 - 0.5 * np.cos(2 * np.pi * ph / sq), 0.0) * gains[k]
                    tp = a + sq * L / 2
                else:
                    env[sel] = base + (1 - base) * (0.5 - 0.5 * np.cos(2 * np.pi * ph)) * gains[k]
                    tp = a + L / 2
                if tp + off < st.duration_s:
                    peaks_t.append(t0 + off + tp)
                    peak_env = (base + (1 - base) * gains[k]) if st.technique != "tapotement" else gains[k]
                    peaks_n.append(float(top_w.sum() * peak_env * _decline(st, tp + off)))
            # the trailing part before the first stroke of an offset hand rests at the base
            if off > 0:
                env[ts < 0] = base
            if st.decline is not None:
                env = env * _decline(st, tt)     # tired hands press less, strokes and all
            truth["lift_s"] += sum(kn * T for _, kn in st.lifts) if h == 0 else 0.0
            truth["pauses"].append({"stage": st.id, "hand": hand, "count": len(st.pauses),
                                    "strokes_left_out": sum(kn for _, kn in st.pauses)})
        f = env[:, None] * top_w[None, :]
        for ts_rel, factor in st.soften_after:
            f = np.where((tt >= ts_rel + 1.0)[:, None], f * factor, f)
            peaks_n = [p * factor if tp >= t0 + ts_rel + 1.0 else p for tp, p in zip(peaks_t, peaks_n)]
        if st.tremor_n > 0:
            hz = st.tremor_hz * (1.0 + 0.02 * h)
            ph0 = rng.uniform(0, 2 * np.pi)
            tr = st.tremor_n * np.sin(2 * np.pi * hz * t[idx] + ph0)
            loaded = f > 0
            f = np.where(loaded, np.maximum(f + tr[:, None] * np.minimum(f, 1.0), 0.0), 0.0)
        force[np.ix_(idx, cols)] += f
        strokes[hand] = {"t_s": peaks_t, "peak_n": peaks_n}
    for (a, b, ch) in st.saturate:
        j = [c.name for c in device.channels].index(ch)
        sm = (tt >= a) & (tt < b)
        cls = device.channels[j].sensor_class
        force[idx[sm], j] = np.maximum(force[idx[sm], j], 1.15 * fsr.NOMINAL[cls]["f_max_n"])
        truth["saturated_s"] += (b - a)
    truth["stages"].append({"id": st.id, "region": st.region, "technique": st.technique,
                            "band": st.band, "t0_s": t0, "t1_s": t0 + st.duration_s,
                            "rate_per_min": st.rate_per_min, "strokes": strokes})


def render(sc: Scenario):
    """The true force (n, n_channels), counts, sample times, events and truth of a scenario."""
    device = make_device(sc.hands, sc.glove_id)
    rng = np.random.default_rng(sc.seed)
    dur = LEAD_IN_S + sum(s.duration_s for s in sc.stages) + LEAD_OUT_S
    n = int(round(dur * RATE_HZ))
    t = np.arange(n) / RATE_HZ
    force = np.zeros((n, len(device.channels)))
    truth = {"holds": [], "stages": [], "pauses": [], "lift_s": 0.0, "saturated_s": 0.0}
    t0 = LEAD_IN_S
    events = []
    for st in sc.stages:
        _stage_truth(st, t0, t, device, rng, force, truth)
        if sc.free:
            events.append(("region", t0, {"region": st.region, "source": "key"}))
        elif sc.region_only is None:
            events.append(("stage", t0, {"stage": st.id, "technique": st.technique, "source": "routine"}))
            events.append(("region", t0, {"region": st.region, "source": "routine"}))
        t0 += st.duration_s
    if sc.region_only is not None:
        events.append(("region", 0.0, {"region": sc.region_only, "source": "start"}))
    elif not sc.free:
        events.append(("stage", t0, {"stage": "end", "technique": None, "source": "routine"}))
    counts = counts_from_force(force, device, rng)
    fault_mask = np.zeros(force.shape, bool)
    t_abs = LEAD_IN_S
    for st in sc.stages:
        for (a, b, ch, kind) in st.faults:
            j = [c.name for c in device.channels].index(ch)
            sm = (t >= t_abs + a) & (t < t_abs + b)
            counts[sm, j] = 0 if kind == "open" else device.full_scale
            fault_mask[sm, j] = True
        t_abs += st.duration_s
    for tm, tag in sc.marks:
        events.append(("mark", LEAD_IN_S + tm, {"text": f"receiver said {tag}", "tag": tag}))
    truth["t_s"] = t
    truth["force_n"] = force
    truth["fault_mask"] = fault_mask
    truth["work_t0_s"] = LEAD_IN_S
    truth["work_t1_s"] = LEAD_IN_S + sum(s.duration_s for s in sc.stages)
    truth["marks"] = [{"t_s": LEAD_IN_S + tm, "tag": tag} for tm, tag in sc.marks]
    return device, t, counts, sorted(events, key=lambda e: (e[1], e[0] != "stage")), truth


def _key(sc: Scenario) -> str:
    src = (Path(__file__).read_bytes() + repr(sc).encode())
    return hashlib.sha256(src).hexdigest()[:16]


def write_log(sc: Scenario, directory: Path) -> tuple[Path, dict]:
    """Write the scenario's session log through the real log writer; (path, truth)."""
    device, t, counts, events, truth = render(sc)
    path = Path(directory) / f"{sc.name}-{_key(sc)}.mglog"
    if not path.exists():
        start = _dt.datetime(2026, 1, 5, 10, 0, 0, tzinfo=_dt.timezone.utc)
        extra = {"routine": sc.routine, "scenario": sc.name}
        hdr = make_header(device, trainee=sc.name, start_time=start, calibration=None,
                          profile="default", skill_level="trained", sensitivity=1.0, extra=extra)
        tmp = path.with_suffix(".tmp")
        if tmp.exists():
            tmp.unlink()
        w = SessionLogWriter(tmp, hdr, background=False, clock=lambda: 0.0,
                             wall_clock=lambda: start.timestamp())
        host0 = start.timestamp()
        # the tare: offsets from the quiet lead-in, as the live session records them
        from massage_glove.signal.calibration import ForceConverter
        conv = ForceConverter(device, None)
        quiet = counts[: int(LEAD_IN_S * RATE_HZ * 0.9)]
        offsets = np.median(conv.conductance_s(quiet), axis=0)
        ev_i = 0
        block = int(RATE_HZ)
        for a in range(0, t.size, block):
            b = min(a + block, t.size)
            while ev_i < len(events) and events[ev_i][1] < t[b - 1] + 1e-9:
                kind, te, fields = events[ev_i]
                w.write_event(kind, host0 + te, float(te), **fields)
                ev_i += 1
            seq = np.arange(a, b, dtype=np.int64)
            w.write_samples(SampleBlock(seq, t[a:b].copy(), host0 + t[a:b], counts[a:b],
                                        np.zeros(b - a, np.uint8)))
            if a == int(LEAD_IN_S * RATE_HZ) - block:
                w.write_event("tare", host0 + t[b - 1], float(t[b - 1]), ok=True,
                              offsets_s=[float(x) for x in offsets])
        for kind, te, fields in events[ev_i:]:
            w.write_event(kind, host0 + te, float(te), **fields)
        w.close()
        tmp.rename(path)
    return path, truth
