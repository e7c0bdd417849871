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


def force_text(force_n: float, over_range: bool = False) -> str:
    """A force as a view shows it: "9.5 N", "> 20 N (over range)", "--- N" (unknown)."""
    if over_range:
        return f"> {force_n:.0f} N (over range)"
    if force_n != force_n:                       # NaN
        return "--- N"
    return f"{force_n:.1f} N"


@dataclass(frozen=True)
class SensorView:
    """One sensor at one moment. band, its colour and force_n come from the same sample (the
    latest); when the chain still holds a higher band (hysteresis and dwell on the way down),
    held_* say so, and `label` says it in words."""
    name: str            # "R_thumb"
    hand: str            # "right" | "left"
    site: str            # "thumb" ... "palm_heel"
    sensor_class: str    # "fsr402" | "fsr406"
    edges_n: tuple[float, float, float]   # light|medium, medium|firm, firm|too-much (current region)
    band: str            # band of force_n: one of BANDS, "none" (no contact) or "fault"
    force_n: float       # current smoothed force (nan when broken; the range when over range)
    fault: str = ""      # "open", "shorted", "noisy" when band == "fault" (over range is not a fault)
    over_range: bool = False   # above the sensor's range (saturated): band is too much,
    #                            force_n the range, a lower bound
    force_text: str = ""       # "9.5 N", "> 20 N (over range)", "--- N"
    held_band: str = ""        # a higher band the chain still holds ("" if none)
    held_force_n: float = float("nan")   # the force when the sensor was last in held_band
    held_age_s: float = 0.0    # ... that many seconds ago
    limit_n: float = float("nan")   # the top of the region's allowed band for this sensor
    label: str = ""            # "too much", "> 20 N (over range)", "medium (held: too much,
    #                            16.2 N 0.3 s ago)", "sensor fault (open)"


@dataclass(frozen=True)
class AlertView:
    """An alert (a banner). It belongs to the region and hand it names: the snapshot drops it
    when the region changes, and once its episode is over (the hand back in band) its text
    says how long ago it was ("3 s ago: ...")."""
    t_s: float           # session time of the alert
    rule: str
    severity: str        # "info" | "warning" | "danger"
    text: str            # the sentence the trainee reads (with "N s ago: " once it is over)
    sensor: str = ""
    age_s: float = 0.0   # seconds since it fired (the view fades/hides old ones)
    region: str = ""     # the region it was about ("" if none)
    hand: str = ""       # the hand it is about ("" if none)
    active: bool = True  # its episode is still going on
    message: str = ""    # the alert's own sentence, without the age
    t_device_s: float = float("nan")   # device time of the sample that fired it


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
    trace_over_range: np.ndarray | None = None   # (n, n_sensors) bool: over range at that sample
    hand_held: dict = field(default_factory=dict)  # {"right": "held: too much, 16.2 N 0.3 s ago"}
    region_limit_n: dict = field(default_factory=dict)  # {sensor class: top of the allowed band, N}
    mark_times: tuple[float, ...] = ()  # session time of each mark, oldest first (views acknowledge it)
    region_time_s: dict = field(default_factory=dict)   # {region id: seconds a hand was on the body}
