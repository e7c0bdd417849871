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
# Colours of the bands: pale blue, deep blue, amber, crimson. Chosen so the four stay apart
# by at least 30 CAM02-UCS units for normal vision and with deuteranopia, protanopia and
# tritanopia simulated (tests/live/test_view_colours.py); lightness alone orders them too.
# Each band also has a second cue that is not colour: its letter on the hand dots (and the
# band's name in words everywhere else).
BAND_COLOURS = {"none": "#9e9e9e", "light": "#8fd3ff", "medium": "#1f5fb0", "firm": "#f2b705",
                "too_much": "#a00030", "fault": "#5a5a5a"}
BAND_TEXT_COLOURS = {"none": "#1a1a1a", "light": "#1a1a1a", "medium": "#ffffff", "firm": "#1a1a1a",
                     "too_much": "#ffffff", "fault": "#ffffff"}
BAND_LETTERS = {"none": "", "light": "L", "medium": "M", "firm": "F", "too_much": "!", "fault": "?"}


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
    mark_times: tuple[float, ...] = ()  # session time of each mark, oldest first (views acknowledge it)
    region_time_s: dict = field(default_factory=dict)   # {region id: seconds a hand was on the body}
