# A simulated `machine` module for the glove firmware running in the MicroPython unix port.
#
# The firmware runs unchanged: Pin writes select the multiplexer input, ADC.read_u16()
# returns what the force model (portable/forcemodel.py) says that sensor reads, and Timer
# callbacks fire on schedule from idle(). Every callback runs under
# micropython.heap_lock(), exactly like disable_irq() below, so a timer path that allocates
# raises MemoryError and stops the simulated glove with a message, as a hard interrupt
# would crash the board.
#
# Configuration comes from the JSON file named by the environment variable
# MASSAGE_GLOVE_SIM (written by massage_glove.sim.glove.SimGlove):
#   {"script": {...force model script...} or null, "mode": "realtime" | "free",
#    "offset_us": int, "unique_id": "hex", "reset_cause": int, "real_time_start_us": int}
import os
import sys
import json
import micropython
import utime
import time as vclock
from array import array

PWRON_RESET = 1
WDT_RESET = 3

_cfg = {}
_path = os.getenv("MASSAGE_GLOVE_SIM")
if _path:
    with open(_path) as f:
        _cfg = json.load(f)

vclock.offset_us = int(_cfg.get("offset_us", 0))
vclock.free = _cfg.get("mode", "realtime") == "free"

_pins = {}
_adcs = []
_frame = array("H", [0] * 16)     # the current tick's readings, by mux input
_model = None
_full = 4095


def _load_model():
    global _model
    script = _cfg.get("script")
    if not script:
        return
    import forcemodel
    from glove import config
    chans = []
    for (mux, name, hand, site, cls) in config.channels():
        c = config.SENSOR_CLASSES[cls]
        chans.append((mux, name, hand, site, cls, c["r_divider_ohm"], c["r_bleed_ohm"]))
    _model = forcemodel.ForceModel(script, chans, (1 << config.ADC_BITS) - 1)


def _unloaded():
    # No script: every sensor at rest (its bleed-resistor reading), like a glove on a table.
    from glove import config
    import fsr
    full = (1 << config.ADC_BITS) - 1
    for (mux, name, hand, site, cls) in config.channels():
        c = config.SENSOR_CLASSES[cls]
        _frame[mux] = int(fsr.unloaded_counts(c["r_divider_ohm"], c["r_bleed_ohm"], full) + 0.5)


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, pin_id, mode=-1, pull=-1, value=None):
        self.id = pin_id
        self.v = 1 if pull == Pin.PULL_UP else 0
        if value is not None:
            self.v = 1 if value else 0
        _pins[pin_id] = self

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = 1 if v else 0

    def on(self):
        self.v = 1

    def off(self):
        self.v = 0

    def __call__(self, v=None):
        return self.value(v)


class ADC:
    def __init__(self, pin):
        from glove import config
        self._sel_ids = config.MUX_SELECT_PINS
        self._sel = None
        _adcs.append(self)

    def _resolve(self):
        # the select pins may be created after the ADC; resolved before a tick runs
        if self._sel is None:
            self._sel = [_pins[p] for p in self._sel_ids]

    def read_u16(self):
        s = self._sel
        mux = s[0].v | (s[1].v << 1) | (s[2].v << 2) | (s[3].v << 3)
        return _frame[mux] << 4


class Timer:
    PERIODIC = 1
    ONE_SHOT = 0

    def __init__(self, *args, **kw):
        self.cb = None
        self.period = 0
        self.next = 0
        if kw:
            self.init(**kw)

    def init(self, freq=None, period=None, mode=1, callback=None, hard=True):
        if freq:
            self.period = 1000000 // freq
        else:
            self.period = int(period) * 1000
        self.cb = callback
        self.next = vclock.now_us() + self.period
        _timers.append(self)

    def deinit(self):
        self.cb = None
        if self in _timers:
            _timers.remove(self)


_timers = []


def _fire_due(now):
    fired = 0
    for a in _adcs:
        a._resolve()
    for t in _timers:
        while t.cb is not None and t.next <= now:
            at = t.next
            if _model is not None:
                _model.fill_counts(at, _frame)
            vclock.frozen_us = at
            cb = t.cb
            micropython.heap_lock()
            try:
                cb(t)
            except MemoryError:
                micropython.heap_unlock()
                sys.stderr.write("simulated glove: the timer callback allocated memory (MemoryError)\n")
                sys.exit(70)
            micropython.heap_unlock()
            vclock.frozen_us = -1
            t.next = at + t.period
            fired += 1
    return fired


def idle():
    """Fire the timer ticks that are due; when none is, wait (real time) or jump (free)."""
    now = vclock.now_us()
    if _fire_due(now):
        return
    nxt = -1
    for t in _timers:
        if t.cb is not None and (nxt < 0 or t.next < nxt):
            nxt = t.next
    if nxt < 0:
        utime.sleep_ms(1)
        return
    if vclock.free:
        vclock.virtual_us = nxt
        _fire_due(nxt)
    else:
        wait = nxt - now
        utime.sleep_us(wait if wait < 2000 else 2000)


def disable_irq():
    micropython.heap_lock()
    return 1


def enable_irq(state=1):
    micropython.heap_unlock()


def unique_id():
    h = _cfg.get("unique_id", "e6605838833b2a2f")
    import binascii
    return binascii.unhexlify(h)


def reset_cause():
    return int(_cfg.get("reset_cause", PWRON_RESET))


def reset():
    # A real board restarts and re-enumerates on USB. Here the interpreter must end: under
    # `micropython -i` a SystemExit only drops to the REPL, so leave a mark for the harness
    # (sim/glove.py), which then unplugs and boots the glove again, and end the process.
    if _path:
        d = _path.rsplit("/", 1)[0] if "/" in _path else "."
        with open(d + "/reset", "w") as f:
            f.write("reset\n")
    os.system("kill -KILL $PPID")     # the shell's parent is this interpreter
    sys.exit(75)


def soft_reset():
    reset()


def freq():
    return 125000000


if _cfg.get("script"):
    _load_model()
else:
    _unloaded()
