"""Helpers of the hostile-file tests: small valid session logs built record by record, and the
command line run in this process (so that any exception that escapes it fails the test with
its traceback, and every example of a property test costs milliseconds)."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np

from massage_glove import cli
from massage_glove.log import format as fmt
from massage_glove.log.writer import make_header
from massage_glove.samples import DeviceInfo, SampleBlock

META = {"protocol": 1, "firmware": "1.0.0", "board": "sim", "glove_id": "sim-glove",
        "hands": ["right"],
        "channels": [{"index": 0, "name": "R_thumb", "hand": "right", "site": "thumb",
                      "class": "fsr402", "r_divider_ohm": 1500, "r_bleed_ohm": 100000},
                     {"index": 1, "name": "R_index", "hand": "right", "site": "index",
                      "class": "fsr402", "r_divider_ohm": 1500, "r_bleed_ohm": 100000}],
        "adc_bits": 12, "vref_v": 3.3, "rate_hz": 200, "min_rate_hz": 1, "max_rate_hz": 1000,
        "ts_bits": 30, "seq_bits": 16, "ring_slots": 256}
RATE = 200.0
N_ROWS = 600          # 3 s


def device() -> DeviceInfo:
    return DeviceInfo.from_meta(json.loads(json.dumps(META)))


def header() -> dict:
    """A valid header, as the writer makes it (JSON-clean)."""
    h = make_header(device(), trainee="ana", skill_level="trained", sensitivity=1.0,
                    profile="default", extra={"routine": None, "session_id": "abc"})
    h["writer"] = {"flush_interval_s": 1.0, "max_chunk_rows": 4096, "background": False}
    return json.loads(json.dumps(h))


def events() -> list[dict]:
    """A region change, a tare, an alert, a mark and a gap: every kind the review reads."""
    return [
        {"kind": "region", "t_host_s": 1.0, "t_device_s": 0.0, "region": "paraspinals",
         "source": "start"},
        {"kind": "tare", "t_host_s": 1.0, "t_device_s": 0.5, "ok": True, "offsets_s": [0.0, 0.0]},
        {"kind": "stage", "t_host_s": 1.0, "t_device_s": 0.5, "stage": "s1",
         "technique": "effleurage", "source": "routine"},
        {"kind": "alert", "t_host_s": 2.0, "t_device_s": 1.5, "rule": "too_much",
         "region": "paraspinals", "channel": "R_thumb", "severity": "danger", "value": 20.0,
         "limit": 15.0, "units": "N", "text": "Too much pressure."},
        {"kind": "mark", "t_host_s": 2.0, "t_device_s": 2.0, "text": "mark (key)"},
        {"kind": "gap", "t_host_s": 2.5, "t_device_s": 2.5, "first_seq": 10, "missing": 3,
         "seconds": 0.015, "text": "3 samples lost"},
    ]


def end() -> dict:
    return {"end_time": "2026-01-01T10:00:03.000+00:00", "end_unix_s": 3.0, "samples": N_ROWS,
            "events": len(events()), "samples_dropped": 0, "events_dropped": 0}


def samples(n: int = N_ROWS, n_ch: int = 2) -> SampleBlock:
    """Strokes of a few newtons on both sensors (counts rise and fall)."""
    t = np.arange(n) / RATE
    counts = (1200 + 800 * np.sin(2 * np.pi * 0.8 * t))[:, None] + np.zeros((1, n_ch))
    return SampleBlock(np.arange(n, dtype=np.int64), t, 1.0 + t,
                       counts.astype(np.uint16), np.zeros(n, np.uint8))


def record(rtype: int, obj) -> bytes:
    payload = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return fmt.encode_record(rtype, payload)


def log_bytes(head=None, evs=None, *, chunks=None, end_rec=...) -> bytes:
    """A whole log: prologue, header, sample chunk(s), events, end (each part replaceable;
    a part given as bytes is used as the record's payload as is)."""
    out = [fmt.prologue(), record(fmt.REC_HEADER, header() if head is None else head)]
    for c in ([fmt.encode_chunk(samples())] if chunks is None else chunks):
        out.append(fmt.encode_record(fmt.REC_SAMPLES, c))
    for e in (events() if evs is None else evs):
        out.append(record(fmt.REC_EVENT, e))
    if end_rec is not None:
        out.append(record(fmt.REC_END, end() if end_rec is ... else end_rec))
    return b"".join(out)


def run_cli(*argv) -> tuple[int, str, str]:
    """cli.main in this process: (exit code, stdout, stderr). An exception that is not one
    of the CLI's own error path propagates (with its traceback) and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def one_error_line(rc: int, err: str, *must: str) -> str:
    """Exit code 1 and exactly one `massage-glove: ...` line on stderr, containing `must`."""
    assert "Traceback" not in err, err
    assert rc == 1, (rc, err)
    lines = [ln for ln in err.splitlines() if ln.startswith("massage-glove: ")]
    assert len(lines) == 1, err
    for m in must:
        assert m in lines[0], (m, lines[0])
    return lines[0]
