"""Properties of the frame decoder under damaged input: arbitrary bytes, truncated frames,
bit flips, duplicated and reordered frames, fed in arbitrary chunks.

The decoder must never raise, never deliver a frame whose payload fails its CRC-32, and
deliver every intact frame that follows damage (it resynchronises at the next 0x00).
The CRC is checked here with zlib directly, independently of protocol.crc32.
"""
from __future__ import annotations

import struct
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from massage_glove import protocol as P

# Seeded and repeatable: the same examples on every run and in CI.
PROPS = settings(derandomize=True, max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


def crc_ok(encoded: bytes) -> bool:
    """Independent check of one candidate (bytes between two delimiters)."""
    p = P.cobs_decode(encoded)
    return len(p) >= 4 and zlib.crc32(p[:-4]) & 0xFFFFFFFF == struct.unpack("<I", p[-4:])[0]


def feed_in_chunks(dec: P.FrameDecoder, wire: bytes, cuts: list[int]) -> list:
    out = []
    pos = 0
    for c in sorted(set(min(c, len(wire)) for c in cuts)) + [len(wire)]:
        out += dec.feed(wire[pos:c])
        pos = c
    return out


def reference(wire: bytes) -> list:
    """What a decoder must deliver: every complete candidate that decodes, in order."""
    out = []
    for piece in wire.split(b"\x00")[:-1]:
        if not piece or len(piece) > P.MAX_ENCODED:
            continue
        try:
            out.append(P.decode_frame(piece))
        except P.DecodeError:
            pass
    return out


# --- frames the glove sends ---------------------------------------------------------------

counts16 = st.lists(st.integers(0, 4095), min_size=1, max_size=P.MAX_CHANNELS)
data_frames = st.builds(P.encode_data, st.integers(0, 0xFFFF), st.integers(0, (1 << 30) - 1),
                        st.integers(0, 255), counts16)
event_frames = st.builds(
    lambda kind, ch, seq, t, v, text: P.encode_frame(
        P.T_EVENT, struct.pack("<BBHII", kind, ch, seq, t, v) + text.encode()),
    st.integers(1, 6), st.integers(0, 255), st.integers(0, 0xFFFF),
    st.integers(0, (1 << 30) - 1), st.integers(0, 0xFFFFFFFF), st.text(max_size=40))
reply_frames = st.builds(
    lambda seq, status, text: P.encode_frame(P.T_REPLY, struct.pack("<HB", seq, status) + text.encode()),
    st.integers(0, 0xFFFF), st.integers(0, 5), st.text(max_size=40))
frames = st.one_of(data_frames, event_frames, reply_frames)
cut_points = st.lists(st.integers(0, 4000), max_size=12)


@PROPS
@given(st.binary(max_size=3000), cut_points)
def test_arbitrary_bytes_never_raise_and_deliver_only_crc_checked_frames(wire, cuts):
    dec = P.FrameDecoder()
    got = feed_in_chunks(dec, wire, cuts)
    assert got == reference(wire)
    # independently: each delivered frame is the content of a candidate whose CRC matches
    checked = []
    for piece in wire.split(b"\x00")[:-1]:
        try:
            if piece and crc_ok(piece):
                checked.append(P.parse_payload(P.cobs_decode(piece)))
        except P.DecodeError:
            pass
    assert all(f in checked for f in got)
    assert dec.stats.bytes_in == len(wire)
    assert dec.stats.frames == len(got)


@PROPS
@given(st.lists(frames, min_size=1, max_size=12), st.data())
def test_truncated_frames_are_rejected_and_the_next_good_frame_is_delivered(wire_frames, data):
    # each frame cut short by 0..len-1 bytes (its delimiter kept) or left whole
    keep, damaged = [], []
    stream = b""
    for i, f in enumerate(wire_frames):
        body = f[:-1]
        cut = data.draw(st.integers(0, len(body)), label=f"keep bytes of frame {i}")
        if cut == len(body):
            keep.append(f)
        else:
            damaged.append(i)
        stream += body[:cut] + b"\x00"
    cuts = data.draw(cut_points, label="chunk cuts")
    dec = P.FrameDecoder()
    got = feed_in_chunks(dec, stream, cuts)
    assert got == [P.decode_frame(f[:-1]) for f in keep], "exactly the whole frames, in order"
    assert dec.stats.rejected_total <= len(damaged)


@PROPS
@given(st.lists(frames, min_size=2, max_size=12), st.data())
def test_bit_flips_lose_only_the_frames_they_touch(wire_frames, data):
    stream = bytearray(b"".join(wire_frames))
    n_flips = data.draw(st.integers(1, 6), label="flips")
    flipped = set()
    for _ in range(n_flips):
        pos = data.draw(st.integers(0, len(stream) - 1), label="position")
        bit = data.draw(st.integers(0, 7), label="bit")
        stream[pos] ^= 1 << bit
        flipped.add(pos)
    # a frame is intact when none of its bytes, nor the delimiter before it, changed
    intact, start = [], 0
    for f in wire_frames:
        end = start + len(f)
        touched = any(start <= p < end for p in flipped) or (start - 1) in flipped
        if not touched:
            intact.append(P.decode_frame(f[:-1]))
        start = end
    cuts = data.draw(cut_points, label="chunk cuts")
    dec = P.FrameDecoder()
    got = feed_in_chunks(dec, bytes(stream), cuts)
    sent = [P.decode_frame(f[:-1]) for f in wire_frames]
    for f in got:
        assert f in sent, "a damaged frame was delivered as if it had been sent"
    # every intact frame comes through, in order (a flip may at most turn garbage into a
    # frame with a valid CRC with probability 2**-32, which the line above would catch)
    it = iter(got)
    assert all(any(f == g for g in it) for f in intact), "an intact frame after damage was lost"


@PROPS
@given(st.lists(frames, min_size=1, max_size=10), st.data())
def test_duplicated_and_reordered_frames_each_decode_as_sent(wire_frames, data):
    order = data.draw(st.lists(st.integers(0, len(wire_frames) - 1), min_size=1, max_size=25),
                      label="order with repeats")
    stream = b"".join(wire_frames[i] for i in order)
    dec = P.FrameDecoder()
    got = feed_in_chunks(dec, stream, data.draw(cut_points, label="chunk cuts"))
    assert got == [P.decode_frame(wire_frames[i][:-1]) for i in order]
    assert dec.stats.rejected_total == 0


@PROPS
@given(st.binary(min_size=1, max_size=12000), frames, cut_points)
def test_garbage_of_any_length_then_a_good_frame_resynchronises(garbage, frame, cuts):
    # garbage without a delimiter may exceed the longest frame: the decoder drops it and
    # still delivers the frame after the next delimiter
    stream = garbage + b"\x00" + frame
    dec = P.FrameDecoder()
    got = feed_in_chunks(dec, stream, cuts)
    assert got[-1:] == [P.decode_frame(frame[:-1])]
    assert got[:-1] == reference(garbage + b"\x00")


def test_overlong_run_is_rejected_once_per_delimiter():
    dec = P.FrameDecoder()
    dec.feed(b"\x01" * (P.MAX_ENCODED + 10))
    dec.feed(b"\x01" * 100)
    assert dec.feed(b"\x00") == []
    assert dec.stats.rejected["long"] == 1
    good = P.encode_data(7, 1234, 0, [1, 2, 3])
    assert [f.seq for f in dec.feed(good)] == [7]


meta_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda n, c: (c * n).encode(), st.integers(1, P.MAX_PAYLOAD - 8),
              st.sampled_from(["[", "{\"a\":", "[{\"b\":"])))


@PROPS
@given(st.integers(0, 0xFFFF), meta_bodies, cut_points)
def test_meta_frames_with_any_content_never_raise(seq, text, cuts):
    # a META frame with a good CRC but any content, e.g. JSON nested thousands deep
    body = struct.pack("<H", seq) + text[:P.MAX_PAYLOAD - 8]
    wire = P.encode_frame(P.T_META, body) + P.encode_data(1, 2, 0, [3])
    dec = P.FrameDecoder()
    got = feed_in_chunks(dec, wire, cuts)
    assert isinstance(got[-1], P.Data) and got[-1].seq == 1
    assert all(isinstance(f, P.Meta) and isinstance(f.info, dict) for f in got[:-1])
