"""Bad files: malformed, truncated, wrong-version or wrongly typed calibration, profile,
regions, bands, routines and session log files.

Every loader answers with an error naming the file (and the field, or line and column),
never another exception; through the CLI that is exit code 1 and one line on stderr.
Field-by-field checks of single mistakes are in tests/signal/test_validation.py; here
every field of every file is broken in every way, systematically.
"""
from __future__ import annotations

import copy
import json
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massage_glove.errors import DataFileError, LogFormatError, LogReadError
from massage_glove.live.routine import ROUTINES_PATH, load_routines
from massage_glove.log import format as fmt
from massage_glove.log import load
from massage_glove.signal.calibration import Calibration
from massage_glove.signal.profiles import (BANDS_PATH, REGIONS_PATH, default_profile_set,
                                           load_bands, load_profile, load_regions)

from faultkit import PYTHON, ROOT, cli_env, live_argv

REGION_IDS = set(default_profile_set().regions)

CALIBRATION = {
    "format": "massage-glove/calibration", "version": 1, "glove_id": "sim-glove",
    "date": "2025-03-14", "adc_bits": 12, "loading_time_s": 10, "note": "",
    "channels": [
        {"index": 0, "name": "R_thumb", "class": "fsr402", "r_divider_ohm": 1500,
         "r_bleed_ohm": 100000, "loads_n": [1, 5], "readings_counts": [800, 1900],
         "model": "power", "params": {"a": 70000, "b": 1.28},
         "fit_error": {"rms_n": 0.1, "max_n": 0.2, "rms_pct": 2, "max_pct": 4, "method": "residual"}},
        {"index": 1, "name": "R_index", "class": "fsr402", "r_divider_ohm": 1500,
         "r_bleed_ohm": 100000, "model": "pchip",
         "params": {"g_s": [1e-4, 5e-4, 2.4e-3], "f_n": [0.5, 4, 30]}, "fit_error": None}]}

PROFILE = {
    "format": "massage-glove/profile", "version": 1, "name": "instructor", "date": "2025-03-14",
    "method": {"limit_percentile": 95, "target_percentiles": [25, 75]},
    "regions": {"neck": {"classes": {"fsr402": {"edges_n": [3, 6, 10], "target_n": [1, 2],
                                                "n_samples": 500}}}}}

# (name, loader, document)
FILES = [
    ("calibration", Calibration.load, CALIBRATION),
    ("profile", load_profile, PROFILE),
    ("regions", load_regions, json.loads(REGIONS_PATH.read_text())),
    ("bands", load_bands, json.loads(BANDS_PATH.read_text())),
    ("routines", lambda p: load_routines(p, REGION_IDS), json.loads(ROUTINES_PATH.read_text())),
]
WRONG_VALUES = [None, "", "x", -1, 0, 1e308, True, [], {}, [1, "a"], {"k": None}]


def paths(doc, prefix=()):
    """Every position in a JSON document, as a tuple of keys and indexes."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, prefix + (i,))


def mutated(doc, where, value=..., delete=False):
    d = copy.deepcopy(doc)
    parent = d
    for k in where[:-1]:
        parent = parent[k]
    if delete:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    return d


def check_load(loader, path) -> DataFileError | None:
    """Load; a problem must be a DataFileError naming the file, nothing else."""
    try:
        loader(path)
    except DataFileError as e:
        assert str(e).startswith(str(path)), str(e)
        assert e.field or e.line is not None or e.found, "says where, or what was found"
        assert "\n" not in str(e)
        return e
    return None


@pytest.mark.parametrize("name,loader,doc", FILES, ids=[f[0] for f in FILES])
def test_every_field_broken_every_way_is_an_error_naming_file_and_field(name, loader, doc, tmp_path):
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps(doc))
    assert check_load(loader, p) is None, "the unbroken file loads"
    errors = 0
    for where in list(paths(doc))[1:]:
        cases = [dict(delete=True)] if isinstance(where[-1], str) else []
        cases += [dict(value=v) for v in WRONG_VALUES]
        for case in cases:
            p.write_text(json.dumps(mutated(doc, where, **case)))
            e = check_load(loader, p)
            errors += e is not None
    assert errors > 0


@pytest.mark.parametrize("name,loader,doc", FILES, ids=[f[0] for f in FILES])
def test_wrong_format_or_version_names_the_field(name, loader, doc, tmp_path):
    p = tmp_path / f"{name}.json"
    for field, value in (("version", 2), ("version", 0), ("version", "1"),
                         ("format", "massage-glove/other"), ("format", None)):
        p.write_text(json.dumps(dict(doc, **{field: value})))
        e = check_load(loader, p)
        assert e is not None and e.field == field, (field, value)
    p.write_text(json.dumps({k: v for k, v in doc.items() if k != "version"}))
    assert check_load(loader, p).field == "version"


@pytest.mark.parametrize("name,loader,doc", FILES, ids=[f[0] for f in FILES])
def test_truncated_and_malformed_files(name, loader, doc, tmp_path):
    p = tmp_path / f"{name}.json"
    text = json.dumps(doc, indent=2)
    for cut in sorted(set(range(0, len(text), max(1, len(text) // 60)))):
        p.write_text(text[:cut])
        e = check_load(loader, p)
        assert e is not None, f"a file cut at {cut} of {len(text)} characters loaded"
        assert e.line is not None or cut == 0 or e.found, str(e)
    for bad in (b"", b"\xff\xfe\x00", b"[" * 100_000, b"null", b"[]", b'"text"', b"1e999"):
        p.write_bytes(bad)
        assert check_load(loader, p) is not None, bad[:20]
    d = tmp_path / "a_directory.json"
    d.mkdir()
    assert "readable file" in str(check_load(loader, d))
    assert "no such file" in str(check_load(loader, tmp_path / "missing.json"))


# --- session logs -------------------------------------------------------------------------

def _log_bytes(header: dict | bytes, version: int = fmt.FORMAT_VERSION) -> bytes:
    payload = header if isinstance(header, bytes) else json.dumps(header).encode()
    return fmt.prologue(version) + fmt.encode_record(fmt.REC_HEADER, payload)


def _good_header() -> dict:
    from massage_glove.log.writer import make_header
    from massage_glove.samples import DeviceInfo
    meta = {"protocol": 1, "firmware": "1.0.0", "board": "sim", "glove_id": "g", "hands": ["right"],
            "channels": [{"index": 0, "name": "R_thumb", "hand": "right", "site": "thumb",
                          "class": "fsr402", "r_divider_ohm": 1500, "r_bleed_ohm": 100000}],
            "adc_bits": 12, "vref_v": 3.3, "rate_hz": 200, "min_rate_hz": 1, "max_rate_hz": 1000,
            "ts_bits": 30, "seq_bits": 16, "ring_slots": 256}
    return make_header(DeviceInfo.from_meta(meta), trainee="t")


def check_log(path):
    try:
        return load(path)
    except LogReadError as e:
        assert str(e).startswith(str(path)), str(e)
        assert "\n" not in str(e)
        return e


def test_log_header_broken_every_way_is_a_log_format_error(tmp_path):
    doc = _good_header()
    p = tmp_path / "s.mglog"
    p.write_bytes(_log_bytes(doc))
    assert not isinstance(check_log(p), Exception)
    for where in list(paths(doc))[1:]:
        cases = [dict(delete=True)] if isinstance(where[-1], str) else []
        for case in cases + [dict(value=v) for v in WRONG_VALUES]:
            p.write_bytes(_log_bytes(mutated(doc, where, **case)))
            check_log(p)


def test_log_wrong_version_truncated_or_not_json(tmp_path):
    p = tmp_path / "s.mglog"
    good = _log_bytes(_good_header())
    cases = {"newer version": _log_bytes(_good_header(), version=2),
             "older version": _log_bytes(_good_header(), version=0),
             "header nested too deeply": _log_bytes(b"[" * 100_000),
             "header a list": _log_bytes(b"[1, 2]"),
             "header not UTF-8": _log_bytes(b"\xff\xfe{}"),
             "another file": b"PK\x03\x04" + b"\x00" * 40}
    for cut in range(0, len(good), 7):
        cases[f"cut at {cut}"] = good[:cut]
    for what, data in cases.items():
        p.write_bytes(data)
        e = check_log(p)
        assert isinstance(e, LogFormatError), what
    p.write_bytes(_log_bytes(_good_header(), version=2))
    assert "update massage-glove" in str(check_log(p))


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 4))
def test_log_records_of_any_content_after_a_good_header_read_back(tail, kind):
    # records with a good CRC but any payload: skipped and counted, never an exception
    import tempfile
    from pathlib import Path
    rtype = (fmt.REC_SAMPLES, fmt.REC_EVENT, fmt.REC_END, fmt.REC_HEADER, 0x7F)[kind]
    data = _log_bytes(_good_header()) + fmt.encode_record(rtype, tail) + tail
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.mglog"
        p.write_bytes(data)
        log = check_log(p)
        assert not isinstance(log, Exception), log


def test_event_record_nested_too_deeply_is_skipped(tmp_path):
    p = tmp_path / "s.mglog"
    p.write_bytes(_log_bytes(_good_header()) + fmt.encode_record(fmt.REC_EVENT, b"[" * 100_000))
    log = check_log(p)
    assert not isinstance(log, Exception) and log.bad_records == 1


# --- through the command line -------------------------------------------------------------

def _one_line_error(p: subprocess.CompletedProcess, *must: str) -> str:
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == 1, (p.returncode, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("massage-glove: ")]
    assert len(lines) == 1, p.stderr
    for m in must:
        assert m in lines[0], (m, lines[0])
    return lines[0]


def _live(tmp_path, *args, env=None):
    return subprocess.run(live_argv(tmp_path / "logs", "--sim-mode", "free", "--duration", 5,
                                    *args),
                          capture_output=True, text=True, timeout=300, env=env or cli_env(),
                          cwd=tmp_path)


def test_cli_bad_calibration_file(tmp_path):
    (tmp_path / "logs").mkdir()
    cal_dir = tmp_path / "calibration"
    cal_dir.mkdir()
    cal = cal_dir / "sim-glove.json"
    text = json.dumps(CALIBRATION, indent=2)
    for content, must in ((text[:len(text) // 2], ":"),
                          (json.dumps(dict(CALIBRATION, version=3)), "field `version`"),
                          (json.dumps(mutated(CALIBRATION, ("channels", 1, "params", "g_s"), [1, "a"])),
                           "field `channels[1].params.g_s[1]`")):
        cal.write_text(content)
        _one_line_error(_live(tmp_path, "--region", "paraspinals",
                              "--calibration-dir", cal_dir), str(cal), must)
    assert list((tmp_path / "logs").iterdir()) == [], "no session was started"


def test_cli_bad_profile_file(tmp_path):
    (tmp_path / "logs").mkdir()
    prof = tmp_path / "learned.json"
    for content, must in ((json.dumps(PROFILE)[:-5], "valid JSON"),
                          (json.dumps(dict(PROFILE, version=2)), "field `version`"),
                          (json.dumps(mutated(PROFILE, ("method", "limit_percentile"), "95")),
                           "field `method.limit_percentile`")):
        prof.write_text(content)
        _one_line_error(_live(tmp_path, "--region", "paraspinals", "--profile", prof), str(prof), must)
    _one_line_error(_live(tmp_path, "--region", "paraspinals", "--profile", tmp_path),
                    "readable file")


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory):
    """A copy of the installed package whose data files a test may break."""
    base = tmp_path_factory.mktemp("pkg")
    shutil.copytree(ROOT / "host" / "massage_glove", base / "massage_glove",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return base


@pytest.mark.parametrize("file,where,value,must", [
    ("regions.json", ("regions", "neck", "max_band"), "deep", "field `regions.neck.max_band`"),
    ("regions.json", ("version",), 9, "field `version`"),
    ("bands.json", ("classes", "fsr402", "edges_n"), [1, "a", 3], "field `classes.fsr402.edges_n[1]`"),
    ("routines.json", ("routines", "demo", "stages", 0, "duration_s"), None,
     "field `routines.demo.stages[0].duration_s`"),
    ("routines.json", None, None, "valid JSON"),
])
def test_cli_bad_packaged_data_file(file, where, value, must, package_copy, tmp_path):
    data = package_copy / "massage_glove" / "data" / file
    original = data.read_text()
    try:
        doc = json.loads(original)
        data.write_text(original[:len(original) // 3] if where is None
                        else json.dumps(mutated(doc, where, value)))
        env = cli_env()
        env["PYTHONPATH"] = str(package_copy)
        (tmp_path / "logs").mkdir(exist_ok=True)
        _one_line_error(_live(tmp_path, "--routine", "demo", env=env), str(data), must)
    finally:
        data.write_text(original)
