"""The host codec against the shared vectors of docs/PROTOCOL.md."""
import json
from pathlib import Path

import pytest

from massage_glove import protocol as P

VECTORS = json.loads((Path(__file__).resolve().parent.parent / "docs" / "protocol_vectors.json").read_text())


def fields(f):
    if isinstance(f, P.Data):
        return {"seq": f.seq, "t_us": f.t_us, "flags": f.flags, "counts": list(f.counts)}
    if isinstance(f, P.Meta):
        return {"cmd_seq": f.cmd_seq, "json": f.info}
    if isinstance(f, P.Reply):
        return {"cmd_seq": f.cmd_seq, "status": f.status, "text": f.text}
    return {"kind": f.kind, "channel": f.channel, "seq": f.seq, "t_us": f.t_us, "value": f.value, "text": f.text}


def test_crc_check_value():
    assert f"{P.crc32(VECTORS['crc_check']['ascii'].encode()):08x}" == VECTORS["crc_check"]["crc32"]


@pytest.mark.parametrize("v", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_vectors_decode_to_their_fields(v):
    d = P.FrameDecoder()
    frames = d.feed(bytes.fromhex(v["wire_hex"]))
    assert len(frames) == 1 and d.stats.rejected_total == 0
    assert fields(frames[0]) == v["fields"]


@pytest.mark.parametrize("v", VECTORS["valid"], ids=lambda v: v["name"])
def test_encoder_matches_vectors(v):
    raw = bytes.fromhex(v["wire_hex"])
    payload = P.cobs_decode(raw[:-1])
    assert P.cobs_encode(payload) + b"\x00" == raw


@pytest.mark.parametrize("v", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_vectors_are_rejected_for_their_reason(v):
    d = P.FrameDecoder()
    assert d.feed(bytes.fromhex(v["wire_hex"])) == []
    assert d.stats.rejected[v["reason"]] == 1 and d.stats.rejected_total == 1


def _spec_or_error(f, data):
    try:
        return f(data)
    except P.DecodeError as e:
        return ("rejected", e.reason, str(e))


def test_cobs_decoding_is_the_specs_on_every_kind_of_input():
    # The host decodes with the `cobs` package and falls back to the spec's reading for what
    # the package refuses: results and reject messages must be the spec's on every input,
    # including the edges (empty, a lone code byte, codes past the end, 0xFF blocks at the
    # end, zero bytes among the data) and every vector's frame.
    import random
    rng = random.Random(17)
    inputs = [b"", b"\x01", b"\x02", b"\x01\x01", b"\x02\x05", b"\x03\x05", b"\x00",
              b"\x01\x00", b"\xff" + b"a" * 254, b"\xff" + b"a" * 254 + b"\x01",
              b"\xff" + b"a" * 253, b"\xff" + b"a" * 254 + b"\x03\x01", b"\x09\x01\x02\x03",
              b"\x05\x01\x00\x02"]
    inputs += [bytes.fromhex(v["wire_hex"])[:-1] for v in VECTORS["valid"] + VECTORS["invalid"]]
    inputs += [P.cobs_encode(bytes(rng.choice((0, 0, 1, 255, rng.randrange(256)))
                                   for _ in range(rng.randrange(600)))) for _ in range(300)]
    inputs += [bytes(rng.choice((0, 1, 2, 3, 5, 255, rng.randrange(256)))
                     for _ in range(rng.randrange(14))) for _ in range(20000)]
    rejected = 0
    for data in inputs:
        want = _spec_or_error(P._cobs_decode_spec, data)
        assert _spec_or_error(P.cobs_decode, data) == want, data.hex()
        rejected += isinstance(want, tuple)
    assert 1000 < rejected < len(inputs) - 1000       # both paths were exercised


def test_cobs_rejects_name_the_code_byte():
    with pytest.raises(P.DecodeError, match="COBS code 9 promises more bytes than remain") as e:
        P.cobs_decode(b"\x09\x01\x02\x03")
    assert e.value.reason == "cobs"


def test_stream_vector_split_at_every_position():
    wire = bytes.fromhex(VECTORS["stream"]["wire_hex"])
    want = [(f["type"], f["seq"]) for f in VECTORS["stream"]["frames"]]
    for cut in range(len(wire) + 1):
        d = P.FrameDecoder()
        got = d.feed(wire[:cut]) + d.feed(wire[cut:])
        assert [("data", f.seq) for f in got] == want, cut
        assert d.stats.rejected_total >= VECTORS["stream"]["rejected_at_least"]


def test_byte_by_byte_feeding_gives_the_same_frames():
    wire = b"".join(bytes.fromhex(v["wire_hex"]) for v in VECTORS["valid"])
    d = P.FrameDecoder()
    got = [f for b in wire for f in d.feed(bytes([b]))]
    assert [fields(f) for f in got] == [v["fields"] for v in VECTORS["valid"]]


@pytest.mark.parametrize("c", [c for c in VECTORS["commands"] if c["status"] == 0 and c["verb"] != "?"][:8],
                         ids=lambda c: c["line"].strip())
def test_command_lines_match_vectors(c):
    assert P.command_line(c["seq"], c["verb"], *c["args"]) == c["line"].encode()


def test_command_line_refuses_what_a_glove_would_reject():
    with pytest.raises(ValueError):
        P.command_line(70000, "ping")
    with pytest.raises(ValueError):
        P.command_line(1, "rate", "5*0")
    with pytest.raises(ValueError):
        P.command_line(1, "ping", "a" * 100)


def test_unwrapper_follows_wraps_and_long_silences():
    u = P.Unwrapper(16)
    assert [u(x) for x in (65530, 65535, 3)] == [65530, 65535, 65539]
    # 100000 samples of silence: the modular step alone would say 34464
    assert u(3 + 100000 % 65536, expected_step=100000) == 65539 + 100000
