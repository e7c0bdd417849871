"""A fake glove on a pty that speaks docs/PROTOCOL.md and can lie.

    with FakeGlove(meta={"glove_id": "../x"}) as fg:
        GloveLink.open(fg.port)            # the host's real serial path (a pty)
        fg.commands                         # [("stop", []), ("id", []), ...] as received

It records every command line the host sends (verb and arguments, in order), answers them
(REPLY OK, META for `id`), and while started streams DATA frames in real time at `rate_hz`
with counts from `counts(seq)` (default: every sensor at rest) and a device clock from
`t_us(seq)` (default: seq x period). `send(frame_bytes)` injects any frame; `silent=True`
answers the handshake and `start` but never sends a sample. The host cannot tell it from a
glove: it opens the same kind of device a real glove is.
"""
from __future__ import annotations

import copy
import os
import pty
import select
import struct
import threading
import time
import tty
import zlib

from massage_glove import protocol as P

CLASSES = {"fsr402": (1500.0, 100000.0), "fsr406": (680.0, 100000.0)}
SITES = ("thumb", "index", "middle", "ring", "little", "knuckle_index", "knuckle_middle", "palm_heel")


def default_meta(hands=("right", "left")) -> dict:
    chans = []
    for h, hand in enumerate(hands):
        for i, site in enumerate(SITES):
            cls = "fsr406" if site == "palm_heel" else "fsr402"
            rd, rb = CLASSES[cls]
            chans.append({"index": len(chans), "name": ("R_" if hand == "right" else "L_") + site,
                          "hand": hand, "site": site, "class": cls, "r_divider_ohm": rd,
                          "r_bleed_ohm": rb})
    return {"protocol": 1, "firmware": "1.0.0", "board": "fake", "platform": "linux",
            "glove_id": "fake-glove", "hands": list(hands), "channels": chans, "adc_bits": 12,
            "vref_v": 3.3, "rate_hz": 200, "min_rate_hz": 1, "max_rate_hz": 16000 // len(chans),
            "ts_bits": 30, "seq_bits": 16, "ring_slots": 512, "streaming": False,
            "limits": [0] * len(chans), "buzzers": list(hands), "button": True}


def unloaded(meta: dict) -> list[int]:
    full = (1 << meta["adc_bits"]) - 1
    return [int(full * c["r_divider_ohm"] / (c["r_divider_ohm"] + c["r_bleed_ohm"]) + 0.5)
            for c in meta["channels"]]


def event_frame(kind, channel, seq, t_us, value, text=b"") -> bytes:
    return P.encode_frame(P.T_EVENT, struct.pack("<BBHII", kind, channel, seq & 0xFFFF,
                                                 t_us & 0x3FFFFFFF, value) + text)


class FakeGlove:
    def __init__(self, meta: dict | None = None, *, silent: bool = False, counts=None,
                 t_us=None, rate_hz: float | None = None, boot: bool = False, seq0: int = 0):
        self.meta = copy.deepcopy(meta) if meta is not None else default_meta()
        self.silent = silent
        self.rate_hz = float(rate_hz or self.meta.get("rate_hz") or 200)
        try:
            rest = unloaded(self.meta)
        except (KeyError, TypeError, ValueError, OverflowError):     # a lying META
            rest = [61] * 16
        self.counts = counts or (lambda seq, rest=rest: rest)
        self.t_us = t_us or (lambda seq: int(seq * 1e6 / self.rate_hz))
        self.commands: list[tuple[str, list[str]]] = []
        self.lines: list[bytes] = []
        self.streaming = False
        self.seq = seq0
        self.sent_samples = 0
        self._boot = boot
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._master, slave = pty.openpty()
        tty.setraw(slave)
        self._slave = slave
        self.port = os.ttyname(slave)
        self._threads = [threading.Thread(target=self._rx, daemon=True),
                         threading.Thread(target=self._tx, daemon=True)]

    # --- life cycle -------------------------------------------------------------------
    def __enter__(self) -> "FakeGlove":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    # --- what the host sent -------------------------------------------------------------
    def verbs(self) -> list[str]:
        with self._lock:
            return [v for v, _ in self.commands]

    def wait_for(self, verb: str, count: int = 1, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.verbs().count(verb) >= count:
                return True
            time.sleep(0.01)
        return False

    # --- output -------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        with self._lock:
            self._write(data)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except OSError:
                return
            view = view[n:]

    def _reply(self, seq: int, status: int = 0, text: str = "") -> None:
        self._write(P.encode_frame(P.T_REPLY, struct.pack("<HB", seq, status) + text.encode()))

    def _answer(self, line: bytes) -> None:
        text = line.decode("ascii", "replace")
        body, _, crc = text.rpartition("*")
        if not body or crc != "%08x" % zlib.crc32(body.encode()):
            self._reply(0xFFFF, P.ST_BAD_FORMAT, "bad line")
            return
        toks = body.split(" ")
        seq, verb, args = int(toks[0]), toks[1], toks[2:]
        with self._lock:
            self.commands.append((verb, args))
            if verb == "id":
                import json
                self._write(P.encode_frame(P.T_META, struct.pack("<H", seq)
                                           + json.dumps(self.meta, separators=(",", ":")).encode()))
                return
            if verb == "start":
                self.streaming = True
                self._t0 = time.monotonic()
                self._n0 = self.sent_samples
            elif verb == "stop":
                self.streaming = False
            elif verb == "rate":
                self.rate_hz = float(args[0])
                self._t0 = time.monotonic()
                self._n0 = self.sent_samples
            self._reply(seq, 0, args[0] if verb == "rate" else "")

    def _rx(self) -> None:
        buf = bytearray()
        if self._boot:
            self.send(event_frame(P.EV_BOOT, 0xFF, 0, 0, 1, b"1.0.0"))
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self._master], [], [], 0.05)
                if not r:
                    continue
                data = os.read(self._master, 4096)
            except OSError:
                time.sleep(0.05)
                continue
            buf += data.replace(b"\r", b"")
            while b"\n" in buf:
                line, _, rest = bytes(buf).partition(b"\n")
                buf = bytearray(rest)
                self.lines.append(line)
                if line:
                    self._answer(line)

    def _tx(self) -> None:
        while not self._stop.is_set():
            if not self.streaming or self.silent:
                time.sleep(0.005)
                continue
            due = self._n0 + int((time.monotonic() - self._t0) * self.rate_hz)
            with self._lock:
                while self.streaming and self.sent_samples < due:
                    s = self.seq
                    self._write(P.encode_data(s & 0xFFFF, self.t_us(s) & 0x3FFFFFFF, 0,
                                              self.counts(s)))
                    self.seq += 1
                    self.sent_samples += 1
            time.sleep(0.002)
