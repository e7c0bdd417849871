"""What the class view knows about each trainee, from their LSL streams (no I/O here).

Each trainee's app (`live --lsl`) publishes a bands stream (each sensor's and each hand's
band, lsl.BAND_CODES) and a marker stream (JSON: alerts, regions, stages, marks, link
events, a status line every second). A Tile is updated from chunks of both and says what
the instructor sees: name, region and stage, each hand's band, % of on-body time in the
region's allowed bands so far, too-much episodes, the last alert's sentence, and link
health. A trainee needs attention now while a hand is in too much (or an alert of danger
came in the last ATTENTION_HOLD_S), a sensor is faulted, or the glove is silent (no band
sample for LOST_AFTER_S, or the glove says it is disconnected or stalled). Every field
from the network is checked here; names are kept as given and escaped by each view.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from ..lsl import FAULT, NONE

TOO_MUCH = 3


def _settings() -> dict:
    """data/classview.json (engineering defaults a user can edit), checked."""
    from importlib import resources
    from ..signal.datafile import check_format, read_json
    root = read_json(resources.files("massage_glove") / "data" / "classview.json")
    check_format(root, "massage-glove/classview", (1,))
    return {k: root[k].number(min=0.01) for k in ("lost_after_s", "attention_hold_s",
                                                   "episode_gap_s", "fps")}


SETTINGS = _settings()
LOST_AFTER_S = SETTINGS["lost_after_s"]
ATTENTION_HOLD_S = SETTINGS["attention_hold_s"]
EPISODE_GAP_S = SETTINGS["episode_gap_s"]
MAX_TEXT = 300               # longest sentence kept from a marker
BAND_NAMES = {FAULT: "fault", NONE: "none", 0: "light", 1: "medium", 2: "firm", 3: "too_much"}


def _text(v, limit: int = MAX_TEXT) -> str:
    return v[:limit] if isinstance(v, str) else ""


def _int(v, default=0) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else default


@dataclass
class Tile:
    key: str                     # glove id and trainee (from the source id)
    name: str                    # trainee's name as streamed (not trusted: views escape it)
    hands: list[str]
    glove_id: str = ""
    region_name: str = "no region chosen"
    stage_name: str = ""
    allowed: int = TOO_MUCH
    hand_band: dict = field(default_factory=dict)      # hand -> band name (BAND_NAMES)
    on_body_n: int = 0
    in_target_n: int = 0
    episodes: int = 0
    last_alert: str = ""
    last_alert_severity: str = ""
    last_alert_at: float = -math.inf      # LSL time of the alert's sample
    lost_samples: int = 0
    stalls: int = 0
    glove_connected: bool = True
    problem: str = ""
    last_sample_at: float = -math.inf     # local LSL clock when the last band sample arrived
    fault_since: float | None = None
    attention_since: float | None = None
    reason: str = ""
    lost: bool = False
    ended: bool = False
    _in_episode: bool = False
    _last_too_much: float = -math.inf
    alert_arrivals: list = field(default_factory=list)  # (stamp, arrival, rule, sent) for the benchmark

    @property
    def pct_in_target(self) -> float | None:
        return 100.0 * self.in_target_n / self.on_body_n if self.on_body_n else None

    @property
    def attention(self) -> bool:
        return self.attention_since is not None


class ClassModel:
    """Tiles of every trainee seen; feed it stream chunks, call update(now) before drawing."""

    def __init__(self):
        self.tiles: dict[str, Tile] = {}
        self.version = 0

    def tile(self, key: str, name: str, hands: list[str], glove_id: str = "") -> Tile:
        t = self.tiles.get(key)
        if t is None:
            t = self.tiles[key] = Tile(key, str(name), [str(h) for h in hands][:2] or ["right", "left"],
                                       glove_id=str(glove_id))
            self.version += 1
        return t

    def feed_bands(self, key: str, data: np.ndarray, stamps, now: float) -> None:
        """Band rows (n, n_sensors + n_hands) int8 of one trainee."""
        t = self.tiles[key]
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] < len(t.hands) + 1:
            return
        H = len(t.hands)
        hands = data[:, -H:].astype(np.int16)
        sensors = data[:, :-H]
        hmax = hands.max(axis=1)
        on = hmax >= 0
        t.on_body_n += int(on.sum())
        t.in_target_n += int((on & (hmax <= t.allowed)).sum())
        ts = np.asarray(stamps, np.float64)
        over = hmax >= TOO_MUCH
        for i in np.flatnonzero(over):
            if not t._in_episode and ts[i] - t._last_too_much > EPISODE_GAP_S:
                t.episodes += 1
            t._in_episode = True
            t._last_too_much = float(ts[i])
        if not over[-1]:
            t._in_episode = False
        t.hand_band = {h: BAND_NAMES.get(int(hands[-1, k]), "none") for k, h in enumerate(t.hands)}
        faulted = bool((sensors[-1] == FAULT).any())
        if faulted and t.fault_since is None:
            t.fault_since = now
        elif not faulted:
            t.fault_since = None
        t.last_sample_at = now
        self.version += 1

    def feed_markers(self, key: str, texts, stamps, now: float) -> None:
        t = self.tiles[key]
        for text, st in zip(texts, stamps):
            raw = text[0] if isinstance(text, (list, tuple)) else text
            try:
                m = json.loads(raw) if isinstance(raw, str) and len(raw) < 100_000 else None
            except ValueError:
                m = None
            if not isinstance(m, dict):
                continue
            kind = m.get("type")
            if kind == "alert":
                t.last_alert = _text(m.get("text"))
                t.last_alert_severity = _text(m.get("severity"), 16)
                t.last_alert_at = float(st)
                sent = m.get("lsl_sent")
                sent = float(sent) if isinstance(sent, (int, float)) and math.isfinite(sent) else float(st)
                t.alert_arrivals.append((float(st), now, _text(m.get("rule"), 40), sent))
            elif kind in ("region", "status"):
                name = m.get("name") if kind == "region" else m.get("region_name")
                if isinstance(name, str):
                    t.region_name = _text(name, 80)
                a = m.get("allowed")
                if isinstance(a, int) and 0 <= a <= TOO_MUCH:
                    t.allowed = a
                if kind == "status":
                    t.lost_samples = _int(m.get("lost_samples"), t.lost_samples)
                    t.stalls = _int(m.get("stalls"), t.stalls)
                    t.glove_connected = m.get("connected") is not False
                    t.problem = _text(m.get("problem"), 160)
                    t.stage_name = _text(m.get("stage_name"), 80)
            elif kind == "stage":
                t.stage_name = "" if m.get("stage") == "end" else _text(m.get("name") or m.get("stage"), 80)
            elif kind == "link":
                if m.get("link") in ("disconnect", "stall"):
                    t.glove_connected = False
                    t.problem = _text(m.get("text"), 160)
                elif m.get("link") in ("reconnect", "resume"):
                    t.glove_connected = True
                    t.problem = ""
            elif kind == "end":
                t.ended = True
            elif kind == "start":
                t.ended = False
        self.version += 1

    def update(self, now: float) -> list[Tile]:
        """Work out who needs attention now; tiles in drawing order (attention first)."""
        for t in self.tiles.values():
            t.lost = now - t.last_sample_at > LOST_AFTER_S and not t.ended
            reason = ""
            if t.lost:
                reason = "glove silent" if t.last_sample_at > -math.inf else "no data yet"
            elif not t.glove_connected:
                reason = "glove disconnected"
            elif "too_much" in t.hand_band.values():
                reason = "too much"
            elif t.last_alert_severity == "danger" and _age(now, t.last_alert_at) < ATTENTION_HOLD_S:
                reason = "too much"
            elif t.fault_since is not None and now - t.fault_since >= 1.0:
                reason = "sensor fault"
            if t.ended:
                reason = ""
            if reason and t.attention_since is None:
                t.attention_since = now
            elif not reason:
                t.attention_since = None
            t.reason = reason
        return sorted(self.tiles.values(),
                      key=lambda t: (0, t.attention_since, t.name) if t.attention
                      else (1, 0.0, t.name.casefold()))


def _age(now: float, t: float) -> float:
    return now - t if t > -math.inf else math.inf
