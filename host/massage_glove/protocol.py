"""Wire codec of docs/PROTOCOL.md (version 1): CRC-32, COBS, frames, command lines.

Pure functions and one incremental decoder; no I/O. `FrameDecoder.feed(chunk)` accepts
bytes split anywhere and returns the frames completed by that chunk; every rejected
candidate is counted by reason (PROTOCOL.md 2.3) and never delivered.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field

VERSION = 1
MAX_PAYLOAD = 4096
MIN_PAYLOAD = 6
MAX_ENCODED = MAX_PAYLOAD + MAX_PAYLOAD // 254 + 1
MAX_CHANNELS = 32
MAX_LINE = 96

T_DATA, T_META, T_REPLY, T_EVENT = 0x01, 0x02, 0x03, 0x04

ST_OK, ST_BAD_CRC, ST_BAD_FORMAT, ST_UNKNOWN_COMMAND, ST_BAD_ARGUMENT, ST_INTERNAL = range(6)
STATUS_NAMES = {0: "OK", 1: "BAD_CRC", 2: "BAD_FORMAT", 3: "UNKNOWN_COMMAND",
                4: "BAD_ARGUMENT", 5: "INTERNAL"}

EV_BOOT, EV_DROP, EV_LIMIT, EV_BUTTON, EV_FAULT, EV_RATE = 1, 2, 3, 4, 5, 6
EVENT_NAMES = {1: "boot", 2: "drop", 3: "limit", 4: "button", 5: "fault", 6: "rate"}
FAULT_INTERNAL, FAULT_LATE = 1, 2
NO_CHANNEL = 0xFF
NO_SEQ = 0xFFFF

TS_BITS = 30
SEQ_BITS = 16

REJECT_REASONS = ("cobs", "short", "long", "crc", "version", "type", "layout")


class DecodeError(ValueError):
    """A candidate frame that must be rejected; `reason` is one of REJECT_REASONS."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """The normative COBS encoder of PROTOCOL.md 2.2 (no delimiter)."""
    out = bytearray([0])
    code_pos, code = 0, 1
    n = len(data)
    for i, b in enumerate(data):
        if b == 0:
            out[code_pos] = code
            code_pos = len(out)
            out.append(0)
            code = 1
        else:
            out.append(b)
            code += 1
            if code == 0xFF and i + 1 < n:
                out[code_pos] = code
                code_pos = len(out)
                out.append(0)
                code = 1
    out[code_pos] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        if c == 0:
            raise DecodeError("cobs", "zero byte inside a COBS frame")
        if i + c > n:
            raise DecodeError("cobs", f"COBS code {c} promises more bytes than remain")
        out += data[i + 1:i + c]
        i += c
        if c < 0xFF and i < n:
            out.append(0)
    return bytes(out)


@dataclass(frozen=True)
class Data:
    seq: int
    t_us: int
    flags: int
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Meta:
    cmd_seq: int
    info: dict


@dataclass(frozen=True)
class Reply:
    cmd_seq: int
    status: int
    text: str

    @property
    def ok(self) -> bool:
        return self.status == ST_OK


@dataclass(frozen=True)
class Event:
    kind: int
    channel: int
    seq: int
    t_us: int
    value: int
    text: str

    @property
    def name(self) -> str:
        return EVENT_NAMES.get(self.kind, f"kind{self.kind}")


Frame = Data | Meta | Reply | Event


def _text(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("layout", "text is not valid UTF-8") from None


def parse_payload(p: bytes) -> Frame:
    """Check and decode one payload (COBS already undone). Raises DecodeError."""
    if len(p) < MIN_PAYLOAD:
        raise DecodeError("short", f"payload of {len(p)} bytes (at least {MIN_PAYLOAD})")
    if len(p) > MAX_PAYLOAD:
        raise DecodeError("long", f"payload of {len(p)} bytes (at most {MAX_PAYLOAD})")
    if crc32(p[:-4]) != struct.unpack_from("<I", p, len(p) - 4)[0]:
        raise DecodeError("crc", "CRC mismatch")
    if p[0] != VERSION:
        raise DecodeError("version", f"protocol version {p[0]} (this host speaks {VERSION})")
    t, body = p[1], p[2:-4]
    if t == T_DATA:
        n2 = len(body) - 7
        if n2 < 2 or n2 % 2 or n2 // 2 > MAX_CHANNELS:
            raise DecodeError("layout", f"DATA body of {len(body)} bytes")
        seq, t_us, flags = struct.unpack_from("<HIB", body)
        counts = struct.unpack_from(f"<{n2 // 2}H", body, 7)
        return Data(seq, t_us, flags, counts)
    if t == T_META:
        if len(body) < 2:
            raise DecodeError("layout", "META body shorter than 2 bytes")
        try:
            info = json.loads(_text(body[2:]))
        except ValueError as e:
            raise DecodeError("layout", f"META is not JSON: {e}") from None
        except RecursionError:
            raise DecodeError("layout", "META JSON is nested too deeply") from None
        if not isinstance(info, dict):
            raise DecodeError("layout", "META JSON is not an object")
        return Meta(struct.unpack_from("<H", body)[0], info)
    if t == T_REPLY:
        if len(body) < 3:
            raise DecodeError("layout", "REPLY body shorter than 3 bytes")
        seq, status = struct.unpack_from("<HB", body)
        return Reply(seq, status, _text(body[3:]))
    if t == T_EVENT:
        if len(body) < 12:
            raise DecodeError("layout", "EVENT body shorter than 12 bytes")
        kind, ch, seq, t_us, value = struct.unpack_from("<BBHII", body)
        return Event(kind, ch, seq, t_us, value, _text(body[12:]))
    raise DecodeError("type", f"unknown frame type 0x{t:02x}")


def decode_frame(encoded: bytes) -> Frame:
    """Decode the bytes between two delimiters. Raises DecodeError."""
    if len(encoded) > MAX_ENCODED:
        raise DecodeError("long", f"frame of {len(encoded)} encoded bytes")
    return parse_payload(cobs_decode(encoded))


def encode_payload(ftype: int, body: bytes, version: int = VERSION) -> bytes:
    p = bytes([version, ftype]) + body
    return p + struct.pack("<I", crc32(p))


def encode_frame(ftype: int, body: bytes) -> bytes:
    return cobs_encode(encode_payload(ftype, body)) + b"\x00"


def encode_data(seq: int, t_us: int, flags: int, counts) -> bytes:
    return encode_frame(T_DATA, struct.pack(f"<HIB{len(counts)}H", seq, t_us, flags, *counts))


@dataclass
class DecoderStats:
    frames: int = 0
    rejected: dict = field(default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0))
    bytes_in: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def crc_errors(self) -> int:
        return self.rejected["crc"]


class FrameDecoder:
    """Bytes in arbitrary chunks -> frames, resynchronising at every 0x00 (PROTOCOL.md 2.3).

    Rejected candidates are counted in `stats.rejected` by reason and, if `on_reject` is
    given, reported to it as (reason, message). Never raises for any input bytes.
    """

    def __init__(self, on_reject=None):
        self._buf = bytearray()
        self._overlong = False
        self.stats = DecoderStats()
        self.on_reject = on_reject

    def feed(self, chunk: bytes) -> list[Frame]:
        out: list[Frame] = []
        self.stats.bytes_in += len(chunk)
        start = 0
        while True:
            z = chunk.find(b"\x00", start)
            if z < 0:
                rest = chunk[start:]
                if not self._overlong:
                    self._buf += rest
                    if len(self._buf) > MAX_ENCODED:
                        self._overlong = True
                        self._buf.clear()
                return out
            piece = chunk[start:z]
            start = z + 1
            if self._overlong:
                self._overlong = False
                self._buf.clear()
                self._reject("long", "frame longer than the longest allowed")
                continue
            if self._buf:
                self._buf += piece
                piece = bytes(self._buf)
                self._buf.clear()
            if not piece:
                continue
            try:
                f = decode_frame(piece)
            except DecodeError as e:
                self._reject(e.reason, str(e))
                continue
            self.stats.frames += 1
            out.append(f)

    def _reject(self, reason: str, message: str) -> None:
        self.stats.rejected[reason] += 1
        if self.on_reject is not None:
            self.on_reject(reason, message)


# --- commands (host -> glove), PROTOCOL.md section 3 ---------------------------------

def command_line(seq: int, verb: str, *args) -> bytes:
    """One command line, CRC and newline included: command_line(7, "rate", 500)."""
    if not 0 <= seq <= 0xFFFF:
        raise ValueError("seq must be 0..65535")
    body = " ".join([str(seq), verb, *map(str, args)])
    if any(not (0x20 <= ord(c) <= 0x7E) or c == "*" for c in body):
        raise ValueError(f"command has characters a glove does not accept: {body!r}")
    line = f"{body}*{crc32(body.encode()):08x}"
    if len(line) > MAX_LINE:
        raise ValueError(f"command longer than {MAX_LINE} bytes")
    return (line + "\n").encode()


class Unwrapper:
    """Unwraps a counter that wraps at 2**bits into a rising int (PROTOCOL.md 2.5).

    `expected_step` (in counter units, from the host clock) resolves wraps that a plain
    modulo difference cannot see (more than half a period without a frame).
    """

    def __init__(self, bits: int):
        self.mod = 1 << bits
        self.half = self.mod >> 1
        self.last: int | None = None

    def __call__(self, raw: int, expected_step: float | None = None) -> int:
        if self.last is None:
            self.last = raw
            return raw
        d = (raw - self.last) % self.mod
        if expected_step is not None and expected_step > self.half:
            # add whole periods so the step matches the elapsed time
            k = round((expected_step - d) / self.mod)
            d += max(k, 0) * self.mod
        self.last += d
        return self.last

    def reset(self) -> None:
        self.last = None
