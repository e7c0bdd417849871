"""Trainees found on the network: LSL discovery, one inlet per stream, chunks to the model.

A ContinuousResolver watches for streams whose source_id starts with "massage-glove:"
(lsl.source_id); every trainee (glove id and trainee name) gets a bands and a marker
inlet, opened with recover=True so a trainee whose app restarts, or whose laptop left
the network, comes back on the same tile. One thread pulls every inlet without waiting
(pull_chunk with timeout 0) every POLL_S; the views only read the model under its lock.
"""
from __future__ import annotations

import logging
import threading
import time

import numpy as np

from ..lsl import MANUFACTURER, pylsl_or_error
from .model import LOST_AFTER_S, ClassModel

log = logging.getLogger(__name__)

POLL_S = 0.02
RESOLVE_EVERY_S = 1.0


def _desc_value(info, *path) -> str:
    node = info.desc()
    for p in path[:-1]:
        node = node.child(p)
    return node.child_value(path[-1])


class _Trainee:
    def __init__(self, key):
        self.key = key
        self.bands = None
        self.markers = None
        self.forces_info = None
        self.infos = {}           # kind -> the resolver's StreamInfo (with its endpoints)
        self.uids = {}
        self.opening = set()
        self.asking = set()


class LslClass:
    """The class: discovery and pulling in a thread; snapshot() for the views."""

    def __init__(self, *, wait_s: float = 0.0):
        self.pylsl = pylsl_or_error()
        self.model = ClassModel()
        self.lock = threading.Lock()
        self.trainees: dict[str, _Trainee] = {}
        self._found: list = []
        self._stop = threading.Event()
        self._resolver = self.pylsl.ContinuousResolver(
            pred=f"starts-with(source_id,'{MANUFACTURER}:')", forget_after=5.0)
        self._thread = threading.Thread(target=self._run, name="class-lsl", daemon=True)
        self.selected: str | None = None      # a trainee whose full view was asked for
        self.running = True

    def start(self) -> "LslClass":
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self.running = False
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=3)
        for t in self.trainees.values():
            for inlet in (t.bands, t.markers):
                if inlet is not None:
                    try:
                        inlet.close_stream()
                    except Exception:
                        pass
        self.trainees.clear()

    def stop(self) -> None:
        self._stop.set()
        self.running = False

    def now(self) -> float:
        return self.pylsl.local_clock()

    # --- discovery ----------------------------------------------------------------------
    def _discover(self) -> None:
        results = list(self._resolver.results())
        # a trainee seen by one stream whose other streams the continuous query has not
        # brought (its UDP answers can be lost on a busy machine): ask for them by source id
        have = {i.source_id() for i in results}
        for key, t in list(self.trainees.items()):
            for kind in ("bands", "markers", "forces"):
                sid = f"{key}:{kind}"
                if sid in have or kind in t.opening or kind in t.asking:
                    continue
                if (getattr(t, kind, None) if kind != "forces" else t.forces_info) is None:
                    t.asking.add(kind)
                    threading.Thread(target=self._ask, args=(t, kind, sid), daemon=True).start()
        for info in results + self._answers():
            sid = info.source_id()
            key, _, kind = sid.rpartition(":")
            if kind not in ("bands", "markers", "forces") or not key:
                continue
            t = self.trainees.get(key)
            if t is None:
                t = self.trainees[key] = _Trainee(key)
            if kind == "forces":
                t.forces_info = info
                continue
            if kind in t.opening:
                continue
            if getattr(t, kind) is not None:
                tile = self.model.tiles.get(key)
                if (info.uid() == t.uids.get(kind) or tile is None
                        or self.now() - tile.last_sample_at <= LOST_AFTER_S):
                    continue
                # the trainee's app came back (a new outlet under the same source id) while
                # the tile is lost: connect to the new one at once
                old = getattr(t, kind)
                setattr(t, kind, None)
                try:
                    old.close_stream()
                except Exception:
                    pass
            # opening waits on the network (connection, first clock offset): one thread per
            # stream, so thirty trainees join in about the time of one
            t.opening.add(kind)
            threading.Thread(target=self._open, args=(t, kind, info), daemon=True).start()

    def _ask(self, t, kind: str, sid: str) -> None:
        try:
            found = self.pylsl.resolve_byprop("source_id", sid, 1, 1.0)
            if found:
                with self.lock:
                    self._found.extend(found)
        except Exception as e:
            log.info("resolving %s: %s", sid, e)
        finally:
            t.asking.discard(kind)

    def _answers(self) -> list:
        with self.lock:
            out, self._found = self._found, []
        return out

    def _open(self, t, kind: str, info) -> None:
        key, sid = t.key, info.source_id()
        try:
            inlet = self.pylsl.StreamInlet(info, max_buflen=30, max_chunklen=0, recover=True,
                                           processing_flags=self.pylsl.proc_clocksync)
            try:
                # here, not in the pulling thread: the first pull would wait for these
                inlet.open_stream(timeout=5.0)
                inlet.time_correction(timeout=5.0)
                full = inlet.info(timeout=5.0)
            except Exception as e:          # the trainee went away meanwhile
                log.info("stream %s: %s", sid, e)
                return
            t.uids[kind] = info.uid()
            t.infos[kind] = info
            if kind == "markers":
                t.markers = inlet
                return
            name = _desc_value(full, "session", "trainee") or key
            hands = [h for h in _desc_value(full, "session", "hands").split(",") if h]
            glove = _desc_value(full, "acquisition", "glove_id")
            n = full.channel_count()
            if n < len(hands) + 1 or full.channel_format() != self.pylsl.cf_int8:
                log.warning("stream %s is not a bands stream (%d channels, format %d): ignored",
                            sid, n, full.channel_format())
                return
            with self.lock:
                self.model.tile(key, name, hands, glove)
                self.model.tiles[key].last_sample_at = self.now()
                t.bands = inlet
        finally:
            t.opening.discard(kind)

    # --- pulling ------------------------------------------------------------------------
    def poll(self) -> None:
        for key, t in list(self.trainees.items()):
            if key not in self.model.tiles:
                continue
            if t.bands is not None:
                try:
                    data, ts = t.bands.pull_chunk(timeout=0.0, max_samples=4096)
                except Exception as e:
                    log.info("bands of %s: %s", key, e)
                    data, ts = [], []
                if ts:
                    arr = np.asarray(data, np.int8)
                    with self.lock:
                        self.model.feed_bands(key, arr, ts, self.now())
            if t.markers is not None:
                try:
                    data, ts = t.markers.pull_chunk(timeout=0.0, max_samples=512)
                except Exception as e:
                    log.info("markers of %s: %s", key, e)
                    data, ts = [], []
                if ts:
                    with self.lock:
                        self.model.feed_markers(key, data, ts, self.now())

    def _run(self) -> None:
        self._discoverer = threading.Thread(target=self._discover_loop, name="class-resolve", daemon=True)
        self._discoverer.start()
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:
                log.exception("class view: pulling the streams failed")
            self._stop.wait(POLL_S)

    def _discover_loop(self) -> None:
        # apart from pulling: opening a new trainee's streams waits on the network
        while not self._stop.is_set():
            try:
                self._discover()
            except Exception:
                log.exception("class view: discovering the streams failed")
            self._stop.wait(RESOLVE_EVERY_S)

    # --- what the views draw -------------------------------------------------------------
    def tiles(self):
        with self.lock:
            tiles = self.model.update(self.now())
            return [_copy(t) for t in tiles]

    def key(self, k: str) -> None:
        if k in ("q", "escape"):
            self.stop()


def _copy(t):
    import copy
    c = copy.copy(t)
    c.hand_band = dict(t.hand_band)
    c.alert_arrivals = []
    return c
