"""Deploy the firmware to a board with mpremote (compiled for the RP2040 by mpy-cross if asked)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import paths
from .errors import FirmwareError

log = logging.getLogger(__name__)


def firmware_files(fw_dir: Path) -> list[Path]:
    """Every firmware source file, relative to fw_dir (main.py and the glove package)."""
    files = [Path("main.py")] + sorted(p.relative_to(fw_dir) for p in (fw_dir / "glove").glob("*.py"))
    return files


def compile_mpy(fw_dir: Path, out_dir: Path, march: str = "armv6m") -> list[Path]:
    """Compile the glove package with mpy-cross into out_dir (main.py stays source)."""
    out = []
    for rel in firmware_files(fw_dir):
        src = fw_dir / rel
        if rel.name == "main.py" or rel.name == "config.py":
            # main.py must be source to run at boot; config.py stays editable on the board
            dst = out_dir / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
        else:
            dst = (out_dir / rel).with_suffix(".mpy")
            dst.parent.mkdir(parents=True, exist_ok=True)
            r = subprocess.run([paths.mpy_cross_exe(), f"-march={march}", "-o", str(dst), str(src)],
                               capture_output=True, text=True)
            if r.returncode:
                raise FirmwareError(f"mpy-cross could not compile {src}: {r.stderr.strip()}")
        out.append(dst.relative_to(out_dir))
    return out


def mpremote_args(port: str, files: list[Path], src_dir: Path, reset: bool = True) -> list[str]:
    mp = Path(sys.executable).with_name("mpremote")
    # `fs mkdir` fails when the folder exists and ends the chain, so exec makes it
    args = [str(mp) if mp.exists() else "mpremote", "connect", port, "resume", "exec",
            "import os\ntry:\n os.mkdir('glove')\nexcept OSError:\n pass"]
    for rel in files:
        args += ["+", "fs", "cp", str(src_dir / rel), ":" + rel.as_posix()]
    if reset:
        args += ["+", "reset"]
    return args


def flash(port: str, compile: bool = False, reset: bool = True, timeout: float = 120) -> list[str]:
    """Copy the firmware to the board on `port`; returns the files written (board paths)."""
    fw = paths.firmware_dir()
    with tempfile.TemporaryDirectory(prefix="massage-glove-flash-") as tmp:
        if compile:
            files = compile_mpy(fw, Path(tmp))
            src = Path(tmp)
        else:
            files = firmware_files(fw)
            src = fw
        args = mpremote_args(port, files, src, reset)
        log.info("running %s", " ".join(args))
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                               env=dict(os.environ))
        except FileNotFoundError:
            raise FirmwareError("mpremote is not installed: pip install mpremote") from None
        except subprocess.TimeoutExpired:
            raise FirmwareError(f"mpremote did not finish within {timeout:.0f} s on {port}: "
                                f"unplug the board, plug it back in and try again") from None
        if r.returncode:
            msg = (r.stderr or r.stdout).strip().splitlines()
            raise FirmwareError(f"mpremote could not deploy to {port}: {msg[-1] if msg else r.returncode}. "
                                f"Is it the right port (`massage-glove ports`) and is no other "
                                f"program using it?")
    return [":" + f.as_posix() for f in files]
