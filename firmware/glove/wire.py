# Wire codec of docs/PROTOCOL.md: CRC-32, COBS, frame builders and the command-line parser.
#
# The hot paths (CRC and COBS of every DATA frame) are viper functions that work in
# preallocated buffers and allocate nothing, so the main loop can encode frames without
# feeding the garbage collector.
import micropython
from micropython import const
from array import array

PROTOCOL_VERSION = const(1)

T_DATA = const(0x01)
T_META = const(0x02)
T_REPLY = const(0x03)
T_EVENT = const(0x04)

ST_OK = const(0)
ST_BAD_CRC = const(1)
ST_BAD_FORMAT = const(2)
ST_UNKNOWN = const(3)
ST_BAD_ARGUMENT = const(4)
ST_INTERNAL = const(5)

EV_BOOT = const(1)
EV_DROP = const(2)
EV_LIMIT = const(3)
EV_BUTTON = const(4)
EV_FAULT = const(5)
EV_RATE = const(6)

FAULT_INTERNAL = const(1)
FAULT_LATE = const(2)

NO_CHANNEL = const(0xFF)
NO_SEQ = const(0xFFFF)

MAX_PAYLOAD = const(4096)
MAX_LINE = const(96)
DATA_HEADER = const(9)     # version, type, seq u16, t_us u32, flags u8
CRC_LEN = const(4)


def max_encoded_length(n):
    """Longest COBS encoding of an n-byte payload, without the 0x00 delimiter."""
    return n + n // 254 + 1


def data_payload_length(n_channels):
    return DATA_HEADER + 2 * n_channels + CRC_LEN


def data_wire_length(n_channels):
    """Bytes of one DATA frame on the wire, delimiter included (payloads <= 254: n + 2)."""
    n = data_payload_length(n_channels)
    return max_encoded_length(n) + 1


def _make_table():
    t = array("I", [0] * 256)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        t[i] = c
    return t


CRC_TABLE = _make_table()


@micropython.viper
def _crc32_append(buf: ptr8, n: int, table: ptr32):
    # CRC-32/ISO-HDLC of buf[0:n], written little-endian to buf[n:n+4]. The running value
    # is kept in the low 32 bits whatever the machine word size is.
    crc = ~0
    i = 0
    while i < n:
        crc = ((crc >> 8) & 0xFFFFFF) ^ table[(crc ^ buf[i]) & 0xFF]
        i += 1
    crc = ~crc
    buf[n] = crc & 0xFF
    buf[n + 1] = (crc >> 8) & 0xFF
    buf[n + 2] = (crc >> 16) & 0xFF
    buf[n + 3] = (crc >> 24) & 0xFF


def crc32_append(buf, n):
    """Write the CRC-32 of buf[0:n] into buf[n:n+4] (little-endian). Allocates nothing."""
    _crc32_append(buf, n, CRC_TABLE)


@micropython.viper
def _crc32_hex_ok(buf: ptr8, n: int, table: ptr32, hexd: ptr8) -> int:
    # 1 if the 8 lowercase hex digits at hexd spell the CRC-32 of buf[0:n], else 0.
    crc = ~0
    i = 0
    while i < n:
        crc = ((crc >> 8) & 0xFFFFFF) ^ table[(crc ^ buf[i]) & 0xFF]
        i += 1
    crc = ~crc
    k = 0
    while k < 8:
        nib = (crc >> (28 - 4 * k)) & 0xF
        c = hexd[k]
        if nib < 10:
            want = 48 + nib
        else:
            want = 87 + nib
        if c != want:
            return 0
        k += 1
    return 1


@micropython.viper
def cobs_encode(src: ptr8, n: int, dst: ptr8, off: int) -> int:
    """COBS-encode src[0:n] into dst[off:] (the normative encoder of PROTOCOL.md 2.2).

    Returns the index just past the encoding; dst needs max_encoded_length(n) bytes from
    off. No delimiter is written. Allocates nothing.
    """
    code_pos = off
    out = off + 1
    code = 1
    i = 0
    while i < n:
        b = src[i]
        if b == 0:
            dst[code_pos] = code
            code_pos = out
            out += 1
            code = 1
        else:
            dst[out] = b
            out += 1
            code += 1
            if code == 0xFF and i + 1 < n:
                dst[code_pos] = code
                code_pos = out
                out += 1
                code = 1
        i += 1
    dst[code_pos] = code
    return out


class Framer:
    """Builds complete wire frames (COBS + delimiter) in buffers allocated once.

    frame(payload_len) finishes a payload already written into self.payload[2:...]:
    it stamps version/type, appends the CRC, encodes, and returns the wire length of
    self.wire (delimiter included).
    """

    def __init__(self):
        # frame builders return the end of the frame in self.wire (delimiter included)
        self.payload = bytearray(MAX_PAYLOAD)
        self.wire = bytearray(max_encoded_length(MAX_PAYLOAD) + 1)
        self.wire_mv = memoryview(self.wire)

    def finish(self, ftype, body_len, dst=None, off=0):
        # Returns the end of the frame in dst (self.wire by default), delimiter included.
        p = self.payload
        p[0] = PROTOCOL_VERSION
        p[1] = ftype
        n = 2 + body_len
        crc32_append(p, n)
        n += CRC_LEN
        if dst is None:
            dst = self.wire
        m = cobs_encode(p, n, dst, off)
        dst[m] = 0
        return m + 1

    def _put_u16(self, off, v):
        p = self.payload
        p[off] = v & 0xFF
        p[off + 1] = (v >> 8) & 0xFF

    def _put_u32(self, off, v):
        p = self.payload
        p[off] = v & 0xFF
        p[off + 1] = (v >> 8) & 0xFF
        p[off + 2] = (v >> 16) & 0xFF
        p[off + 3] = (v >> 24) & 0xFF

    def _put_text(self, off, text):
        b = text.encode() if isinstance(text, str) else bytes(text)
        room = MAX_PAYLOAD - CRC_LEN - off
        if len(b) > room:
            b = b[:room]
        self.payload[off:off + len(b)] = b
        return len(b)

    def reply(self, cmd_seq, status, text=""):
        self._put_u16(2, cmd_seq)
        self.payload[4] = status
        n = self._put_text(5, text)
        return self.finish(T_REPLY, 3 + n)

    def meta(self, cmd_seq, json_text):
        self._put_u16(2, cmd_seq)
        n = self._put_text(4, json_text)
        return self.finish(T_META, 2 + n)

    def event(self, kind, channel, seq, t_us, value, text=""):
        p = self.payload
        p[2] = kind
        p[3] = channel
        self._put_u16(4, seq)
        self._put_u32(6, t_us)
        self._put_u32(10, value)
        n = self._put_text(14, text)
        return self.finish(T_EVENT, 12 + n)

    @micropython.viper
    def data(self, seq: int, t_us: int, flags: int, counts, first: int, n_channels: int,
             dst, off: int) -> int:
        # counts: array('H'), the sample's readings at counts[first:first + n_channels].
        # The frame goes to dst[off:]; returns the end offset (delimiter included).
        # All viper: the frame every sample costs no bytecode and allocates nothing.
        p = ptr8(self.payload)
        c = ptr16(counts)
        p[0] = PROTOCOL_VERSION
        p[1] = T_DATA
        p[2] = seq & 0xFF
        p[3] = (seq >> 8) & 0xFF
        p[4] = t_us & 0xFF
        p[5] = (t_us >> 8) & 0xFF
        p[6] = (t_us >> 16) & 0xFF
        p[7] = (t_us >> 24) & 0xFF
        p[8] = flags
        o = 9
        i = first
        end = first + n_channels
        while i < end:
            v = c[i]
            p[o] = v & 0xFF
            p[o + 1] = v >> 8
            o += 2
            i += 1
        buf = self.payload       # (objects, not pointers: an address may not be a small int)
        _crc32_append(buf, o, CRC_TABLE)
        m = int(cobs_encode(buf, o + CRC_LEN, dst, off))
        d = ptr8(dst)
        d[m] = 0
        return m + 1


# --- Commands (host -> glove), PROTOCOL.md section 3 ----------------------------------

class Command:
    """A parsed command line: seq, verb, args (strings)."""

    def __init__(self, seq, verb, args):
        self.seq = seq
        self.verb = verb
        self.args = args


class CommandError(Exception):
    """A line that must be answered with an error REPLY: (seq, status, text)."""

    def __init__(self, seq, status, text):
        super().__init__(text)
        self.seq = seq
        self.status = status
        self.text = text


def _is_digits(s):
    if not s:
        return False
    for c in s:
        if c < "0" or c > "9":
            return False
    return True


def parse_command(line):
    """Parse one command line (bytes, without the trailing newline, \\r removed).

    Returns a Command, or raises CommandError with the status of PROTOCOL.md section 3
    (checks in the document's order). Verb and argument checks are the caller's.
    """
    if len(line) > MAX_LINE:
        raise CommandError(NO_SEQ, ST_BAD_FORMAT, "line longer than 96 bytes")
    for b in line:
        if b < 0x20 or b > 0x7E:
            raise CommandError(NO_SEQ, ST_BAD_FORMAT, "line has a byte outside printable ASCII")
    star = -1
    for i in range(len(line) - 1, -1, -1):
        if line[i] == 0x2A:
            star = i
            break
    if star < 0:
        raise CommandError(NO_SEQ, ST_BAD_FORMAT, "no '*<crc>' at the end of the line")
    hexd = line[star + 1:]
    if len(hexd) != 8:
        raise CommandError(NO_SEQ, ST_BAD_FORMAT, "crc must be 8 lowercase hex digits")
    for b in hexd:
        if not ((0x30 <= b <= 0x39) or (0x61 <= b <= 0x66)):
            raise CommandError(NO_SEQ, ST_BAD_FORMAT, "crc must be 8 lowercase hex digits")
    body = line[:star]
    text = body.decode()
    sp = text.find(" ")
    first = text if sp < 0 else text[:sp]
    if not (1 <= len(first) <= 5 and _is_digits(first) and int(first) <= 65535):
        raise CommandError(NO_SEQ, ST_BAD_FORMAT, "line must start with a seq 0..65535")
    seq = int(first)
    if not _crc32_hex_ok(body, len(body), CRC_TABLE, hexd):
        raise CommandError(seq, ST_BAD_CRC, "crc does not match the line")
    tokens = text.split(" ")
    for t in tokens:
        if not t:
            raise CommandError(seq, ST_BAD_FORMAT, "empty token (two spaces, or a space before '*')")
        if "*" in t:
            raise CommandError(seq, ST_BAD_FORMAT, "'*' inside a token (it only starts the crc)")
    if len(tokens) < 2:
        raise CommandError(seq, ST_BAD_FORMAT, "no command after the seq")
    return Command(seq, tokens[1], tokens[2:])
