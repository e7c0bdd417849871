"""Replay a simulated trainee on a routine through the live chain, offline and fast.

The force model the simulated glove runs (sim.scripts.ground_truth) gives the counts the
glove would read and the true force; the live Pipeline checks each stage against its
region, as the session does. The true force also gives the independent truth: the pushes
over the region's limit per hand.

    python tests/signal/replay.py          # alert counts for the good, heavy, rushed trainees
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chain_helpers import make_device  # noqa: E402
from massage_glove.live.routine import load_routine  # noqa: E402
from massage_glove.samples import SampleBlock  # noqa: E402
from massage_glove.signal.pipeline import Pipeline  # noqa: E402
from massage_glove.signal import default_profile_set  # noqa: E402
import dataclasses  # noqa: E402

RATE = 200.0
DEV = make_device(RATE)
CHANNELS = [(c.index, c.name, c.hand, c.site, c.sensor_class, c.r_divider_ohm, c.r_bleed_ohm)
            for c in DEV.channels]
LEAD_IN_S = 2.0


def replay(trainee: str = "heavy", seed: int = 3, routine: str = "demo", block: int = 4):
    """Run the routine as `trainee`; returns (alerts, gt, profile_set)."""
    from massage_glove.sim import scripts
    r = load_routine(routine)
    ps = default_profile_set()
    settings = dataclasses.replace(ps.settings, warmup_s=r.warm_up_s)
    script = scripts.routine_script(r.plan(), seed=seed, trainee=trainee, lead_in_s=LEAD_IN_S)
    n = int(sum(s["duration_s"] for s in script["segments"]) * RATE)
    gt = scripts.ground_truth(script, CHANNELS, RATE, n)
    t = gt["t_s"]
    counts = gt["counts"][:, :len(DEV.channels)]
    p = Pipeline(DEV, rate_hz=RATE, profile_set=ps, settings=settings)
    k = int(LEAD_IN_S * RATE) - 20
    p.tare(SampleBlock(np.arange(k), t[:k], t[:k], counts[:k], np.zeros(k, np.uint8)))
    regions = [None if x == scripts.OFF_REGION else x for x in gt["region"]]
    techs = gt["technique"]
    alerts = []
    cur = object()
    i = 0
    while i < n:
        # pieces cut where the stage changes, blocks of `block` samples as the link gives them
        j = min(n, i + block)
        for m in range(i + 1, j):
            if regions[m] != regions[i]:
                j = m
                break
        if regions[i] != cur and regions[i] is not None:
            cur = regions[i]
            p.set_region(cur)
            p.set_technique(techs[i] if techs[i] in ps.techniques else None)
        res = p.process(SampleBlock(np.arange(i, j), t[i:j], t[i:j], counts[i:j],
                                    np.zeros(j - i, np.uint8)))
        alerts.extend(res.alerts)
        i = j
    return alerts, gt, ps


def truth_pushes(gt, ps, rearm_s: float, skill: str = "trained") -> dict[str, list[tuple[float, float]]]:
    """Per hand, the (start, end) seconds of each push over the region's limit in the TRUE
    force: any sensor of the hand at or above the top edge of the region's allowed band
    (the too-much edge where firm is allowed); pushes closer than rearm_s are one."""
    from massage_glove.sim import scripts
    out: dict[str, list[tuple[float, float]]] = {}
    t = gt["t_s"]
    f = gt["force_n"]
    lim = np.full(f.shape, np.inf)
    for i, reg in enumerate(gt["region"]):
        pass
    by_region = {}
    for reg in set(gt["region"]):
        if reg == scripts.OFF_REGION:
            continue
        prof = ps.resolve(reg, skill, "normal", DEV.channels)
        by_region[reg] = prof.limit_n
    regs = np.array(gt["region"])
    for reg, limit in by_region.items():
        lim[regs == reg] = limit
    over = f >= lim
    for hand in DEV.hands:
        cols = [j for j, c in enumerate(DEV.channels) if c.hand == hand]
        o = over[:, cols].any(axis=1)
        pushes = []
        d = np.diff(np.r_[0, o.astype(int), 0])
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
            ta, tb = float(t[a]), float(t[b - 1])
            if pushes and ta - pushes[-1][1] < rearm_s:
                pushes[-1] = (pushes[-1][0], tb)
            else:
                pushes.append((ta, tb))
        out[hand] = pushes
    return out


if __name__ == "__main__":
    from collections import Counter
    for trainee in sys.argv[1:] or ("good", "heavy", "rushed"):
        alerts, gt, ps = replay(trainee)
        c = Counter(a.rule for a in alerts)
        print(f"{trainee:7s} {len(alerts):4d} alerts  {dict(c)}")
