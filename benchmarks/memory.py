"""Memory of a long live session and the size of its log: an hour of signal, faster than real time.

A LiveSession (no view, no bell, no buzz, region "paraspinals", logging) on the simulated
glove in free-running mode (device time jumps from tick to tick as fast as the firmware and
the host keep up), playing a trainee's routine repeated for `minutes` of device time at
16 channels x 200 Hz. VmRSS of this process is read from /proc/self/status once the first
samples have arrived ("start"), after WARM_UP_S of signal, and at the end. Log bytes per
hour: the closed log file's size over the signal time it holds.

Run it in a fresh process (`python -m benchmarks.memory --json`, as `python -m benchmarks`
does) so the RSS is the session's, not what other benchmarks left behind.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from massage_glove.link import GloveLink
from massage_glove.live.session import LiveSession, SessionOptions
from massage_glove.sim import scripts
from massage_glove.sim.glove import SimGlove

from . import common

WARM_UP_S = 600.0
# RSS growth after the warm-up (docs/FAULTS.md, tests/faults/test_soak.py): an hour of
# 16 x 200 Hz counts is 46 MB as arrays, so a session that kept them would grow far past this.
TARGET_GROWTH_KB = 5 * 1024
# An hour of raw counts is 16 x 2 bytes x 200 Hz x 3600 s = 23 MB; the log must be smaller.
RAW_BYTES_PER_HOUR = 16 * 2 * 200 * 3600


def run(minutes: float = 60.0, log_dir: str | None = None, seed: int = 11,
        timeout_s: float = 900.0) -> dict:
    """RSS at the start, after the warm-up and at the end; log bytes per hour."""
    seconds = minutes * 60.0
    lead_in = 2.0
    one = sum(st["duration_s"] for st in scripts.DEFAULT_PLAN)
    plan = scripts.DEFAULT_PLAN * (int((seconds - lead_in) // one) + 2)
    script = scripts.routine_script(plan, seed=seed, lead_in_s=lead_in)
    tmp = None
    if log_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-mem-")
        log_dir = tmp.name
    marks: list[tuple[float, int]] = []
    w0 = time.perf_counter()
    try:
        with SimGlove(script, mode="free") as sim:
            link = GloveLink.open(sim.port)
            opts = SessionOptions(region="paraspinals", log_dir=log_dir, bell=False, buzz=False)
            session = LiveSession([link], opts).start()
            try:
                g = session.gloves[0]
                end = time.monotonic() + timeout_s
                while g.samples < 200 and time.monotonic() < end:
                    time.sleep(0.005)
                marks.append((session.session_time(), common.rss_kb()))
                warm = min(WARM_UP_S, seconds / 6)
                for target in (warm, seconds):
                    while session.session_time() < target and session.running \
                            and time.monotonic() < end:
                        time.sleep(0.05)
                    marks.append((session.session_time(), common.rss_kb()))
                if session.session_time() < seconds:
                    raise RuntimeError(f"the session stopped at {session.session_time():.0f} s of "
                                       f"signal: {session.problems()}")
                samples = g.samples
                lost = link.stats.lost_samples
            finally:
                summary = session.close()
                link.close()
        wall = time.perf_counter() - w0
        log_path = Path(summary["gloves"][0]["log"])
        log_bytes = log_path.stat().st_size
        signal_s = samples / 200.0
        return {
            "minutes": minutes, "signal_s": signal_s, "wall_s": wall,
            "speed_x_realtime": signal_s / wall, "samples": samples, "lost_samples": lost,
            "rss_start_kb": marks[0][1], "rss_warm_kb": marks[1][1], "rss_end_kb": marks[2][1],
            "rss_marks": marks, "warm_up_s": marks[1][0],
            "growth_after_warm_up_kb": marks[2][1] - marks[1][1],
            "target_growth_kb": TARGET_GROWTH_KB,
            "log_bytes": log_bytes, "log_bytes_per_hour": log_bytes * 3600.0 / signal_s,
            "raw_bytes_per_hour": RAW_BYTES_PER_HOUR,
            "log_path": str(log_path) if tmp is None else None,
        }
    finally:
        if tmp is not None:
            tmp.cleanup()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--log-dir", default=None, help="keep the log here (default: a temporary one)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.log_dir:
        os.makedirs(a.log_dir, exist_ok=True)
    r = run(a.minutes, a.log_dir)
    print(json.dumps(r, indent=None if a.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
