"""Session log format version 1 (docs/LOG_FORMAT.md): prologue, record framing, record scanner, sample chunk codec.

Pure functions and one small stateful class (RecordScanner, fed arbitrary byte chunks);
no file access here. All integers are little-endian.
"""
from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from .. import strictjson
from ..samples import SampleBlock

FORMAT_NAME = "massage-glove/session-log"
FORMAT_VERSION = 1

# File prologue: signature then the format version (u16).
SIGNATURE = b"\x89MGLOG\r\n\x1a\n"
PROLOGUE = struct.Struct("<10sH")
PROLOGUE_SIZE = PROLOGUE.size            # 12

# Record framing: sync, type u8, payload length u32, payload, CRC-32 u32 of type..payload.
SYNC = b"\xd7MR\x00"
RECORD_HEAD = struct.Struct("<4sBI")
RECORD_HEAD_SIZE = RECORD_HEAD.size       # 9
RECORD_CRC_SIZE = 4
RECORD_OVERHEAD = RECORD_HEAD_SIZE + RECORD_CRC_SIZE   # 13
MAX_PAYLOAD = 16 * 1024 * 1024            # readers reject longer records as damage

# Record types.
REC_HEADER = 0x01
REC_SAMPLES = 0x02
REC_EVENT = 0x03
REC_END = 0x04
RECORD_NAMES = {REC_HEADER: "header", REC_SAMPLES: "samples", REC_EVENT: "event", REC_END: "end"}

# Sample chunk payload: codec u8, t_device encoding u8, t_host encoding u8, reserved u8,
# n_channels u16, n_rows u32, then one zlib stream (section 5 of the format document).
CHUNK_HEAD = struct.Struct("<BBBBHI")
CHUNK_HEAD_SIZE = CHUNK_HEAD.size         # 10
CODEC_DELTA_ZIGZAG_SHUFFLE_ZLIB = 1
TIME_FLOAT64 = 0          # IEEE 754 bit patterns
TIME_MICROS_DIV = 1       # t = q / 1e6, q an integer number of microseconds
TIME_MICROS_MUL = 2       # t = q * 1e-6
MAX_CHANNELS = 255
BYTES_PER_ROW_FIXED = 8 + 8 + 8 + 1       # seq, t_device, t_host, flags
MAX_CHUNK_DECODED = 64 * 1024 * 1024      # refuse chunks that would inflate beyond this
ZLIB_LEVEL = 6
_TIME_ENCODINGS = (TIME_FLOAT64, TIME_MICROS_DIV, TIME_MICROS_MUL)
_MICROS_LIMIT = float(2 ** 53) / 1e6      # larger |t| cannot be an exact microsecond count


class ChunkError(ValueError):
    """A sample chunk's payload does not decode (its record's CRC was fine)."""


# --- prologue and records --------------------------------------------------------------

def prologue(version: int = FORMAT_VERSION) -> bytes:
    return PROLOGUE.pack(SIGNATURE, version)


def encode_record(rtype: int, payload: bytes) -> bytes:
    """One framed record: SYNC, type, length, payload, CRC-32 of type..payload."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"record payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = RECORD_HEAD.pack(SYNC, rtype, len(payload))
    crc = zlib.crc32(head[4:])
    crc = zlib.crc32(payload, crc)
    return b"".join((head, payload, struct.pack("<I", crc)))


@dataclass(frozen=True)
class Record:
    """A record whose CRC matched. offset: file offset of its SYNC (with base_offset)."""
    rtype: int
    offset: int
    payload: bytes

    @property
    def size(self) -> int:
        return RECORD_OVERHEAD + len(self.payload)


@dataclass(frozen=True)
class Skipped:
    """Bytes that are not part of any valid record.

    torn=False: damage between two valid records (the reader skipped it).
    torn=True:  the end of the file after the last valid record (an unfinished write).
    """
    offset: int
    length: int
    torn: bool


class RecordScanner:
    """Bytes to records: feed() arbitrary chunks of the stream after the prologue.

    Yields Record and Skipped items in stream order. A candidate record is accepted when it
    starts with SYNC, its length is at most MAX_PAYLOAD and its CRC matches; otherwise the
    scanner moves on by one byte and looks for the next SYNC. A run of rejected bytes is
    reported as Skipped(torn=False) when a valid record follows it, and as Skipped(torn=True)
    when the stream ends first. Memory: at most one record (MAX_PAYLOAD + 13 bytes) is
    buffered.
    """

    def __init__(self, base_offset: int = 0):
        self._buf = bytearray()
        self._base = base_offset          # stream offset of _buf[0]
        self._bad_start: int | None = None
        self._finished = False

    def feed(self, data: bytes) -> list:
        if self._finished:
            raise ValueError("feed() after finish()")
        self._buf += data
        return self._scan(final=False)

    def finish(self) -> list:
        """The stream has ended: resolve what is buffered (torn tail, if any)."""
        out = self._scan(final=True)
        self._finished = True
        return out

    def _reject(self, n: int) -> None:
        if self._bad_start is None:
            self._bad_start = self._base
        del self._buf[:n]
        self._base += n

    def _scan(self, final: bool) -> list:
        out = []
        buf = self._buf
        while buf:
            i = buf.find(SYNC)
            if i != 0:
                if i < 0:
                    # Keep a possible partial SYNC at the end until more data comes.
                    keep = 0 if final else min(len(SYNC) - 1, len(buf))
                    if len(buf) - keep:
                        self._reject(len(buf) - keep)
                    break
                self._reject(i)
                continue
            if len(buf) < RECORD_HEAD_SIZE:
                if final:
                    self._reject(1)
                    continue
                break
            _, rtype, length = RECORD_HEAD.unpack_from(buf, 0)
            if length > MAX_PAYLOAD:
                self._reject(1)
                continue
            total = RECORD_OVERHEAD + length
            if len(buf) < total:
                if final:
                    self._reject(1)
                    continue
                break
            crc = zlib.crc32(memoryview(buf)[4:RECORD_HEAD_SIZE + length])
            (stored,) = struct.unpack_from("<I", buf, RECORD_HEAD_SIZE + length)
            if crc != stored:
                self._reject(1)
                continue
            if self._bad_start is not None:
                out.append(Skipped(self._bad_start, self._base - self._bad_start, torn=False))
                self._bad_start = None
            out.append(Record(rtype, self._base, bytes(buf[RECORD_HEAD_SIZE:RECORD_HEAD_SIZE + length])))
            del buf[:total]
            self._base += total
        if final and self._bad_start is not None:
            out.append(Skipped(self._bad_start, self._base - self._bad_start, torn=True))
            self._bad_start = None
        return out


# --- JSON payloads (header, event, end) ------------------------------------------------

def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def _finite(o):
    """Replace non-finite floats by None (JSON has no NaN or Infinity)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def encode_json(obj: dict) -> bytes:
    """UTF-8 JSON, ASCII only (so a payload never contains SYNC), no NaN/Infinity."""
    try:
        text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"),
                          default=_json_default)
    except ValueError:
        text = json.dumps(_finite(json.loads(json.dumps(obj, default=_json_default))),
                          ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.encode("ascii")


def decode_json(payload: bytes) -> dict:
    """ValueError unless the payload is a UTF-8 JSON object, parsed strictly (no duplicate
    keys, no integers of more than 20 digits, no NaN/Infinity: strictjson.py)."""
    try:
        obj = strictjson.loads(payload.decode("utf-8"))
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return obj


# --- sample chunk codec ----------------------------------------------------------------

def _shuffle(u: np.ndarray) -> bytes:
    """Byte planes: byte j (little-endian) of every element, for j = 0 .. itemsize-1."""
    k = u.dtype.itemsize
    return np.ascontiguousarray(u).view(np.uint8).reshape(-1, k).T.tobytes()


def _unshuffle(b: bytes, dtype: str, n: int) -> np.ndarray:
    k = np.dtype(dtype).itemsize
    planes = np.frombuffer(b, np.uint8).reshape(k, n)
    return np.ascontiguousarray(planes.T).view(dtype).reshape(n)


def _unshuffle16(b, n: int) -> np.ndarray:
    """_unshuffle(b, "<u2", n) as low plane | high plane << 8 (no strided byte transpose)."""
    planes = np.frombuffer(b, np.uint8, count=2 * n).reshape(2, n)
    out = planes[1].astype("<u2")
    out <<= 8
    out |= planes[0]
    return out


def _delta_zigzag64(u: np.ndarray) -> np.ndarray:
    d = u.copy()
    d[1:] -= u[:-1]                      # modulo 2**64
    s = d.view("<i8")
    return ((s << 1) ^ (s >> 63)).view("<u8")


def _undelta_zigzag64(z: np.ndarray) -> np.ndarray:
    d = (z >> np.uint64(1)) ^ (np.uint64(0) - (z & np.uint64(1)))
    return np.cumsum(d, dtype="<u8")     # modulo 2**64


def _delta_zigzag16(u: np.ndarray) -> np.ndarray:
    """u: (channels, n) uint16; delta along time per channel."""
    d = u.copy()
    d[:, 1:] -= u[:, :-1]                # modulo 2**16
    s = d.view("<i2")
    return ((s << 1) ^ (s >> 15)).view("<u2")


def _undelta_zigzag16(z: np.ndarray) -> np.ndarray:
    d = (z >> np.uint16(1)) ^ (np.uint16(0) - (z & np.uint16(1)))
    return np.cumsum(d, axis=1, dtype="<u2")


def _time_words(t: np.ndarray) -> tuple[int, np.ndarray]:
    """Pick the time encoding for float64 times and return (encoding, 64-bit words)."""
    t = np.ascontiguousarray(t, dtype="<f8")
    bits = t.view("<u8")
    if t.size and np.isfinite(t).all() and float(np.abs(t).max()) < _MICROS_LIMIT:
        q = np.rint(t * 1e6)
        qi = q.astype("<i8")
        if np.array_equal((qi / 1e6).view("<u8"), bits):
            return TIME_MICROS_DIV, qi.view("<u8")
        if np.array_equal((qi * 1e-6).view("<u8"), bits):
            return TIME_MICROS_MUL, qi.view("<u8")
    return TIME_FLOAT64, bits


def _time_values(enc: int, words: np.ndarray) -> np.ndarray:
    if enc == TIME_FLOAT64:
        return words.view("<f8").astype(np.float64)
    q = words.view("<i8")
    if enc == TIME_MICROS_DIV:
        return q / 1e6
    if enc == TIME_MICROS_MUL:
        return q * 1e-6
    raise ChunkError(f"unknown time encoding {enc}")


def chunk_row_bytes(n_channels: int) -> int:
    """Bytes per row of a chunk before compression."""
    return BYTES_PER_ROW_FIXED + 2 * n_channels


def encode_chunk(block: SampleBlock, level: int = ZLIB_LEVEL) -> bytes:
    """The payload of a SAMPLES record holding every row of `block` (lossless)."""
    n = len(block)
    counts = np.asarray(block.counts)
    if counts.ndim != 2 or counts.shape[0] != n:
        raise ValueError(f"counts must have shape (n, channels), not {counts.shape}")
    n_ch = counts.shape[1]
    if not 1 <= n_ch <= MAX_CHANNELS:
        raise ValueError(f"a chunk holds 1..{MAX_CHANNELS} channels, not {n_ch}")
    seq = np.ascontiguousarray(block.seq, dtype="<i8").view("<u8")
    td_enc, td = _time_words(block.t_device_s)
    th_enc, th = _time_words(block.t_host_s)
    cm = np.ascontiguousarray(counts.T, dtype="<u2")
    body = b"".join((
        _shuffle(_delta_zigzag64(seq)),
        _shuffle(_delta_zigzag64(td)),
        _shuffle(_delta_zigzag64(th)),
        _shuffle(_delta_zigzag16(cm).reshape(-1)),
        np.ascontiguousarray(block.flags, dtype=np.uint8).tobytes(),
    ))
    head = CHUNK_HEAD.pack(CODEC_DELTA_ZIGZAG_SHUFFLE_ZLIB, td_enc, th_enc, 0, n_ch, n)
    return head + zlib.compress(body, level)


def chunk_shape(payload: bytes) -> tuple[int, int]:
    """(n_rows, n_channels) of a SAMPLES payload, without decompressing it."""
    if len(payload) < CHUNK_HEAD_SIZE:
        raise ChunkError(f"sample chunk of {len(payload)} bytes is shorter than its header")
    _, _, _, _, n_ch, n = CHUNK_HEAD.unpack_from(payload, 0)
    return n, n_ch


def decode_chunk(payload: bytes, max_rows: int | None = None) -> SampleBlock:
    """Inverse of encode_chunk. ChunkError when the payload does not decode, or claims more
    than `max_rows` rows (checked before anything is decompressed)."""
    if len(payload) < CHUNK_HEAD_SIZE:
        raise ChunkError(f"sample chunk of {len(payload)} bytes is shorter than its header")
    codec, td_enc, th_enc, _, n_ch, n = CHUNK_HEAD.unpack_from(payload, 0)
    if codec != CODEC_DELTA_ZIGZAG_SHUFFLE_ZLIB:
        raise ChunkError(f"unknown sample codec {codec}")
    if not 1 <= n_ch <= MAX_CHANNELS:
        raise ChunkError(f"sample chunk claims {n_ch} channels")
    if td_enc not in _TIME_ENCODINGS or th_enc not in _TIME_ENCODINGS:
        raise ChunkError(f"unknown time encoding {td_enc}/{th_enc}")
    if max_rows is not None and n > max_rows:
        raise ChunkError(f"sample chunk claims {n} rows, more than the {max_rows} the log allows")
    expected = n * chunk_row_bytes(n_ch)
    if expected > MAX_CHUNK_DECODED:
        raise ChunkError(f"sample chunk claims {n} rows ({expected} bytes decoded)")
    d = zlib.decompressobj()
    try:
        body = d.decompress(payload[CHUNK_HEAD_SIZE:], expected + 1)
    except zlib.error as e:
        raise ChunkError(f"sample chunk does not decompress: {e}") from None
    if len(body) != expected or not d.eof or d.unused_data:
        raise ChunkError(f"sample chunk decompresses to {len(body)} bytes, expected {expected}")
    p = 0

    def take(nbytes: int) -> bytes:
        nonlocal p
        b = body[p:p + nbytes]
        p += nbytes
        return b

    seq = _undelta_zigzag64(_unshuffle(take(8 * n), "<u8", n)).view("<i8").astype(np.int64)
    td = _time_values(td_enc, _undelta_zigzag64(_unshuffle(take(8 * n), "<u8", n)))
    th = _time_values(th_enc, _undelta_zigzag64(_unshuffle(take(8 * n), "<u8", n)))
    z = _unshuffle16(take(2 * n * n_ch), n * n_ch).reshape(n_ch, n)
    counts = np.ascontiguousarray(_undelta_zigzag16(z).T, dtype=np.uint16)
    flags = np.frombuffer(take(n), np.uint8).copy()
    return SampleBlock(seq, np.asarray(td, np.float64), np.asarray(th, np.float64), counts, flags)
