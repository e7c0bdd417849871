"""`massage-glove replay LOG`: a recorded session played back through the live views.

The log's raw counts go through the same live signal chain as they did during the session
(the same calibration, tare, skill, receiver, region and technique at every sample, taken
from the log's header and its tare, region and stage events), so the alerts appear at
their moment, exactly as the trainee saw them. The view (window or terminal) is the live
one; the keys drive the playback:

    space  pause / play        , .  back / forward 10 s        - +  slower / faster (1x .. 16x)
    [ ]    previous / next moment of the timeline (alert, stage, mark)
    0-9    jump to that tenth of the session                    q    quit

Seeking runs the chain from the start of the log to the new position as fast as it goes
(the chain's state, e.g. the warm-up and too-much episodes, depends on everything before),
then plays on from there.

When each region applies (as in live/session.py): a region the routine set on the first
glove applies from the sample it was logged at; a region chosen by a key (or set on a
second glove) from the sample after. A tare's offsets apply from the last sample of its
quiet window on (before the first tare, forces read from the unloaded curve, as live).
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path

import numpy as np

from .errors import GloveError
from .link import LinkStats
from .live.session import LiveSession, SessionOptions, _Glove
from .live.state import AlertView
from .samples import SampleBlock
from .signal import Pipeline

log = logging.getLogger(__name__)

SPEEDS = (1.0, 2.0, 4.0, 8.0, 16.0)
SEEK_STEP_S = 10.0
CHUNK_S = 0.02                  # device seconds handed to the chain per step while playing
FAST_CHUNK_S = 0.5              # the same without pacing (realtime=False)
REPLAY_CONTROLS = ((" ", "pause"), (",", "-10s"), (".", "+10s"), ("-", "slower"),
                   ("+", "faster"), ("[", "previous"), ("]", "next"), ("0-9", "jump"),
                   ("q", "quit"))


class LogLink:
    """The parts of GloveLink a LiveSession uses, for a recording (no wire, no commands)."""

    def __init__(self, slog):
        self.slog = slog
        self.info = slog.device
        self.url = str(slog.path)
        self.stats = LinkStats()
        self.serial_port = None
        self.device_t0_us = 0
        self.connected = True

    @property
    def rate_hz(self) -> float:
        return float(self.slog.header.get("rate_hz") or self.info.rate_hz)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass

    def set_limits(self, counts) -> None:
        pass

    def buzz(self, ms, hand="all") -> None:
        pass


@dataclasses.dataclass(frozen=True)
class _Change:
    """Something the session changed at a device time, applied from sample index `at`."""
    at: int
    kind: str                 # "region" | "stage" | "tare"
    fields: dict


def _changes(slog, glove_index: int, rate_hz: float, tare_window_s: float) -> list[_Change]:
    t = np.asarray(slog.samples.t_device_s, np.float64)
    out = []
    for e in slog.events:
        if e.kind not in ("region", "stage", "tare", "mark"):
            continue
        if e.t_device_s is None:
            at = 0
        elif e.kind == "tare":
            # the session zeroes on the side and applies the offsets from the block that
            # completed the quiet window: here, from the window's last sample (hands off,
            # so a few samples either way change no band)
            at = int(np.searchsorted(t, e.t_device_s - 0.5e-6, "left"))
        elif (e.fields.get("source") == "routine" or e.kind == "stage") and glove_index == 0:
            at = int(np.searchsorted(t, e.t_device_s - 0.5e-6, "left"))
        else:
            at = int(np.searchsorted(t, e.t_device_s + 0.5e-6, "left"))
        out.append(_Change(at, e.kind, dict(e.fields)))
    # stable: same-index changes keep their log order
    return sorted(out, key=lambda c: c.at)


class ReplaySession(LiveSession):
    """A LiveSession fed from a log at `speed`, with pause and seek (see the module docstring)."""

    def __init__(self, slog, *, speed: float = 1.0, start_s: float = 0.0, profile_set=None,
                 window_s: float = 10.0, realtime: bool = True):
        from .live.routine import load_routine
        from .review.report import _calibration
        h = slog.header
        if not len(slog.samples):
            raise GloveError(f"{slog.path}: the log holds no samples to replay")
        extra = h.get("extra") if isinstance(h.get("extra"), dict) else {}
        self.notes: list[str] = list(slog.problems)
        routine = None
        if extra.get("routine"):
            try:
                routine = load_routine(str(extra["routine"]))
            except GloveError as e:
                self.notes.append(f"the routine {extra['routine']!r} of the log is not known here ({e})")
        if h.get("profile") not in (None, "default") and profile_set is None:
            self.notes.append(f"the session used the learned profile {h.get('profile')!r}: give it with "
                              f"--profile to replay its band edges (default edges used)")
        sens = h.get("sensitivity")
        skill = h.get("skill_level") or "trained"
        opts = SessionOptions(trainee=str(h.get("trainee", "trainee")), skill=skill,
                              sensitivity=float(sens) if isinstance(sens, (int, float)) and sens > 0 else "normal",
                              routine=routine, profile_set=profile_set, log=False, bell=False,
                              buzz=False, window_s=window_s)
        self.slog = slog
        self.link = LogLink(slog)
        super().__init__([self.link], opts)
        self.session_id = str(extra.get("session_id") or self.session_id)
        self.calibration = _calibration(slog, self.notes)
        glove_ids = extra.get("gloves") if isinstance(extra.get("gloves"), list) else []
        self.glove_index = glove_ids.index(slog.device.glove_id) if slog.device.glove_id in glove_ids else 0
        self.speed = float(speed)
        self.realtime = realtime
        self.play_paused = False
        self.t = np.asarray(slog.samples.t_device_s, np.float64)
        self.t_first = float(self.t[0])
        self.duration_s = float(self.t[-1] - self.t_first)
        rate = self.gloves[0].pipeline.rate_hz
        self.changes = _changes(slog, self.glove_index, rate, self.opt.tare_s)
        self.moments = sorted({float(e.t_device_s) - self.t_first for e in slog.events
                               if e.kind in ("alert", "stage", "mark") and e.t_device_s is not None})
        self.replayed: list[dict] = []      # every alert of the chain: rule, sensor, device time
        self._seek_to: float | None = max(0.0, float(start_s)) if start_s else None
        self._pos = 0                        # next sample index
        self._ci = 0                         # next change
        self._fresh_glove()
        self.done = False

    # --- the chain ------------------------------------------------------------------------
    def _fresh_glove(self) -> None:
        """A new chain state for the glove (playback from the start)."""
        old = self.gloves[0]
        pipe = Pipeline(old.info, self.calibration, self.profile_set, skill=self.opt.skill,
                        sensitivity=self.opt.sensitivity, settings=old.pipeline.settings)
        g = _Glove(0, self.link, pipe, self.calibration, old.ring_t.shape[0])
        g.t0_dev, g.t0_sess, g.tared = self.t_first, 0.0, True
        with self._lock:
            self.alerts.clear()
            self.all_alerts = []
            self.marks = 0
            self.stage_index = None
            self.routine_done = False
            self.routine_t = 0.0
        self.replayed = []
        self.summary = type(self.summary)(pipe.rate_hz)
        self.gloves = [g]
        self._pos = 0
        self._ci = 0
        self._stage_start_t = 0.0

    def _apply(self, g: _Glove, c: _Change) -> None:
        f = c.fields
        t_dev = float(self.t[min(c.at, len(self.t) - 1)])
        if c.kind == "tare":
            if f.get("ok") and isinstance(f.get("offsets_s"), list) and len(f["offsets_s"]) == g.n_ch:
                g.pipeline.tare_s = np.asarray(f["offsets_s"], np.float64)
        elif c.kind == "region":
            r = f.get("region")
            if r is not None and r not in self.profile_set.regions:
                self.notes.append(f"region {r!r} of the log is not in the regions data: checked without a region")
                r = None
            g.pipeline.set_region(r)
            with self._lock:
                self.region = r
        elif c.kind == "mark":
            with self._lock:
                self.marks += 1
        elif c.kind == "stage":
            tech = f.get("technique")
            g.pipeline.set_technique(tech if tech in self.profile_set.techniques else None)
            if self.routine is not None:
                ids = [s.id for s in self.routine.stages]
                if f.get("stage") == "end":
                    self.routine_done = True
                elif f.get("stage") in ids:
                    self.stage_index = ids.index(f["stage"])
                    self._stage_start_t = t_dev
                    self.routine_t = self.routine.starts()[self.stage_index]
        self._tap("on_event", g, c.kind, t_dev, f)

    def _feed(self, g: _Glove, j: int) -> None:
        """Samples _pos..j-1 through the chain, cut where the log's changes apply."""
        s = self.slog.samples
        while self._pos < j:
            while self._ci < len(self.changes) and self.changes[self._ci].at <= self._pos:
                self._apply(g, self.changes[self._ci])
                self._ci += 1
            nxt = self.changes[self._ci].at if self._ci < len(self.changes) else j
            b = min(j, max(nxt, self._pos + 1))
            block = s.slice(self._pos, b)
            self._pos = b
            g.t_sess = float(block.t_device_s[-1]) - self.t_first
            g.samples += len(block)
            if self.routine is not None and self.stage_index is not None and not self.routine_done:
                st = self.routine.starts()[self.stage_index]
                self.routine_t = st + float(block.t_device_s[-1]) - self._stage_start_t
            self._process(g, block)

    def _on_alert(self, g, a, t_sess: float) -> None:
        super()._on_alert(g, a, t_sess)
        self.replayed.append({"rule": a.rule, "sensor": a.sensor, "t_device_s": float(a.t_s),
                              "severity": a.severity, "text": a.text})

    def run_to_end(self) -> list[dict]:
        """The whole log through the chain at once (no pacing); the alerts it gives."""
        self._feed(self.gloves[0], len(self.t))
        self.done = True
        return self.replayed

    # --- playback -------------------------------------------------------------------------
    def start(self) -> "ReplaySession":
        t = threading.Thread(target=self._play, name="replay", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def position_s(self) -> float:
        return float(self.t[min(self._pos, len(self.t) - 1)]) - self.t_first if self._pos else 0.0

    def _play(self) -> None:
        try:
            wall0, pos0 = time.monotonic(), 0.0
            while not self._stop.is_set():
                if self._seek_to is not None:
                    target, self._seek_to = self._seek_to, None
                    self._do_seek(target)
                    wall0, pos0 = time.monotonic(), self.position_s()
                if self.play_paused or self._pos >= len(self.t):
                    if self._pos >= len(self.t) and not self.done:
                        self.done = True
                    wall0, pos0 = time.monotonic(), self.position_s()
                    self._stop.wait(0.05)
                    continue
                if self.realtime:
                    target = pos0 + (time.monotonic() - wall0) * self.speed
                else:
                    target = self.position_s() + FAST_CHUNK_S
                j = int(np.searchsorted(self.t, self.t_first + target, "right"))
                if j > self._pos:
                    self._feed(self.gloves[0], j)
                self._stop.wait(CHUNK_S / 2 if self.realtime else 0.0)
        except Exception as e:
            log.exception("replay failed")
            self.gloves[0].problem = f"the replay stopped on an internal error ({e})"
            self._stop.set()

    def _do_seek(self, target_s: float) -> None:
        target_s = min(max(0.0, target_s), self.duration_s)
        if target_s < self.position_s() or self._pos == 0:
            self._fresh_glove()
        j = int(np.searchsorted(self.t, self.t_first + target_s, "right"))
        g = self.gloves[0]
        taps, self.opt.taps = self.opt.taps, ()     # nothing streams while seeking
        try:
            self._feed(g, j)           # as fast as the chain goes
        finally:
            self.opt.taps = taps
        self._tap("on_event", g, "note", float(self.t[max(0, min(j, len(self.t)) - 1)]),
                  {"text": f"replay seek to {target_s:.1f} s"})

    def seek(self, t_s: float) -> None:
        self._seek_to = float(t_s)

    def key(self, k: str) -> None:
        if not k:
            return
        if k in ("q", "escape"):
            self._quit = True
            self.stop()
        elif k == " ":
            self.play_paused = not self.play_paused
        elif k == ",":
            self.seek(self.position_s() - SEEK_STEP_S)
        elif k == ".":
            self.seek(self.position_s() + SEEK_STEP_S)
        elif k in ("+", "="):
            self.speed = next((s for s in SPEEDS if s > self.speed), SPEEDS[-1])
        elif k == "-":
            self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0])
        elif k == "]":
            now = self.position_s()
            later = [m for m in self.moments if m > now + 0.5]
            if later:
                self.seek(later[0] - 1.0)
        elif k == "[":
            now = self.position_s()
            earlier = [m for m in self.moments if m < now - 1.5]
            if earlier:
                self.seek(earlier[-1] - 1.0)
        elif k.isdigit():
            self.seek(self.duration_s * int(k) / 10.0)

    def wait(self, duration_s: float | None = None, poll_s: float = 0.05) -> None:
        while self.running and not self.done:
            if duration_s is not None and self.position_s() >= duration_s:
                break
            time.sleep(poll_s)
        self.stop()

    def close(self) -> dict:
        if self._closed:
            return self.result or {}
        self._closed = True
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5.0)
        self.result = self._summary()
        self.result["replay"] = {"log": str(self.slog.path), "position_s": round(self.position_s(), 3),
                                 "notes": list(self.notes)}
        return self.result

    def snapshot(self):
        s = super().snapshot()
        state = "PAUSED" if self.play_paused else f"{self.speed:g}x"
        if self.done:
            state = "END"
        status = (f"REPLAY {Path(self.slog.path).name}  {_clock(self.position_s())} / "
                  f"{_clock(self.duration_s)}  {state}  trainee {self.opt.trainee}")
        extra = dict(s.extra, controls=REPLAY_CONTROLS, replay=True)
        # the playback's state where a view always shows it: beside the region's rule
        note = status.split("  trainee")[0] + (f" - {s.region_note}" if s.region_note else "")
        return dataclasses.replace(s, region_keys=(), status=status, paused=self.play_paused,
                                   region_note=note, extra=extra)


def _clock(s: float) -> str:
    s = max(0.0, s)
    return f"{int(s // 60)}:{s % 60:04.1f}"


def logged_alerts(slog) -> list[dict]:
    """The alerts the session logged: rule, sensor and device time."""
    return [{"rule": e.fields.get("rule"), "sensor": e.fields.get("channel"),
             "t_device_s": float(e.t_device_s)} for e in slog.events
            if e.kind == "alert" and e.t_device_s is not None]


# --- the command ----------------------------------------------------------------------------

def register(sub) -> None:
    s = sub.add_parser("replay", help="play a recorded session back through the live view")
    s.add_argument("log", metavar="LOG", help="a session log (.mglog)")
    s.add_argument("--speed", type=float, default=1.0, help="1 .. 16 (keys - and + change it)")
    s.add_argument("--start", type=float, default=0.0, metavar="SECONDS",
                   help="start this far into the session (e.g. a time from the review's timeline)")
    s.add_argument("--profile", metavar="FILE", help="the learned profile the session used")
    s.add_argument("--headless", action="store_true", help="the terminal view")
    s.add_argument("--window", type=float, default=10.0, help="seconds of trace shown")
    s.add_argument("--lsl", action="store_true", help="also stream it to Lab Streaming Layer")
    s.add_argument("--json", action="store_true",
                   help="no view: run the whole log through the chain and print its alerts as JSON")
    s.set_defaults(func=cmd_replay)


def cmd_replay(args) -> int:
    import json
    import sys
    from .log import load
    if not 0.1 <= args.speed <= SPEEDS[-1]:
        raise GloveError(f"--speed {args.speed}: expected 0.1 .. {SPEEDS[-1]:g}")
    ps = None
    if args.profile:
        from .signal import default_profile_set, load_profile
        ps = default_profile_set().with_learned(load_profile(args.profile))
    slog = load(args.log)
    session = ReplaySession(slog, speed=args.speed, start_s=args.start, profile_set=ps,
                            window_s=args.window, realtime=not args.json)
    taps = ()
    if args.lsl:
        from .lsl import LslTap
        taps = session.opt.taps = (LslTap(session),)
    for n in session.notes:
        print(f"massage-glove: {n}", file=sys.stderr)
    try:
        if args.json:
            session.start()
            session.wait()
        else:
            from .live.views import choose_view
            session.start()
            choose_view(session, headless=args.headless).run()
    except KeyboardInterrupt:
        pass
    finally:
        summary = session.close()
        for tap in taps:
            tap.close()
    if args.json:
        print(json.dumps({"replayed": session.replayed, "logged": logged_alerts(slog),
                          "summary": summary}, indent=1))
    else:
        print(f"replayed {Path(args.log).name} to {_clock(session.position_s())}: "
              f"{len(session.replayed)} alerts", file=sys.stderr)
    return 0
