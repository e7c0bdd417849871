"""CPU share of one core while live: the whole process, LiveSessions on real-time simulated gloves.

Each row is measured in this run beside its baseline, the same process with today's numpy
chain (`massage_glove.signal.pipeline.ReferencePipeline`, fast alert path off; `Pipeline`
itself when the package has no ReferencePipeline, and the result says so):

* one glove, 16 channels x 200 Hz, no plot: target <= 5 % of one core;
* two gloves (two simulated gloves, one process), 16 ch x 200 Hz each, no plot: <= 10 %;
* one glove, 16 ch x 1 kHz, no plot: <= 10 %;
* one glove at 200 Hz with the live window at 30 fps (matplotlib blitting, TkAgg; on a
  private Xvfb display when there is no DISPLAY): the process's share and the window's
  (the main thread, which draws) are stated, and the X server's; no target.

What runs: `massage-glove live`'s acquisition path: a trainee's routine (force model) on
each glove, region "paraspinals", the session log written to a temporary directory, no
bell, no buzz. CPU time is /proc's utime + stime over `seconds` of wall time once every
glove has sent 2 s of samples; nothing is subtracted. Every measurement runs in a fresh
Python process (no imports, JIT caches or memory carried from one to the next) and records
the load average at its start and end (the machine may be shared).

* process: the whole Python process: per glove, the acquisition thread (it reads the port,
  runs the chain, logs, alerts), the glove-command thread, the log writer (woken once per
  flush interval) and the link's keeper (idle while acquisition reads: glove-link); the idle
  main thread; and the simulated glove's relay threads (sim-to-host, sim-to-device,
  sim-watch), the pty copy that stands where the USB cable is. A real glove has no relay
  thread: its bytes reach the port from the kernel's USB CDC driver. The relay's share is
  given separately (sim_relay_core_pct) and is inside the process figure.
* by thread: the same split per thread (/proc/self/task);
* glove: the MicroPython process(es) running the firmware and its simulated hardware (the
  force model's ADC included), measured separately from /proc/<pid>.

    python -m benchmarks.cpu_share [--seconds 20] [--json]        every row, each in a child
    python -m benchmarks.cpu_share --case 1k --chain baseline       one measurement, here

The top-level keys of the result (process_core_pct, target_core_pct, glove_core_pct,
sim_relay_core_pct, session_core_pct, by_thread_core_pct, clock_tick_s) are the first row's
(one glove at 200 Hz, the new chain), as `python -m benchmarks` reads them; `rows` holds
every row in the runner's table format, `runs` every measurement.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

SIM_THREADS = ("sim-to-host", "sim-to-device", "sim-watch", "sim-spawner")
# case: gloves, rate, live window, target (% of one core; None: stated only), its words
CASES = {
    "200": dict(gloves=1, rate_hz=200, window=False, target=5.0,
                label="one glove, 16 ch x 200 Hz, no plot"),
    "two": dict(gloves=2, rate_hz=200, window=False, target=10.0,
                label="two gloves (two simulated gloves, one process), 16 ch x 200 Hz each, no plot"),
    "1k": dict(gloves=1, rate_hz=1000, window=False, target=10.0,
               label="one glove, 16 ch x 1 kHz, no plot"),
    "window": dict(gloves=1, rate_hz=200, window=True, target=None,
                   label="one glove, 16 ch x 200 Hz, live window at 30 fps (TkAgg blitting)"),
}
TARGET_CORE_PCT = CASES["200"]["target"]
WINDOW_FPS = 30.0
WARM_UP_S = 2.0              # every glove's samples before the measurement starts
WINDOW_WARM_FRAMES = 15      # frames the window draws before its measurement starts
# The runner gives this module 120 s + `seconds` in all (benchmarks/__main__.py): with
# every row and its baseline the measurements share that time, each at most `seconds`.
CHILD_OVERHEAD_S = 6.5       # start, imports, the simulated glove's boot, the warm-up
BUDGET_MARGIN_S = 25.0
XVFB_SCREEN = "1600x1000x24"


# --- the chains -------------------------------------------------------------------------
def reference_class():
    """ReferencePipeline (today's numpy chain) when the package has it, else None."""
    from massage_glove.signal import pipeline as pl
    return getattr(pl, "ReferencePipeline", None)


def _baseline_settings(settings):
    """The baseline's settings: the same, with the fast alert path off where it exists
    (today's chain has none)."""
    if settings is not None and any(f.name == "fast_alert_samples" for f in dataclasses.fields(settings)):
        return dataclasses.replace(settings, fast_alert_samples=0)
    return settings


def chain_factory(which: str):
    """(SessionOptions.pipeline_factory, description) for "new" or "baseline"."""
    from massage_glove.signal import Pipeline
    if which == "new":
        return None, "Pipeline"
    if which != "baseline":
        raise ValueError(f"chain {which!r}: expected 'new' or 'baseline'")
    ref = reference_class()
    if ref is None:
        return None, ("Pipeline (this checkout has no ReferencePipeline: the baseline runs "
                      "the same chain as the new rows)")

    def make(*args, settings=None, **kw):
        return ref(*args, settings=_baseline_settings(settings), **kw)
    return make, "ReferencePipeline (today's numpy chain, fast alert path off)"


# --- /proc --------------------------------------------------------------------------------
def _thread_key(name: str) -> str:
    """A thread's name without what varies from run to run (the log file's name)."""
    return name.split(" ", 1)[0] if name.startswith("session-log") else name


def _threads_cpu() -> dict[str, float]:
    """CPU seconds per live thread of this process, by thread name."""
    out: dict[str, float] = {}
    for t in threading.enumerate():
        tid = t.native_id
        if tid is None:
            continue
        try:
            k = _thread_key(t.name)
            out[k] = out.get(k, 0.0) + common.cpu_s("self", tid)
        except OSError:
            pass
    return out


def _loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def _pids_cpu(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += common.cpu_s(pid)
        except OSError:
            pass
    return total


# --- a private display for the window -------------------------------------------------------
class _Display:
    """DISPLAY as it is, or a private Xvfb server for the measurement (stopped on exit)."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.where = os.environ.get("DISPLAY")

    def __enter__(self) -> "_Display":
        if self.where:
            return self
        exe = shutil.which("Xvfb")
        if exe is None:
            raise RuntimeError("no DISPLAY and no Xvfb (Debian: apt-get install xvfb)")
        for n in range(90, 140):
            if os.path.exists(f"/tmp/.X{n}-lock") or os.path.exists(f"/tmp/.X11-unix/X{n}"):
                continue
            p = subprocess.Popen([exe, f":{n}", "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            end = time.monotonic() + 10
            while time.monotonic() < end and p.poll() is None and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
                time.sleep(0.05)
            if p.poll() is None and os.path.exists(f"/tmp/.X11-unix/X{n}"):
                self.proc = p
                self.where = f":{n}"
                os.environ["DISPLAY"] = self.where
                return self
            p.kill()
            p.wait()
        raise RuntimeError("could not start Xvfb on any display :90..:139")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            os.environ.pop("DISPLAY", None)


# --- one measurement, in this process -------------------------------------------------------
def measure(case: str, chain: str = "new", seconds: float = 20.0, seed: int = 2) -> dict:
    """One row's figures: `case` (CASES) with the `chain` ("new" or "baseline")."""
    from massage_glove.link import GloveLink
    from massage_glove.live.session import LiveSession, SessionOptions
    from massage_glove.sim import scripts
    from massage_glove.urlhandlers.protocol_sim import _RateSim

    c = CASES[case]
    factory, chain_name = chain_factory(chain)
    rate = c["rate_hz"]
    sims, links = [], []
    box: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as logdir, \
            (_Display() if c["window"] else _NoDisplay()) as disp:
        try:
            for i in range(c["gloves"]):
                script = scripts.routine_script(seed=seed + i, lead_in_s=2.0)
                sim = _RateSim(script, mode="realtime", rate_hz=rate,
                               glove_id="sim-glove" if i == 0 else f"sim-glove-{i + 1}")
                sim.start()
                sims.append(sim)
                links.append(GloveLink.open(sim.port))
            if any(int(l.info.rate_hz) != rate for l in links):
                raise RuntimeError(f"the simulated glove did not start at {rate} Hz")
            chosen = {} if factory is None else {"pipeline_factory": factory}
            opts = SessionOptions(region="paraspinals", log_dir=logdir, bell=False, buzz=False,
                                  **chosen)
            session = LiveSession(links, opts).start()
            view = None
            try:
                if c["window"]:
                    from massage_glove.live.view_mpl import MplView
                    from massage_glove.live.views import load_gui_backend
                    name, why = load_gui_backend()
                    if name is None:
                        raise RuntimeError(f"no GUI backend on {disp.where}: {why}")
                    view = MplView(session, fps=WINDOW_FPS)
                    box["backend"] = name
                    meter = threading.Thread(target=_meter, name="bench-meter", daemon=True,
                                             args=(session, sims, seconds, rate, box, view, disp))
                    meter.start()
                    view.run()              # the main thread draws until the session stops
                    meter.join(timeout=30)
                else:
                    _meter(session, sims, seconds, rate, box, None, disp)
            finally:
                session.close()
        finally:
            for l in links:
                l.close()
            for s in sims:
                s.close()
    if "error" in box:
        raise RuntimeError(box["error"])
    by_thread = box["by_thread_core_pct"]
    relay = sum(v for k, v in by_thread.items() if k in SIM_THREADS)
    out = {
        "case": case, "label": c["label"], "chain": chain, "chain_class": chain_name,
        "gloves": c["gloves"], "rate_hz": rate, "channels": 16,
        **{k: v for k, v in box.items() if k != "by_thread_core_pct"},
        "sim_relay_core_pct": relay,
        "session_core_pct": box["process_core_pct"] - relay,
        "by_thread_core_pct": by_thread,
        "target_core_pct": c["target"],
        "clock_tick_s": 1.0 / common.CLK_TCK,
    }
    if c["window"]:
        out["window_core_pct"] = by_thread.get("MainThread", 0.0)
    return out


class _NoDisplay:
    where = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def _meter(session, sims, seconds, rate, box, view, disp) -> None:
    """Wait for the warm-up, measure `seconds`, stop the session (which closes a window)."""
    try:
        end = time.monotonic() + 60
        need = int(WARM_UP_S * rate)
        while min(g.samples for g in session.gloves) < need and time.monotonic() < end \
                and session.running:
            time.sleep(0.02)
        if min(g.samples for g in session.gloves) < need:
            raise RuntimeError(f"the simulated glove sent {min(g.samples for g in session.gloves)} "
                               f"samples in 60 s: {session.problems()}")
        if view is not None:
            # the window's first full draws are not the steady state
            end = time.monotonic() + 20
            while view.frames < WINDOW_WARM_FRAMES and time.monotonic() < end and session.running:
                time.sleep(0.02)
        pids = [s.proc.pid for s in sims if s.proc is not None]
        xpid = [disp.proc.pid] if getattr(disp, "proc", None) is not None else []
        la0 = _loadavg()
        th0, p0, s0, x0 = _threads_cpu(), common.cpu_s(), _pids_cpu(pids), _pids_cpu(xpid)
        n0 = [g.samples for g in session.gloves]
        lost0 = [g.link.stats.lost_samples for g in session.gloves]
        f0 = view.frames if view is not None else 0
        w0 = time.perf_counter()
        time.sleep(seconds)
        wall = time.perf_counter() - w0
        th1, p1, s1, x1 = _threads_cpu(), common.cpu_s(), _pids_cpu(pids), _pids_cpu(xpid)
        n1 = [g.samples for g in session.gloves]
        lost1 = [g.link.stats.lost_samples for g in session.gloves]
        f1 = view.frames if view is not None else 0
        box.update({
            "seconds": wall,
            "samples": sum(n1) - sum(n0),
            "samples_per_s": (sum(n1) - sum(n0)) / wall,
            "lost_samples": sum(lost1) - sum(lost0),
            "process_core_pct": 100.0 * (p1 - p0) / wall,
            "glove_core_pct": 100.0 * (s1 - s0) / wall,
            "by_thread_core_pct": {k: 100.0 * (th1[k] - th0.get(k, 0.0)) / wall for k in th1},
            "rss_kb": common.rss_kb(),
            "loadavg_start": la0, "loadavg_end": _loadavg(),
        })
        if view is not None:
            box.update({"fps": (f1 - f0) / wall, "display": disp.where,
                        "xserver_core_pct": 100.0 * (x1 - x0) / wall if xpid else None})
    except Exception as e:      # reported by measure(); the session must still stop
        box["error"] = f"{type(e).__name__}: {e}"
    finally:
        session.stop()


# --- every row, each in a fresh process ---------------------------------------------------------
PLAN = (("200", "new"), ("200", "baseline"), ("two", "new"), ("two", "baseline"),
        ("1k", "new"), ("1k", "baseline"), ("window", "new"), ("window", "baseline"))


def _child(case: str, chain: str, seconds: float, timeout: float) -> dict:
    r = subprocess.run([sys.executable, "-m", "benchmarks.cpu_share", "--case", case, "--chain", chain,
                        "--seconds", f"{seconds:.3f}", "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return {"case": case, "chain": chain, "error": tail[:300]}
    return json.loads(lines[-1])


def run(seconds: float = 20.0, budget_s: float | None = None, plan=PLAN) -> dict:
    """Every row of CASES with its baseline; each measurement at most `seconds`, all of them
    within `budget_s` (default: what the runner allows, 120 s + seconds, less a margin)."""
    budget = (120.0 + seconds - BUDGET_MARGIN_S) if budget_s is None else budget_s
    each = max(1.0, min(seconds, budget / len(plan) - CHILD_OVERHEAD_S))
    t_end = time.monotonic() + budget + BUDGET_MARGIN_S - 5.0
    runs = []
    for case, chain in plan:
        left = t_end - time.monotonic()
        if left < each + 3.0:
            runs.append({"case": case, "chain": chain, "error": "not measured: out of time"})
            continue
        try:
            runs.append(_child(case, chain, each, timeout=left))
        except subprocess.TimeoutExpired:
            runs.append({"case": case, "chain": chain, "error": "not measured: out of time"})
    first = next((r for r in runs if r.get("case") == "200" and r.get("chain") == "new"), {})
    if "error" in first or not first:
        raise RuntimeError(f"the 200 Hz row was not measured: {first.get('error', 'not run')}")
    out = {k: first[k] for k in ("seconds", "rate_hz", "channels", "samples", "samples_per_s",
                                 "process_core_pct", "sim_relay_core_pct", "session_core_pct",
                                 "glove_core_pct", "by_thread_core_pct", "rss_kb", "clock_tick_s",
                                 "loadavg_start", "loadavg_end", "lost_samples")}
    out["target_core_pct"] = TARGET_CORE_PCT
    out["seconds_each"] = each
    out["runs"] = runs
    out["rows"] = rows(runs)
    return out


# --- the table ----------------------------------------------------------------------------------
def _f(x, nd=1) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def _la(r) -> str:
    a, b = r.get("loadavg_start"), r.get("loadavg_end")
    return f"load {a[0]:.2f} -> {b[0]:.2f}" if a and b else "load n/a"


def _row(measure, figure, value, baseline, target, ok) -> dict:
    """A row as benchmarks/__main__.py's table has them."""
    verdict = "—" if ok is None else ("PASS" if ok else "MISS")
    return {"measure": measure, "figure": figure, "value": value, "baseline": baseline,
            "target": target, "verdict": verdict}


def rows(runs: list[dict]) -> list[dict]:
    """One row per case: the new chain's figure beside the baseline's, target, verdict."""
    by = {(r.get("case"), r.get("chain")): r for r in runs}
    out = []
    for case, c in CASES.items():
        new, base = by.get((case, "new")), by.get((case, "baseline"))
        measure = f"CPU share of one core, live, whole process: {c['label']}"
        if new is None:
            continue
        if "error" in new:
            out.append({"measure": measure, "figure": "not measured", "value": None,
                        "baseline": new["error"][:160], "target": "", "verdict": "not measured"})
            continue
        if base is None or "error" in base:
            b = "baseline not measured" + (f" ({base['error'][:80]})" if base else "")
        else:
            b = (f"today's chain {_f(base['process_core_pct'])} %"
                 + (f" (window {_f(base.get('window_core_pct'))} %)" if c["window"] else "")
                 + f", {_la(base)}")
            if not base["chain_class"].startswith("ReferencePipeline"):
                b += "; same chain: no ReferencePipeline in this checkout"
        fig = f"{_f(new['process_core_pct'])} %"
        if c["window"]:
            fig += (f" (window {_f(new.get('window_core_pct'))} % at {_f(new.get('fps'))} fps"
                    + (f"; X server {_f(new.get('xserver_core_pct'))} %" if new.get("xserver_core_pct") is not None else "")
                    + ")")
        fig += (f"; sim relay {_f(new['sim_relay_core_pct'])} % of it, lost {new['lost_samples']}, "
                f"{_la(new)}")
        t = c["target"]
        out.append(_row(measure, fig, new["process_core_pct"], b,
                        f"<= {t:.0f} %" if t is not None else "none stated (stated)",
                        None if t is None else new["process_core_pct"] <= t))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per row (at most)")
    ap.add_argument("--case", choices=sorted(CASES), help="one measurement, in this process")
    ap.add_argument("--chain", choices=("new", "baseline"), default="new")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds for every measurement together (default: 95 s + --seconds)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON only")
    a = ap.parse_args(argv)
    if a.case:
        r = measure(a.case, a.chain, a.seconds)
    else:
        r = run(a.seconds, a.budget)
        if not a.json:
            for row in r["rows"]:
                print(f"{row['verdict']:>5}  {row['measure']}: {row['figure']}  [baseline {row['baseline']}; "
                      f"target {row['target']}]", file=sys.stderr)
    print(json.dumps(r, indent=None if a.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
