"""Cost of the rules per 16-channel frame at blocks of 1: RuleEngine (numpy, a chunk at a time)
beside RuleKernel compiled (numba) and RuleKernel uncompiled (the same source on lists),
measured in the same run on the same inputs.

Input: a heavy-handed simulated trainee on the demo routine (the force model's counts,
benchmarks.common.synth_counts), through the array chain (ReferencePipeline: filtered
force, bands, faults, unsmoothed force), stage by stage with each stage's region and
technique. Each engine then gets the stream one sample per call, as the live path does at
its smallest blocks; every call is timed (perf_counter_ns), alerts included. The three
engines' alerts are checked equal.

    python -m benchmarks.rules_cost [--seconds 60] [--rate 200] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from massage_glove.live.routine import load_routine
from massage_glove.samples import SampleBlock
from massage_glove.signal import default_profile_set
from massage_glove.signal import jit
from massage_glove.signal.pipeline import ReferencePipeline
from massage_glove.signal.rules import RuleEngine
from massage_glove.signal.rules_kernel import RuleKernel
from massage_glove.sim import scripts

from . import common


def inputs(seconds: float, rate: float):
    r = load_routine("demo")
    ps = default_profile_set()
    settings = dataclasses.replace(ps.settings, warmup_s=r.warm_up_s)
    script = scripts.routine_script(r.plan(), seed=3, trainee="heavy", lead_in_s=2.0)
    n = int(min(seconds, sum(s["duration_s"] for s in script["segments"])) * rate)
    dev = common.device_info(rate)
    counts = common.synth_counts(script, rate, n)
    gt = scripts.ground_truth(script, common.channel_table(), rate, n)
    t = np.arange(n) / rate
    p = ReferencePipeline(dev, rate_hz=rate, profile_set=ps, settings=settings)
    k = int(1.8 * rate)
    p.tare(SampleBlock(np.arange(k), t[:k], t[:k], counts[:k], np.zeros(k, np.uint8)))
    regions = [None if x == scripts.OFF_REGION else x for x in gt["region"]]
    techs = [x if x in ps.techniques else None for x in gt["technique"]]
    out = []
    i = 0
    while i < n:
        j = i + 1
        while j < n and regions[j] == regions[i] and techs[j] == techs[i]:
            j += 1
        p.set_region(regions[i])
        p.set_technique(techs[i])
        res = p.process(SampleBlock(np.arange(i, j), t[i:j], t[i:j], counts[i:j],
                                    np.zeros(j - i, np.uint8)))
        out.append((regions[i], techs[i], res.t_s, res.filtered_n, res.band, res.fault, res.force_n))
        i = j
    return dev, ps, settings, out


def time_engine(engine, stages) -> tuple[np.ndarray, list]:
    """Per-call nanoseconds at blocks of 1, and the alerts."""
    ns, alerts = [], []
    clock = time.perf_counter_ns
    for region, tech, t, f, b, flt, raw in stages:
        for i in range(t.shape[0]):
            args = (t[i:i + 1], f[i:i + 1], b[i:i + 1], flt[i:i + 1])
            r = raw[i:i + 1]
            t0 = clock()
            a = engine.process(*args, region, tech, raw_n=r)
            ns.append(clock() - t0)
            if a:
                alerts += a
    return np.asarray(ns, np.float64), alerts


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="seconds of the routine (default 60)")
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    dev, ps, settings, stages = inputs(a.seconds, a.rate)
    t0 = time.perf_counter()
    kern = RuleKernel(dev.channels, ps, rate_hz=a.rate, settings=settings)
    build_s = time.perf_counter() - t0
    engines = {"RuleEngine (numpy, baseline)": RuleEngine(dev.channels, ps, rate_hz=a.rate, settings=settings),
               f"RuleKernel ({kern.name})": kern,
               "RuleKernel (python fallback)": RuleKernel(dev.channels, ps, rate_hz=a.rate,
                                                          settings=settings, compiled=False)}
    res, ref = {}, None
    for name, eng in engines.items():
        ns, alerts = time_engine(eng, stages)
        if ref is None:
            ref = alerts
        res[name] = {"p50_us": float(np.percentile(ns, 50)) / 1000, "p99_us": float(np.percentile(ns, 99)) / 1000,
                     "mean_us": float(ns.mean()) / 1000, "calls": int(ns.size), "alerts": len(alerts),
                     "equal": alerts == ref}
    out = {"rate_hz": a.rate, "seconds": sum(s[2].shape[0] for s in stages) / a.rate,
           "numba": jit.kernel_name(), "kernel_build_s": build_s, "engines": res,
           "machine": common.machine()}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"rules per 16-ch frame at blocks of 1, {out['seconds']:.0f} s at {a.rate:g} Hz "
              f"(heavy trainee, demo routine); kernel built in {build_s:.2f} s")
        for name, r in res.items():
            print(f"  {name:32s} p50 {r['p50_us']:8.1f} us  p99 {r['p99_us']:8.1f} us  "
                  f"mean {r['mean_us']:8.1f} us  {r['alerts']} alerts{'' if r['equal'] else '  (NOT EQUAL)'}")
    return out


if __name__ == "__main__":
    main()
