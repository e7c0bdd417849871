"""`massage-glove calibrate` (known weights on each sensor) and `massage-glove learn` (band
edges from an instructor's demonstration). Procedure: calibration/README.md.

The measuring part is a small state machine fed sample blocks (`LoadReader`), so it runs
the same against a real glove, the simulated one or a recording; the command adds the
prompts and writes the file.
"""
from __future__ import annotations

import datetime as _dt
import logging
import sys
import time
from pathlib import Path

import numpy as np

from . import cliargs
from .errors import CalibrationError, GloveError
from .signal.calibration import calibration_path, fit_calibration, settled_reading_counts

log = logging.getLogger(__name__)

G = 9.80665                  # N per kg
RISE_COUNTS = 40             # a placed load raises the reading at least this much (a 20 g
                             # puck on an FSR 402 at 1.5 kOhm reads about +60 counts)
BASELINE_S = 0.5


class LoadReader:
    """Reads one load on one sensor: waits for it to be placed, takes the settled reading
    `hold_s` after placement (FSRs creep, so the time is the same for every load), then
    waits for it to be lifted.

    feed(counts) with the sensor's counts (1-D, in time order) returns how many of them it
    used; `state` goes "baseline" -> "waiting" -> "loaded" -> "lift" -> "done" (then it
    uses nothing more); `reading` is the result.
    """

    def __init__(self, rate_hz: float, hold_s: float, rise_counts: float = RISE_COUNTS):
        self.rate = rate_hz
        self.hold_s = hold_s
        self.rise = rise_counts
        self.state = "baseline"
        self._base: list[np.ndarray] = []
        self._n_base = 0
        self.baseline: float | None = None
        self._loaded: list[np.ndarray] = []
        self._n_loaded = 0
        self.reading: float | None = None

    def feed(self, counts: np.ndarray) -> int:
        c = np.asarray(counts, np.float64)
        i = 0
        if self.state == "baseline":
            total = max(1, int(round(BASELINE_S * self.rate)))
            take = c[:total - self._n_base]
            self._base.append(take)
            self._n_base += take.size
            i = take.size
            if self._n_base < total:
                return i
            self.baseline = float(np.median(np.concatenate(self._base)))
            self.state = "waiting"
        if self.state == "waiting":
            over = np.flatnonzero(c[i:] > self.baseline + self.rise)
            if not over.size:
                return c.size
            i += int(over[0])
            self.state = "loaded"
        if self.state == "loaded":
            need = int(round(self.hold_s * self.rate)) - self._n_loaded
            take = c[i:i + need]
            self._loaded.append(take)
            self._n_loaded += take.size
            i += take.size
            if take.size < need:
                return i
            self.reading = float(settled_reading_counts(np.concatenate(self._loaded), self.rate,
                                                        self.hold_s))
            self.state = "lift"
        if self.state == "lift":
            off = np.flatnonzero(c[i:] < self.baseline + self.rise / 2)
            if not off.size:
                return c.size
            i += int(off[0])
            self.state = "done"
        return i


class _Stream:
    """Sample blocks from the link, with what a reader did not use kept for the next one."""

    def __init__(self, link):
        self.link = link
        self.pending = np.zeros((0, len(link.info.channels)))

    def run(self, reader: LoadReader, column: int, target: str, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while reader.state != target:
            if not len(self.pending):
                if time.monotonic() > end:
                    raise CalibrationError(
                        f"nothing happened for {timeout_s:.0f} s (waiting: {reader.state}); start "
                        f"again, and place the load squarely on the sensor")
                block, _ = self.link.read(timeout=0.1)
                self.pending = np.asarray(block.counts, np.float64)
                continue
            used = reader.feed(self.pending[:, column])
            self.pending = self.pending[used:]


def run_calibration(link, sensors: list[str], loads_n: list[float], hold_s: float, *,
                    auto: bool = True, say=print, ask=input, timeout_s: float = 120.0) -> dict:
    """Guide the person through every sensor and load; returns {sensor: [mean counts]}."""
    info = link.info
    names = [c.name for c in info.channels]
    readings: dict[str, list[float]] = {}
    stream = _Stream(link)
    for s in sensors:
        col = names.index(s)
        readings[s] = []
        for w in loads_n:
            grams = w / G * 1000.0
            reader = LoadReader(info.rate_hz or link.rate_hz, hold_s)
            say(f"{s}: hands off the sensor...")
            stream.run(reader, col, "waiting", timeout_s)
            say(f"{s}: place {grams:.0f} g ({w:.2f} N) on it now and leave it for {hold_s:.0f} s"
                + ("" if auto else ", then press Enter"))
            if not auto:
                try:
                    ask("")
                except EOFError:
                    raise CalibrationError("no keyboard to press Enter on (input is closed): "
                                           "run it in a terminal, or add --auto") from None
            stream.run(reader, col, "lift", timeout_s)
            say(f"{s}: {reader.reading:.1f} counts under {w:.2f} N. Lift it off.")
            stream.run(reader, col, "done", timeout_s)
            readings[s].append(reader.reading)
    return readings


def cmd_calibrate(args) -> int:
    from .link import GloveLink
    try:
        grams = [float(x) for x in args.weights_g.split(",") if x.strip()]
    except ValueError:
        grams = []
    if len(grams) < 3 or any(not g > 0 for g in grams) or len(set(grams)) != len(grams):
        raise GloveError(f"--weights-g {args.weights_g!r}: give at least three different "
                         f"positive weights in grams, separated by commas, e.g. 100,200,500,1000")
    loads = sorted(g / 1000.0 * G for g in grams)
    link = GloveLink.open(args.port)
    try:
        names = [c.name for c in link.info.channels]
        sensors = names if args.sensors == "all" else [s.strip() for s in args.sensors.split(",")]
        bad = [s for s in sensors if s not in names]
        if bad:
            raise GloveError(f"no sensor {', '.join(bad)} on glove {link.info.glove_id}: "
                             f"it has {', '.join(names)}")
        link.start()
        say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
        say(f"calibrating glove {link.info.glove_id}: {len(sensors)} sensors x {len(loads)} loads, "
            f"each read {args.hold_s:.0f} s after placing it")
        readings = run_calibration(link, sensors, loads, args.hold_s, auto=args.auto, say=say,
                                   timeout_s=args.timeout)
        link.stop()
    finally:
        link.close()
    cal = fit_calibration(link.info, loads, readings, model=args.model, loading_time_s=args.hold_s,
                          date=_dt.date.today().isoformat(),
                          note=f"{len(loads)} loads per sensor ({args.weights_g} g), "
                               f"read {args.hold_s:g} s after placing")
    out = Path(args.out) if args.out else calibration_path(link.info.glove_id, args.dir)
    cal.save(out)                                        # atomic: a temporary file, then rename
    worst = 0.0
    for c in cal.channels:
        if c.fit_error is not None:
            e = c.fit_error
            worst = max(worst, e.max_pct)
            flag = "  <- check the mounting and repeat" if e.max_pct > args.max_error_pct else ""
            print(f"{c.name:14s} {c.model:6s} fit error rms {e.rms_n:.2f} N ({e.rms_pct:.1f} %), "
                  f"max {e.max_n:.2f} N ({e.max_pct:.1f} %){flag}")
    print(f"wrote {out}", file=sys.stderr)
    return 0 if worst <= args.max_error_pct else 1


def cmd_learn(args) -> int:
    from .log import load
    from .review.report import Session
    from .signal import default_profile_set, learn_profile, save_profile
    from .signal.profiles import check_demonstration
    slog = load(args.log)
    S = Session(slog)
    regions = [r if r is not None else "" for r in S.region.tolist()]
    try:
        prof = learn_profile(S.force, regions, S.device.channels, S.ps, rate_hz=S.rate,
                             name=args.name or Path(args.log).stem, source=str(args.log))
    except ValueError as e:          # a region in the log that the regions data does not know
        raise GloveError(f"{args.log}: {e}; the regions data knows "
                         f"{', '.join(sorted(S.ps.regions))}") from None
    if not prof.regions:
        raise GloveError(f"{args.log}: no region was worked long enough to learn from "
                         f"(the demonstration needs region changes and contact in each region)")
    problems = check_demonstration(S.force, regions, S.device.channels, prof, S.ps, rate_hz=S.rate)
    if problems:
        raise GloveError(f"{args.log} is not a demonstration to learn from: " + "; ".join(problems)
                         + ". Record an instructor working each region as taught (learn wrote nothing)")
    out = Path(args.out or f"profiles/{args.name or Path(args.log).stem}.json")
    save_profile(prof, out)
    ps = default_profile_set()
    print(f"{'region':18s} {'class':7s} {'learned edges (N)':>24s}   {'default edges (N)':>22s}"
          f"   {'limit learned / default':>24s}")
    for region, classes in prof.regions.items():
        top = ps.regions[region].max_band
        for cls, e in classes.items():
            d = ps.classes[cls].edges_n
            print(f"{region:18s} {cls:7s} {' '.join(f'{x:7.2f}' for x in e.edges_n):>24s}   "
                  f"{' '.join(f'{x:6.1f}' for x in d):>22s}   "
                  f"{e.edges_n[top]:9.2f} N / {d[top]:5.1f} N")
    print(f"wrote {out}; use it with `massage-glove live --profile {out}`", file=sys.stderr)
    return 0


def register(sub) -> None:
    s = sub.add_parser("calibrate", help="fit each sensor's curve from known weights (calibration/README.md)")
    s.add_argument("--port", required=True)
    s.add_argument("--weights-g", default="100,200,500,1000,2000",
                   help="the loads in grams, puck included (default 100,200,500,1000,2000)")
    s.add_argument("--sensors", default="all", help="comma-separated channel names (default: all)")
    s.add_argument("--hold-s", type=cliargs.seconds, default=10.0,
                   help="read each load this long after placing it (default 10 s, the same for every load)")
    s.add_argument("--auto", action="store_true", help="detect placing and lifting; no Enter needed")
    s.add_argument("--model", choices=("power", "pchip"), default="power")
    s.add_argument("--dir", default="calibration", help="where <glove-id>.json goes")
    s.add_argument("--out", help="write here instead")
    s.add_argument("--max-error-pct", type=cliargs.percent, default=10.0,
                   help="warn (and exit 1) when a sensor's largest fit error exceeds this")
    s.add_argument("--timeout", type=cliargs.seconds, default=120.0, help="give up waiting after this many seconds")
    s.set_defaults(func=cmd_calibrate)
    s = sub.add_parser("learn", help="band edges per region from an instructor's demonstration log")
    s.add_argument("log", type=cliargs.existing_file)
    s.add_argument("--name", help="profile name (default: the log's name)")
    s.add_argument("--out", help="where to write it (default profiles/NAME.json)")
    s.set_defaults(func=cmd_learn)
