"""Host processing cost per DATA frame, stage by stage, for the block sizes the live path sees.

Input: 16 channels at 200 Hz of force-model counts (benchmarks.common.synth_counts; a
heavy-handed trainee's routine, so bands change and alerts fire), encoded as DATA frames
with the host codec. For each block size b, the stream is cut into blocks of b samples and
each block is

* decoded: FrameDecoder.feed of the b frames' bytes (COBS, CRC-32, parse);
* processed: Pipeline.process (region "paraspinals", tared on the first second), whose
  stages are timed by wrapping the pipeline's own stage objects' methods on the instance
  (no product code changes): calibrate (fault checks, noise detector, counts -> conductance
  -> force), filter (spike median + low-pass), classify (bands), rules (alert engine); the
  rest of process() (NaN substitution, hand bands, the Result) is "other".

Per-frame cost of a block = its time / b. Reported per stage and in total: p50 and p99 over
the blocks, in microseconds per 16-channel frame. The link's own per-frame work (seq and
clock unwrapping, gap checks) runs in its reader thread and is in the live CPU share
(benchmarks.cpu_share), not here.

    python -m benchmarks.host_cost [--blocks 1500]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from massage_glove import protocol as P
from massage_glove.samples import SampleBlock
from massage_glove.signal import Pipeline
from massage_glove.sim import scripts

from . import common

RATE_HZ = 200.0
BLOCK_SIZES = (1, 2, 4, 16)
STAGES = ("decode", "calibrate", "filter", "classify", "rules", "other", "total")
# 25 % of one core at the glove's highest rate for 16 channels (1 kHz): 250 us per frame.
TARGET_FRAME_US = 250.0


def _timed(fn, acc: list):
    def wrapper(*a, **k):
        t0 = time.perf_counter_ns()
        try:
            return fn(*a, **k)
        finally:
            acc[0] += time.perf_counter_ns() - t0
    return wrapper


def stream(n_samples: int, seed: int = 3):
    """(counts (n, 16) uint16, encoded frames list[bytes]) of a heavy trainee's routine."""
    script = scripts.routine_script(seed=seed, trainee="heavy", lead_in_s=2.0)
    counts = common.synth_counts(script, RATE_HZ, n_samples)
    frames = [P.encode_data(k & 0xFFFF, int(k * 1e6 / RATE_HZ) & 0x3FFFFFFF, 0, counts[k].tolist())
              for k in range(n_samples)]
    return counts, frames


def measure_block_size(counts, frames, b: int, max_blocks: int) -> dict:
    dev = common.device_info(RATE_HZ)
    n_ch = len(dev.channels)
    pipe = Pipeline(dev, rate_hz=RATE_HZ)
    pipe.set_region("paraspinals")
    tare_n = int(RATE_HZ)
    t = np.arange(counts.shape[0]) / RATE_HZ
    pipe.tare(SampleBlock(np.arange(tare_n), t[:tare_n], t[:tare_n], counts[:tare_n],
                          np.zeros(tare_n, np.uint8)))
    acc = {s: [0] for s in ("calibrate", "filter", "classify", "rules")}
    cv = pipe.converter
    for name in ("faults", "conductance_s", "force_n_from_conductance", "pressure_kpa"):
        setattr(cv, name, _timed(getattr(cv, name), acc["calibrate"]))
    pipe.noise.process = _timed(pipe.noise.process, acc["calibrate"])
    pipe.filter.process = _timed(pipe.filter.process, acc["filter"])
    pipe.classifier.process = _timed(pipe.classifier.process, acc["classify"])
    pipe.engine.process = _timed(pipe.engine.process, acc["rules"])
    dec = P.FrameDecoder()
    per = {s: [] for s in STAGES}
    alerts = 0
    start = tare_n
    n_blocks = min(max_blocks, (counts.shape[0] - start) // b)
    for i in range(n_blocks):
        a, z = start + i * b, start + (i + 1) * b
        chunk = b"".join(frames[a:z])
        t0 = time.perf_counter_ns()
        got = dec.feed(chunk)
        t1 = time.perf_counter_ns()
        block = SampleBlock(np.array([f.seq for f in got], np.int64), t[a:z], t[a:z],
                            np.asarray([f.counts for f in got], np.uint16).reshape(b, n_ch),
                            np.zeros(b, np.uint8))
        for s in acc:
            acc[s][0] = 0
        t2 = time.perf_counter_ns()
        res = pipe.process(block)
        t3 = time.perf_counter_ns()
        alerts += len(res.alerts)
        staged = sum(acc[s][0] for s in acc)
        vals = {"decode": t1 - t0, "other": (t3 - t2) - staged, "total": (t1 - t0) + (t3 - t2)}
        vals.update({s: acc[s][0] for s in acc})
        for s in STAGES:
            per[s].append(vals[s] / 1e3 / b)
    out = {"block_samples": b, "blocks": n_blocks, "alerts": alerts}
    for s in STAGES:
        out[s] = common.summary(per[s])
    return out


def run(max_blocks: int = 1500, block_sizes=BLOCK_SIZES, seed: int = 3) -> dict:
    need = int(RATE_HZ) + max_blocks * max(block_sizes)
    counts, frames = stream(need, seed)
    return {"rate_hz": RATE_HZ, "channels": counts.shape[1], "target_frame_us": TARGET_FRAME_US,
            "sizes": [measure_block_size(counts, frames, b, max_blocks) for b in block_sizes]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=1500)
    a = ap.parse_args(argv)
    r = run(a.blocks)
    for s in r["sizes"]:
        print(f"block {s['block_samples']:>3}: " + "  ".join(
            f"{k} {s[k]['p50']:.1f}/{s[k]['p99']:.1f}" for k in STAGES) + " us/frame p50/p99")
    if "--json" in (argv or sys.argv[1:]):
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
