# Test doubles for the glove's hardware, for firmware tests under the MicroPython unix port.
import micropython
import json

_now = [0]


def clock_us():
    return _now[0] & 0x3FFFFFFF


def clock_ms():
    return (_now[0] // 1000) & 0x3FFFFFFF


def ticks_diff(a, b):
    d = (a - b) & 0x3FFFFFFF
    return d - 0x40000000 if d & 0x20000000 else d


class Pin:
    def __init__(self, v=0):
        self.v = v
        self.writes = 0

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = 1 if v else 0
        self.writes += 1


class ADC:
    """Reads `values[mux]` (12-bit) for the mux input the select pins point at."""

    def __init__(self, pins):
        self.pins = pins
        self.values = [0] * 16

    def read_u16(self):
        p = self.pins
        m = p[0].v | (p[1].v << 1) | (p[2].v << 2) | (p[3].v << 3)
        return self.values[m] << 4


class Timer:
    def __init__(self):
        self.cb = None
        self.freq = 0
        self.inits = 0

    def init(self, freq, callback):
        self.freq = freq
        self.cb = callback
        self.inits += 1

    def deinit(self):
        self.cb = None

    def fire(self, n=1, step_us=None):
        """n timer ticks, each under heap_lock (a hard interrupt must not allocate)."""
        step = step_us if step_us is not None else 1000000 // self.freq
        for _ in range(n):
            _now[0] += step
            micropython.heap_lock()
            try:
                self.cb(self)
            finally:
                micropython.heap_unlock()


class Out:
    def __init__(self):
        self.data = bytearray()

    def write(self, b, n=None):
        if n is not None:
            b = memoryview(b)[:n]
        self.data += b
        return len(b)

    def take(self):
        d = bytes(self.data)
        self.data = bytearray()
        return d


class In:
    def __init__(self):
        self.data = bytearray()

    def feed(self, b):
        self.data += b

    def readinto(self, buf):
        if not self.data:
            return 0
        buf[0] = self.data[0]
        self.data = self.data[1:]
        return 1


class Poll:
    def __init__(self, inp):
        self.inp = inp

    def poll(self, timeout=0):
        return [1] if self.inp.data else []

    def ipoll(self, timeout=0):
        return self.poll(timeout)


class Board:
    def __init__(self, hands=("right", "left")):
        self.select_pins = [Pin() for _ in range(4)]
        self.adc = ADC(self.select_pins)
        self.buzzer_hands = list(hands)
        self.buzzer_pins = [Pin() for _ in hands]
        self.led = Pin()
        self.button = Pin(1)
        self.timer = Timer()
        self.stdin = In()
        self.stdout = Out()
        self.poll = Poll(self.stdin)
        self.ticks_us = clock_us
        self.ticks_ms = clock_ms
        self.ticks_diff = ticks_diff
        self.platform = "test"
        self.resets = 0
        self.idles = 0

    def idle(self):
        self.idles += 1

    def disable_irq(self):
        micropython.heap_lock()
        return 1

    def enable_irq(self, s):
        micropython.heap_unlock()

    def reset(self):
        self.resets += 1

    def rx_ready(self):
        return bool(self.stdin.data)

    def timer_init(self, freq, cb):
        self.timer.init(freq, cb)

    def glove_id(self):
        return "test-glove"

    def reset_cause(self):
        return 1


# --- an independent decoder of the glove's output, for the tests ---------------------

def cobs_decode(b):
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0 or i + c > len(b):
            raise ValueError("bad cobs")
        out += b[i + 1:i + c]
        i += c
        if c < 255 and i < len(b):
            out.append(0)
    return bytes(out)


def frames(data):
    """Split glove output into (type, body) tuples, checking CRC and version."""
    import binascii
    res = []
    for piece in bytes(data).split(b"\x00")[:-1]:
        p = cobs_decode(piece)
        crc = p[-4] | (p[-3] << 8) | (p[-2] << 16) | (p[-1] << 24)
        assert binascii.crc32(p[:-4]) == crc, "bad crc"
        assert p[0] == 1
        res.append((p[1], p[2:-4]))
    return res


def u16(b, o):
    return b[o] | (b[o + 1] << 8)


def u32(b, o):
    return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)


def parse(t, body):
    if t == 1:
        n = (len(body) - 7) // 2
        return ("data", u16(body, 0), u32(body, 2), body[6], [u16(body, 7 + 2 * i) for i in range(n)])
    if t == 2:
        return ("meta", u16(body, 0), json.loads(body[2:]))
    if t == 3:
        return ("reply", u16(body, 0), body[2], body[3:].decode())
    if t == 4:
        return ("event", body[0], body[1], u16(body, 2), u32(body, 4), u32(body, 8), body[12:].decode())
    return ("?", t, body)


def decoded(out):
    return [parse(t, b) for (t, b) in frames(out.take())]


def load_vectors():
    for path in ("../../docs/protocol_vectors.json", "docs/protocol_vectors.json"):
        try:
            with open(path) as f:
                return json.load(f)
        except OSError:
            pass
    import os
    with open(os.getenv("PROTOCOL_VECTORS")) as f:
        return json.load(f)


_failures = []


def check(cond, what):
    if not cond:
        _failures.append(what)
        print("FAIL:", what)


def done(name):
    if _failures:
        print(name, "FAILED", len(_failures))
        raise SystemExit(1)
    print(name, "OK")
