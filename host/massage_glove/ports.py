"""Find gloves: the machine's serial ports, and the simulated gloves running on this machine."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from serial.tools import list_ports

from .errors import LinkError


@dataclass
class PortInfo:
    device: str
    description: str
    glove: str = ""        # "glove <id>, firmware <v>, <n> channels" when it answered
    problem: str = ""      # why it is not usable, when it is not


def _runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "massage-glove" / "sims"


def register_sim(port: str) -> Path:
    d = _runtime_dir()
    d.mkdir(parents=True, exist_ok=True)
    f = d / f"{os.getpid()}.port"
    f.write_text(port)
    return f


def sim_ports() -> list[str]:
    out = []
    d = _runtime_dir()
    for f in sorted(d.glob("*.port")) if d.is_dir() else []:
        try:
            pid = int(f.stem)
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            f.unlink(missing_ok=True)
            continue
        out.append(f.read_text().strip())
    return out


def scan(probe: bool = True, timeout: float = 0.6) -> list[PortInfo]:
    """Every serial port, and (probe=True) whether a glove answers on it."""
    from .link import GloveLink
    found = [PortInfo(p.device, p.description or "") for p in list_ports.comports()]
    found += [PortInfo(p, "simulated glove") for p in sim_ports()]
    if probe:
        for p in found:
            try:
                link = GloveLink.open(p.device, reconnect=False, handshake_timeout=timeout)
            except LinkError as e:
                p.problem = str(e)
                continue
            i = link.info
            p.glove = f"glove {i.glove_id}, firmware {i.firmware}, {len(i.channels)} channels ({', '.join(i.hands)})"
            link.close()
    return found
