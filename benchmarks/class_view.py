"""The class view at scale: 12 and 30 simulated trainees on loopback LSL.

Trainees: a recorded session (the demo routine by a heavy simulated trainee, recorded by
`massage-glove live` on sim://, the real firmware free-running) replayed live by N
ReplaySessions, each with its own LSL outlets under its own name and start offset, all in
one publisher process (the recorded chain runs at about 200x real time, so replays are
what two cores allow for 30 trainees; simulated gloves in real time would need 30
MicroPython processes). The class view (LslClass: discovery, inlets, the tile model) runs
in this process and draws the terminal version at its frame rate (data/classview.json).

Figures, over `seconds` after every trainee has a tile:

* class view CPU share: CPU seconds of this process (pulling, model, drawing) / wall time,
  in % of one core; beside it the publisher process (the N trainees' apps together);
* alert-to-tile delay: for every alert marker, the LSL clock when the first frame that
  shows it was drawn minus the moment the trainee's app had the alert (the marker's
  `lsl_sent`, the same clock on loopback); p50 / p99. Also from the alerting sample's
  timestamp (which includes a replay's own pacing lag when the publisher is short of CPU);
* the trainee's own alert delay (true crossing to alert, the simulated glove in real time,
  benchmarks.alert_delay) measured in the same run, for the side-by-side row.

    python -m benchmarks.class_view [--trainees 12,30] [--seconds 20] [--json]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import common

ROOT = Path(__file__).resolve().parent.parent
SIM_URL = "sim://?trainee=heavy&seed=3&routine=demo&mode=free"


def record(directory: Path) -> str:
    from massage_glove import cli
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["live", "--port", SIM_URL, "--routine", "demo", "--headless", "--json",
                       "--no-bell", "--log-dir", str(directory), "--trainee", "bench"])
    if rc:
        raise RuntimeError("recording the heavy trainee's session failed")
    return json.loads(buf.getvalue())["gloves"][0]["log"]


def publish(log_path: str, n: int) -> None:
    """Publisher process: n trainees until stdin closes."""
    from massage_glove.classview.trainees import Trainee
    from massage_glove.log import load
    slog = load(log_path)
    dur = float(slog.samples.t_device_s[-1] - slog.samples.t_device_s[0])
    # start offsets across the routine (after the hands-off lead-in), so alerts keep coming
    first = min(e.t_device_s for e in slog.events if e.kind == "stage") - float(slog.samples.t_device_s[0])
    span = max(1.0, dur - first - 30.0)
    trainees = [Trainee(slog, f"trainee {i + 1:02d}", start_s=first + (i * span / n) % span).start()
                for i in range(n)]
    while not all(t.session.position_s() >= t.start_s for t in trainees):
        time.sleep(0.1)
    print("ready", flush=True)
    sys.stdin.read()
    for t in trainees:
        t.stop()


def measure_class(log_path: str, n: int, seconds: float, session: str) -> dict:
    from massage_glove.classview.model import SETTINGS
    from massage_glove.classview.render import render_text
    from massage_glove.classview.source import LslClass
    env = dict(os.environ, MASSAGE_GLOVE_LSL_SESSION=session)
    pub = subprocess.Popen([sys.executable, "-m", "benchmarks.class_view", "--publish", str(n),
                            "--log", log_path], cwd=ROOT, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = pub.stdout.readline()
        if "ready" not in line:
            raise RuntimeError("the publisher of simulated trainees did not start")
        src = LslClass().start()
        t_join = time.monotonic()
        while len(src.model.tiles) < n and time.monotonic() - t_join < 120:
            time.sleep(0.1)
        joined_s = time.monotonic() - t_join
        if len(src.model.tiles) < n:
            raise RuntimeError(f"only {len(src.model.tiles)} of {n} trainees found")
        time.sleep(2.0)
        fps = SETTINGS["fps"]
        period = 1.0 / fps
        seen = {k: len(t.alert_arrivals) for k, t in src.model.tiles.items()}
        delays, sample_delays, frames, lost_tiles = [], [], 0, 0
        c0, w0 = common.cpu_s("self"), time.monotonic()
        p0 = common.cpu_s(pub.pid)
        while time.monotonic() - w0 < seconds:
            t0 = time.monotonic()
            tiles = src.tiles()
            render_text(tiles, width=160, colour=True)
            drawn = src.now()
            lost_tiles = max(lost_tiles, sum(t.lost for t in tiles))
            with src.lock:
                for k, t in src.model.tiles.items():
                    new = t.alert_arrivals[seen.get(k, 0):]
                    seen[k] = len(t.alert_arrivals)
                    # from the moment the trainee's app had the alert (its LSL clock, the
                    # same as ours on loopback) to the frame that shows it
                    delays += [drawn - sent for _, _, _, sent in new]
                    sample_delays += [drawn - stamp for stamp, _, _, _ in new]
            frames += 1
            time.sleep(max(0.0, period - (time.monotonic() - t0)))
        wall = time.monotonic() - w0
        cpu = common.cpu_s("self") - c0
        pcpu = common.cpu_s(pub.pid) - p0
        src.close()
        return {"trainees": n, "seconds": wall, "frames": frames, "fps": frames / wall,
                "class_cpu_pct": 100.0 * cpu / wall, "publisher_cpu_pct": 100.0 * pcpu / wall,
                "joined_s": joined_s, "alert_to_tile_ms": {k: v * 1e3 if isinstance(v, float) else v
                                                           for k, v in common.summary(delays).items()},
                "alert_sample_to_tile_ms": {k: v * 1e3 if isinstance(v, float) else v
                                            for k, v in common.summary(sample_delays).items()},
                "max_lost_tiles": lost_tiles, "load_avg": os.getloadavg()}
    finally:
        if pub.poll() is None:
            try:
                pub.stdin.close()
                pub.wait(timeout=15)
            except Exception:
                pub.kill()
                pub.wait()


def run(trainees=(12, 30), seconds: float = 20.0, own_seconds: float = 20.0) -> dict:
    from massage_glove.lsl_config import use_loopback
    session = f"massage-glove-bench-{os.getpid()}"
    os.environ["MASSAGE_GLOVE_LSL_SESSION"] = session
    with tempfile.TemporaryDirectory(prefix="bench-class-") as d:
        use_loopback(session, d)
        log_path = record(Path(d))
        out = {"rows": [measure_class(log_path, n, seconds, session) for n in trainees]}
    from .alert_delay import measure
    own = measure(200, own_seconds)
    out["own_alert_delay"] = own
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trainees", default="12,30")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--own-seconds", type=float, default=20.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--publish", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--log", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.publish:
        from massage_glove.lsl_config import use_loopback
        use_loopback(os.environ["MASSAGE_GLOVE_LSL_SESSION"])
        publish(a.log, a.publish)
        return 0
    r = run(tuple(int(x) for x in a.trainees.split(",")), a.seconds, a.own_seconds)
    print(json.dumps(r, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
