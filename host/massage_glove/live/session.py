"""A live practice session: one or two gloves, the signal chain, the log, alerts and the routine.

    session = LiveSession([link], trainee="ana", routine=load_routine("demo"))
    session.start()
    view = choose_view(session, headless=False); view.run()     # or: session.wait()
    summary = session.close()

Threads, so that drawing can never hold up samples or alerts:

* one acquisition thread per glove: read the link -> log the raw samples -> signal chain
  -> alerts (screen, bell, glove buzz) -> trace ring. It never waits on a command reply;
* one command thread per glove: glove buzzes and the glove's own hard limits, which are
  replies the glove must answer (a slow or absent reply delays a buzz, never a sample);
* the view (any thread) calls `snapshot()`, which copies the latest state under a short
  lock, and `key()` for the keyboard.

Time: session time is seconds since the session started, taken from each glove's own clock
(joined to the host clock at its first sample), so a routine and its countdown follow the
signal, not the screen. The routine clock stops while the session is paused; samples,
logging and alerts never stop.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import GloveError, LinkError, LogWriteError, TareError
from ..link import host_clock
from ..log import open_session_log
from ..samples import SampleBlock
from ..signal import Pipeline, default_profile_set
from ..signal.calibration import Calibration, load_for_glove
from ..signal.profiles import ProfileSet
from .routine import Routine
from ..signal.bands import BAND_TEXT, TOO_MUCH, UNKNOWN, classify_n
from ..signal.calibration import FAULT_BROKEN, FAULT_SATURATED
from .state import BANDS, AlertView, LiveSnapshot, SensorView, force_text

log = logging.getLogger(__name__)

# Keys that are not region keys (regions.json gives every region its own key).
KEY_PAUSE = " "
KEY_MARK = "m"
KEY_TARE = "z"
KEY_QUIT = "q"
# Tagged marks: what the receiver said (the review checks that force drops after "softer"
# and "ouch", seed 003: "soldiering on when they said 'softer'").
MARK_TAGS = {"-": "softer", "o": "ouch", "+": "good"}
CONTROL_KEYS = ((KEY_PAUSE, "pause / resume"), (KEY_MARK, "mark a moment"),
                ("-", "mark: receiver said softer"), ("o", "mark: receiver said ouch"),
                ("+", "mark: receiver said good"),
                (KEY_TARE, "zero the sensors (hands off)"), (KEY_QUIT, "quit"))

ALERT_SHOW_S = 6.0          # how long an alert stays in the snapshot once its episode is over
# Alerts that belong to the region they name: dropped from the snapshot when it changes.
REGION_BOUND = ("too_much", "over_limit", "over_limit_hand", "static_pressure", "percussion",
                "too_deep_too_fast", "hold_too_long")
BUZZ_MS = {"warning": 150, "danger": 400}
BUZZ_REPEAT_S = 1.0         # at most one buzz per glove and hand per this many seconds
BELL_REPEAT_S = 1.0
# --duration is session (glove) time; when the glove sends nothing the session still ends
# this long after it on the host's monotonic clock (engineering default: one stall period
# and a read or two of slack, so a glove that merely lags is not cut short).
DURATION_GRACE_S = 2.0


@dataclass
class SessionOptions:
    """How a session runs. Defaults are what `massage-glove live` uses."""
    trainee: str = "trainee"
    region: str | None = None            # starting region (a routine overrides it)
    skill: str = "trained"
    sensitivity: str | float = "normal"
    routine: Routine | None = None
    calibration_dir: str | Path | None = None
    profile_set: ProfileSet | None = None
    profile_name: str | None = None      # recorded in the log header
    log_dir: str | Path | None = None    # None: the sessions directory (log/paths.py)
    log: bool = True
    window_s: float = 10.0               # trace window of the view
    tare_s: float = 1.0                  # quiet time taken to zero the sensors
    tare_give_up_s: float = 8.0          # then go on without zeroing, and say so
    bell: bool = True                    # terminal bell on warning/danger alerts
    buzz: bool = True                    # buzz the glove on warning/danger alerts
    # When the routine clock starts, in the first glove's device seconds: None = when the
    # sensors have been zeroed; a callable(link) -> seconds is asked at the first sample.
    routine_start: object = None
    extra: dict = field(default_factory=dict)
    # Observers of the session (e.g. the LSL outlet, lsl.py): objects with on_result(g, block,
    # result), on_alert(g, alert, t_sess) and on_event(g_or_None, kind, t_dev, fields);
    # called in the acquisition thread, their failures are logged and never stop the session.
    taps: tuple = ()
    # The chain's class, or any callable with Pipeline's constructor (None: Pipeline). For
    # benchmarks that run the same session on another chain as their baseline
    # (benchmarks/cpu_share.py); the product always uses Pipeline.
    pipeline_factory: object = None


class _Glove:
    """Everything the session keeps for one glove (one link)."""

    def __init__(self, index: int, link, pipeline: Pipeline, calibration: Calibration | None,
                 ring_len: int):
        self.index = index
        self.link = link
        self.info = link.info
        self.pipeline = pipeline
        self.calibration = calibration
        self.label = link.info.glove_id
        n_ch = len(self.info.channels)
        self.n_ch = n_ch
        self.writer = None
        self.controls: queue.SimpleQueue = queue.SimpleQueue()   # callables run by the reader
        self.commands: queue.Queue = queue.Queue()                # (verb, args) for the glove
        self.lock = threading.Lock()
        # trace ring: session time and filtered force
        self.ring_t = np.full(ring_len, np.nan)
        self.ring_f = np.full((ring_len, n_ch), np.nan)
        self.ring_o = np.zeros((ring_len, n_ch), bool)      # over range
        self.ring_i = 0
        self.ring_n = 0
        self.last_band = np.full(n_ch, -1, np.int8)
        self.last_force = np.full(n_ch, np.nan)
        self.last_fault = np.zeros(n_ch, np.uint8)
        self.last_hand_band = np.full(len(pipeline.hands), -1, np.int8)
        self.last_inst = np.full(n_ch, -1, np.int8)     # band of the latest force itself
        self.held_t = np.full(n_ch, np.nan)              # session time last in the chain's band
        self.held_f = np.full(n_ch, np.nan)              # ... and the force then
        self.episodes: set = set()                       # the chain's episodes going on
        self.t0_dev: float | None = None     # device time of the first sample
        self.t0_sess = 0.0                   # session time of the first sample
        self.t_sess = 0.0                    # session time of the latest sample
        self.tared = False
        self.retare = False                  # a re-zero asked for (`z`), not done yet
        self.tare_pending: list[SampleBlock] = []
        self.tare_started: float | None = None
        self.samples = 0
        self.connected = True
        self.problem = ""
        self.notice = ""                     # what the trainee should do now (zeroing...)
        self.buzzed_at: dict[str, float] = {}
        self.region_pending: tuple | None = None   # a region set before the first sample
        self.hand_of = np.array([pipeline.hands.index(c.hand) for c in self.info.channels])
        # (n_ch, n_hands) bool: channel j belongs to hand h (a hand is on the body when any
        # of its sensors is: one matrix product per block for every hand)
        self.hand_mask = self.hand_of[:, None] == np.arange(len(pipeline.hands))[None, :]
        self.hand_of_list = self.hand_of.tolist()
        self.prof_rows: tuple = (None, [], [])     # (profile, contact_n, edges_n) as lists

    def session_time(self, t_dev: np.ndarray) -> np.ndarray:
        return t_dev - self.t0_dev + self.t0_sess

    def device_time_now(self) -> float | None:
        """Device time of the latest sample (None before the first)."""
        return None if self.t0_dev is None else self.t_sess - self.t0_sess + self.t0_dev

    def push_trace(self, t: np.ndarray, f: np.ndarray, over: np.ndarray | None = None) -> None:
        n = t.shape[0]
        L = self.ring_t.shape[0]
        o = np.zeros(f.shape, bool) if over is None else over
        if n >= L:
            t, f, o, n = t[-L:], f[-L:], o[-L:], L
        i = self.ring_i
        if n == 1 and i < L:
            # one sample (200 Hz): three element writes into the preallocated ring
            self.ring_t[i] = t[0]
            self.ring_f[i] = f[0]
            self.ring_o[i] = o[0]
            self.ring_i = (i + 1) % L
            self.ring_n = min(L, self.ring_n + 1)
            return
        first = min(n, L - i)
        self.ring_t[i:i + first] = t[:first]
        self.ring_f[i:i + first] = f[:first]
        self.ring_o[i:i + first] = o[:first]
        if first < n:
            self.ring_t[:n - first] = t[first:]
            self.ring_f[:n - first] = f[first:]
            self.ring_o[:n - first] = o[first:]
        self.ring_i = (i + n) % L
        self.ring_n = min(L, self.ring_n + n)

    def trace(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        L = self.ring_t.shape[0]
        if self.ring_n < L:
            k = self.ring_n
            return self.ring_t[:k].copy(), self.ring_f[:k].copy(), self.ring_o[:k].copy()
        idx = np.r_[self.ring_i:L, 0:self.ring_i]
        return self.ring_t[idx], self.ring_f[idx], self.ring_o[idx]


class BandSummary:
    """Running seconds per region and hand: on the body, and in each band while on the body.

    Kept as running sums updated once per block from a few counts (add_block): each sum
    grows by (samples counted in the block) x (sample period), the same additions in the
    same order as counting the block's samples with numpy per hand and band (add), so the
    two give bit-identical seconds (tests/live/test_session_bookkeeping.py).
    """

    def __init__(self, rate_hz: float):
        self.dt = 1.0 / rate_hz
        self.data: dict[str, dict] = {}

    def _hand(self, region: str | None, hand: str) -> dict:
        r = self.data.get(region or "none")
        if r is None:
            r = self.data[region or "none"] = {}
        h = r.get(hand)
        if h is None:
            h = r[hand] = {"seconds": 0.0, "on_body_s": 0.0, "in_allowed_s": 0.0,
                           "bands_s": {b: 0.0 for b in BANDS}, "fault_s": 0.0}
        return h

    def add(self, region: str | None, hand: str, on: np.ndarray, band: np.ndarray, allowed: int) -> None:
        """One hand's samples: on (n,) bool on the body, band (n,) int8 (-1 unknown)."""
        on = np.asarray(on, bool)
        band = np.asarray(band)
        counts = [int(((band == k) & on).sum()) for k in range(len(BANDS))]
        self._add(self._hand(region, hand), band.shape[0], int(on.sum()), counts,
                  int((band < 0).sum()), int(((band >= 0) & (band <= allowed) & on).sum()))

    def add_block(self, region: str | None, hands, on_hand: np.ndarray, band: np.ndarray,
                  allowed: int) -> None:
        """Every hand of one block: on_hand (n, n_hands) bool, band (n, n_hands) int8."""
        n = band.shape[0]
        if n <= 16:
            # a few samples (live blocks): count them in Python, cheaper than numpy calls
            self.add_rows(region, hands, on_hand.tolist(), band.tolist(), allowed)
            return
        for h, hand in enumerate(hands):
            self.add(region, hand, on_hand[:, h], band[:, h], allowed)

    def add_rows(self, region: str | None, hands, on_rows: list, band_rows: list,
                 allowed: int) -> None:
        """add_block() of rows as lists: on_rows[i][h] bool, band_rows[i][h] int."""
        n = len(band_rows)
        for h, hand in enumerate(hands):
            on_n = fault = allowed_n = 0
            counts = [0] * len(BANDS)
            for i in range(n):
                b = band_rows[i][h]
                if b < 0:
                    fault += 1
                elif on_rows[i][h]:
                    if b < len(counts):
                        counts[b] += 1
                    if b <= allowed:
                        allowed_n += 1
                on_n += on_rows[i][h]
            self._add(self._hand(region, hand), n, on_n, counts, fault, allowed_n)

    def _add(self, h: dict, n: int, on_n: int, counts: list, fault: int, allowed_n: int) -> None:
        dt = self.dt
        h["seconds"] += n * dt
        h["on_body_s"] += float(on_n) * dt
        bs = h["bands_s"]
        for k, name in enumerate(BANDS):
            bs[name] += float(counts[k]) * dt
        h["fault_s"] += float(fault) * dt
        h["in_allowed_s"] += float(allowed_n) * dt

    def region_seconds(self) -> dict:
        """{region: seconds a hand was on the body there} (the busier hand), for the live view."""
        out = {}
        for region, hands in list(self.data.items()):
            if region != "none":
                out[region] = max((h["on_body_s"] for h in list(hands.values())), default=0.0)
        return out

    def as_dict(self) -> dict:
        out = {}
        for region, hands in self.data.items():
            out[region] = {}
            for hand, h in hands.items():
                d = {k: (round(v, 3) if isinstance(v, float) else {b: round(x, 3) for b, x in v.items()})
                     for k, v in h.items()}
                d["pct_in_allowed"] = (round(100.0 * h["in_allowed_s"] / h["on_body_s"], 1)
                                       if h["on_body_s"] > 0 else None)
                out[region][hand] = d
        return out


class LiveSession:
    """A practice session on open GloveLinks (see the module docstring)."""

    def __init__(self, links: list, options: SessionOptions | None = None, *, clock=host_clock):
        if not links:
            raise GloveError("no glove to practise with")
        self.opt = o = options or SessionOptions()
        self.clock = clock
        self.profile_set = o.profile_set or default_profile_set()
        if o.region is not None and o.region not in self.profile_set.regions:
            raise GloveError(f"no region {o.region!r}: choose one of "
                             + ", ".join(self.profile_set.regions))
        self.session_id = uuid.uuid4().hex[:12]
        settings = self.profile_set.settings
        if o.routine is not None:
            # a routine states its own warm-up (the demonstration one is shortened)
            settings = dataclasses.replace(settings, warmup_s=o.routine.warm_up_s)
        self.gloves: list[_Glove] = []
        make_pipeline = o.pipeline_factory or Pipeline
        for i, link in enumerate(links):
            cal = load_for_glove(link.info, o.calibration_dir) if o.calibration_dir else None
            pipe = make_pipeline(link.info, cal, self.profile_set, skill=o.skill,
                                 sensitivity=o.sensitivity, settings=settings)
            ring = int(o.window_s * pipe.rate_hz * 1.25) + 16
            self.gloves.append(_Glove(i, link, pipe, cal, ring))
        self.stage_index: int | None = None
        self.routine = o.routine
        self.routine_t = 0.0
        self.routine_start_dev: float | None = None
        self._routine_last_dev: float | None = None
        self.routine_done = False
        self.paused = False
        self.marks = 0
        self.mark_times: list[float] = []
        self.alerts: deque = deque(maxlen=200)         # (AlertView without age, glove index)
        self.all_alerts: list[dict] = []
        self.summary = BandSummary(self.gloves[0].pipeline.rate_hz)
        self.t_start_host = clock()
        self._lock = threading.Lock()                   # session-wide state above
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._bell_at = 0.0
        self._quit = False
        self._closed = False
        self.result: dict | None = None

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> "LiveSession":
        o = self.opt
        extra = {"session_id": self.session_id, "gloves": [g.label for g in self.gloves],
                 "routine": o.routine.key if o.routine else None, **o.extra}
        for g in self.gloves:
            if o.log:
                # the calibration file used live (Calibration.source), embedded in the header
                cal = (g.calibration.source if g.calibration is not None
                       and g.calibration.source and Path(g.calibration.source).is_file() else None)
                g.writer = open_session_log(
                    g.info, trainee=o.trainee, directory=o.log_dir, calibration=cal,
                    profile=o.profile_name or "default", skill_level=o.skill,
                    sensitivity=self.profile_set.sensitivity_factor(o.sensitivity), extra=extra)
        try:
            for g in self.gloves:
                self._apply_region(g, o.region, "start", arm=False)
                self._arm_limits(g)
        except GloveError:
            self.close()
            raise
        for g in self.gloves:
            g.link.start()
            for target, name in ((self._acquire, "acquire"), (self._command_loop, "commands")):
                t = threading.Thread(target=target, args=(g,), name=f"{name}-{g.label}", daemon=True)
                t.start()
                self._threads.append(t)
        return self

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()

    def _arm_limits(self, g: _Glove) -> None:
        """Send the glove its own hard limits now, before its first sample: the safety net
        is armed whatever starts the session. A glove that refuses them is not used."""
        limits = g.pipeline.hard_limits_counts()
        try:
            g.link.set_limits(limits)
        except LinkError as e:
            raise GloveError(f"glove {g.label} did not accept its hard limits ({e}): not starting "
                             f"without the glove's own safety net") from None

    def wait(self, duration_s: float | None = None, poll_s: float = 0.1) -> None:
        """Block until the routine ends, `duration_s` of session time pass, or stop()."""
        t0 = time.monotonic()
        while self.running:
            if duration_s is not None and (
                    self.session_time() >= duration_s
                    or time.monotonic() - t0 >= duration_s + DURATION_GRACE_S):
                # session time is the glove's clock; a glove that sends nothing does not
                # move it, so the host's monotonic clock ends the session too (a little later)
                self.stop()
                break
            time.sleep(poll_s)

    def session_time(self) -> float:
        return max(g.t_sess for g in self.gloves)

    def close(self) -> dict:
        """Stop the gloves and the threads, close the logs; returns the session summary."""
        if self._closed:
            return self.result or {}
        self._closed = True
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5.0)
        for g in self.gloves:
            try:
                g.link.stop()
            except GloveError:
                pass
            if g.writer is not None:
                g.writer.close()
        self.result = self._summary()
        return self.result

    # --- keyboard -------------------------------------------------------------------------
    def key(self, k: str) -> None:
        """A key from the view: a region key, pause, mark, zero, quit."""
        if not k:
            return
        if k in (KEY_QUIT, "escape"):
            self._quit = True
            self.stop()
        elif k == KEY_PAUSE:
            self.set_paused(not self.paused)
        elif k == KEY_MARK:
            self.mark("mark (key)")
        elif k in MARK_TAGS:
            self.mark(f"receiver said {MARK_TAGS[k]}", tag=MARK_TAGS[k])
        elif k == KEY_TARE:
            for g in self.gloves:
                g.controls.put(lambda g=g: self._restart_tare(g))
        else:
            region = self.profile_set.region_for_key(k)
            if region is not None:
                self.set_region(region, source="key")

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            if paused == self.paused:
                return
            self.paused = paused
        self._event_all("note", text="paused" if paused else "resumed")

    def mark(self, text: str = "mark", tag: str | None = None) -> None:
        """A moment marked in the log; tag: softer / ouch / good (MARK_TAGS) or None."""
        if tag is not None and tag not in MARK_TAGS.values():
            raise GloveError(f"no mark tag {tag!r}: use one of " + ", ".join(MARK_TAGS.values()))
        with self._lock:
            self.marks += 1
            self.mark_times.append(round(self.session_time(), 3))
        if tag is None:
            self._event_all("mark", text=text)
        else:
            self._event_all("mark", text=text, tag=tag)

    def set_region(self, region: str | None, source: str = "key") -> None:
        if region is not None and region not in self.profile_set.regions:
            raise GloveError(f"no region {region!r}")
        for g in self.gloves:
            g.controls.put(lambda g=g: self._apply_region(g, region, source))

    # --- acquisition ----------------------------------------------------------------------
    def _acquire(self, g: _Glove) -> None:
        try:
            while not self._stop.is_set():
                while not g.controls.empty():
                    try:
                        g.controls.get_nowait()()
                    except queue.Empty:
                        break
                try:
                    block, events = g.link.read(timeout=0.05)
                except LinkError as e:
                    g.problem = f"glove {g.label}: {e}"
                    g.connected = False
                    if g.writer is not None:
                        g.writer.write_event("note", self.clock(), None, text=f"link lost: {e}")
                    self._stop.set()
                    break
                for ev in events:
                    self._on_link_event(g, ev)
                if len(block):
                    self._on_block(g, block)
                if g.writer is not None:
                    g.writer.maybe_flush()
        except Exception as e:   # keep the session and the log alive: report and stop
            log.exception("acquisition of glove %s failed", g.label)
            g.problem = f"glove {g.label}: the session stopped on an internal error ({e})"
            self._stop.set()

    def _on_link_event(self, g: _Glove, ev) -> None:
        self._tap("on_event", g, "link", ev.t_device_s, {"link": ev.kind, "text": ev.text})
        if g.writer is not None:
            g.writer.write_link_event(ev)
        if ev.kind == "disconnect":
            g.connected = False
            g.problem = (f"glove {g.label} disconnected: check the cable "
                         f"(the session goes on when it is back)")
        elif ev.kind in ("reconnect", "resume"):
            g.connected = True
            g.problem = ""
        elif ev.kind == "stall":
            g.problem = f"glove {g.label} sends nothing: check the cable"
        elif ev.kind == "button":
            self.mark("mark (glove button)")

    def _on_block(self, g: _Glove, block: SampleBlock) -> None:
        if g.writer is not None:
            g.writer.write_samples(block)
        if g.t0_dev is None:
            g.t0_dev = float(block.t_device_s[0])
            g.t0_sess = float(block.t_host_s[0]) - self.t_start_host
            if g.region_pending is not None and g.writer is not None:
                # the region chosen before the glove sent anything, at its first sample
                region, source = g.region_pending
                g.writer.write_event("region", self.clock(), g.t0_dev, region=region, source=source)
            g.region_pending = None
        g.t_sess = float(block.t_device_s[-1]) - g.t0_dev + g.t0_sess    # session_time()
        g.samples += len(block)
        if not g.tared or g.retare:
            # zeroing looks at the samples on the side: the chain below runs on every
            # block meanwhile, so no alert waits for the sensors to be zeroed
            self._tare_step(g, block)
        for piece in self._routine_pieces(g, block):
            self._process(g, piece)

    def _process(self, g: _Glove, block: SampleBlock) -> None:
        """One stretch of samples checked against one region: chain, summary, trace, alerts.

        Everything but the chain is a handful of array operations per block, whatever its
        length (a block is one sample at 200 Hz): the summary's counts, the band of each
        force itself and when it was last in the chain's band, and the trace ring.
        """
        res = g.pipeline.process(block)
        prof = g.pipeline.profile
        if len(block) == 1:
            self._process_one(g, res, prof, float(block.t_device_s[0]) - g.t0_dev + g.t0_sess)
        else:
            self._process_many(g, res, prof, g.session_time(block.t_device_s))
        self._tap("on_result", g, block, res)
        for a in res.alerts:
            self._on_alert(g, a, float(g.session_time(np.array([a.t_s]))[0]))

    def _process_many(self, g: _Glove, res, prof, t_sess: np.ndarray) -> None:
        f = res.filtered_n
        # on the body: a finite force at or above the contact threshold (NaN compares False)
        on = f >= prof.contact_n
        self.summary.add_block(g.pipeline.region, g.pipeline.hands, on @ g.hand_mask,
                               res.hand_band, prof.allowed_band)
        # The band of each force itself (over range: too much), beside the chain's band, which
        # hysteresis and dwell hold a moment longer on the way down: the view shows the
        # first with its number, and the second as held, with when it was last true.
        over = res.over_range
        inst = classify_n(f, prof.edges_n)
        inst[over] = TOO_MUCH
        band = res.band
        there = (inst >= band) & (band >= 0)
        with g.lock:
            g.push_trace(t_sess, f, over)
            g.last_band = band[-1].copy()
            g.last_inst = inst[-1].copy()
            g.last_force = f[-1].copy()
            g.last_fault = res.fault[-1].copy()
            g.last_hand_band = res.hand_band[-1].copy()
            if len(t_sess) == 1:
                m = there[0]
                g.held_t[m] = t_sess[0]
                g.held_f[m] = f[0, m]
            else:
                last = len(inst) - 1 - np.argmax(there[::-1], axis=0)
                cols = np.flatnonzero(there.any(axis=0))
                g.held_t[cols] = t_sess[last[cols]]
                g.held_f[cols] = f[last[cols], cols]
            g.episodes = g.pipeline.engine.active_episodes()

    def _process_one(self, g: _Glove, res, prof, t: float) -> None:
        """_process_many() of a block of one sample (200 Hz live), in Python on the row:
        the same values (the same comparisons and additions on the same float64 numbers),
        about a third of the cost of the array calls for 16 numbers."""
        if g.prof_rows[0] is not prof:
            g.prof_rows = (prof, prof.contact_n.tolist(), prof.edges_n.tolist())
        _, contact, edges = g.prof_rows
        f_row = res.filtered_n[0]
        fl, bl, fal = f_row.tolist(), res.band[0].tolist(), res.fault[0].tolist()
        hand_of = g.hand_of_list
        hand_on = [False] * len(g.pipeline.hands)
        inst_l, over_l, held = [0] * g.n_ch, [False] * g.n_ch, []
        for j in range(g.n_ch):
            x = fl[j]
            if x >= contact[j]:
                hand_on[hand_of[j]] = True
            fa = fal[j]
            # Result.over_range and classify_n (then over range is too much), on one number
            if (fa & FAULT_SATURATED) and not (fa & FAULT_BROKEN):
                over_l[j] = True
                inst = TOO_MUCH
            elif x != x:
                inst = UNKNOWN
            else:
                e = edges[j]
                inst = (x >= e[0]) + (x >= e[1]) + (x >= e[2])
            inst_l[j] = inst
            b = bl[j]
            if b >= 0 and inst >= b:
                held.append(j)
        self.summary.add_rows(g.pipeline.region, g.pipeline.hands, [hand_on],
                              res.hand_band.tolist(), prof.allowed_band)
        with g.lock:
            L = g.ring_t.shape[0]
            i = g.ring_i
            g.ring_t[i] = t
            g.ring_f[i] = f_row
            g.ring_o[i] = over_l
            g.ring_i = (i + 1) % L
            g.ring_n = min(L, g.ring_n + 1)
            g.last_band = res.band[0].copy()
            g.last_inst = np.array(inst_l, np.int8)
            g.last_force = f_row.copy()
            g.last_fault = res.fault[0].copy()
            g.last_hand_band = res.hand_band[0].copy()
            for j in held:
                g.held_t[j] = t
                g.held_f[j] = fl[j]
            g.episodes = g.pipeline.engine.active_episodes()

    def _tare_step(self, g: _Glove, block: SampleBlock) -> None:
        g.tare_pending.append(block)
        if g.tare_started is None:
            g.tare_started = float(block.t_device_s[0])
        have = sum(len(b) for b in g.tare_pending)
        need = int(self.opt.tare_s * g.pipeline.rate_hz)
        if have < need:
            g.notice = "zeroing the sensors: keep your hands off the person for a moment"
            return
        quiet = SampleBlock.concat(g.tare_pending, g.n_ch)
        quiet = quiet.slice(len(quiet) - need, len(quiet))
        now = self.clock()
        retare = g.tared
        try:
            # refused (TareError) while a sensor is pressed: the old offsets stay
            offsets = g.pipeline.tare(quiet)
            g.tared, g.retare = True, False
            g.notice = ""
            g.tare_pending = []
            if g.writer is not None:
                g.writer.write_event("tare", now, float(quiet.t_device_s[-1]), ok=True,
                                     offsets_s=[float(x) for x in offsets])
            # the hard limits in counts follow the new zero
            self._queue_command(g, "limits", g.pipeline.hard_limits_counts())
        except TareError as e:
            waited = float(block.t_device_s[-1]) - g.tare_started
            if waited >= self.opt.tare_give_up_s:
                g.tared, g.retare = True, False
                g.notice = ""
                g.tare_pending = []
                if g.writer is not None:
                    g.writer.write_event("tare", now, float(quiet.t_device_s[-1]), ok=False, text=str(e))
                kept = ("the previous zero is kept" if retare
                        else "forces read from the unloaded curve")
                self._add_alert(g, AlertView(g.t_sess, "tare_failed", "warning",
                                             f"The sensors could not be zeroed ({e}); {kept}. "
                                             f"Press {KEY_TARE!r} with hands off to retry."))
            else:
                g.notice = f"zeroing the sensors: {e}"
                # keep the newest quiet window's worth only
                g.tare_pending = [quiet]
        if g.tared and self.routine is not None and g.index == 0 and self.routine_start_dev is None:
            rs = self.opt.routine_start
            self.routine_start_dev = (float(rs(g.link)) if callable(rs) else
                                      float(rs) if rs is not None else float(block.t_device_s[-1]))
            self.routine_t = 0.0

    def _restart_tare(self, g: _Glove) -> None:
        # deferred until the sensors are quiet; the current zero stays in use meanwhile
        g.retare = g.tared
        g.tare_pending = []
        g.tare_started = None

    # --- routine --------------------------------------------------------------------------
    def _routine_pieces(self, g: _Glove, block: SampleBlock):
        """Cut the block where the routine's stage changes, applying each stage on its first
        sample (the first glove's clock drives the routine); yields the pieces in order."""
        if self.routine is None or g.index != 0 or self.routine_start_dev is None or self.routine_done:
            yield block
            return
        t = block.t_device_s
        last = max(self._routine_last_dev if self._routine_last_dev is not None
                   else self.routine_start_dev, self.routine_start_dev)
        self._routine_last_dev = max(last, float(t[-1]))
        # routine time of each sample (the clock does not move while paused)
        rt = self.routine_t + (0.0 if self.paused else 1.0) * np.maximum(t - last, 0.0)
        started = t >= self.routine_start_dev
        ends = np.cumsum([st.duration_s for st in self.routine.stages])
        idx = np.where(started, np.searchsorted(ends, rt, side="right"), -1)
        cuts = np.flatnonzero(np.diff(idx)) + 1
        bounds = [0, *cuts.tolist(), len(block)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            i = int(idx[a])
            if i >= 0 and i != self.stage_index:
                self._enter_stage(g, i, float(t[a]))
                if self.routine_done:
                    # the rest of the stream is after the routine: no region of the routine
                    yield block.slice(a, len(block))
                    break
            yield block.slice(a, b)
        self.routine_t = float(rt[-1])

    def _enter_stage(self, g: _Glove, i: int, t_dev: float) -> None:
        if i >= len(self.routine.stages):
            self.stage_index = i
            self.routine_done = True
            self._event_all("stage", t_dev=t_dev, stage="end", technique=None, source="routine")
            self._stop.set()
            return
        self.stage_index = i
        st = self.routine.stages[i]
        self._event_all("stage", t_dev=t_dev, stage=st.id, technique=st.technique, source="routine")
        for other in self.gloves:
            tech = st.technique if st.technique in other.pipeline.profile_set.techniques else None
            if other is g:
                other.pipeline.set_technique(tech)
                self._apply_region(other, st.region, "routine", t_dev)
            else:
                other.controls.put(lambda o=other, r=st.region, tq=tech: (
                    o.pipeline.set_technique(tq), self._apply_region(o, r, "routine")))

    def _apply_region(self, g: _Glove, region: str | None, source: str,
                      t_dev: float | None = None, arm: bool = True) -> None:
        """In g's acquisition thread (or before it starts): check against `region` from now."""
        g.pipeline.set_region(region)
        t = g.device_time_now() if t_dev is None else t_dev
        self._tap("on_event", g, "region", t, {"region": region, "source": source})
        if t is None:
            g.region_pending = (region, source)
        elif g.writer is not None:
            g.writer.write_event("region", self.clock(), t, region=region, source=source)
        if arm:
            self._queue_command(g, "limits", g.pipeline.hard_limits_counts(region))

    # --- alerts ---------------------------------------------------------------------------
    def _tap(self, method: str, *args) -> None:
        for tap in self.opt.taps:
            try:
                getattr(tap, method)(*args)
            except Exception:
                log.exception("%s.%s failed", type(tap).__name__, method)

    def _on_alert(self, g: _Glove, a, t_sess: float) -> None:
        self._tap("on_alert", g, a, t_sess)
        view = AlertView(t_sess, a.rule, a.severity, a.text, a.sensor, region=a.region or "",
                         hand=getattr(a, "hand", ""), message=a.text, t_device_s=float(a.t_s))
        self._add_alert(g, view)
        # both clocks, named: session seconds (the routine, the view) and the glove's own
        # device seconds (the log, docs/SIGNAL.md)
        rec = {"t_session_s": round(t_sess, 3), "t_device_s": round(float(a.t_s), 6),
               "glove": g.label, "rule": a.rule, "severity": a.severity,
               "region": a.region, "sensor": a.sensor, "hand": getattr(a, "hand", ""),
               "episode": getattr(a, "episode", 0), "repeat": getattr(a, "repeat", False),
               "value": round(float(a.value), 3), "limit": round(float(a.limit), 3),
               "units": a.units, "text": a.text}
        with self._lock:
            self.all_alerts.append(rec)
        if g.writer is not None:
            ch = a.sensor
            g.writer.write_event("alert", self.clock(), float(a.t_s), rule=a.rule, region=a.region,
                                 channel=ch, severity=a.severity, value=a.value, limit=a.limit,
                                 units=a.units, text=a.text, hand=getattr(a, "hand", ""),
                                 episode=getattr(a, "episode", 0), repeat=getattr(a, "repeat", False))
        if a.severity in ("warning", "danger"):
            now = time.monotonic()
            if self.opt.bell and now - self._bell_at >= BELL_REPEAT_S and sys.stderr.isatty():
                self._bell_at = now
                sys.stderr.write("\a")
                sys.stderr.flush()
            if self.opt.buzz:
                hand = self._hand_of_sensor(g, a.sensor)
                if now - g.buzzed_at.get(hand, -1e9) >= BUZZ_REPEAT_S:
                    g.buzzed_at[hand] = now
                    self._queue_command(g, "buzz", BUZZ_MS[a.severity], hand)

    def _add_alert(self, g: _Glove, view: AlertView) -> None:
        with self._lock:
            self.alerts.appendleft((view, g.index))

    @staticmethod
    def _hand_of_sensor(g: _Glove, sensor: str) -> str:
        for c in g.info.channels:
            if c.name == sensor:
                return c.hand
        for h in g.pipeline.hands:
            if sensor.startswith(h):
                return h
        return "all"

    # --- commands to the glove ------------------------------------------------------------
    def _queue_command(self, g: _Glove, verb: str, *args) -> None:
        g.commands.put((verb, args))

    def _command_loop(self, g: _Glove) -> None:
        while not self._stop.is_set():
            try:
                verb, args = g.commands.get(timeout=0.1)
            except queue.Empty:
                continue
            if verb == "limits":      # only the newest limits matter
                try:
                    while True:
                        v2, a2 = g.commands.get_nowait()
                        if v2 == "limits":
                            args = a2
                        else:
                            g.commands.put((v2, a2))
                            break
                except queue.Empty:
                    pass
            try:
                if verb == "limits":
                    g.link.set_limits(list(args[0]))
                elif verb == "buzz":
                    g.link.buzz(int(args[0]), args[1])
            except LinkError as e:
                log.warning("glove %s: %s failed: %s", g.label, verb, e)

    # --- logging helpers ------------------------------------------------------------------
    def _event_all(self, kind: str, t_dev: float | None = None, **fields) -> None:
        """An event in every glove's log (t_dev: the first glove's device time, if known)."""
        now = self.clock()
        for g in self.gloves:
            t = t_dev if (t_dev is not None and g.index == 0) else g.device_time_now()
            self._tap("on_event", g, kind, t, fields)
            if g.writer is not None:
                g.writer.write_event(kind, now, t, **fields)

    # --- what the view shows --------------------------------------------------------------
    def problems(self) -> tuple[str, ...]:
        """What the trainee must know now: a glove away or silent, a log that stopped."""
        out = tuple(g.problem for g in self.gloves if g.problem)
        return out + tuple(f"glove {g.label}: {g.writer.failed}"
                           for g in self.gloves if g.writer is not None and g.writer.failed)

    def snapshot(self) -> LiveSnapshot:
        ps = self.profile_set
        sensors, traces, overs = [], [], []
        hand_band: dict[str, str] = {}
        hand_held: dict[str, str] = {}
        limit_by_class: dict[str, float] = {}
        episodes: dict[int, set] = {}
        t_ref = None
        now = self.session_time()
        for g in self.gloves:
            with g.lock:
                t, f, o = g.trace()
                band, force, fault = g.last_band.copy(), g.last_force.copy(), g.last_fault.copy()
                inst = g.last_inst.copy()
                held_t, held_f = g.held_t.copy(), g.held_f.copy()
                episodes[g.index] = set(g.episodes)
            prof = g.pipeline.profile
            contact = prof.contact_n
            shown = np.full(g.n_ch, -2, np.int8)          # -2 fault, -1 no contact, else band
            for j, c in enumerate(g.info.channels):
                limit_by_class.setdefault(c.sensor_class, float(prof.limit_n[j]))
                over = bool(fault[j] & FAULT_SATURATED)
                held = ""
                held_fn, held_age = float("nan"), 0.0
                if fault[j] & FAULT_BROKEN:
                    b, why = "fault", _fault_text(int(fault[j]))
                    label = f"sensor fault ({why})"
                elif over:
                    b, why = "too_much", ""
                    shown[j] = TOO_MUCH
                    label = force_text(float(force[j]), True)
                else:
                    why = ""
                    if not np.isfinite(force[j]) or force[j] < contact[j] or inst[j] < 0:
                        b = "none"
                        shown[j] = -1
                    else:
                        b = BANDS[int(inst[j])]
                        shown[j] = inst[j]
                    label = BAND_TEXT[int(inst[j])] if b != "none" else "no contact"
                    if band[j] > max(int(inst[j]), 0) and np.isfinite(held_t[j]):
                        held = BANDS[int(band[j])]
                        held_fn, held_age = float(held_f[j]), max(0.0, now - float(held_t[j]))
                        label += (f" (held: {BAND_TEXT[int(band[j])]}, {held_fn:.1f} N "
                                  f"{held_age:.1f} s ago)")
                sensors.append(SensorView(c.name, c.hand, c.site, c.sensor_class,
                                          tuple(float(x) for x in prof.edges_n[j]), b,
                                          float(force[j]), why, over_range=over,
                                          force_text=force_text(float(force[j]), over),
                                          held_band=held, held_force_n=held_fn,
                                          held_age_s=held_age, limit_n=float(prof.limit_n[j]),
                                          label=label))
            for h, hand in enumerate(g.pipeline.hands):
                cols = g.hand_of == h
                if (fault[cols] & FAULT_BROKEN).astype(bool).all():
                    hand_band[hand] = "fault"
                elif (shown[cols] < 0).all():
                    hand_band[hand] = "none"
                else:
                    hand_band[hand] = BANDS[int(shown[cols].max())]
                top = int(band[cols].max()) if cols.any() else -1
                if top > max(int(shown[cols].max()), 0):
                    js = [j for j in np.flatnonzero(cols) if band[j] == top and np.isfinite(held_t[j])]
                    if js:
                        j = max(js, key=lambda j: held_t[j])
                        hand_held[hand] = (f"held: {BAND_TEXT[top]}, {held_f[j]:.1f} N "
                                           f"{max(0.0, now - held_t[j]):.1f} s ago")
            if t_ref is None:
                t_ref = t
                traces.append(f)
                overs.append(o)
            elif len(t) >= 2 and len(t_ref):
                traces.append(np.column_stack([np.interp(t_ref, t, f[:, j], left=np.nan, right=np.nan)
                                               for j in range(f.shape[1])]))
                idx = np.clip(np.searchsorted(t, t_ref), 0, len(t) - 1)
                overs.append(o[idx])
            else:
                traces.append(np.full((len(t_ref), f.shape[1]), np.nan))
                overs.append(np.zeros((len(t_ref), f.shape[1]), bool))
        trace_f = np.concatenate(traces, axis=1) if traces else np.zeros((0, 0))
        trace_o = np.concatenate(overs, axis=1) if overs else np.zeros((0, 0), bool)
        if t_ref is not None and len(t_ref):
            keep = t_ref >= now - self.opt.window_s
            t_ref, trace_f, trace_o = t_ref[keep], trace_f[keep], trace_o[keep]
        prof0 = self.gloves[0].pipeline.profile        # the region the chain checks now
        region = prof0.region_id
        R = prof0.region
        with self._lock:
            recent = list(self.alerts)
            paused, marks, mark_times = self.paused, self.marks, tuple(self.mark_times[-20:])
        alerts = []
        for a, gi in recent:
            age = max(0.0, now - a.t_s)
            if a.rule in REGION_BOUND and a.region != (region or ""):
                continue                      # about a region the hands have left
            if not a.hand or a.rule not in REGION_BOUND:
                if age <= ALERT_SHOW_S:
                    alerts.append(dataclasses.replace(a, age_s=age, active=False))
                continue
            fam = "over_limit" if a.rule == "over_limit_hand" else a.rule
            on = (fam, a.hand) in episodes.get(gi, ())
            if on:
                alerts.append(dataclasses.replace(a, age_s=age, active=True))
            elif age <= ALERT_SHOW_S:
                alerts.append(dataclasses.replace(a, age_s=age, active=False,
                                                  text=f"{age:.0f} s ago: {a.message or a.text}"))
        # one banner per rule and hand: the newest
        seen, kept = set(), []
        for a in alerts:
            k = (a.rule, a.hand, a.sensor if not a.hand else "")
            if k not in seen:
                seen.add(k)
                kept.append(a)
        alerts = tuple(kept)
        stage = None
        if self.routine is not None and self.stage_index is not None and not self.routine_done:
            stage = self.routine.view(self.routine_t)
        problems = self.problems() + tuple(g.notice for g in self.gloves if g.notice)
        status = "  ".join(
            f"{g.label} {g.pipeline.rate_hz:.0f} Hz {'ok' if g.connected else 'DISCONNECTED'}"
            f" lost {g.link.stats.lost_samples}"
            + ("  log " + Path(g.writer.path).name if g.writer is not None else "  not logged")
            for g in self.gloves)
        return LiveSnapshot(
            t_s=now, window_s=self.opt.window_s,
            trace_t=t_ref if t_ref is not None else np.zeros(0), trace_force=trace_f,
            sensors=tuple(sensors), hand_band=hand_band,
            region=region or "", region_name=R.name if R else "no region chosen",
            region_limit=BANDS[prof0.allowed_band], region_note=R.note if R and R.note else "",
            skill=self.opt.skill,
            region_keys=tuple((r.key, r.id, r.name) for r in ps.regions.values()),
            alerts=alerts, stage=stage, status=status, paused=paused, problems=problems,
            marks=marks, extra={"controls": CONTROL_KEYS, "session_id": self.session_id},
            trace_over_range=trace_o, hand_held=hand_held, region_limit_n=limit_by_class,
            mark_times=mark_times, region_time_s=self.summary.region_seconds())

    # --- the end --------------------------------------------------------------------------
    def _summary(self) -> dict:
        out = {
            "session_id": self.session_id,
            "trainee": self.opt.trainee,
            "routine": self.routine.key if self.routine else None,
            "routine_completed": self.routine_done,
            "duration_s": round(self.session_time(), 3),
            "skill": self.opt.skill,
            "gloves": [],
            "alerts": list(self.all_alerts),
            "alert_counts": {},
            "bands": self.summary.as_dict(),
            "marks": self.marks,
            "problems": list(self.problems()),
            "quit": self._quit,
        }
        for a in self.all_alerts:
            out["alert_counts"][a["rule"]] = out["alert_counts"].get(a["rule"], 0) + 1
        for g in self.gloves:
            st = g.link.stats
            w = g.writer
            out["gloves"].append({
                "glove_id": g.label, "firmware": g.info.firmware, "samples": g.samples,
                "rate_hz": g.pipeline.rate_hz, "tared": g.tared,
                "link": {k: v for k, v in vars(st).items() if isinstance(v, (int, float))},
                "log": str(w.path) if w is not None and not w.vanished else None,
                "calibration": calibration_file(g.calibration),
                "log_error": str(w.failed) if w is not None and w.failed else None,
            })
        return out


def calibration_file(cal: Calibration | None) -> str | None:
    """The calibration file a glove's forces come from (None: nominal curves)."""
    return cal.source if cal is not None and not cal.is_nominal and cal.source else None


def _fault_text(bits: int) -> str:
    from ..signal.calibration import FAULT_NOISY, FAULT_OPEN, FAULT_SATURATED, FAULT_SHORT
    if bits & FAULT_SATURATED:
        return "saturated"
    if bits & FAULT_NOISY:
        return "noisy"
    if bits & FAULT_OPEN:
        return "open"
    if bits & FAULT_SHORT:
        return "shorted"
    return "fault"
