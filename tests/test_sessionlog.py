"""Session logs: exact round trip, torn and damaged files, SIGKILL, full disk, CSV export, bounded queue.

Run as a script (`python tests/test_sessionlog.py kill-writer|efbig-writer ...`) it is the
child process of the crash and file-size tests.
"""
from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "host") not in sys.path:
    sys.path.insert(0, str(ROOT / "host"))

from massage_glove import sessionlog as sl  # noqa: E402
from massage_glove.errors import GloveError, LogFormatError, LogReadError, LogWriteError  # noqa: E402
from massage_glove.log import format as fmt  # noqa: E402
from massage_glove.samples import DeviceInfo, LinkEvent, SampleBlock  # noqa: E402

SITES = ("thumb", "index", "middle", "ring", "little", "knuckle_index", "knuckle_middle",
         "palm_heel")
T0_HOST = 1778313821.25


def make_device(n_channels: int = 16, rate_hz: int = 200) -> DeviceInfo:
    chans = []
    for i in range(n_channels):
        hand = "right" if i < 8 else "left"
        site = SITES[i % 8]
        cls = "fsr406" if site == "palm_heel" else "fsr402"
        chans.append({"index": i, "name": ("R_" if hand == "right" else "L_") + site,
                      "hand": hand, "site": site, "class": cls,
                      "r_divider_ohm": 680.0 if cls == "fsr406" else 1500.0,
                      "r_bleed_ohm": 100000.0})
    meta = {"protocol": 1, "firmware": "1.0.0", "board": "rp2-pico", "platform": "rp2",
            "glove_id": "e6605838833b2a2f", "hands": ["right", "left"][:1 + (n_channels > 8)],
            "channels": chans, "adc_bits": 12, "vref_v": 3.3, "rate_hz": rate_hz,
            "min_rate_hz": 1, "max_rate_hz": 1000, "ts_bits": 30, "seq_bits": 16,
            "ring_slots": 512, "streaming": True, "limits": [0] * n_channels,
            "buzzers": ["right", "left"], "button": True}
    return DeviceInfo.from_meta(meta)


DEVICE = make_device()


def synth(start: int, n: int, n_ch: int = 16) -> SampleBlock:
    """Deterministic samples, a function of seq only (so any prefix can be rebuilt)."""
    seq = np.arange(start, start + n, dtype=np.int64)
    t_us = seq * 5000 + (seq * 7919) % 7 - 3
    td = t_us / 1e6
    th = T0_HOST + td + 0.003 + ((seq * 104729) % 1000) * 1.37e-6
    s = seq[:, None]
    counts = ((s * 37 + np.arange(n_ch) * 101 + (s * s) % 13) % 4096).astype(np.uint16)
    flags = ((seq % 5) == 0).astype(np.uint8)
    return SampleBlock(seq, td, th, counts, flags)


def assert_blocks_equal(a: SampleBlock, b: SampleBlock) -> None:
    assert len(a) == len(b)
    assert np.array_equal(a.seq, b.seq) and a.seq.dtype == np.int64
    # bit for bit, so NaN and -0.0 count too
    assert np.array_equal(a.t_device_s.view(np.uint64), np.asarray(b.t_device_s, np.float64).view(np.uint64))
    assert np.array_equal(a.t_host_s.view(np.uint64), np.asarray(b.t_host_s, np.float64).view(np.uint64))
    assert np.array_equal(a.counts, b.counts) and a.counts.dtype == np.uint16
    assert np.array_equal(a.flags, b.flags) and a.flags.dtype == np.uint8


def rows(block: SampleBlock, i: int, j: int) -> SampleBlock:
    return SampleBlock(block.seq[i:j], block.t_device_s[i:j], block.t_host_s[i:j],
                       block.counts[i:j], block.flags[i:j])


def prefix(block: SampleBlock, n: int) -> SampleBlock:
    return rows(block, 0, n)


class FakeClock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def new_writer(path, *, background=False, clock=None, device=DEVICE, **kw) -> sl.SessionLogWriter:
    header = sl.make_header(device, trainee="Ana", start_time=dt.datetime(
        2026, 5, 9, 12, 3, 41, 123000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        profile="standard-back", skill_level="novice", sensitivity=0.72)
    return sl.SessionLogWriter(path, header, clock=clock or FakeClock(), background=background, **kw)


def write_session(path, n_blocks=6, rows=7, *, background=False, events=True, close=True,
                  flush_every=2, **kw):
    """Blocks of `rows` samples, a flush every `flush_every` blocks, an event per block."""
    clock = FakeClock()
    w = new_writer(path, background=background, clock=clock, **kw)
    blocks, evs = [], []
    for k in range(n_blocks):
        b = synth(k * rows, rows)
        w.write_samples(b)
        blocks.append(b)
        if events:
            ev = sl.LogEvent("region", float(b.t_host_s[0]), float(b.t_device_s[0]),
                             {"region": ["neck", "spine"][k % 2], "k": k})
            w.write_event(ev.kind, ev.t_host_s, ev.t_device_s, **ev.fields)
            evs.append(ev)
        if (k + 1) % flush_every == 0:
            clock.t += 1.0
            assert w.maybe_flush()
    if close:
        w.close()
    return w, SampleBlock.concat(blocks, DEVICE_N), evs


DEVICE_N = len(DEVICE.channels)


# --- round trip --------------------------------------------------------------------------

@pytest.mark.parametrize("background", [False, True])
def test_round_trip_is_exact(tmp_path, background):
    path = tmp_path / "s.mglog"
    w, data, evs = write_session(path, n_blocks=9, rows=23, background=background)
    assert w.failed is None and w.closed
    log = sl.load(path)
    assert_blocks_equal(log.samples, data)
    assert log.events == evs
    assert log.complete and log.intact and log.torn_bytes == 0 and log.problems == []
    assert log.end["samples"] == len(data) and log.end["events"] == len(evs)
    assert log.channel_names == [c.name for c in DEVICE.channels]
    assert log.device == DEVICE


def test_round_trip_of_awkward_values(tmp_path):
    """Float columns that are not whole microseconds, NaN, -0.0, infinities, huge seq jumps,
    full uint16 range counts, all flag bits, non-ASCII text, nested fields."""
    rng = np.random.default_rng(5)
    n = 300
    seq = np.cumsum(rng.integers(-3, 70000, n)).astype(np.int64)
    seq[10] = np.iinfo(np.int64).max
    seq[11] = np.iinfo(np.int64).min
    td = rng.normal(0, 1e3, n)
    td[:5] = [np.nan, -0.0, np.inf, -np.inf, 5e-324]
    th = T0_HOST + np.cumsum(rng.exponential(0.005, n))
    th[7] = np.nan
    counts = rng.integers(0, 65536, (n, DEVICE_N)).astype(np.uint16)
    flags = rng.integers(0, 256, n).astype(np.uint8)
    block = SampleBlock(seq, td, th, counts, flags)
    w = new_writer(tmp_path / "x.mglog")
    w.write_samples(block)
    w.write_event("note", T0_HOST, None, text="Schulter rechts \u2013 zu fest? \U0001f44d",
                  nested={"a": [1, 2.5, None, {"b": "c"}]}, big=2 ** 62, np_value=np.float32(0.5),
                  arr=np.arange(3), nan=float("nan"))
    w.write_link_event(LinkEvent("gap", T0_HOST + 1, 0.25, {"first_seq": 7, "missing": 3,
                                                           "seconds": 0.015}, text="3 lost"))
    w.close()
    log = sl.load(w.path)
    assert_blocks_equal(log.samples, block)
    note, gap = log.events
    assert note == sl.LogEvent("note", T0_HOST, None, {
        "text": "Schulter rechts \u2013 zu fest? \U0001f44d", "nested": {"a": [1, 2.5, None, {"b": "c"}]},
        "big": 2 ** 62, "np_value": 0.5, "arr": [0, 1, 2], "nan": None})
    assert gap == sl.LogEvent("gap", T0_HOST + 1, 0.25, {"first_seq": 7, "missing": 3,
                                                        "seconds": 0.015, "text": "3 lost"})


def test_chunk_codec_round_trip_property():
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st
    from hypothesis.extra import numpy as hnp

    @settings(max_examples=60, deadline=None)
    @given(st.integers(1, 40), st.integers(1, 20), st.data())
    def check(n, n_ch, data):
        f64 = hnp.arrays(np.float64, n, elements=st.floats(allow_nan=True, allow_infinity=True))
        micros = hnp.arrays(np.int64, n, elements=st.integers(-2 ** 50, 2 ** 50))
        td = data.draw(st.one_of(f64, micros.map(lambda q: q / 1e6), micros.map(lambda q: q * 1e-6)))
        block = SampleBlock(
            data.draw(hnp.arrays(np.int64, n)), td, data.draw(f64),
            data.draw(hnp.arrays(np.uint16, (n, n_ch))), data.draw(hnp.arrays(np.uint8, n)))
        assert_blocks_equal(fmt.decode_chunk(fmt.encode_chunk(block)), block)

    check()


def test_time_columns_pick_the_compact_exact_encoding():
    b = synth(0, 50)
    payload = fmt.encode_chunk(b)
    _, td_enc, th_enc, _, n_ch, n = fmt.CHUNK_HEAD.unpack_from(payload)
    assert (td_enc, th_enc, n_ch, n) == (fmt.TIME_MICROS_DIV, fmt.TIME_FLOAT64, 16, 50)
    mul = SampleBlock(b.seq, (b.t_device_s * 1e6).round().astype(np.int64) * 1e-6, b.t_host_s,
                      b.counts, b.flags)
    if not np.array_equal(mul.t_device_s, b.t_device_s):
        assert fmt.CHUNK_HEAD.unpack_from(fmt.encode_chunk(mul))[1] == fmt.TIME_MICROS_MUL
    assert_blocks_equal(fmt.decode_chunk(fmt.encode_chunk(mul)), mul)


def _doc_vectors() -> dict:
    text = (ROOT / "docs" / "LOG_FORMAT.md").read_text()
    return {m[1]: bytes.fromhex(m[2]) for m in re.finditer(r"^(\w+): ([0-9a-f]+)$", text, re.M)}


def test_vectors_of_the_format_document():
    v = _doc_vectors()
    s = fmt.RecordScanner()
    recs = s.feed(v["samples_record"] + v["event_record"]) + s.finish()
    assert [r.rtype for r in recs] == [fmt.REC_SAMPLES, fmt.REC_EVENT]
    assert zlib.decompress(recs[0].payload[fmt.CHUNK_HEAD_SIZE:]) == v["samples_body"]
    b = fmt.decode_chunk(recs[0].payload)
    assert_blocks_equal(b, SampleBlock(
        np.array([100, 101, 103]), np.array([0.5, 0.505, 0.515]),
        np.array([1778313821.2534573, 1778313821.2587914, 1778313821.2661297]),
        np.array([[61, 2048], [62, 2050], [4095, 0]], np.uint16), np.array([0, 1, 4], np.uint8)))
    # the encoder produces the same body (the zlib stream itself may differ between zlibs)
    assert zlib.decompress(fmt.encode_chunk(b)[fmt.CHUNK_HEAD_SIZE:]) == v["samples_body"]
    assert fmt.encode_chunk(b)[:fmt.CHUNK_HEAD_SIZE] == recs[0].payload[:fmt.CHUNK_HEAD_SIZE]
    assert fmt.decode_json(recs[1].payload) == {"kind": "mark", "t_host_s": 1778313821.3,
                                                "t_device_s": 0.55}
    for bad in (bytes([9]) + recs[0].payload[1:],                  # codec
                recs[0].payload[:1] + bytes([3]) + recs[0].payload[2:],   # time encoding
                recs[0].payload[:6] + bytes([4]) + recs[0].payload[7:],   # row count
                recs[0].payload[:-3]):                              # stream cut short
        with pytest.raises(fmt.ChunkError):
            fmt.decode_chunk(bad)


# --- the record scanner ------------------------------------------------------------------

def _stream(records):
    return b"".join(fmt.encode_record(t, p) for t, p in records)


def test_scanner_gives_the_same_items_for_any_split():
    recs = [(fmt.REC_EVENT, b'{"kind":"a"}'), (fmt.REC_SAMPLES, bytes(range(256)) * 3),
            (fmt.REC_EVENT, fmt.SYNC * 3), (9, b"")]
    data = b"junk" + _stream(recs)[:-5] + b"\x00" + _stream(recs[:1]) + _stream(recs)[:20]
    whole = fmt.RecordScanner(100)
    expected = whole.feed(data) + whole.finish()
    for cut in range(len(data) + 1):
        s = fmt.RecordScanner(100)
        got = s.feed(data[:cut]) + s.feed(data[cut:]) + s.finish()
        assert got == expected, cut
    s = fmt.RecordScanner(100)
    got = [x for i in range(len(data)) for x in s.feed(data[i:i + 1])] + s.finish()
    assert got == expected
    kinds = [(type(x).__name__, getattr(x, "torn", None)) for x in expected]
    assert kinds == [("Skipped", False), ("Record", None), ("Record", None), ("Record", None),
                     ("Skipped", False), ("Record", None), ("Skipped", True)]


def test_record_framing_bytes():
    rec = fmt.encode_record(fmt.REC_EVENT, b"{}")
    assert rec == bytes.fromhex("d74d520003020000007b7d") + (
        zlib.crc32(bytes.fromhex("03020000007b7d")).to_bytes(4, "little"))
    assert fmt.prologue() == b"\x89MGLOG\r\n\x1a\n\x01\x00"


# --- torn and damaged files ----------------------------------------------------------------

@pytest.fixture(scope="module")
def small_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "s.mglog"
    w, data, evs = write_session(path, n_blocks=4, rows=3, flush_every=1)
    raw = path.read_bytes()
    # offsets where each record ends, and what is complete by then
    r = fmt.RecordScanner(fmt.PROLOGUE_SIZE)
    recs = r.feed(raw[fmt.PROLOGUE_SIZE:]) + r.finish()
    assert all(isinstance(x, fmt.Record) for x in recs)
    return path, raw, data, evs, recs


def test_truncation_at_every_byte_offset_loads_an_exact_prefix(small_log, tmp_path):
    path, raw, data, evs, recs = small_log
    header_end = recs[0].offset + recs[0].size
    ends = [(x.offset + x.size, x) for x in recs]
    cut_path = tmp_path / "cut.mglog"
    for cut in range(len(raw) + 1):
        cut_path.write_bytes(raw[:cut])
        if cut < header_end:
            with pytest.raises(LogFormatError) as ei:
                sl.load(cut_path)
            assert str(cut_path) in str(ei.value)
            continue
        log = sl.load(cut_path)
        done = [x for end, x in ends if end <= cut]
        n_samples = sum(fmt.chunk_shape(x.payload)[0] for x in done if x.rtype == fmt.REC_SAMPLES)
        n_events = sum(x.rtype == fmt.REC_EVENT for x in done)
        assert_blocks_equal(log.samples, prefix(data, n_samples))
        assert log.events == evs[:n_events]
        last_end = max(end for end, _ in ends if end <= cut)
        assert log.torn_bytes == cut - last_end
        assert log.complete == (cut == len(raw))
        assert log.damaged_regions == 0


def test_one_damaged_byte_loses_at_most_the_record_it_hits(small_log, tmp_path):
    path, raw, data, evs, recs = small_log
    header_end = recs[0].offset + recs[0].size
    bad = tmp_path / "bad.mglog"
    for pos in range(header_end, len(raw)):
        b = bytearray(raw)
        b[pos] ^= 0x5A
        bad.write_bytes(bytes(b))
        log = sl.load(bad)
        hit = next(x for x in recs if x.offset <= pos < x.offset + x.size)
        lost_rows = fmt.chunk_shape(hit.payload)[0] if hit.rtype == fmt.REC_SAMPLES else 0
        assert len(log.samples) == len(data) - lost_rows, pos
        assert len(log.events) == len(evs) - (hit.rtype == fmt.REC_EVENT)
        if hit is recs[-1]:           # the end record: indistinguishable from a torn write
            assert log.torn_bytes == hit.size and not log.complete
        else:
            assert (log.damaged_regions, log.damaged_bytes) == (1, hit.size)
            assert log.complete and not log.intact
            assert any("damaged" in p for p in log.problems)


def test_damaged_chunk_in_the_middle_is_skipped_and_reported(tmp_path):
    path = tmp_path / "m.mglog"
    w, data, evs = write_session(path, n_blocks=6, rows=10, events=False, flush_every=1)
    raw = bytearray(path.read_bytes())
    r = fmt.RecordScanner(fmt.PROLOGUE_SIZE)
    recs = r.feed(bytes(raw[fmt.PROLOGUE_SIZE:])) + r.finish()
    third = [x for x in recs if x.rtype == fmt.REC_SAMPLES][2]
    raw[third.offset + 20] ^= 0xFF
    path.write_bytes(bytes(raw))
    log = sl.load(path)
    keep = np.r_[0:20, 30:60]
    assert_blocks_equal(log.samples, SampleBlock(*(a[keep] for a in (
        data.seq, data.t_device_s, data.t_host_s, data.counts, data.flags))))
    assert log.damaged_regions == 1 and log.complete
    assert f"offset {third.offset}" in log.problems[0]
    blocks = list(sl.iter_blocks(path))
    assert [len(b) for b in blocks] == [10, 10, 10, 10, 10]


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"seq,t_device_s,t_host_s,R_thumb\n0,0.0,1.5,61\n", "not a massage-glove session log"),
    (b"\x89MGL", "ends after 4 bytes"),
    (fmt.PROLOGUE.pack(fmt.SIGNATURE, 2), "version 2; this software reads version 1: update"),
    (fmt.prologue() + b"\xd7MR\x00\x01", "ends inside its header"),
    (fmt.prologue() + fmt.encode_record(fmt.REC_HEADER, b"[1]"), "not valid JSON"),
    (fmt.prologue() + fmt.encode_record(fmt.REC_HEADER, b'{"format":"other"}'), "format 'other'"),
    (fmt.prologue() + fmt.encode_record(fmt.REC_HEADER, fmt.encode_json(
        {"format": fmt.FORMAT_NAME, "version": 1, "device_meta": {"channels": []}})),
     "field `device_meta.protocol`"),
    (fmt.prologue() + fmt.encode_record(fmt.REC_EVENT, b"{}"), "header is damaged"),
])
def test_bad_files_raise_a_typed_error_naming_the_file(tmp_path, content, words):
    p = tmp_path / "bad.mglog"
    p.write_bytes(content)
    with pytest.raises(LogFormatError) as ei:
        sl.load(p)
    assert str(p) in str(ei.value) and words in str(ei.value)
    assert isinstance(ei.value, GloveError) and ei.value.path == str(p)


def test_damaged_header_is_a_format_error(small_log, tmp_path):
    path, raw, *_ = small_log
    b = bytearray(raw)
    b[fmt.PROLOGUE_SIZE + 40] ^= 1
    p = tmp_path / "h.mglog"
    p.write_bytes(bytes(b))
    with pytest.raises(LogFormatError, match="header is damaged"):
        sl.load(p)


def test_missing_file_or_directory_is_a_read_error(tmp_path):
    with pytest.raises(LogReadError, match="no such file"):
        sl.load(tmp_path / "nope.mglog")
    with pytest.raises(LogReadError, match="is a directory"):
        sl.load(tmp_path)


def test_unknown_record_types_are_skipped(small_log, tmp_path):
    path, raw, data, evs, recs = small_log
    p = tmp_path / "u.mglog"
    p.write_bytes(raw[:-recs[-1].size] + fmt.encode_record(0x42, b"future") + raw[-recs[-1].size:])
    log = sl.load(p)
    assert log.unknown_records == 1 and log.intact
    assert_blocks_equal(log.samples, data)


# --- crash safety ------------------------------------------------------------------------

def _child(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("background", [False, True])
def test_sigkill_keeps_everything_up_to_the_last_flush(tmp_path, background):
    path = tmp_path / "k.mglog"
    child = _child(["kill-writer", str(path), "bg" if background else "fg"])
    durable = 0
    try:
        for line in child.stdout:
            durable = json.loads(line)["durable"]
            if durable >= 5 * KILL_ROWS_PER_FLUSH:
                break
        else:
            pytest.fail(f"the writer child ended early: {child.stderr.read()}")
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        out = child.stdout.read()
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    last = json.loads(out.splitlines()[-1]) if out.strip() else {"accepted": 0, "durable": durable}
    log = sl.load(path)
    n = len(log.samples)
    assert_blocks_equal(log.samples, synth(0, n))       # exact prefix, nothing invented
    assert n >= max(durable, last["durable"])           # everything fsynced survived
    assert not log.complete and log.damaged_regions == 0
    if not background:
        # Only the samples after the last flush may be missing (plus the block in hand).
        assert last["accepted"] - n <= KILL_ROWS_PER_FLUSH + KILL_BLOCK_ROWS
        assert n % KILL_ROWS_PER_FLUSH == 0


KILL_BLOCK_ROWS = 10
KILL_ROWS_PER_FLUSH = 200      # 20 blocks of 10 between flushes (fake clock, 1 s apart)


def _child_kill_writer(path: str, mode: str) -> None:
    clock = FakeClock()
    w = new_writer(path, background=(mode == "bg"), clock=clock)
    k = 0
    while True:
        w.write_samples(synth(k * KILL_BLOCK_ROWS, KILL_BLOCK_ROWS))
        k += 1
        clock.t = k / 20          # exact at whole seconds: a flush every 20 blocks
        w.maybe_flush()
        st = w.stats
        print(json.dumps({"accepted": st.samples_accepted, "durable": st.samples_durable}),
              flush=True)


# --- disk full, file too large, no permission -----------------------------------------------

class LimitedFile:
    """A file that fills up after `limit` bytes, like a full disk: a short write, then ENOSPC."""

    def __init__(self, path, limit, err=errno.ENOSPC, truncate_fails=False):
        self.f = open(path, "xb", buffering=0)
        self.limit = limit
        self.err = err
        self.size = 0
        self.truncate_fails = truncate_fails

    def write(self, data):
        room = self.limit - self.size
        if room <= 0:
            raise OSError(self.err, os.strerror(self.err))
        n = self.f.write(bytes(data[:room]))
        self.size += n
        return n

    def truncate(self, size):
        if self.truncate_fails:
            raise OSError(self.err, os.strerror(self.err))
        self.size = size
        return self.f.truncate(size)

    def flush(self):
        pass

    def fileno(self):
        return self.f.fileno()

    def close(self):
        self.f.close()


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("truncate_fails", [False, True])
def test_disk_full_stops_logging_with_a_clear_message_and_keeps_the_data(tmp_path, background,
                                                                         truncate_fails):
    path = tmp_path / "full.mglog"
    clock = FakeClock()
    w = new_writer(path, background=background, clock=clock,
                   opener=lambda p: LimitedFile(p, 9000, truncate_fails=truncate_fails))
    k = 0
    while w.failed is None and k < 2000:
        w.write_samples(synth(k * 20, 20))
        w.write_event("mark", T0_HOST + k, None)
        clock.t += 0.5
        if w.maybe_flush() and background:
            w.flush(wait=True, timeout_s=10)
        k += 1
    err = w.failed
    assert isinstance(err, LogWriteError) and isinstance(err, GloveError)
    msg = str(err)
    assert msg.startswith("logging stopped: the disk is full")
    assert str(path) in msg and "Free some disk space" in msg
    assert re.search(r"the session up to \d\d:\d\d:\d\d \(\d+ samples\) is saved in", msg)
    assert err.errno == errno.ENOSPC and err.samples_saved > 0
    # the live session goes on: nothing raises afterwards
    w.write_samples(synth(10 ** 6, 20))
    w.write_event("note", T0_HOST, None, text="after")
    w.maybe_flush(clock.t + 10)
    w.close()
    assert w.stats.samples_lost >= 20
    log = sl.load(path)
    assert_blocks_equal(log.samples, synth(0, err.samples_saved))
    assert not log.complete and log.damaged_regions == 0
    if not truncate_fails:
        assert log.torn_bytes == 0
    assert err.saved_until_host_s == log.samples.t_host_s[-1]


def test_file_size_limit_gives_efbig_and_a_readable_log(tmp_path):
    path = tmp_path / "big.mglog"
    res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "efbig-writer",
                          str(path), "20000"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.splitlines()[-1])
    assert out["errno"] == errno.EFBIG
    assert "largest size" in out["message"] and str(path) in out["message"]
    assert path.stat().st_size <= 20000
    log = sl.load(path)
    assert len(log.samples) == out["samples_saved"] > 0
    assert_blocks_equal(log.samples, synth(0, out["samples_saved"]))


def _child_efbig_writer(path: str, limit: str) -> None:
    import resource
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    clock = FakeClock()
    w = new_writer(path, clock=clock)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
    k = 0
    while w.failed is None and k < 10 ** 5:
        w.write_samples(synth(k * 50, 50))
        clock.t += 1.0
        w.maybe_flush()
        k += 1
    w.close()
    e = w.failed
    print(json.dumps({"errno": e.errno, "message": str(e), "samples_saved": e.samples_saved}))


def test_missing_directory_is_a_clear_error_at_open(tmp_path):
    d = tmp_path / "no" / "such"
    with pytest.raises(LogWriteError) as ei:
        new_writer(d / "x.mglog")
    msg = str(ei.value)
    assert str(d) in msg and "does not exist" in msg and "mkdir -p" in msg
    assert "MASSAGE_GLOVE_SESSIONS" in msg


def test_permission_denied_is_a_clear_error_at_open(tmp_path):
    def deny(p):
        raise PermissionError(errno.EACCES, "Permission denied", str(p))
    with pytest.raises(LogWriteError) as ei:
        new_writer(tmp_path / "x.mglog", opener=deny)
    msg = str(ei.value)
    assert str(tmp_path) in msg and "permission was denied" in msg and "writable" in msg


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_unwritable_directory_is_a_clear_error_at_open(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        with pytest.raises(LogWriteError) as ei:
            new_writer(d / "x.mglog")
        assert str(d) in str(ei.value) and "writable" in str(ei.value)
    finally:
        d.chmod(0o755)


def test_disk_full_while_writing_the_header_leaves_no_file(tmp_path):
    path = tmp_path / "h.mglog"
    with pytest.raises(LogWriteError, match="disk is full"):
        new_writer(path, opener=lambda p: LimitedFile(p, 100))
    assert not path.exists()


def test_an_existing_log_is_never_overwritten(tmp_path):
    path = tmp_path / "x.mglog"
    path.write_bytes(b"precious")
    with pytest.raises(LogWriteError, match="already exists"):
        new_writer(path)
    assert path.read_bytes() == b"precious"


# --- flushing and the bounded queue ------------------------------------------------------

def test_flush_follows_the_injected_clock(tmp_path):
    clock = FakeClock()
    syncs = []
    w = new_writer(tmp_path / "f.mglog", clock=clock, fsync=lambda fd: syncs.append(clock.t))
    syncs.clear()
    for k in range(30):
        w.write_samples(synth(k * 10, 10))
        clock.t = 0.1 * (k + 1)
        w.maybe_flush()
    w.close()
    assert syncs[:3] == pytest.approx([1.0, 2.0, 3.0])
    assert w.stats.samples_durable == 300


def test_background_writer_flushes_on_its_own_schedule(tmp_path):
    """No maybe_flush() calls: the writer thread flushes once its clock says a second passed."""
    clock = FakeClock()
    synced = threading.Event()

    def fsync(fd):
        os.fsync(fd)
        synced.set()

    w = new_writer(tmp_path / "own.mglog", background=True, clock=clock, fsync=fsync)
    synced.clear()
    clock.t = 1.5
    w.write_samples(synth(0, 10))
    assert synced.wait(30)                    # fsynced before anyone asked
    w.close()
    assert len(sl.load(w.path).samples) == 10


def test_background_writer_is_woken_by_its_schedule_not_by_every_block(tmp_path):
    """write_samples() only queues: the writer thread is signalled for a due flush, a full
    chunk or the close, never per block (a thread switch per sample costs more than the
    sample). What is handed over is still durable at the next flush."""
    clock = FakeClock()
    w = new_writer(tmp_path / "wake.mglog", background=True, clock=clock, max_chunk_rows=64,
                   flush_interval_s=60.0)
    signals = []
    notify = w._cv.notify
    w._cv.notify = lambda n=1: (signals.append(n), notify(n))
    for k in range(63):
        w.write_samples(synth(k, 1))
        w.write_event("mark", T0_HOST + k, None, k=k)
        assert not w.maybe_flush()                  # not due: the clock has not moved
    assert signals == [], "no wake for samples or events before a flush is due"
    w.write_samples(synth(63, 1))                   # the 64th row fills a chunk: one wake
    assert len(signals) == 1
    for k in range(64, 100):
        w.write_samples(synth(k, 1))
    assert len(signals) == 1
    clock.t = 60.0
    assert w.maybe_flush()                          # due: one wake, and it is durable
    assert len(signals) == 2
    assert w.flush(wait=True, timeout_s=30)
    assert w.stats.samples_durable == 100 and w.stats.events_written == 63
    w.close()
    log = sl.load(w.path)
    assert_blocks_equal(log.samples, synth(0, 100))
    assert [e.fields["k"] for e in log.events if e.kind == "mark"] == list(range(63))


class StallingFile:
    """A file whose writes hang until released (a disk that stopped responding)."""

    def __init__(self, path):
        self.f = open(path, "xb", buffering=0)
        self.stall = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, data):
        if self.stall:
            self.entered.set()
            assert self.release.wait(30)
        return self.f.write(data)

    def flush(self):
        pass

    def truncate(self, n):
        return self.f.truncate(n)

    def fileno(self):
        return self.f.fileno()

    def close(self):
        self.f.close()


def test_queue_is_bounded_while_the_disk_hangs(tmp_path):
    files = []

    def opener(p):
        files.append(StallingFile(p))
        return files[-1]

    w = new_writer(tmp_path / "q.mglog", background=True, opener=opener,
                   max_queued_samples=1000, max_queued_events=5)
    f = files[0]
    f.stall = True
    w.write_samples(synth(0, 10))
    w.flush()
    assert f.entered.wait(30)                # the writer thread is stuck in write()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for k in range(1000):                     # 100 000 samples, 5.7 MB of data, offered
        w.write_samples(synth(10 + k * 100, 100))
    for k in range(10):
        w.write_event("mark", T0_HOST + k, None)
    grown = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    st = w.stats
    assert st.queued_samples == 1000 and st.samples_dropped == 99_000
    assert st.queued_events == 5 and st.events_dropped == 5
    assert grown < 600_000                   # about 1000 queued samples, not 100 000
    f.release.set()
    w.close(timeout_s=30)
    log = sl.load(w.path)
    assert_blocks_equal(log.samples, synth(0, 1010))
    over = [e for e in log.events if e.kind == "log_overflow"]
    assert len(over) == 1 and over[0].fields["dropped_samples"] == 99_000
    assert over[0].fields["first_seq"] == 1010 and over[0].fields["last_seq"] == 100_009
    assert log.end["samples_dropped"] == 99_000 and log.end["events_dropped"] == 5


def test_writer_rejects_blocks_that_do_not_fit(tmp_path):
    w = new_writer(tmp_path / "v.mglog")
    b = synth(0, 4, n_ch=8)
    with pytest.raises(ValueError, match="16 channels"):
        w.write_samples(b)
    b = synth(0, 4)
    with pytest.raises(TypeError, match="uint16"):
        w.write_samples(SampleBlock(b.seq, b.t_device_s, b.t_host_s, b.counts.astype(np.int32), b.flags))
    with pytest.raises(ValueError, match="reserved"):
        w._put_event("x", 0.0, None, {"kind": 1})
    w.close()
    w.close()
    with pytest.raises(RuntimeError):
        w.write_samples(b)


# --- header ------------------------------------------------------------------------------

def test_header_describes_the_session(tmp_path):
    cal = tmp_path / "e6605838833b2a2f.json"
    cal.write_text(json.dumps({"glove_id": "e6605838833b2a2f", "channels": {"R_thumb": [1, 2]}}))
    header = sl.make_header(DEVICE, trainee="Ana", calibration=cal, profile="standard-back",
                            skill_level="novice", sensitivity=0.72, extra={"instructor": "Bo"})
    w = sl.SessionLogWriter(tmp_path / "h.mglog", header, background=False)
    w.close()
    h = sl.load(w.path).header
    assert h["format"] == "massage-glove/session-log" and h["version"] == 1
    assert (h["trainee"], h["glove_id"], h["firmware"]) == ("Ana", "e6605838833b2a2f", "1.0.0")
    assert h["device_meta"]["channels"][0]["name"] == "R_thumb" and h["n_channels"] == 16
    assert h["calibration"]["file"] == cal.name
    assert len(h["calibration"]["sha256"]) == 64
    assert h["calibration"]["embedded"]["channels"] == {"R_thumb": [1, 2]}
    assert (h["profile"], h["skill_level"], h["sensitivity"]) == ("standard-back", "novice", 0.72)
    assert h["rate_hz"] == 200.0 and "counts" in h["units"]
    start = dt.datetime.fromisoformat(h["start_time"])
    assert start.tzinfo is not None and abs(start.timestamp() - h["start_unix_s"]) < 1e-3
    assert h["host"]["hostname"] and h["software"]["version"]
    assert h["extra"] == {"instructor": "Bo"} and h["writer"]["flush_interval_s"] == 1.0


def test_missing_calibration_file_is_a_clear_error(tmp_path):
    with pytest.raises(LogWriteError, match="cannot read the calibration file"):
        sl.make_header(DEVICE, trainee="x", calibration=tmp_path / "nope.json")


# --- CSV ---------------------------------------------------------------------------------

@pytest.mark.parametrize("from_path", [False, True])
def test_csv_export_columns_and_rows(tmp_path, from_path):
    path = tmp_path / "c.mglog"
    w, data, evs = write_session(path, n_blocks=5, rows=11)
    log = sl.load(path)
    out, ev_out = sl.export_csv(path if from_path else log, tmp_path / "c.csv")
    assert ev_out == tmp_path / "c.events.csv"
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    names = [c.name for c in DEVICE.channels]
    assert rows[0] == ["seq", "t_device_s", "t_host_s", *names, "flags"]
    assert len(rows) == 1 + len(data)
    arr = np.array(rows[1:], dtype=object)
    assert np.array_equal(arr[:, 0].astype(np.int64), data.seq)
    assert np.array_equal(arr[:, 1].astype(np.float64), data.t_device_s)
    assert np.array_equal(arr[:, 2].astype(np.float64), data.t_host_s)
    assert np.array_equal(arr[:, 3:3 + 16].astype(np.int64), data.counts)
    assert np.array_equal(arr[:, -1].astype(np.int64), data.flags)
    with open(ev_out, newline="") as f:
        erows = list(csv.DictReader(f))
    assert len(erows) == len(evs)
    assert erows[1]["kind"] == "region" and json.loads(erows[1]["fields"]) == {"region": "spine", "k": 1}
    assert float(erows[1]["t_host_s"]) == evs[1].t_host_s


def test_csv_export_to_an_unwritable_place_is_a_clear_error(tmp_path):
    path = tmp_path / "c.mglog"
    write_session(path, n_blocks=1, rows=2)
    with pytest.raises(LogWriteError, match="cannot write the CSV export"):
        sl.export_csv(path, tmp_path / "no" / "dir" / "c.csv")


# --- sessions directory --------------------------------------------------------------------

def test_sessions_directory_and_file_names(tmp_path, monkeypatch):
    monkeypatch.delenv("MASSAGE_GLOVE_SESSIONS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    d = sl.sessions_dir()
    assert d == tmp_path / "home" / ".local" / "share" / "massage-glove" / "sessions" and d.is_dir()
    monkeypatch.setenv("MASSAGE_GLOVE_SESSIONS", str(tmp_path / "mine"))
    assert sl.sessions_dir() == tmp_path / "mine" and not (tmp_path / "mine").exists()
    start = dt.datetime(2026, 5, 9, 12, 3, 41)
    assert sl.session_file_name("Ana María / Bo", start) == "20260509-120341-Ana_María___Bo.mglog"
    assert sl.session_file_name("../..", start) == "20260509-120341-anonymous.mglog"
    (tmp_path / "mine").mkdir()
    p1 = sl.new_session_path("ana", start)
    p1.write_bytes(b"")
    p2 = sl.new_session_path("ana", start)
    assert p1.name == "20260509-120341-ana.mglog" and p2.name == "20260509-120341-ana-2.mglog"
    assert sl.list_sessions() == [p1]


def test_open_session_log_in_the_sessions_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("MASSAGE_GLOVE_SESSIONS", str(tmp_path))
    start = dt.datetime(2026, 5, 9, 12, 3, 41).astimezone()
    w = sl.open_session_log(DEVICE, trainee="ana", start_time=start, background=False)
    w.write_samples(synth(0, 5))
    w.close()
    assert w.path == tmp_path / "20260509-120341-ana.mglog"
    assert len(sl.load(w.path).samples) == 5
    monkeypatch.setenv("MASSAGE_GLOVE_SESSIONS", str(tmp_path / "typo"))
    with pytest.raises(LogWriteError, match="does not exist"):
        sl.open_session_log(DEVICE, trainee="ana")


# --- size ----------------------------------------------------------------------------------

def test_bytes_per_hour_on_a_simulated_massage(tmp_path):
    """16 channels at 200 Hz, counts from the simulated glove's force model (sim.scripts),
    flushed every second: docs/LOG_FORMAT.md quotes about 12 MB per hour."""
    scripts = pytest.importorskip("massage_glove.sim.scripts")
    chans = [(c.index, c.name, c.hand, c.site, c.sensor_class, c.r_divider_ohm, c.r_bleed_ohm)
             for c in DEVICE.channels]
    seconds, rate = 30, 200.0
    gt = scripts.ground_truth(scripts.routine_script(seed=3, trainee="novice"), chans, rate,
                              int(seconds * rate), t0_us=40_000_000)
    n = len(gt["t_us"])
    rng = np.random.default_rng(0)
    t_dev = gt["t_us"] / 1e6
    t_host = T0_HOST + t_dev + rng.uniform(0.001, 0.009, n)     # time.time() at decode
    block = SampleBlock(np.arange(n, dtype=np.int64), t_dev, t_host, gt["counts"][:, :16],
                        np.zeros(n, np.uint8))
    clock = FakeClock()
    w = new_writer(tmp_path / "size.mglog", clock=clock)
    head = w.stats.bytes_written
    for i in range(0, n, 2):                  # the link hands over ~10 ms at a time
        w.write_samples(rows(block, i, i + 2))
        clock.t = (i + 2) / rate
        w.maybe_flush()
    w.close()
    per_hour = (w.path.stat().st_size - head) / seconds * 3600
    assert per_hour < 14e6
    assert_blocks_equal(sl.load(w.path).samples, block)


# --- the child processes -------------------------------------------------------------------

if __name__ == "__main__":
    role, *rest = sys.argv[1:]
    if role == "kill-writer":
        _child_kill_writer(*rest)
    elif role == "efbig-writer":
        _child_efbig_writer(*rest)
    else:
        sys.exit(f"unknown role {role!r}")
