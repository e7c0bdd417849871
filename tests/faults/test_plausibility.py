"""Absurd calibrations and profiles: files that pass every field check but would silence alerts.

What the tests try, and what must happen:

* a power-law coefficient a billion times off, a curve ten times too weak or too strong, a
  PCHIP curve whose knots are a decade off: refused on load, naming the file, the field
  (`channels[i].params`) and the bound (factor 3 of the nominal curve over 0.2-20 N);
  a curve within the factor (twice as strong) loads;
* band edges at 1e5 N, at 0.01 N, above the sensor's range, in bands.json or in a learned
  profile: refused naming the edge (`classes.fsr402.edges_n[2]`) and the bound;
* the ground truth of why: with the billion-times calibration a press of 30 N on the neck
  (three times the fingertip's too-much edge) reads as almost nothing, so no alert would come;
* `massage-glove live` with such a file in ./calibration: one line, no session; with a
  good one, the file is named at the start, in the summary and in the log header.
"""
from __future__ import annotations

import copy
import json
import subprocess

import numpy as np
import pytest

from massage_glove.errors import DataFileError
from massage_glove.portable import fsr
from massage_glove.signal.calibration import Calibration, PowerLaw
from massage_glove.signal.profiles import BANDS_PATH, load_bands, load_profile

import hostile
from faultkit import cli_env, live_argv, summary_of
from test_bad_files import CALIBRATION, PROFILE
from test_hostile_files import live_with, no_glove  # noqa: F401  (fixture)

NOMINAL_402 = PowerLaw.nominal("fsr402")


def _cal(a_factor=1.0, b=None, pchip_g_factor=None) -> dict:
    d = copy.deepcopy(CALIBRATION)
    d["channels"][0]["params"] = {"a": NOMINAL_402.a * a_factor, "b": NOMINAL_402.b if b is None else b}
    if pchip_g_factor is not None:
        g = np.array(d["channels"][1]["params"]["g_s"]) * pchip_g_factor
        d["channels"][1]["params"]["g_s"] = g.tolist()
    return d


def _load(tmp_path, doc, loader=Calibration.load, name="sim-glove.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p, loader(p)


@pytest.mark.parametrize("doc,field", [
    (_cal(a_factor=1e-9), "channels[0].params"),
    (_cal(a_factor=1e9), "channels[0].params"),
    (_cal(a_factor=0.1), "channels[0].params"),
    (_cal(a_factor=10), "channels[0].params"),
    (_cal(b=0.5), "channels[0].params"),             # the wrong shape: right at 1 N, off elsewhere
    (_cal(pchip_g_factor=10), "channels[1].params"),  # knots a decade off in conductance
], ids=["a-1e-9", "a-1e9", "a-0.1", "a-10", "b-0.5", "pchip-decade"])
def test_absurd_calibration_is_refused_with_file_field_and_bound(doc, field, tmp_path):
    p = tmp_path / "sim-glove.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(DataFileError) as ei:
        Calibration.load(p)
    e = ei.value
    assert e.file == str(p) and e.field == field
    assert "within a factor 3 of the nominal fsr402 curve from 0.2 to 20 N" in str(e)
    assert "calibration.max_curve_factor" in str(e)


@pytest.mark.parametrize("factor", [0.4, 1.0, 2.0, 2.9])
def test_calibration_within_the_factor_loads(factor, tmp_path):
    p, cal = _load(tmp_path, _cal(a_factor=factor))
    assert cal.channel("R_thumb").curve.a == pytest.approx(NOMINAL_402.a * factor)


def test_why_an_absurd_calibration_silences_the_alert():
    # ground truth: a 30 N press on a fingertip sensor is twice its too-much edge (15 N)
    p = fsr.NOMINAL["fsr402"]
    g = fsr.conductance_from_force(30.0, p["r1_ohm"], p["exponent"])
    too_much_n = load_bands()["fsr402"].edges_n[2]
    assert float(NOMINAL_402.force_n(g)) == pytest.approx(30.0, rel=1e-9)
    assert 30.0 > too_much_n
    absurd = PowerLaw(NOMINAL_402.a * 1e-9, NOMINAL_402.b)
    assert float(absurd.force_n(g)) < 1e-6 * too_much_n, "it would read as no force at all"


def _bands(edit) -> dict:
    d = json.loads(BANDS_PATH.read_text())
    edit(d)
    return d


@pytest.mark.parametrize("edges,bad", [
    ([4, 9, 1e5], 2), ([4, 1e4, 1e5], 1), ([0.01, 9, 15], 0), ([4, 9, 25], 2),   # 25 N > 20 N range
    ([0.5, 1, 2], 0),
])
def test_absurd_band_edges_are_refused(edges, bad, tmp_path):
    d = _bands(lambda d: d["classes"]["fsr402"].update(edges_n=edges))
    p = tmp_path / "bands.json"
    p.write_text(json.dumps(d))
    with pytest.raises(DataFileError) as ei:
        load_bands(p)
    assert ei.value.file == str(p) and ei.value.field == f"classes.fsr402.edges_n[{bad}]"
    assert "DOMAIN.md's" in str(ei.value) and "bands in" in str(ei.value)
    prof = copy.deepcopy(PROFILE)
    prof["regions"]["neck"]["classes"]["fsr402"]["edges_n"] = edges
    p = tmp_path / "learned.json"
    p.write_text(json.dumps(prof))
    with pytest.raises(DataFileError) as ei:
        load_profile(p)
    assert ei.value.field == f"regions.neck.classes.fsr402.edges_n[{bad}]"


def test_band_edges_out_of_order_are_refused(tmp_path):
    d = _bands(lambda d: d["classes"]["fsr406"].update(edges_n=[10, 40, 25]))
    p = tmp_path / "bands.json"
    p.write_text(json.dumps(d))
    with pytest.raises(DataFileError, match=r"classes\.fsr406\.edges_n\[2\]"):
        load_bands(p)


def test_edge_bounds_follow_domain_md_and_the_sensor_range():
    from massage_glove.limits import limits
    lim = limits()
    assert lim.reference_edges_n == {"fsr402": (4.0, 9.0, 15.0), "fsr406": (10.0, 25.0, 40.0)}
    from massage_glove.signal.plausibility import edge_bounds_n
    assert edge_bounds_n("fsr402") == [(4.0, 1.0, 8.0), (9.0, 2.25, 18.0), (15.0, 3.75, 20.0)]
    # the package's own defaults and a sensitive receiver's (x0.72) are inside
    assert load_bands()["fsr402"].edges_n == (4.0, 9.0, 15.0)


def test_absurd_calibration_in_the_default_folder_stops_live_with_one_line(no_glove, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "calibration").mkdir()
    cal = tmp_path / "calibration" / "sim-glove.json"
    cal.write_text(json.dumps(_cal(a_factor=1e9)))
    rc, out, err = hostile.run_cli("live", "--simulate", "--headless", "--no-log", "--region", "neck")
    hostile.one_error_line(rc, err, "calibration/sim-glove.json", "field `channels[0].params`",
                           "factor 3")


def test_calibration_picked_up_from_the_default_folder_is_named(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "calibration").mkdir()
    cal = tmp_path / "calibration" / "sim-glove.json"
    cal.write_text(json.dumps(_cal(a_factor=1.0)))
    p = subprocess.run(live_argv(tmp_path / "logs", "--sim-mode", "free", "--duration", 3,
                                 "--region", "paraspinals"),
                       capture_output=True, text=True, timeout=300, env=cli_env(), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert f"forces from the calibration file {cal}" in p.stderr or \
        "forces from the calibration file calibration/sim-glove.json" in p.stderr, p.stderr
    g = summary_of(p)["gloves"][0]
    assert g["calibration"] and g["calibration"].endswith("calibration/sim-glove.json")
    from massage_glove.log import load
    head = load(g["log"]).header
    assert head["calibration"]["file"] == "sim-glove.json"
    assert head["calibration"]["embedded"]["channels"][0]["params"]["a"] == pytest.approx(NOMINAL_402.a)
    # without one there, the simulated glove's own calibration is used, and named too
    cal.unlink()
    p = subprocess.run(live_argv(tmp_path / "logs", "--sim-mode", "free", "--duration", 3,
                                 "--region", "paraspinals"),
                       capture_output=True, text=True, timeout=300, env=cli_env(), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    g = summary_of(p)["gloves"][0]
    line = [ln for ln in p.stderr.splitlines() if "glove sim-glove: " in ln]
    if g["calibration"]:
        assert line == [f"glove sim-glove: forces from the calibration file {g['calibration']}"], p.stderr
    else:
        assert len(line) == 1 and "forces from nominal FSR curves" in line[0], p.stderr


def test_no_calibration_is_said_before_the_session_starts(no_glove, tmp_path):
    (tmp_path / "cal").mkdir()
    rc, out, err = live_with(tmp_path, "--calibration-dir", tmp_path / "cal")
    hostile.one_error_line(rc, err, "no glove in this test")
    assert (f"glove sim-glove: no calibration file {tmp_path / 'cal' / 'sim-glove.json'}: forces from "
            "nominal FSR curves") in err, err
