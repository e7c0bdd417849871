"""Lab Streaming Layer outlets of a session (`--lsl` on `live` and `replay`).

Per glove, three streams (pylsl; liblsl does the networking and the clock offsets):

* forces   float32, the glove's rate, one channel per sensor: the live-filtered force in
           newtons (NaN while a sensor is faulted). The XML description gives every
           channel's label, unit, hand, site and sensor class, the glove, and the session.
* bands    int8, the same rate: each sensor's band, then each hand's (BAND_CODES).
* markers  string, irregular: one JSON object per alert, mark, region, stage, note, link
           event, and a status line every STATUS_EVERY_S (lost samples, stalls).

Timestamps are the glove's own clock mapped to LSL's clock (pylsl.local_clock) once, at
the first sample, from the host time that sample arrived: the spacing of the samples is
the device's, not the host's scheduling. In a replay at speed k the device time is
divided by k (re-anchored at every seek and speed change, and always rising), so the
stamps stay on the LSL clock. The source_id is made of the glove id and the trainee, so
an inlet (LabRecorder, the class view) recovers the same stream after a restart. The
session id is in every stream's description.
"""
from __future__ import annotations

import json
import logging
import time

import numpy as np

log = logging.getLogger(__name__)

# Band codes of the bands stream.
BAND_CODES = {-2: "sensor fault", -1: "no contact", 0: "light", 1: "medium", 2: "firm", 3: "too much"}
FAULT, NONE = -2, -1
STATUS_EVERY_S = 1.0
MANUFACTURER = "massage-glove"
STREAM_TYPES = {"forces": "Force", "bands": "Bands", "markers": "Markers"}


def pylsl_or_error():
    """pylsl, or a GloveError saying how to get it (its wheels bundle liblsl)."""
    from .errors import GloveError
    try:
        import pylsl
    except (ImportError, RuntimeError, OSError) as e:
        raise GloveError(
            f"Lab Streaming Layer is not available ({e}): `pip install pylsl` (its wheels for "
            f"Windows, macOS and Linux x86_64 with glibc 2.35+ include liblsl; elsewhere install "
            f"liblsl from https://github.com/sccn/liblsl/releases)") from None
    return pylsl


def source_id(glove_id: str, trainee: str, kind: str) -> str:
    return f"{MANUFACTURER}:{glove_id}:{trainee}:{kind}"


def stream_name(trainee: str, kind: str) -> str:
    return f"{MANUFACTURER} {trainee} {kind}"


def band_codes(res, contact_n: np.ndarray, hand_of: np.ndarray, n_hands: int) -> np.ndarray:
    """(n, n_sensors + n_hands) int8 of BAND_CODES from one chain result (pure)."""
    f = res.filtered_n
    fault = res.fault != 0
    on = np.isfinite(f) & (np.nan_to_num(f) >= contact_n)
    s = np.where(fault, FAULT, np.where(on & (res.band >= 0), res.band, NONE)).astype(np.int8)
    hands = np.empty((s.shape[0], n_hands), np.int8)
    for h in range(n_hands):
        cols = hand_of == h
        hb = np.where(on[:, cols].any(axis=1) & (res.hand_band[:, h] >= 0), res.hand_band[:, h], NONE)
        hands[:, h] = np.where(fault[:, cols].all(axis=1), FAULT, hb)
    return np.concatenate([s, hands], axis=1)


class _GloveOutlets:
    def __init__(self, pylsl, session, g):
        info = g.info
        o = session.opt
        trainee = str(o.trainee)
        rate = float(g.pipeline.rate_hz)
        self.pylsl = pylsl
        self.rate = rate
        self.hands = list(g.pipeline.hands)
        self.outlets = {}
        for kind, n, fmt, srate in (("forces", len(info.channels), pylsl.cf_float32, rate),
                                    ("bands", len(info.channels) + len(self.hands), pylsl.cf_int8, rate),
                                    ("markers", 1, pylsl.cf_string, pylsl.IRREGULAR_RATE)):
            si = pylsl.StreamInfo(stream_name(trainee, kind), STREAM_TYPES[kind], n, srate, fmt,
                                  source_id(info.glove_id, trainee, kind))
            d = si.desc()
            if kind != "markers":
                chans = d.append_child("channels")
                for c in info.channels:
                    ch = chans.append_child("channel")
                    ch.append_child_value("label", c.name)
                    ch.append_child_value("unit", "newtons" if kind == "forces" else "band code")
                    ch.append_child_value("type", "Force" if kind == "forces" else "Band")
                    ch.append_child_value("hand", c.hand)
                    ch.append_child_value("site", c.site)
                    ch.append_child_value("sensor_class", c.sensor_class)
                if kind == "bands":
                    for h in self.hands:
                        ch = chans.append_child("channel")
                        ch.append_child_value("label", f"{h}_hand")
                        ch.append_child_value("unit", "band code")
                        ch.append_child_value("type", "Band")
                        ch.append_child_value("hand", h)
                    codes = d.append_child("band_codes")
                    for k, v in BAND_CODES.items():
                        codes.append_child_value(f"code{k + 2}", f"{k}={v}")
            acq = d.append_child("acquisition")
            acq.append_child_value("manufacturer", MANUFACTURER)
            acq.append_child_value("glove_id", info.glove_id)
            acq.append_child_value("firmware", info.firmware)
            acq.append_child_value("board", info.board)
            ses = d.append_child("session")
            ses.append_child_value("session_id", str(session.session_id))
            ses.append_child_value("trainee", trainee)
            ses.append_child_value("skill", str(o.skill))
            ses.append_child_value("routine", o.routine.key if o.routine else "")
            ses.append_child_value("hands", ",".join(self.hands))
            ses.append_child_value("clock", "device clock mapped to the LSL clock at the first sample")
            chunk = max(1, int(rate // 50)) if kind != "markers" else 1
            self.outlets[kind] = pylsl.StreamOutlet(si, chunk, 360)
        self.offset: float | None = None     # LSL time - device time (scaled)
        self.anchor_dev = 0.0
        self.scale = 1.0
        self.last_stamp = -np.inf
        self.last_status_dev = -np.inf

    def stamps(self, t_dev: np.ndarray, host_s: float | None, speed: float) -> np.ndarray:
        """LSL timestamps of device times t_dev (rising; re-anchored when speed changes)."""
        t_dev = np.asarray(t_dev, np.float64)
        if self.offset is None or speed != 1.0 / self.scale:
            now = self.pylsl.local_clock()
            wall = time.time()
            arrived = now - (wall - host_s) if host_s is not None and 0 <= wall - host_s < 5 else now
            self.scale = 1.0 / speed
            self.anchor_dev = float(t_dev[0]) if t_dev.size else 0.0
            first = arrived - (float(t_dev[-1] - t_dev[0]) * self.scale if t_dev.size else 0.0)
            self.offset = max(first, self.last_stamp + 1.0 / self.rate)
        st = self.offset + (t_dev - self.anchor_dev) * self.scale
        if st.size and st[0] <= self.last_stamp:
            # a seek back in a replay: continue from the last stamp
            self.offset += self.last_stamp + 1.0 / self.rate - st[0]
            st = self.offset + (t_dev - self.anchor_dev) * self.scale
        if st.size:
            self.last_stamp = float(st[-1])
        return st

    def marker_stamp(self, t_dev: float | None) -> float:
        if t_dev is None or self.offset is None:
            return self.pylsl.local_clock()
        return float(self.offset + (t_dev - self.anchor_dev) * self.scale)

    def marker(self, obj: dict, t_dev: float | None) -> None:
        self.outlets["markers"].push_sample([json.dumps(obj, default=_json_default)],
                                            self.marker_stamp(t_dev))


def _json_default(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return str(x)


class LslTap:
    """The session's LSL outlets (a tap of live/session.py: see the module docstring)."""

    def __init__(self, session):
        self.pylsl = pylsl_or_error()
        self.session = session
        self._gloves: dict[int, _GloveOutlets] = {}
        for g in session.gloves:          # the streams exist from the start: inlets can connect
            self._outlets(g)

    def _outlets(self, g) -> _GloveOutlets:
        o = self._gloves.get(g.index)
        if o is None:
            o = self._gloves[g.index] = _GloveOutlets(self.pylsl, self.session, g)
            o.marker({"type": "start", "session_id": self.session.session_id,
                      "trainee": str(self.session.opt.trainee), "glove_id": g.info.glove_id}, None)
        return o

    def _speed(self) -> float:
        return float(getattr(self.session, "speed", 1.0) or 1.0)

    def on_result(self, g, block, res) -> None:
        if not len(block):
            return
        o = self._outlets(g)
        st = o.stamps(block.t_device_s, float(block.t_host_s[-1]), self._speed())
        forces = np.asarray(res.filtered_n, np.float32)
        bands = band_codes(res, g.pipeline.profile.contact_n, g.hand_of, len(g.pipeline.hands))
        o.outlets["forces"].push_chunk(forces, st.tolist())
        o.outlets["bands"].push_chunk(bands, st.tolist())
        t_last = float(block.t_device_s[-1])
        if t_last - o.last_status_dev >= STATUS_EVERY_S:
            o.last_status_dev = t_last
            stats = g.link.stats
            o.marker({"type": "status", "lost_samples": stats.lost_samples, "stalls": stats.stalls,
                      "disconnects": stats.disconnects, "connected": bool(g.connected),
                      "problem": g.problem, **self._where(g)}, t_last)

    def _where(self, g) -> dict:
        """Region (id, name, highest allowed band, band edges) and stage, for a late inlet."""
        ses = self.session
        prof = g.pipeline.profile
        R = prof.region
        out = {"region": prof.region_id, "region_name": R.name if R else "no region chosen",
               "allowed": int(prof.allowed_band),
               "edges_n": [[round(float(x), 3) for x in e] for e in prof.edges_n]}
        rt, i = ses.routine, ses.stage_index
        if rt is not None and i is not None and 0 <= i < len(rt.stages) and not ses.routine_done:
            out.update(stage=rt.stages[i].id, stage_name=rt.stages[i].name)
        return out

    def on_alert(self, g, a, t_sess: float) -> None:
        self._outlets(g).marker({"type": "alert", "rule": a.rule, "severity": a.severity,
                                 "sensor": a.sensor, "region": a.region, "value": float(a.value),
                                 "limit": float(a.limit), "units": a.units, "text": a.text,
                                 "t_device_s": float(a.t_s),
                                 # when the trainee's app had the alert, on its LSL clock
                                 "lsl_sent": self.pylsl.local_clock()}, float(a.t_s))

    def on_event(self, g, kind: str, t_dev, fields: dict) -> None:
        if g is None:
            return
        o = self._outlets(g)
        obj = {"type": kind, **{k: v for k, v in fields.items()}}
        if kind == "region":
            w = self._where(g)
            obj.update(name=w["region_name"], allowed=w["allowed"], edges_n=w["edges_n"])
        if kind == "stage" and self.session.routine is not None:
            st = {s.id: s for s in self.session.routine.stages}.get(fields.get("stage"))
            if st is not None:
                obj["name"] = st.name
        o.marker(obj, t_dev)

    def close(self) -> None:
        for o in self._gloves.values():
            try:
                o.marker({"type": "end"}, None)
            except Exception:
                pass
        self._gloves.clear()
