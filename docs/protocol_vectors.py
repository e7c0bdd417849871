"""Writes docs/protocol_vectors.json, the test vectors of docs/PROTOCOL.md.

The encoder here is the document's own pseudo-code, kept apart from the firmware and the
host so that both are checked against the specification rather than against each other.
Run `python docs/protocol_vectors.py` after changing the protocol; the tests fail when the
committed file and this script disagree.
"""
import json
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).with_name("protocol_vectors.json")


def cobs(payload):
    out = [0]
    code_pos, code = 0, 1
    for i, b in enumerate(payload):
        if b == 0:
            out[code_pos] = code
            code_pos, code = len(out), 1
            out.append(0)
        else:
            out.append(b)
            code += 1
            if code == 0xFF and i + 1 < len(payload):
                out[code_pos] = code
                code_pos, code = len(out), 1
                out.append(0)
    out[code_pos] = code
    return bytes(out)


def frame(ftype, body, version=1, crc_xor=0):
    head = bytes([version, ftype]) + body
    crc = (zlib.crc32(head) ^ crc_xor) & 0xFFFFFFFF
    return cobs(head + struct.pack("<I", crc)) + b"\x00"


def data(seq, t_us, flags, counts):
    return struct.pack("<HIB", seq, t_us, flags) + struct.pack("<%dH" % len(counts), *counts)


def event(kind, channel, seq, t_us, value, text=""):
    return struct.pack("<BBHII", kind, channel, seq, t_us, value) + text.encode()


def reply(cmd_seq, status, text=""):
    return struct.pack("<HB", cmd_seq, status) + text.encode()


def meta(cmd_seq, obj):
    return struct.pack("<H", cmd_seq) + json.dumps(obj, separators=(",", ":")).encode()


META_SMALL = {"protocol": 1, "firmware": "1.0.0", "board": "rp2-pico", "glove_id": "MG-0001",
              "hands": ["right"], "adc_bits": 12, "rate_hz": 200}


MAX_PAYLOAD = 4096   # PROTOCOL.md 2.1


def valid_frames():
    v = []

    def add(name, ftype, body, fields):
        v.append({"name": name, "type": ftype, "fields": fields,
                  "wire_hex": frame({"data": 1, "meta": 2, "reply": 3, "event": 4}[ftype], body).hex()})

    counts16 = [61, 62, 4095, 0, 1, 255, 256, 2048, 3000, 61, 100, 200, 300, 400, 500, 3999]
    add("data, 16 channels", "data", data(513, 123456, 0, counts16),
        {"seq": 513, "t_us": 123456, "flags": 0, "counts": counts16})
    counts8 = [0] * 8
    add("data, 8 channels all zero, seq 0, t 0 (many zero bytes)", "data", data(0, 0, 0, counts8),
        {"seq": 0, "t_us": 0, "flags": 0, "counts": counts8})
    add("data at the wrap edges: seq 65535, t_us 2^30-1, all flags", "data",
        data(65535, (1 << 30) - 1, 7, [4095, 4095]),
        {"seq": 65535, "t_us": (1 << 30) - 1, "flags": 7, "counts": [4095, 4095]})
    add("data with reserved flag bits 3-7 set (delivered: receivers ignore them)", "data",
        data(3, 15, 0xFD, [100, 200]), {"seq": 3, "t_us": 15, "flags": 0xFD, "counts": [100, 200]})
    add("data with counts above 12-bit full scale (delivered: a host reads them as full "
        "scale, saturated, section 2.4)", "data", data(4, 20, 0, [4096, 65535]),
        {"seq": 4, "t_us": 20, "flags": 0, "counts": [4096, 65535]})
    add("event RATE: the new rate, seq of the first sample taken at it", "event",
        event(6, 0xFF, 700, 3500000, 500), {"kind": 6, "channel": 255, "seq": 700,
                                            "t_us": 3500000, "value": 500, "text": ""})
    add("data, 1 channel", "data", data(1, 5, 2, [1234]), {"seq": 1, "t_us": 5, "flags": 2, "counts": [1234]})
    c32 = list(range(100, 132))
    add("data, 32 channels (the most allowed)", "data", data(7, 99, 0, c32),
        {"seq": 7, "t_us": 99, "flags": 0, "counts": c32})
    add("meta", "meta", meta(4, META_SMALL), {"cmd_seq": 4, "json": META_SMALL})
    big = dict(META_SMALL, note="x" * (MAX_PAYLOAD - 6 - 2 - len(json.dumps(META_SMALL, separators=(",", ":"))) - 10))
    body = meta(9, big)
    assert len(body) + 6 == MAX_PAYLOAD, len(body)
    add("meta of the longest payload, %d bytes" % MAX_PAYLOAD, "meta", body, {"cmd_seq": 9, "json": big})
    add("reply OK with text", "reply", reply(7, 0, "500"), {"cmd_seq": 7, "status": 0, "text": "500"})
    add("reply OK, empty text", "reply", reply(0, 0), {"cmd_seq": 0, "status": 0, "text": ""})
    # BAD_CRC always echoes a seq (section 3: the seq is read before the CRC is checked);
    # an unreadable seq is BAD_FORMAT with 0xFFFF
    add("reply BAD_CRC echoes the command's seq", "reply", reply(9, 1, "bad crc"),
        {"cmd_seq": 9, "status": 1, "text": "bad crc"})
    add("reply BAD_FORMAT for an unreadable seq", "reply", reply(0xFFFF, 2, "bad format"),
        {"cmd_seq": 65535, "status": 2, "text": "bad format"})
    add("reply with 300 non-zero bytes (a 255 code block)", "reply", reply(0x0202, 4, "x" * 300),
        {"cmd_seq": 514, "status": 4, "text": "x" * 300})
    add("reply with text that makes a run of exactly 254 non-zero bytes at the end", "reply",
        reply(0x0101, 3, "y" * 247), {"cmd_seq": 257, "status": 3, "text": "y" * 247})
    add("event BOOT", "event", event(1, 0xFF, 0, 10, 1, "1.0.0"),
        {"kind": 1, "channel": 255, "seq": 0, "t_us": 10, "value": 1, "text": "1.0.0"})
    add("event DROP", "event", event(2, 0xFF, 65530, 1000000, 12),
        {"kind": 2, "channel": 255, "seq": 65530, "t_us": 1000000, "value": 12, "text": ""})
    add("event LIMIT on channel 3", "event", event(3, 3, 40, 200000, 3100),
        {"kind": 3, "channel": 3, "seq": 40, "t_us": 200000, "value": 3100, "text": ""})
    add("event FAULT with text", "event", event(5, 0xFF, 9, 9, 1, "ValueError: bad"),
        {"kind": 5, "channel": 255, "seq": 9, "t_us": 9, "value": 1, "text": "ValueError: bad"})
    add("event of an unknown kind (delivered; the host ignores the kind)", "event", event(200, 0xFF, 1, 2, 3),
        {"kind": 200, "channel": 255, "seq": 1, "t_us": 2, "value": 3, "text": ""})
    return v


def invalid_frames():
    v = []
    good = frame(1, data(5, 6, 0, [100, 200]))

    def add(name, wire, reason):
        v.append({"name": name, "wire_hex": wire.hex(), "reason": reason})

    flipped = bytearray(good)
    flipped[5] ^= 0x10
    add("one bit flipped in the counts", bytes(flipped), "crc")
    add("CRC off by one", frame(1, data(5, 6, 0, [100, 200]), crc_xor=1), "crc")
    add("truncated: last 3 bytes before the delimiter lost", good[:-4] + b"\x00", "cobs")
    add("code byte promises more bytes than remain", bytes([0x09, 1, 2, 3, 0x00]), "cobs")
    add("payload of 5 bytes", cobs(b"\x01\x01\x00\x00\x00") + b"\x00", "short")
    short_ok_crc = b"\x01" + struct.pack("<I", zlib.crc32(b"\x01"))
    add("payload of 5 bytes with a valid CRC", cobs(short_ok_crc) + b"\x00", "short")
    add("version 2", frame(1, data(5, 6, 0, [100]), version=2), "version")
    add("unknown type 0x09", frame(9, b"\x01\x02\x03"), "type")
    add("DATA with an odd body length", frame(1, data(5, 6, 0, [100]) + b"\x01"), "layout")
    add("DATA with no channel", frame(1, data(5, 6, 0, [])), "layout")
    add("DATA with 33 channels", frame(1, data(5, 6, 0, [1] * 33)), "layout")
    add("META that is not JSON", frame(2, b"\x01\x00{not json"), "layout")
    add("META whose JSON is not an object", frame(2, b"\x01\x00[1,2]"), "layout")
    add("META body of 1 byte", frame(2, b"\x01"), "layout")
    add("REPLY body of 2 bytes", frame(3, b"\x01\x00"), "layout")
    add("REPLY text that is not UTF-8", frame(3, reply(1, 0) + b"\xff\xfe"), "layout")
    add("EVENT body of 11 bytes", frame(4, event(1, 0, 0, 0, 0)[:11]), "layout")
    too_long = bytes([1, 3]) + reply(1, 0, "z" * (MAX_PAYLOAD + 1 - 6 - 3))
    too_long += struct.pack("<I", zlib.crc32(too_long))
    assert len(too_long) == MAX_PAYLOAD + 1
    add("payload of %d bytes" % (MAX_PAYLOAD + 1), cobs(too_long) + b"\x00", "long")
    return v


def stream():
    """Frames with corruption between them: what a receiver must get out of it."""
    parts, expect = [], []
    f1 = frame(1, data(10, 1000, 0, [1, 2, 3]))
    f2 = frame(1, data(11, 6000, 0, [4, 5, 6]))
    f3 = frame(4, event(4, 0xFF, 12, 11000, 1))
    f4 = frame(1, data(12, 11000, 0, [7, 8, 9]))
    parts.append(f1[7:])            # the tail of a frame sent before the port was opened
    parts.append(f1)
    expect.append({"type": "data", "seq": 10})
    parts.append(b"\x00\x00\x00")  # empty pieces
    parts.append(b"garbage \xff\xfe text\r\n>>> ")  # REPL text
    parts.append(b"\x00")
    parts.append(f2)
    expect.append({"type": "data", "seq": 11})
    bad = bytearray(f3)
    bad[3] ^= 0xFF
    parts.append(bytes(bad))        # corrupted event
    parts.append(f4)
    expect.append({"type": "data", "seq": 12})
    return {"wire_hex": b"".join(parts).hex(), "frames": expect, "rejected_at_least": 3}


COMMAND_DEVICE = {"channels": 16, "adc_bits": 12, "min_rate_hz": 1, "max_rate_hz": 1000,
                  "hands": ["right", "left"], "buzzers": ["right", "left"]}


def line(text, crc=None):
    c = "%08x" % zlib.crc32(text.encode()) if crc is None else crc
    return text + "*" + c


def commands():
    ok = [("0 ping", 0, "ping", []), ("7 rate 500", 7, "rate", ["500"]), ("65535 stop", 65535, "stop", []),
          ("12 limit all 3000", 12, "limit", ["all", "3000"]), ("3 buzz 200 left", 3, "buzz", ["200", "left"]),
          ("4 id", 4, "id", []), ("5 start", 5, "start", []), ("6 limit 15 0", 6, "limit", ["15", "0"])]
    out = []
    ok += [("00035 ping", 35, "ping", []), ("36 rate 0200", 36, "rate", ["0200"])]
    for text, seq, verb, args in ok:
        out.append({"line": line(text) + "\n", "seq": seq, "verb": verb, "args": args, "status": 0})
    out[-2]["note"] = "leading zeros are allowed in a seq"
    out[-1]["note"] = "leading zeros are allowed in a number: 0200 is 200"
    cr = line("37 ping " + "q" * 79)
    out.append({"line": cr[:10] + "\r\r" + cr[10:] + "\r\n", "seq": 37, "status": 4,
                "note": "96 bytes and three carriage returns: \\r is removed first and does not "
                        "count toward the 96 bytes (then ping's argument is refused)"})
    out.append({"line": "\r" + line("8 ping") + "\r\n", "seq": 8, "verb": "ping", "args": [], "status": 0,
                "note": "carriage returns are ignored"})
    bad = [
        (line("9 ping", "00000000"), 9, 1, "wrong CRC"),
        (line("10 ping", "%08X" % 0xABCDEF12), 0xFFFF, 2, "CRC in upper case"),
        ("11 ping", 0xFFFF, 2, "no CRC"),
        (line("70000 ping"), 0xFFFF, 2, "seq out of range"),
        (line("x ping"), 0xFFFF, 2, "seq not a number"),
        (line("13  ping"), 13, 2, "two spaces"),
        (line("14 pi\x01ng"), 0xFFFF, 2, "a control character"),
        (line("15"), 15, 2, "no verb"),
        (line("16 dance"), 16, 3, "unknown verb"),
        (line("17 rate 0"), 17, 4, "rate below the minimum"),
        (line("18 rate 1001"), 18, 4, "rate above the maximum for 16 channels"),
        (line("19 rate abc"), 19, 4, "rate not a number"),
        (line("20 rate"), 20, 4, "rate without its argument"),
        (line("21 limit 16 100"), 21, 4, "channel out of range"),
        (line("22 limit 3 5000"), 22, 4, "limit above full scale"),
        (line("23 buzz 9000"), 23, 4, "buzz too long"),
        (line("24 buzz 100 nose"), 24, 4, "buzz on an unknown hand"),
        (line("25 ping 1"), 25, 4, "ping takes no argument"),
        (line("26 ping " + "a" * 90), 0xFFFF, 2, "line longer than 96 bytes"),
        (line("27 pi*ng"), 27, 2, "a '*' inside a token (only the last '*' starts the crc)"),
        (line("28 rate +200"), 28, 4, "a number with a sign"),
        (line("29 rate 2e2"), 29, 4, "a number in exponent form"),
        (line("30 rate 200.0"), 30, 4, "a number with a decimal point"),
        (line("31 rate 0000200"), 31, 4, "a number of more than 6 digits"),
        (line("32 ping " + "p" * 79), 32, 4, "a line of exactly 96 bytes is read (then "
         "ping's argument is refused)"),
        (line("33 ping " + "p" * 80), 0xFFFF, 2, "a line of 97 bytes"),
        (line("000034 ping"), 0xFFFF, 2, "a seq of 6 digits"),
    ]
    for text, seq, status, note in bad:
        out.append({"line": text + "\n", "seq": seq, "status": status, "note": note})
    return out


# Host-side checks of META (section 2.4): each change to a valid META must be refused
# naming `field`; glove ids that may and may not name a file.
META_VALID = {"protocol": 1, "firmware": "1.0.0", "board": "rp2-pico", "platform": "rp2",
              "glove_id": "MG-0001", "hands": ["right"],
              "channels": [{"index": 0, "name": "R_thumb", "hand": "right", "site": "thumb",
                            "class": "fsr402", "r_divider_ohm": 1500, "r_bleed_ohm": 100000},
                           {"index": 1, "name": "R_palm_heel", "hand": "right", "site": "palm_heel",
                            "class": "fsr406", "r_divider_ohm": 680, "r_bleed_ohm": 100000}],
              "adc_bits": 12, "vref_v": 3.3, "rate_hz": 200, "min_rate_hz": 1, "max_rate_hz": 2000,
              "ts_bits": 30, "seq_bits": 16, "ring_slots": 512, "streaming": False,
              "limits": [0, 0], "buzzers": ["right"], "button": True}


def meta_checks():
    bad = [
        ({"rate_hz": 0}, "rate_hz"), ({"rate_hz": 2001}, "rate_hz"), ({"rate_hz": 200.5}, "rate_hz"),
        ({"rate_hz": "200"}, "rate_hz"), ({"rate_hz": True}, "rate_hz"),
        ({"max_rate_hz": 16001}, "max_rate_hz"), ({"min_rate_hz": 0}, "min_rate_hz"),
        ({"adc_bits": 0}, "adc_bits"), ({"adc_bits": 17}, "adc_bits"),
        ({"vref_v": 0}, "vref_v"), ({"vref_v": -1}, "vref_v"),
        ({"ts_bits": 32}, "ts_bits"), ({"seq_bits": 8}, "seq_bits"), ({"protocol": 2}, "protocol"),
        ({"ring_slots": 0}, "ring_slots"), ({"hands": ["right", "right"]}, "hands"),
        ({"hands": ["tentacle"]}, "hands"), ({"channels": []}, "channels"),
        ({"glove_id": "../x"}, "glove_id"), ({"glove_id": "x" * 65}, "glove_id"),
        ({"firmware": "1.0\u001b[31m"}, "firmware"), ({"buzzers": ["left"]}, "buzzers"),
        ({"limits": [0]}, "limits"), ({"limits": [0, 4096]}, "limits"),
        ({"streaming": 1}, "streaming"),
    ]
    out = [{"change": c, "field": f} for c, f in bad]
    for k, f in (("r_divider_ohm", 0), ("r_bleed_ohm", -5), ("index", 5), ("hand", "left"),
                 ("class", "<b>"), ("site", "")):
        out.append({"channel_change": {"channel": 0, k: f}, "field": "channels[0].%s" % k})
    out.append({"channel_change": {"channel": 1, "name": "R_thumb"}, "field": "channels[1].name",
                "note": "two channels of one name"})
    return out


GLOVE_IDS = {"valid": ["MG-0001", "glove-e6605838833b2a2f", "sim-glove", "a", "A.b_c-9", "x" * 64],
             "invalid": ["", ".", "..", "../x", "/abs", "a/b", "a\\b", "-rf", ".hidden", "x" * 65,
                         "with space", "\u00f6k", "a\u001b[2J"]}


def build():
    return {
        "protocol": 1,
        "about": "Test vectors for docs/PROTOCOL.md. Bytes are hex. 'valid' frames must decode to "
                 "'fields'; 'invalid' frames must be rejected for 'reason' (cobs, short, long, crc, "
                 "version, type, layout); 'stream' must yield 'frames' in order; 'commands' are lines a "
                 "glove with 'command_device' must answer with 'status' (0 OK, 1 BAD_CRC, 2 BAD_FORMAT, "
                 "3 UNKNOWN_COMMAND, 4 BAD_ARGUMENT) and cmd_seq 'seq'.",
        "crc_check": {"ascii": "123456789", "crc32": "cbf43926"},
        "valid": valid_frames(),
        "invalid": invalid_frames(),
        "stream": stream(),
        "command_device": COMMAND_DEVICE,
        "commands": commands(),
        "meta_valid": META_VALID,
        "meta_checks": meta_checks(),
        "glove_ids": GLOVE_IDS,
    }


def render():
    return json.dumps(build(), indent=1, ensure_ascii=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print("wrote", OUT)
