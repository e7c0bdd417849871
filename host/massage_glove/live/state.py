"""What a live view shows: one immutable snapshot, made by the session, drawn by a view.

The acquisition and alert path builds a LiveSnapshot whenever a view asks for one; the
view never touches the link, the signal chain or the log, so a slow redraw can only drop
pictures, never samples or alerts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BANDS = ("light", "medium", "firm", "too_much")
BAND_LABELS = {"light": "LIGHT", "medium": "MEDIUM", "firm": "FIRM", "too_much": "TOO MUCH",
               "none": "NO CONTACT", "fault": "SENSOR FAULT"}
# Colours of the bands (colour-blind safe order: blue, green, orange, red).
BAND_COLOURS = {"none": "#9e9e9e", "light": "#4f8fd6", "medium": "#2e9e4f", "firm": "#f0a020",
                "too_much": "#d62728", "fault": "#7b3fa0"}


@dataclass(frozen=True)
class SensorView:
    name: str            # "R_thumb"
    hand: str            # "right" | "left"
    site: str            # "thumb" ... "palm_heel"
    sensor_class: str    # "fsr402" | "fsr406"
    edges_n: tuple[float, float, float]   # light|medium, medium|firm, firm|too-much (current region)
    band: str            # current band: one of BANDS, "none" (no contact) or "fault"
    force_n: float       # current smoothed force (nan when faulty)
    fault: str = ""      # "saturated", "open", ... when band == "fault"


@dataclass(frozen=True)
class AlertView:
    t_s: float           # session time of the alert
    rule: str
    severity: str        # "info" | "warning" | "danger"
    text: str            # the sentence the trainee reads
    sensor: str = ""
    age_s: float = 0.0   # seconds since it fired (the view fades/hides old ones)


@dataclass(frozen=True)
class StageView:
    routine: str         # routine name
    index: int           # 0-based stage number
    count: int           # stages in the routine
    name: str            # "Warm-up effleurage"
    instruction: str     # what to do now, one or two short sentences
    remaining_s: float   # countdown of this stage
    next_name: str = ""  # what comes next ("" at the end)


@dataclass(frozen=True)
class LiveSnapshot:
    t_s: float                          # session time now (s since start)
    window_s: float                     # the trace window length (s)
    trace_t: np.ndarray                 # (n,) times of the trace samples, session seconds
    trace_force: np.ndarray             # (n, n_sensors) smoothed force in newtons (nan = fault/gap)
    sensors: tuple[SensorView, ...]     # in trace column order
    hand_band: dict                     # {"right": band, "left": band}
    region: str                         # region id, e.g. "neck"
    region_name: str                    # "Neck and head"
    region_limit: str                   # highest allowed band id for the region, e.g. "light"
    region_note: str                    # the region's extra rule in words ("" if none)
    skill: str
    region_keys: tuple[tuple[str, str, str], ...]   # (key, region id, display name) for the key legend
    alerts: tuple[AlertView, ...]       # recent alerts, newest first
    stage: StageView | None = None      # guided routine, if any
    status: str = ""                    # one line: glove, rate, link state, logging state
    paused: bool = False
    problems: tuple[str, ...] = ()      # things the trainee must see (disconnected, logging stopped)
    marks: int = 0                      # marks made this session
    extra: dict = field(default_factory=dict)
