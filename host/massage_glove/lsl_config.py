"""An lsl_api.cfg that keeps Lab Streaming Layer on this machine (tests, benchmarks, demos).

liblsl reads its configuration once, when it is first used, from the file named by the
LSLAPICFG environment variable (else ./lsl_api.cfg, ~/lsl_api/lsl_api.cfg,
/etc/lsl_api/lsl_api.cfg). `use_loopback()` writes one that resolves streams on this
machine only (multicast scope "machine", the loopback address as the only peer, IPv4 on
127.0.0.1), under a session id of its own so other LSL programs here do not see these
streams, and points LSLAPICFG at it. Call it before pylsl is first imported.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

LOOPBACK_CFG = """\
; Lab Streaming Layer kept on this machine (written by massage_glove.lsl_config)
[ports]
IPv6 = disable
ListenAddress = 127.0.0.1
; 3 outlets per simulated trainee, 30 trainees on one machine: more than the default 32 ports
PortRange = 512
[multicast]
ResolveScope = machine
MachineAddresses = {{127.0.0.1}}
[lab]
KnownPeers = {{127.0.0.1}}
SessionID = {session}
[log]
level = -2
"""


def use_loopback(session: str | None = None, directory: str | os.PathLike | None = None) -> Path:
    """Write the loopback-only config, set LSLAPICFG to it, return its path."""
    import sys
    if "pylsl" in sys.modules and os.environ.get("LSLAPICFG") is None:
        raise RuntimeError("pylsl is already loaded: the LSL configuration must be set before")
    session = session or f"massage-glove-{os.getpid()}"
    d = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="massage-glove-lsl-"))
    p = d / "lsl_api.cfg"
    p.write_text(LOOPBACK_CFG.format(session=session))
    os.environ["LSLAPICFG"] = str(p)
    return p
