"""Hostile files: crafted to crash, to exhaust memory or to be read for ever.

What the tests try, and what must happen:

* decompression bombs: a 0.1 MB log whose chunks inflate to far more than they could
  hold, a chunk claiming more rows than its header allows: refused from the chunks'
  headers before anything is decompressed, in bounded memory (peak RSS measured);
* a 2 GiB calibration file, /dev/zero and a FIFO named as data files: refused unread;
* crafted log fields (a rate that is a string or negative, skill as a list, a region as an
  object, ...): one line naming the file and the field through `massage-glove review`, or
  the record skipped and said in the review; never a traceback;
* integers of 5000 digits and duplicate keys in any JSON file (data files, log header,
  events): one error naming the file (and the key);
* property tests (hypothesis): every field of a valid log header, event and data file
  replaced by values of every JSON type, through the command line's error path.
"""
from __future__ import annotations

import copy
import json
import re
import os
import resource
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from massage_glove.errors import DataFileError, GloveError, LogFormatError
from massage_glove.log import format as fmt
from massage_glove.log import load
from massage_glove.samples import DeviceInfo, SampleBlock
from massage_glove.signal.calibration import Calibration

import hostile
from faultkit import cli_env
from test_bad_files import CALIBRATION, FILES, PROFILE, check_load, mutated, paths

import numpy as np


# --- bounded reads -------------------------------------------------------------------------

def _zero_chunk(rows: int, n_ch: int = 2) -> bytes:
    z = SampleBlock(np.zeros(rows, np.int64), np.zeros(rows), np.zeros(rows),
                    np.zeros((rows, n_ch), np.uint16), np.zeros(rows, np.uint8))
    return fmt.encode_chunk(z, level=9)


def _peak_rss_mb(code: str, *args) -> tuple[subprocess.CompletedProcess, float]:
    """Run `code` in a fresh interpreter; its stdout/stderr and its peak RSS in MB."""
    wrapper = ("import atexit, resource, sys\n"
               "atexit.register(lambda: print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF)"
               ".ru_maxrss, file=sys.stderr))\n" + code)
    p = subprocess.run([sys.executable, "-c", wrapper, *map(str, args)], capture_output=True,
                       text=True, timeout=600, env=cli_env())
    kb = [ln for ln in p.stderr.splitlines() if ln.startswith("PEAK_KB")]
    return p, (int(kb[-1].split()[1]) / 1024 if kb else float("nan"))


def _baseline_rss_mb() -> float:
    return _peak_rss_mb("import massage_glove.cli, massage_glove.review.report")[1]


def test_log_bomb_is_refused_from_the_chunk_headers_in_bounded_memory(tmp_path):
    # ~1000 chunks of 4096 zero rows: about 0.1 MB on disk, 4.1 M samples once inflated
    chunk = _zero_chunk(4096)
    log = tmp_path / "bomb.mglog"
    log.write_bytes(hostile.log_bytes(chunks=[chunk] * 1000))
    size_mb = log.stat().st_size / 1e6
    assert size_mb < 0.3
    base = _baseline_rss_mb()
    p, peak = _peak_rss_mb(
        "from massage_glove.cli import main\nsys.exit(main(['review', sys.argv[1]]))", log)
    print(f"bomb {size_mb:.2f} MB on disk: review peak RSS {peak:.0f} MB (imports alone {base:.0f} MB)")
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == 1, p.stderr
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("massage-glove: ")]
    assert len(line) == 1 and str(log) in line[0] and "4096000 samples" in line[0], p.stderr
    assert "max_review_samples" in line[0]
    # refused before decompressing: the process held no more than the imports and the file
    assert peak - base < 100, (peak, base)


def test_chunk_claiming_more_rows_than_the_header_allows_is_not_decompressed(tmp_path, monkeypatch):
    rows = 1_000_000                        # 29 MB inflated, 30 KB compressed
    log = tmp_path / "s.mglog"
    log.write_bytes(hostile.log_bytes(chunks=[fmt.encode_chunk(hostile.samples()), _zero_chunk(rows)]))
    import zlib
    calls = []
    real = zlib.decompressobj
    monkeypatch.setattr(zlib, "decompressobj", lambda *a: calls.append(1) or real(*a))
    slog = load(log)
    assert len(slog.samples) == hostile.N_ROWS, "the good chunk is read"
    assert slog.bad_records == 1
    assert any(f"claims {rows} rows" in p and "4096" in p for p in slog.problems), slog.problems
    assert len(calls) == 1, "only the good chunk was decompressed"


def test_huge_calibration_file_is_refused_unread(tmp_path):
    cal_dir = tmp_path / "calibration"
    cal_dir.mkdir()
    big = cal_dir / "sim-glove.json"
    with open(big, "wb") as f:              # 2 GiB, sparse: costs no disk
        f.truncate(2 << 30)
    base = _baseline_rss_mb()
    p, peak = _peak_rss_mb(
        "from massage_glove.signal.calibration import Calibration\n"
        "from massage_glove.errors import DataFileError\n"
        "try:\n    Calibration.load(sys.argv[1])\nexcept DataFileError as e:\n    print(e)\n", big)
    print(f"2 GiB calibration: peak RSS {peak:.0f} MB (imports alone {base:.0f} MB)")
    assert p.returncode == 0, p.stderr
    assert str(big) in p.stdout and "at most 4194304 bytes" in p.stdout and "2147483648 bytes" in p.stdout
    assert peak - base < 50


@pytest.mark.parametrize("name,loader,doc", FILES, ids=[f[0] for f in FILES])
def test_device_or_fifo_named_as_a_data_file_is_refused(name, loader, doc, tmp_path):
    e = check_load(loader, "/dev/zero")
    assert e is not None and "a regular file" in str(e)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    e = check_load(loader, fifo)           # no writer: a plain open() would wait for ever
    assert e is not None and "a regular file" in str(e)


# --- one validation layer: crafted fields ---------------------------------------------------

def _set(doc, where, value):
    return mutated(doc, where, value)


HEADER_CASES = [
    (("rate_hz",), "fast", "rate_hz"),
    (("rate_hz",), -200, "rate_hz"),
    (("rate_hz",), 0, "rate_hz"),
    (("skill_level",), ["novice"], "skill_level"),
    (("sensitivity",), "high", "sensitivity"),
    (("trainee",), {"name": "x"}, "trainee"),
    (("extra",), [], "extra"),
    (("extra", "routine"), 5, "extra.routine"),
    (("calibration",), "cal.json", "calibration"),
    (("n_channels",), 3, "n_channels"),
    (("device_meta", "rate_hz"), "200", "device_meta.rate_hz"),
    (("device_meta", "vref_v"), -3.3, "device_meta.vref_v"),
    (("device_meta", "adc_bits"), 64, "device_meta.adc_bits"),
    (("device_meta", "hands"), ["left"], "device_meta.channels[0].hand"),
    (("device_meta", "channels", 0, "class"), "fsr999", "device_meta.channels[0].class"),
    (("device_meta", "channels", 1, "index"), 0, "device_meta.channels[1].index"),
    (("device_meta", "channels", 0, "r_divider_ohm"), 0, "device_meta.channels[0].r_divider_ohm"),
    (("writer", "max_chunk_rows"), 10 ** 9, "writer.max_chunk_rows"),
]


@pytest.mark.parametrize("where,value,field", HEADER_CASES,
                         ids=[".".join(map(str, c[0])) + "=" + repr(c[1])[:12] for c in HEADER_CASES])
def test_crafted_header_field_is_one_line_naming_file_and_field(where, value, field, tmp_path):
    log = tmp_path / "s.mglog"
    log.write_bytes(hostile.log_bytes(_set(hostile.header(), where, value)))
    rc, out, err = hostile.run_cli("review", log)
    hostile.one_error_line(rc, err, str(log), f"`{field}`")


EVENT_CASES = [
    (0, "region", {"a": 1}),
    (0, "region", ["neck"]),
    (1, "offsets_s", "zero"),
    (1, "ok", "yes"),
    (2, "technique", 7),
    (3, "severity", []),
    (3, "severity", "apocalyptic"),
    (3, "text", {"html": "<b>"}),
    (3, "channel", 3),
    (3, "value", "20"),
    (5, "missing", "3"),
    (0, "t_device_s", "0"),
    (0, "t_host_s", None),
    (0, "kind", ["region"]),
]


@pytest.mark.parametrize("i,field,value", EVENT_CASES,
                         ids=[f"{hostile.events()[c[0]]['kind']}.{c[1]}={c[2]!r}"[:40] for c in EVENT_CASES])
def test_crafted_event_field_is_skipped_and_said_in_the_review(i, field, value, tmp_path):
    evs = hostile.events()
    evs[i] = dict(evs[i], **{field: value})
    log = tmp_path / "s.mglog"
    log.write_bytes(hostile.log_bytes(evs=evs))
    rc, out, err = hostile.run_cli("review", log)
    assert rc == 0 and "Traceback" not in err, err
    notes = [ln for ln in out.splitlines() if ln.startswith("Note: record at offset")]
    assert len(notes) == 1 and f"`{field}`" in notes[0], out


def test_crafted_end_record_is_skipped(tmp_path):
    log = tmp_path / "s.mglog"
    log.write_bytes(hostile.log_bytes(end_rec={"samples": "all"}))
    slog = load(log)
    assert slog.end is None and slog.bad_records == 1 and "`samples`" in slog.problems[0]


# --- 5000-digit integers and duplicate keys ---------------------------------------------------

def _with_raw(doc: dict, raw: str) -> str:
    """doc's JSON text with `raw` (JSON text of one member) added at its end."""
    return json.dumps(doc)[:-1] + ", " + raw + "}"


@pytest.mark.parametrize("name,loader,doc", FILES, ids=[f[0] for f in FILES])
def test_5000_digit_integer_and_duplicate_key_in_a_data_file(name, loader, doc, tmp_path):
    p = tmp_path / f"{name}.json"
    p.write_text(_with_raw(doc, '"zz": ' + "9" * 5000))
    e = check_load(loader, p)
    assert e is not None and "5000 digits" in str(e), e
    p.write_text(json.dumps(doc).replace('"version": 1', '"version": ' + "1" * 5000))
    e = check_load(loader, p)
    assert e is not None and "5000 digits" in str(e), e
    p.write_text(_with_raw(doc, '"version": 1'))
    e = check_load(loader, p)
    assert e is not None and e.field == "version" and "twice" in str(e), e
    p.write_text(_with_raw(doc, '"zz": NaN'))
    assert check_load(loader, p) is not None


def test_5000_digit_integer_and_duplicate_key_in_a_log(tmp_path):
    log = tmp_path / "s.mglog"
    head = json.dumps(hostile.header())
    for raw, must in (('"zz": ' + "9" * 5000, "5000 digits"), ('"trainee": "mallory"', "'trainee' appears twice"),
                      ('"region": "neck"', "'region' appears twice")):
        if "region" not in raw:
            log.write_bytes(hostile.log_bytes((head[:-1] + ", " + raw + "}").encode()))
            rc, out, err = hostile.run_cli("review", log)
            hostile.one_error_line(rc, err, str(log), must)
        if "trainee" in raw:
            continue
        ev = json.dumps(hostile.events()[0])
        log.write_bytes(hostile.log_bytes(evs=[(ev[:-1] + ", " + raw + "}").encode()]
                                          + hostile.events()[1:]))
        slog = load(log)
        assert slog.bad_records == 1 and must in slog.problems[0], slog.problems


# --- property tests through the command line ---------------------------------------------------

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([0, -1, 1e308, -1e308, "", "1", "nan", "x" * 300, [[]], {"a": {}}]))

HEADER = hostile.header()
HEADER_PATHS = list(paths(HEADER))[1:]
EVENTS = hostile.events()
EVENT_PATHS = [(i,) + p for i, e in enumerate(EVENTS) for p in list(paths(e))[1:]]


def _review_once(data: bytes) -> tuple[int, str, str]:
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "s.mglog"
        log.write_bytes(data)
        rc, out, err = hostile.run_cli("review", log)
        assert "Traceback" not in err, err
        if rc == 0:
            return rc, out, err
        hostile.one_error_line(rc, err, str(log))
        return rc, out, err


@settings(derandomize=True, max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(HEADER_PATHS), VALUES, st.booleans())
def test_any_header_field_any_value_is_one_line_or_a_review(where, value, delete):
    if delete and isinstance(where[-1], str):
        head = mutated(HEADER, where, delete=True)
    else:
        head = mutated(HEADER, where, value)
    _review_once(hostile.log_bytes(head))


@settings(derandomize=True, max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EVENT_PATHS), VALUES, st.booleans())
def test_any_event_field_any_value_is_skipped_or_reviewed(where, value, delete):
    evs = copy.deepcopy(EVENTS)
    if delete and isinstance(where[-1], str):
        evs = mutated(evs, where, delete=True)
    else:
        evs = mutated(evs, where, value)
    rc, out, err = _review_once(hostile.log_bytes(evs=evs))
    assert rc == 0, err                      # an event never makes the whole log unreadable


EMBEDDED_PATHS = list(paths(CALIBRATION))[1:]


@settings(derandomize=True, max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EMBEDDED_PATHS), VALUES)
def test_any_field_of_the_calibration_a_log_embeds(where, value):
    head = hostile.header()
    head["calibration"] = {"file": "sim-glove.json", "embedded": mutated(CALIBRATION, where, value)}
    rc, out, err = _review_once(hostile.log_bytes(head))
    notes = [ln for ln in out.splitlines() if "calibration recorded in the log" in ln]
    assert len(notes) <= 1


# Data files through `massage-glove live`: the glove is a stand-in (no simulated glove is
# started), so a file that loads ends the command at the first step after loading.
class _StopHere(GloveError):
    pass


class _FakeLink:
    def __init__(self):
        import types
        self.info = DeviceInfo.from_meta(json.loads(json.dumps(hostile.META)))
        self.stats = types.SimpleNamespace(lost_samples=0)

    def start(self, *args):
        raise _StopHere("the data files loaded; no glove in this test")

    set_limits = start

    def close(self):
        pass

    stop = close


class _FakeSim:
    offset_us = 0

    def __init__(self, *a, **k):
        pass

    def start(self):
        return "fake://glove"

    def close(self):
        pass


@pytest.fixture
def no_glove(monkeypatch):
    from massage_glove import link
    from massage_glove.sim import glove
    monkeypatch.setattr(glove, "SimGlove", _FakeSim)
    monkeypatch.setattr(link.GloveLink, "open", classmethod(lambda cls, *a, **k: _FakeLink()))


def live_with(tmp_path, *args):
    return hostile.run_cli("live", "--simulate", "--headless", "--no-log", "--no-bell",
                           "--region", "paraspinals", *args)


def test_data_files_reach_the_command_line_stand_in(no_glove, tmp_path):
    cal_dir = tmp_path / "calibration"
    cal_dir.mkdir()
    (cal_dir / "sim-glove.json").write_text(json.dumps(CALIBRATION))
    (tmp_path / "p.json").write_text(json.dumps(PROFILE))
    rc, out, err = live_with(tmp_path, "--calibration-dir", cal_dir, "--profile", tmp_path / "p.json")
    hostile.one_error_line(rc, err, "no glove in this test")


@settings(derandomize=True, max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["calibration", "profile"]), st.data())
def test_any_field_of_a_data_file_through_the_command_line(no_glove, tmp_path, which, data):
    doc = CALIBRATION if which == "calibration" else PROFILE
    where = data.draw(st.sampled_from(list(paths(doc))[1:]))
    value = data.draw(VALUES)
    cal_dir = tmp_path / "calibration"
    cal_dir.mkdir(exist_ok=True)
    cal, prof = cal_dir / "sim-glove.json", tmp_path / "p.json"
    cal.write_text(json.dumps(mutated(CALIBRATION, where, value) if which == "calibration" else CALIBRATION))
    prof.write_text(json.dumps(mutated(PROFILE, where, value) if which == "profile" else PROFILE))
    rc, out, err = live_with(tmp_path, "--calibration-dir", cal_dir, "--profile", prof)
    line = hostile.one_error_line(rc, err)
    if "no glove in this test" not in line:
        assert str(cal if which == "calibration" else prof) in line, line
        assert "field `" in line or re.search(r"\.json:\d+:\d+: ", line), line
