"""CPU share of one core while live: a LiveSession on the real-time simulated glove, no view.

16 channels at 200 Hz, a trainee's routine (force model), region "paraspinals", the session
log written to a temporary directory, no bell, no buzz: the acquisition path of
`massage-glove live` without drawing. CPU time comes from /proc (user + system) over
`seconds` of wall time after the first samples arrived; nothing is subtracted.

* process: this whole Python process, which holds the session's threads (link reader,
  acquisition, glove commands, log writer) and also the simulated glove's relay threads
  (the pty copy a real glove does not need) and the idle main thread;
* by thread: the same split per thread (/proc/self/task), so the relay can be told apart;
* glove: the MicroPython process running the firmware and its simulated hardware (the force
  model's ADC included), measured separately from /proc/<pid>.

    python -m benchmarks.cpu_share [--seconds 20]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time

from massage_glove.link import GloveLink
from massage_glove.live.session import LiveSession, SessionOptions
from massage_glove.sim import scripts
from massage_glove.sim.glove import SimGlove

from . import common

TARGET_CORE_PCT = 25.0
SIM_THREADS = ("sim-to-host", "sim-to-device", "sim-watch")


def _threads_cpu() -> dict[str, float]:
    """CPU seconds per live thread of this process, by thread name."""
    out: dict[str, float] = {}
    for t in threading.enumerate():
        tid = t.native_id
        if tid is None:
            continue
        try:
            out[t.name] = out.get(t.name, 0.0) + common.cpu_s("self", tid)
        except OSError:
            pass
    return out


def run(seconds: float = 20.0, seed: int = 2) -> dict:
    script = scripts.routine_script(seed=seed, lead_in_s=2.0)
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as logdir, \
            SimGlove(script, mode="realtime") as sim:
        link = GloveLink.open(sim.port)
        opts = SessionOptions(region="paraspinals", log_dir=logdir, bell=False, buzz=False)
        session = LiveSession([link], opts).start()
        try:
            g = session.gloves[0]
            end = time.monotonic() + 20
            while g.samples < 200 and time.monotonic() < end:
                time.sleep(0.01)
            if g.samples < 200:
                raise RuntimeError("no samples from the simulated glove")
            pid = sim.proc.pid
            th0, p0, s0, n0 = _threads_cpu(), common.cpu_s(), common.cpu_s(pid), g.samples
            w0 = time.perf_counter()
            time.sleep(seconds)
            wall = time.perf_counter() - w0
            th1, p1, s1, n1 = _threads_cpu(), common.cpu_s(), common.cpu_s(pid), g.samples
            rss = common.rss_kb()
        finally:
            session.close()
            link.close()
    by_thread = {k: 100.0 * (th1[k] - th0.get(k, 0.0)) / wall for k in th1}
    sim_relay = sum(v for k, v in by_thread.items() if k in SIM_THREADS)
    return {
        "seconds": wall, "rate_hz": 200, "channels": 16, "samples": n1 - n0,
        "samples_per_s": (n1 - n0) / wall,
        "process_core_pct": 100.0 * (p1 - p0) / wall,
        "sim_relay_core_pct": sim_relay,
        "session_core_pct": 100.0 * (p1 - p0) / wall - sim_relay,
        "glove_core_pct": 100.0 * (s1 - s0) / wall,
        "by_thread_core_pct": by_thread, "rss_kb": rss,
        "target_core_pct": TARGET_CORE_PCT,
        "clock_tick_s": 1.0 / common.CLK_TCK,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--json", action="store_true", help="print the result as JSON only")
    a = ap.parse_args(argv)
    r = run(a.seconds)
    print(json.dumps(r, indent=None if a.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
