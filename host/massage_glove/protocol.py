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

from cobs import cobs as _cobs

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


def _cobs_decode_spec(data: bytes) -> bytes:
    """COBS decoding exactly as PROTOCOL.md 2.2 words it; raises DecodeError("cobs", ...)."""
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


def cobs_decode(data: bytes) -> bytes:
    """COBS-decode the bytes between two delimiters (PROTOCOL.md 2.2). Raises DecodeError.

    The `cobs` package (C) decodes every well-formed frame; it gives the same bytes as the
    spec's reading for all of them. It also refuses a 0x00 among the data bytes, which the
    spec's reading copies (a frame split at every 0x00 never has one), so whatever it
    refuses goes through the spec's reading: the result, or the reject and its message,
    are always the spec's (tests/test_protocol.py checks the two agree).
    """
    try:
        return _cobs.decode(data)
    except _cobs.DecodeError:
        return _cobs_decode_spec(data)


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


# --- META, checked once at the boundary (PROTOCOL.md 2.4, META) -------------------------

import math
import re

# A glove id names a file (calibration/<glove_id>.json): letters, digits, `.`, `_`, `-`,
# starting with a letter or digit (so never `.`, `..` or an option), at most 64 characters.
GLOVE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Every other name the glove sends (firmware, board, platform, channel name, site, class).
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
HANDS = ("right", "left")
MAX_RATE_HZ = 16000          # one channel at the firmware's 16000 channel samples per second
MAX_ADC_BITS = 16            # counts are u16
MAX_OHM = 1e9
MAX_VREF_V = 100.0


class MetaError(ValueError):
    """A META field that breaks PROTOCOL.md: `field` (JSON path), what was expected, found."""

    def __init__(self, field: str, expected: str, found):
        self.field = field
        self.expected = expected
        self.found = found
        shown = repr(found)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"META field `{field}`: expected {expected}, found {shown}")


def _int(meta, key, lo, hi, path=None):
    v = meta.get(key) if isinstance(meta, dict) else None
    path = path or key
    # a whole number: 200 or 200.0 (JSON does not tell them apart), never 200.5, "200", true
    whole = (isinstance(v, int) or (isinstance(v, float) and math.isfinite(v) and v == int(v))) \
        and not isinstance(v, bool)
    if not whole or not lo <= v <= hi:
        raise MetaError(path, f"a whole number from {lo} to {hi}",
                        v if key in meta else "nothing")
    return int(v)


def _num(meta, key, lo_excl, hi, path=None):
    v = meta.get(key)
    path = path or key
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not lo_excl < v <= hi:
        raise MetaError(path, f"a finite number above {lo_excl:g} and at most {hi:g}",
                        v if key in meta else "nothing")
    return float(v)


def _name(meta, key, rx=NAME_RE, path=None, what="a name"):
    v = meta.get(key)
    path = path or key
    if not isinstance(v, str) or not rx.fullmatch(v):
        raise MetaError(path, f"{what} of 1 to 64 letters, digits, `.`, `_`, `-`"
                        + (", `+`" if rx is NAME_RE else "") + " starting with a letter or digit",
                        v if key in meta else "nothing")
    return v


def check_glove_id(glove_id) -> str:
    """The glove id as a safe file name stem, or MetaError (PROTOCOL.md, glove_id)."""
    return _name({"glove_id": glove_id}, "glove_id", GLOVE_ID_RE, what="an id")


def check_meta(meta: dict) -> None:
    """Check a META object against PROTOCOL.md; raises MetaError naming the field.

    Unknown fields are ignored (a host must ignore fields it does not know).
    """
    if not isinstance(meta, dict):
        raise MetaError("", "a JSON object", type(meta).__name__)
    _int(meta, "protocol", VERSION, VERSION)
    _name(meta, "glove_id", GLOVE_ID_RE, what="an id")
    for k in ("firmware", "board"):
        _name(meta, k)
    if "platform" in meta:
        _name(meta, "platform")
    hands = meta.get("hands")
    if not isinstance(hands, list) or not 1 <= len(hands) <= 2 \
            or any(h not in HANDS for h in hands) or len(set(hands)) != len(hands):
        raise MetaError("hands", "a list of one or two different hands, `right` or `left`",
                        hands if "hands" in meta else "nothing")
    chans = meta.get("channels")
    if not isinstance(chans, list) or not 1 <= len(chans) <= MAX_CHANNELS:
        raise MetaError("channels", f"a list of 1 to {MAX_CHANNELS} channels",
                        (f"{len(chans)} channels" if isinstance(chans, list) else chans)
                        if "channels" in meta else "nothing")
    names = set()
    for i, c in enumerate(chans):
        p = f"channels[{i}]"
        if not isinstance(c, dict):
            raise MetaError(p, "an object", c)
        _int(c, "index", i, i, p + ".index")
        n = _name(c, "name", path=p + ".name")
        if n in names:
            raise MetaError(p + ".name", "a name no other channel has", n)
        names.add(n)
        if c.get("hand") not in hands:
            raise MetaError(p + ".hand", "one of the glove's hands " + ", ".join(hands), c.get("hand"))
        _name(c, "site", path=p + ".site")
        _name(c, "class", path=p + ".class")
        _num(c, "r_divider_ohm", 0, MAX_OHM, p + ".r_divider_ohm")
        _num(c, "r_bleed_ohm", 0, MAX_OHM, p + ".r_bleed_ohm")
    _int(meta, "adc_bits", 1, MAX_ADC_BITS)
    _num(meta, "vref_v", 0, MAX_VREF_V)
    lo = _int(meta, "min_rate_hz", 1, MAX_RATE_HZ)
    hi = _int(meta, "max_rate_hz", lo, MAX_RATE_HZ)
    _int(meta, "rate_hz", lo, hi)
    _int(meta, "ts_bits", TS_BITS, TS_BITS)
    _int(meta, "seq_bits", SEQ_BITS, SEQ_BITS)
    _int(meta, "ring_slots", 1, 0xFFFF)
    for k in ("streaming", "button"):
        if k in meta and not isinstance(meta[k], bool):
            raise MetaError(k, "true or false", meta[k])
    if "buzzers" in meta:
        b = meta["buzzers"]
        if not isinstance(b, list) or any(h not in hands for h in b) or len(set(b)) != len(b):
            raise MetaError("buzzers", "a list of the glove's hands", b)
    if "limits" in meta:
        lim = meta["limits"]
        full = (1 << meta["adc_bits"]) - 1
        if not isinstance(lim, list) or len(lim) != len(chans) or any(
                isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x <= full
                or x != int(x) for x in lim):
            raise MetaError("limits", f"one whole number 0..{full} per channel", lim)


def printable(text: str, limit: int = 200) -> str:
    """Text from outside (the glove, a file) made safe for a terminal: control characters
    (C0, DEL, C1, and the bidirectional overrides) become `?`, long text is cut."""
    out = "".join("?" if (ord(ch) < 0x20 and ch not in "\n") or 0x7F <= ord(ch) < 0xA0
                  or 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 else ch
                  for ch in text[:limit])
    return out + ("..." if len(text) > limit else "")
