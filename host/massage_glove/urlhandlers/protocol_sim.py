"""`sim://`: the simulated glove (the real firmware in the MicroPython unix port) by URL.

    sim://?trainee=heavy&seed=3&routine=demo&rate=200

Opening the URL boots a simulated glove (sim/glove.py) on its own pty and opens that pty,
so a program that takes a serial URL talks to it exactly as to a real glove; closing the
port unplugs it. Parameters (all optional):

    trainee   good | heavy | rushed | novice (how the simulated trainee works), or rest
              (hands off all the time); default good
    seed      the trainee's choices and the force model's noise; default 1
    routine   a routine of data/routines.json the trainee follows; default: the force
              model's default plan
    skill     novice | trained: the trainee keeps within that skill's band cap; default trained
    rate      the glove's sample rate at boot (Hz); default the firmware's (200)
    mode      realtime | free (time jumps as fast as firmware and host keep up); default realtime
    hands     both | right | left; default both
    glove_id  the glove's identity; default sim-glove
    fault     KIND:CHANNEL:T0:T1, repeatable, e.g. saturated:R_index:20:30
    lead_in   seconds the trainee waits, hands off, before starting; default as `live --simulate`
"""
from __future__ import annotations

import logging
import types

import serial
from serial.serialposix import Serial as PosixSerial

from ..sim.glove import SimGlove
from . import parse_url

log = logging.getLogger(__name__)

PARAMS = {
    "trainee": (str, "good"), "seed": (int, 1), "routine": (str, ""), "skill": (str, "trained"),
    "rate": (int, None), "mode": (str, "realtime"), "hands": (str, "both"),
    "glove_id": (str, "sim-glove"), "fault": (list, None), "lead_in": (float, -1.0),
}


def build_sim(url: str):
    """The SimGlove a sim:// URL describes (not started) and its lead-in in seconds."""
    from ..live.command import SIM_LEAD_IN_S, SIM_TRAINEES, _parse_faults, _sim_script
    from ..sim import scripts
    _, q = parse_url(url, "sim", PARAMS)
    if q["trainee"] not in SIM_TRAINEES + ("rest",):
        raise ValueError(f"{url!r}: trainee {q['trainee']!r}, expected one of "
                         f"{', '.join(SIM_TRAINEES + ('rest',))}")
    if q["mode"] not in SIM_LEAD_IN_S:
        raise ValueError(f"{url!r}: mode {q['mode']!r}, expected realtime or free")
    hands = {"both": ("right", "left"), "right": ("right",), "left": ("left",)}.get(q["hands"])
    if hands is None:
        raise ValueError(f"{url!r}: hands {q['hands']!r}, expected both, right or left")
    if q["rate"] is not None and not 1 <= q["rate"] <= 2000:
        raise ValueError(f"{url!r}: rate {q['rate']} Hz, expected 1 .. 2000")
    if not q["glove_id"] or not q["glove_id"].replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"{url!r}: glove_id {q['glove_id']!r}, expected letters, digits, - and _")
    lead_in = q["lead_in"] if q["lead_in"] >= 0 else SIM_LEAD_IN_S[q["mode"]]
    script = None
    if q["trainee"] != "rest":
        from ..errors import GloveError
        from ..signal import default_profile_set
        ps = default_profile_set()
        if q["skill"] not in ps.skills:
            raise ValueError(f"{url!r}: skill {q['skill']!r}, expected one of {', '.join(ps.skills)}")
        routine = None
        if q["routine"]:
            from ..live.routine import load_routine
            try:
                routine = load_routine(q["routine"], regions=set(ps.regions))
            except GloveError as e:
                raise ValueError(f"{url!r}: routine {q['routine']!r}: {e}") from None
        try:
            faults = _parse_faults(q["fault"])
        except GloveError as e:
            raise ValueError(f"{url!r}: {e}") from None
        args = types.SimpleNamespace(skill=q["skill"], sim_mode=q["mode"], sim_seed=q["seed"],
                                     sim_trainee=q["trainee"], sim_fault=q["fault"])
        if routine is None:
            script = scripts.routine_script(None, seed=q["seed"], trainee=q["trainee"],
                                            lead_in_s=lead_in, hands=hands, faults=faults)
        else:
            script = _sim_script(args, routine, ps)
            if lead_in != SIM_LEAD_IN_S[q["mode"]] or hands != ("right", "left"):
                plan = [dict(st, hands=list(hands)) for st in routine.plan()]
                script = scripts.routine_script(plan, seed=q["seed"], trainee=q["trainee"],
                                                lead_in_s=lead_in, hands=hands, faults=faults)
    sim = _RateSim(script, hands=hands, glove_id=q["glove_id"], mode=q["mode"], rate_hz=q["rate"] or 0)
    return sim, lead_in


class _RateSim(SimGlove):
    """A SimGlove that boots at a chosen sample rate (glove_local.py DEFAULT_RATE_HZ)."""

    def __init__(self, *a, rate_hz: int = 0, **kw):
        super().__init__(*a, **kw)
        self.rate_hz = rate_hz

    def _write_config(self) -> None:
        super()._write_config()
        if self.rate_hz:
            with open(self.dir / "local" / "glove_local.py", "a") as f:
                f.write(f"DEFAULT_RATE_HZ = {int(self.rate_hz)}\n")


class Serial(PosixSerial):
    """A serial port on a freshly booted simulated glove; close() unplugs it."""

    sim = None
    lead_in_s = 0.0

    def open(self):
        if self._port is None:
            raise serial.SerialException("Port must be configured before it can be used.")
        url = self._port
        sim, self.lead_in_s = build_sim(url)
        sim.start()
        self.sim = sim
        self.portstr = sim.port            # the posix Serial opens portstr
        try:
            super().open()
        except BaseException:
            sim.close()
            self.sim = None
            raise
        finally:
            self.portstr = url
        log.info("%s: simulated glove on %s", url, sim.port)

    def close(self):
        try:
            super().close()
        finally:
            if self.sim is not None:
                self.sim.close()
                self.sim = None

    def routine_start(self, link) -> float:
        """Device seconds (the link's clock) at which the simulated trainee starts working."""
        offset = self.sim.offset_us if self.sim is not None else 0
        t0_model_s = ((link.device_t0_us - offset) % (1 << 30)) * 1e-6
        return self.lead_in_s - t0_model_s
