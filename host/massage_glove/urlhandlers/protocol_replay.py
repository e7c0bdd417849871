"""`replay://`: a recorded session log speaking the wire protocol, like the glove that made it.

    replay://path/to/session.mglog?speed=4&start=80
    replay:///abs/path/session.mglog?loop=1

Opening the URL reads the log (header checked) and answers commands as a glove does
(docs/PROTOCOL.md section 3): `id` with the recorded glove's META, `start`/`stop`, `ping`,
`buzz`, `limit` (the hard limits are checked on the replayed counts and trip LIMIT events
as the firmware does), `rate` (only the recorded rate: a recording cannot be resampled),
`reset` (a BOOT event, then the recording from `start` again). Once started, DATA frames
carry the recorded counts, sequence numbers (gaps included) and device times (modulo
2^30, as the glove's clock), paced by the recorded device time divided by `speed`; the
recorded mark-button presses are sent as BUTTON events at their moments. Every frame is
encoded by the project's protocol module, so any tool that takes a serial URL runs
against a recording without a code change.

Parameters: speed (0.1 .. 64, default 1), start (seconds into the recording, default 0),
loop (1: start again with a BOOT event at the end; default 0: fall silent, as an
unplugged glove would not, so the host reports a stall).
"""
from __future__ import annotations

import json
import logging
import struct
import threading
import time

import numpy as np
import serial
from serial.serialutil import PortNotOpenError, SerialBase

from .. import protocol as P
from . import parse_url

log = logging.getLogger(__name__)

PARAMS = {"speed": (float, 1.0), "start": (float, 0.0), "loop": (bool, False)}
MAX_SPEED = 64.0
TICK_S = 0.002             # pacing granularity of the sender thread


def load_recording(url: str):
    """(SessionLog, params) of a replay:// URL; ValueError with a message naming the problem."""
    from ..errors import GloveError
    from ..log import load
    path, q = parse_url(url, "replay", PARAMS)
    if not path:
        raise ValueError(f"{url!r}: no log path (replay://path/to/session.mglog)")
    if not 0.1 <= q["speed"] <= MAX_SPEED:
        raise ValueError(f"{url!r}: speed {q['speed']}, expected 0.1 .. {MAX_SPEED:g}")
    try:
        slog = load(path)
    except GloveError as e:
        raise ValueError(f"{url!r}: {e}") from None
    if not len(slog.samples):
        raise ValueError(f"{url!r}: the log {path} holds no samples")
    dur = float(slog.samples.t_device_s[-1] - slog.samples.t_device_s[0])
    if not 0.0 <= q["start"] < dur:
        raise ValueError(f"{url!r}: start {q['start']} s, expected 0 .. {dur:.1f} (the recording's length)")
    return slog, q


class Serial(SerialBase):
    """A glove made of a recording (see the module docstring)."""

    def open(self):
        if self._port is None:
            raise serial.SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise serial.SerialException("Port is already open.")
        slog, q = load_recording(self._port)
        self.recording = slog
        self.speed = q["speed"]
        self.start_s = q["start"]
        self.loop = q["loop"]
        s = slog.samples
        self._t = np.asarray(s.t_device_s, np.float64) - float(s.t_device_s[0])
        self._seq = np.asarray(s.seq, np.int64)
        self._counts = np.asarray(s.counts, np.uint16)
        self._flags = np.asarray(s.flags, np.uint8)
        self.rate_hz = int(round(float(slog.header.get("rate_hz") or slog.device.rate_hz)))
        self._buttons = sorted((float(e.t_device_s) - float(s.t_device_s[0]), bool(e.fields.get("pressed")))
                               for e in slog.events if e.kind == "button" and e.t_device_s is not None)
        self._stages = sorted(float(e.t_device_s) - float(s.t_device_s[0])
                              for e in slog.events if e.kind == "stage" and e.t_device_s is not None)
        n_ch = self._counts.shape[1]
        self._limits = np.zeros(n_ch, np.int64)
        self._over = np.zeros(n_ch, bool)
        self._out = bytearray()
        self._in = bytearray()
        self._cv = threading.Condition()
        self._streaming = False
        self._stop = threading.Event()
        self._i = 0
        self._wall0 = 0.0
        self._t0 = 0.0
        self._boot_us = 0            # device clock offset: the glove's t_us of recording time 0
        self.first_sent_s: float | None = None     # recording time of the first DATA sent
        self.is_open = True
        self._thread = threading.Thread(target=self._run, name="replay-glove", daemon=True)
        self._thread.start()

    def close(self):
        self.is_open = False
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            with self._cv:
                self._cv.notify_all()
            t = getattr(self, "_thread", None)
            if t is not None and t is not threading.current_thread():
                t.join(timeout=2)

    # --- pyserial's interface -----------------------------------------------------------
    def _reconfigure_port(self):
        pass

    @property
    def in_waiting(self):
        if not self.is_open:
            raise PortNotOpenError()
        with self._cv:
            return len(self._out)

    def read(self, size=1):
        if not self.is_open:
            raise PortNotOpenError()
        end = None if self._timeout is None else time.monotonic() + self._timeout
        with self._cv:
            while not self._out and self.is_open:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cv.wait(left)
            data = bytes(self._out[:size])
            del self._out[:size]
        return data

    def write(self, data):
        if not self.is_open:
            raise PortNotOpenError()
        data = bytes(data)
        self._in += data
        while b"\n" in self._in:
            line, _, rest = bytes(self._in).partition(b"\n")
            self._in = bytearray(rest)
            self._command(line.replace(b"\r", b""))
        return len(data)

    def reset_input_buffer(self):
        with self._cv:
            self._out.clear()

    def reset_output_buffer(self):
        pass

    @property
    def cts(self):
        return True

    @property
    def dsr(self):
        return True

    @property
    def ri(self):
        return False

    @property
    def cd(self):
        return True

    def _update_rts_state(self):
        pass

    def _update_dtr_state(self):
        pass

    def _update_break_state(self):
        pass

    # --- the glove ----------------------------------------------------------------------
    def routine_start(self, link) -> float:
        """Link device seconds at which the recording's routine began (for `live --routine`):
        negative when the replay starts part-way through it, so the routine is at the
        recorded stage from the first sample on."""
        first = self.first_sent_s if self.first_sent_s is not None else self.start_s
        return (self._stages[0] - first) if self._stages else 0.0

    def _send(self, frame: bytes) -> None:
        with self._cv:
            self._out += frame
            self._cv.notify_all()

    def _now_us(self) -> int:
        t = self._t0 + (time.monotonic() - self._wall0) * self.speed if self._streaming else self._t0
        return (self._boot_us + int(round(t * 1e6))) % (1 << P.TS_BITS)

    def _reply(self, seq: int, status: int, text: str = "") -> None:
        self._send(P.encode_frame(P.T_REPLY, struct.pack("<HB", seq, status) + text.encode()))

    def _meta(self) -> dict:
        meta = dict(self.recording.device.to_meta())
        meta.update(rate_hz=self.rate_hz, min_rate_hz=self.rate_hz, max_rate_hz=self.rate_hz,
                    streaming=self._streaming, limits=[int(x) for x in self._limits],
                    replay={"log": str(self.recording.path), "speed": self.speed,
                            "start_s": self.start_s})
        return meta

    def _command(self, line: bytes) -> None:
        """One command line, checked in the order of PROTOCOL.md section 3."""
        if not line:
            return
        bad = P.NO_SEQ
        if len(line) > P.MAX_LINE or any(not 0x20 <= b <= 0x7E for b in line):
            return self._reply(bad, P.ST_BAD_FORMAT, "line too long or not printable ASCII")
        text = line.decode("ascii")
        body, star, crc = text.rpartition("*")
        if not star or len(crc) != 8 or any(c not in "0123456789abcdef" for c in crc):
            return self._reply(bad, P.ST_BAD_FORMAT, "no *crc (8 lowercase hex digits) at the end")
        head = body.split(" ", 1)[0]
        if not (1 <= len(head) <= 5 and head.isdigit() and int(head) <= 0xFFFF):
            return self._reply(bad, P.ST_BAD_FORMAT, "the line does not start with a seq number")
        seq = int(head)
        if P.crc32(body.encode()) != int(crc, 16):
            return self._reply(seq, P.ST_BAD_CRC, "CRC mismatch")
        tokens = body.split(" ")
        if any(not t for t in tokens) or len(tokens) < 2:
            return self._reply(seq, P.ST_BAD_FORMAT, "empty token or no verb")
        verb, args = tokens[1], tokens[2:]
        try:
            self._do(seq, verb, args)
        except _BadArgument as e:
            self._reply(seq, P.ST_BAD_ARGUMENT, str(e))

    def _do(self, seq: int, verb: str, args: list[str]) -> None:
        n_ch = len(self._limits)
        if verb == "ping":
            self._reply(seq, P.ST_OK, str(self._now_us()))
        elif verb == "id":
            _nargs(args, 0)
            body = struct.pack("<H", seq) + json.dumps(self._meta(), separators=(",", ":")).encode()
            self._send(P.encode_frame(P.T_META, body))
        elif verb == "start":
            _nargs(args, 0)
            with self._cv:
                if not self._streaming:
                    resume = self.first_sent_s is not None
                    self._begin(self._t0 if resume else self.start_s, after=resume)
            self._reply(seq, P.ST_OK)
        elif verb == "stop":
            _nargs(args, 0)
            with self._cv:
                if self._streaming:
                    self._t0 = self._t0 + (time.monotonic() - self._wall0) * self.speed
                self._streaming = False
            self._reply(seq, P.ST_OK)
        elif verb == "rate":
            _nargs(args, 1)
            hz = _int(args[0], "rate (Hz)")
            if hz != self.rate_hz:
                raise _BadArgument(f"a recording plays at its recorded rate, {self.rate_hz} Hz")
            self._reply(seq, P.ST_OK, str(hz))
            self._send(_event(P.EV_RATE, P.NO_CHANNEL, 0, self._now_us(), hz))
        elif verb == "buzz":
            if not 1 <= len(args) <= 2:
                raise _BadArgument("buzz takes ms and an optional hand")
            ms = _int(args[0], "ms")
            if not 0 <= ms <= 5000:
                raise _BadArgument("ms must be 0 .. 5000")
            if len(args) == 2 and args[1] not in ("right", "left", "all"):
                raise _BadArgument("hand must be right, left or all")
            self._reply(seq, P.ST_OK)
        elif verb == "limit":
            _nargs(args, 2)
            full = (1 << int(self.recording.device.adc_bits)) - 1
            value = _int(args[1], "limit (counts)")
            if not 0 <= value <= full:
                raise _BadArgument(f"limit (counts) must be 0 .. {full}")
            if args[0] == "all":
                chans = range(n_ch)
            else:
                ch = _int(args[0], "channel")
                if not 0 <= ch < n_ch:
                    raise _BadArgument(f"channel must be 0 .. {n_ch - 1} or all")
                chans = [ch]
            with self._cv:
                for ch in chans:
                    self._limits[ch] = value
                    self._over[ch] = False
            self._reply(seq, P.ST_OK)
        elif verb == "reset":
            _nargs(args, 0)
            self._reply(seq, P.ST_OK)
            with self._cv:
                self._streaming = False
                self.first_sent_s = None
                self._t0 = self.start_s
            self._boot()
        else:
            self._reply(seq, P.ST_UNKNOWN_COMMAND, f"unknown command {verb!r}")

    def _boot(self) -> None:
        with self._cv:
            self._limits[:] = 0
            self._over[:] = False
            self._boot_us = (self._boot_us + 7_919_000) % (1 << P.TS_BITS)
        self._send(_event(P.EV_BOOT, P.NO_CHANNEL, 0, self._now_us(), 1, "replay"))

    def _begin(self, t_s: float, after: bool = False) -> None:
        """Stream from recording time t_s on (after: the samples after it; lock held)."""
        self._i = int(np.searchsorted(self._t, t_s, side="right" if after else "left"))
        self._t0 = t_s
        self._wall0 = time.monotonic()
        self._streaming = True
        self._b = int(np.searchsorted([b[0] for b in self._buttons], t_s, side="left"))
        self._cv.notify_all()

    def _run(self) -> None:
        n = len(self._t)
        while not self._stop.is_set():
            with self._cv:
                if not self._streaming:
                    self._cv.wait(0.1)
                    continue
                t_now = self._t0 + (time.monotonic() - self._wall0) * self.speed
                j = int(np.searchsorted(self._t, t_now, side="right"))
                i = self._i
                frames = []
                if j > i:
                    frames.append(self._frames(i, j))
                    if self.first_sent_s is None:
                        self.first_sent_s = float(self._t[i])
                    self._i = j
                while self._b < len(self._buttons) and self._buttons[self._b][0] <= t_now:
                    tb, pressed = self._buttons[self._b]
                    k = min(int(np.searchsorted(self._t, tb)), n - 1)
                    frames.append(_event(P.EV_BUTTON, P.NO_CHANNEL, int(self._seq[k]) & 0xFFFF,
                                         self._us(tb), int(pressed)))
                    self._b += 1
                if frames:
                    self._out += b"".join(frames)
                    self._cv.notify_all()
                if self._i >= n:
                    self._streaming = False
                    self._t0 = float(self._t[-1])
                    if not self.loop:
                        log.info("%s: the recording has ended", self._port)
            if self._i >= n and self.loop and not self._stop.is_set():
                self._boot()
                with self._cv:
                    self.first_sent_s = None
                    self._begin(self.start_s)
                continue
            self._stop.wait(TICK_S)

    def _us(self, t_s: float) -> int:
        return (self._boot_us + int(round(t_s * 1e6))) % (1 << P.TS_BITS)

    def _frames(self, i: int, j: int) -> bytes:
        """DATA frames of samples i..j-1 (and LIMIT events where a hard limit trips; lock held)."""
        out = []
        lim = self._limits
        on = lim > 0
        for k in range(i, j):
            c = self._counts[k]
            flags = int(self._flags[k]) & ~0x04
            seq = int(self._seq[k]) & 0xFFFF
            t_us = self._us(float(self._t[k]))
            if on.any():
                over = on & (c >= lim)
                if over.any():
                    flags |= 0x04
                    new = over & ~self._over
                    if new.any():
                        ch = int(np.flatnonzero(new)[0])
                        out.append(_event(P.EV_LIMIT, ch, seq, t_us, int(c[ch])))
                self._over = over
            out.append(P.encode_data(seq, t_us, flags, c.tolist()))
        return b"".join(out)


class _BadArgument(ValueError):
    pass


def _nargs(args, n):
    if len(args) != n:
        raise _BadArgument(f"expected {n} argument{'s' if n != 1 else ''}, got {len(args)}")


def _int(text: str, what: str) -> int:
    if not text.lstrip("-").isdigit():
        raise _BadArgument(f"{what} must be a whole number, not {text!r}")
    return int(text)


def _event(kind: int, ch: int, seq: int, t_us: int, value: int, text: str = "") -> bytes:
    return P.encode_frame(P.T_EVENT, struct.pack("<BBHII", kind, ch, seq & 0xFFFF, t_us, value)
                          + text.encode())
