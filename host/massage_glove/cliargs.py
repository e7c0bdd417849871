"""Argument types for the command line: each checks one value when the command line is read,
before anything starts (a glove, a simulated glove, a log), and refuses it in one line
naming the value and what is expected. argparse turns the ArgumentTypeError into
"massage-glove <command>: argument --x: ..." and exit status 2.
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

Err = argparse.ArgumentTypeError


class DataUnreadable(Exception):
    """A data file the check needs is broken: not a mistake on the command line. Raised past
    argparse (which would turn a ValueError into "invalid value"); main() reports the file's own
    message and exits 1."""


def _profile_set():
    from .errors import GloveError
    from .signal import default_profile_set
    try:
        return default_profile_set()
    except GloveError as e:
        raise DataUnreadable(str(e)) from None


def _number(text: str, what: str) -> float:
    try:
        x = float(text)
    except (TypeError, ValueError):
        raise Err(f"{text!r} is not {what}") from None
    if not math.isfinite(x):
        raise Err(f"{text!r} is not {what}")
    return x


def seconds(text: str) -> float:
    """A duration in seconds, above zero."""
    x = _number(text, "a number of seconds")
    if x <= 0:
        raise Err(f"{text!r}: expected a number of seconds above 0")
    return x


def seconds_or_zero(text: str) -> float:
    """A duration in seconds, 0 meaning no limit."""
    x = _number(text, "a number of seconds")
    if x < 0:
        raise Err(f"{text!r}: expected a number of seconds, 0 or more")
    return x


def percent(text: str) -> float:
    x = _number(text, "a percentage")
    if not 0 < x <= 100:
        raise Err(f"{text!r}: expected a percentage above 0 and at most 100")
    return x


def sensitivity(text: str) -> str | float:
    """A receiver sensitivity: a name from data/regions.json, or a factor in (0, 2]."""
    names = tuple(_profile_set().sensitivities)
    if text in names:
        return text
    try:
        x = float(text)
    except ValueError:
        raise Err(f"{text!r}: expected {' or '.join(names)}, or a factor on every band edge "
                  f"above 0 and at most 2 (e.g. 0.8)") from None
    if not (math.isfinite(x) and 0 < x <= 2):
        raise Err(f"{text!r}: a sensitivity factor must be above 0 and at most 2 (e.g. 0.8)")
    return x


def region(text: str) -> str:
    regions = tuple(_profile_set().regions)
    if text not in regions:
        raise Err(f"no region {text!r}: choose one of {', '.join(regions)}")
    return text


def routine(text: str) -> str:
    from .errors import GloveError
    from .live.routine import load_routines
    try:
        names = sorted(load_routines())
    except GloveError as e:
        raise DataUnreadable(str(e)) from None
    if text not in names:
        raise Err(f"no routine {text!r}: choose one of {', '.join(names)}")
    return text


def existing_file(text: str) -> str:
    p = Path(text)
    if not p.is_file():
        raise Err(f"{text!r}: no such file" if not p.exists() else f"{text!r}: not a regular file")
    return text


def existing_dir(text: str) -> str:
    p = Path(text)
    if not p.is_dir():
        raise Err(f"{text!r}: no such directory" if not p.exists() else f"{text!r}: not a directory")
    return text


def writable_dir(text: str) -> str:
    existing_dir(text)
    if not os.access(text, os.W_OK | os.X_OK):
        raise Err(f"{text!r}: this directory is not writable")
    return text


def sim_channel_names() -> tuple[str, ...]:
    from .signal.rules import SITE_TEXT
    return tuple(p + s for p in ("R_", "L_") for s in SITE_TEXT)


def sim_fault(text: str) -> dict:
    """KIND:CHANNEL:T0:T1, a sensor fault for the simulated glove."""
    from .portable.forcemodel import FAULT_KINDS
    parts = text.split(":")
    if len(parts) != 4:
        raise Err(f"{text!r}: expected KIND:CHANNEL:T0:T1, e.g. saturated:R_index:20:30")
    kind, ch, a, b = parts
    if kind not in FAULT_KINDS:
        raise Err(f"{text!r}: no fault kind {kind!r}: use one of {', '.join(FAULT_KINDS)}")
    names = sim_channel_names()
    if ch not in names:
        raise Err(f"{text!r}: the simulated glove has no channel {ch!r}: use one of {', '.join(names)}")
    t0 = _number(a, "a start time in seconds")
    t1 = _number(b, "an end time in seconds")
    if not 0 <= t0 < t1:
        raise Err(f"{text!r}: expected 0 <= T0 < T1 (seconds into the session)")
    return {"kind": kind, "channel": ch, "start_s": t0, "end_s": t1}
