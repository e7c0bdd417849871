"""One trainee's full live view, from their LSL streams (forces, bands, markers).

A LiveSnapshot source for the live views (live/view_term.py, live/view_mpl.py): the trace
is the streamed forces, each sensor's band the streamed band, the region's band edges
come with the region and status markers, alerts are the alert markers.
"""
from __future__ import annotations

import json
import threading
from collections import deque

import numpy as np

from ..live.state import BANDS, AlertView, LiveSnapshot, SensorView
from .model import BAND_NAMES


class RemoteTrainee:
    def __init__(self, pylsl, forces_info, bands_info, markers_info, *, window_s: float = 10.0):
        self.pylsl = pylsl
        self.window_s = window_s
        self.inlets = [pylsl.StreamInlet(i, max_buflen=30, recover=True,
                                         processing_flags=pylsl.proc_clocksync)
                       for i in (forces_info, bands_info, markers_info)]
        for i in self.inlets:
            i.open_stream(timeout=5.0)
            i.time_correction(timeout=5.0)
        full = self.inlets[0].info(timeout=3.0)
        self.name = full.desc().child("session").child_value("trainee")
        chans, ch = [], full.desc().child("channels").child("channel")
        while not ch.empty():
            chans.append((ch.child_value("label"), ch.child_value("hand"), ch.child_value("site"),
                          ch.child_value("sensor_class")))
            ch = ch.next_sibling()
        self.channels = chans
        n = len(chans)
        L = int(window_s * max(full.nominal_srate(), 1.0) * 1.25) + 16
        self.t = deque(maxlen=L)
        self.f = deque(maxlen=L)
        self.band = np.full(n + 2, -1, np.int8)
        # until the trainee's region (or status) marker brings the region's edges: the
        # sensor class's own (data/bands.json), so the view can always draw its bars
        from ..signal import default_profile_set
        classes = default_profile_set().classes
        self.edges = np.array([classes[c[3]].edges_n if c[3] in classes else (4.0, 9.0, 15.0)
                               for c in chans], np.float64).reshape(n, 3)
        self.region_name, self.allowed, self.stage = "no region chosen", 3, ""
        self.alerts: deque = deque(maxlen=50)
        self.running = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        fi, bi, mi = self.inlets
        while not self._stop.is_set():
            d, ts = fi.pull_chunk(timeout=0.05, max_samples=4096)
            b, bts = bi.pull_chunk(timeout=0.0, max_samples=4096)
            m, mts = mi.pull_chunk(timeout=0.0, max_samples=256)
            with self._lock:
                if ts:
                    self.t.extend(ts)
                    self.f.extend(d)
                if bts:
                    self.band = np.asarray(b[-1], np.int8)
                for (text,), st in zip(m, mts):
                    try:
                        obj = json.loads(text)
                    except ValueError:
                        continue
                    if not isinstance(obj, dict):
                        continue
                    if obj.get("type") in ("region", "status"):
                        e = obj.get("edges_n")
                        if isinstance(e, list) and len(e) == len(self.channels):
                            try:
                                edges = np.asarray(e, np.float64).reshape(len(self.channels), 3)
                                if np.isfinite(edges).all():
                                    self.edges = edges
                            except ValueError:
                                pass
                        nm = obj.get("name") if obj.get("type") == "region" else obj.get("region_name")
                        if isinstance(nm, str):
                            self.region_name = nm[:80]
                        if isinstance(obj.get("stage_name"), str):
                            self.stage = obj["stage_name"][:80]
                    elif obj.get("type") == "alert":
                        self.alerts.appendleft((st, str(obj.get("rule", ""))[:40],
                                                str(obj.get("severity", "info"))[:10],
                                                str(obj.get("text", ""))[:300],
                                                str(obj.get("sensor", ""))[:40]))

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            t = np.asarray(self.t, np.float64)
            f = np.asarray(self.f, np.float64).reshape(len(t), len(self.channels))
            band = self.band.copy()
            alerts = list(self.alerts)
            edges = self.edges.copy()
        now = float(t[-1]) if len(t) else self.pylsl.local_clock()
        keep = t >= now - self.window_s
        sensors = []
        for j, (name, hand, site, cls) in enumerate(self.channels):
            code = int(band[j]) if j < len(band) else -1
            b = BAND_NAMES.get(code, "none")
            sensors.append(SensorView(name, hand, site, cls, tuple(float(x) for x in edges[j]),
                                      b, float(f[-1, j]) if len(f) else float("nan"),
                                      "fault" if b == "fault" else ""))
        hands = list(dict.fromkeys(c[1] for c in self.channels))
        hand_band = {h: BAND_NAMES.get(int(band[len(self.channels) + k]), "none")
                     if len(band) > len(self.channels) + k else "none" for k, h in enumerate(hands)}
        av = tuple(AlertView(st - (t[0] if len(t) else 0.0), r, sev, text, s, max(0.0, now - st))
                   for st, r, sev, text, s in alerts if now - st <= 6.0)
        return LiveSnapshot(
            t_s=now, window_s=self.window_s, trace_t=t[keep], trace_force=f[keep],
            sensors=tuple(sensors), hand_band=hand_band, region="", region_name=self.region_name,
            region_limit=BANDS[min(self.allowed, 3)], region_note="", skill="",
            region_keys=(), alerts=av, status=f"{self.name}: streamed over LSL (q: back to the class)",
            extra={"controls": (("q", "back to the class"),)})

    def key(self, k: str) -> None:
        if k in ("q", "escape"):
            self.close()

    def close(self) -> None:
        self.running = False
        self._stop.set()
        self._thread.join(timeout=2)
        for i in self.inlets:
            try:
                i.close_stream()
            except Exception:
                pass
