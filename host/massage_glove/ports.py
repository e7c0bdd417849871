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
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    f = d / f"{os.getpid()}.port"
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(port)
    return f


def is_local_serial(path: str) -> bool:
    """A path to a character device on this machine (a serial port or a pty): never a URL
    (socket://, rfc2217://...), which would make a probe talk to the network."""
    import stat
    if "://" in path or not os.path.isabs(path):
        return False
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def sim_ports() -> list[str]:
    """Ports of the simulated gloves running on this machine, from their `.port` files.

    Only files of this user naming a local serial device count: anything else in the
    directory (a URL, a regular file, another user's file) is ignored, never probed."""
    out = []
    d = _runtime_dir()
    for f in sorted(d.glob("*.port")) if d.is_dir() else []:
        try:
            pid = int(f.stem)
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            f.unlink(missing_ok=True)
            continue
        try:
            if f.is_symlink() or f.stat().st_uid != os.getuid():
                continue
            port = f.read_text()[:4096].strip()
        except OSError:
            continue
        if is_local_serial(port):
            out.append(port)
    return out


def scan(probe: bool = True, timeout: float = 0.6, urls: list[str] | None = None) -> list[PortInfo]:
    """Every local serial port, and (probe=True) whether a glove answers on it. `urls`
    are ports or URLs the user names: they are listed (and probed) as given."""
    from .link import GloveLink
    found = [PortInfo(p.device, p.description or "") for p in list_ports.comports()]
    found += [PortInfo(p, "simulated glove") for p in sim_ports()]
    found += [PortInfo(u, "named on the command line") for u in urls or ()]
    if probe:
        for p in found:
            try:
                link = GloveLink.open(p.device, reconnect=False, handshake_timeout=timeout)
            except LinkError as e:
                p.problem = str(e)
                continue
            i = link.info
            # validated at the handshake (PROTOCOL.md): safe names only
            p.glove = f"glove {i.glove_id}, firmware {i.firmware}, {len(i.channels)} channels ({', '.join(i.hands)})"
            link.close()
    return found
