"""Calibration against the simulated glove (real firmware, pty), and learning band edges
from a demonstration log."""
from __future__ import annotations

import json

import numpy as np
import pytest

from massage_glove import cli
from massage_glove.errors import DataFileError
from massage_glove.portable import fsr
from massage_glove.signal.calibration import Calibration, conductance_s_from_counts
from massage_glove.sim import scripts
from massage_glove.sim.glove import SimGlove

SENSORS = ["R_index", "R_palm_heel"]
LOADS_G = [200, 500, 1000, 2000]
G = 9.80665


def test_calibrate_auto_on_the_simulated_glove_recovers_the_physics(tmp_path, capsys):
    loads = [g / 1000 * G for g in LOADS_G]
    script = scripts.calibration_script(SENSORS, loads, hold_s=4.0, gap_s=2.0)
    # the free-running glove's clock runs ahead before the stream starts: wait off the body
    script["segments"].insert(0, {"duration_s": 120.0, "region": "off", "technique": "off"})
    out = tmp_path / "cal.json"
    with SimGlove(script, mode="free", glove_id="cal-glove") as sim:
        rc = cli.main(["calibrate", "--port", sim.port, "--auto", "--sensors", ",".join(SENSORS),
                       "--weights-g", ",".join(map(str, LOADS_G)), "--hold-s", "3",
                       "--out", str(out), "--timeout", "60"])
    text = capsys.readouterr().out
    assert rc == 0, text
    cal = Calibration.load(out)
    assert cal.glove_id == "cal-glove" and cal.loading_time_s == 3.0
    for name in SENSORS:
        ch = cal.channel(name)
        assert ch.model == "power" and len(ch.readings_counts) == len(LOADS_G)
        assert ch.loads_n == pytest.approx(loads)
        assert ch.fit_error.max_pct < 10.0
        assert name in text
        # the fitted curve against the force model's physics (nominal FSR curve, creep of a
        # few per cent at 3 s): force from the reading of 1 kg within 10 %
        cls = ch.sensor_class
        p = fsr.NOMINAL[cls]
        g_true = fsr.conductance_from_force(loads[2], p["r1_ohm"], p["exponent"])
        assert float(ch.curve.force_n(g_true)) == pytest.approx(loads[2], rel=0.10)
        g_read = conductance_s_from_counts(np.array(ch.readings_counts), ch.r_divider_ohm,
                                           ch.r_bleed_ohm, 4095)
        assert np.all(np.diff(g_read) > 0)
    # channels not calibrated keep the nominal curve
    assert cal.channel("L_thumb").model == "nominal"


def test_a_malformed_calibration_file_names_file_and_field(tmp_path, capsys):
    cal_dir = tmp_path / "cal"
    cal_dir.mkdir()
    bad = cal_dir / "sim-glove.json"
    bad.write_text(json.dumps({"format": "massage-glove/calibration", "version": 1,
                               "glove_id": "sim-glove", "date": "yesterday", "adc_bits": 12,
                               "channels": []}))
    with pytest.raises(DataFileError) as e:
        Calibration.load(bad)
    assert str(bad) in str(e.value) and "date" in str(e.value)
    rc = cli.main(["live", "--simulate", "--headless", "--json", "--duration", "1",
                   "--calibration-dir", str(cal_dir), "--no-log"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "sim-glove.json" in err and "date" in err and "Traceback" not in err


def test_learn_band_edges_from_a_demonstration(tmp_path, capsys):
    # an instructor's demonstration of the demo routine, recorded from the simulated glove
    d = tmp_path / "logs"
    d.mkdir()
    assert cli.main(["live", "--simulate", "--headless", "--json", "--sim-mode", "free",
                     "--routine", "demo", "--log-dir", str(d), "--no-bell"]) == 0
    log = json.loads(capsys.readouterr().out)["gloves"][0]["log"]
    out = tmp_path / "instructor.json"
    assert cli.main(["learn", log, "--out", str(out), "--name", "instructor"]) == 0
    printed = capsys.readouterr().out
    prof = json.loads(out.read_text())
    assert prof["format"] == "massage-glove/profile"
    traps = prof["regions"]["upper_trapezius"]["classes"]["fsr402"]
    # the edges bracket what was demonstrated: the 95th percentile of contact force is the
    # top edge of the region's allowed band (firm), the median sits below it
    assert traps["edges_n"][2] == pytest.approx(traps["percentiles_n"]["95"], rel=1e-6)
    assert traps["percentiles_n"]["50"] < traps["edges_n"][2]
    assert "upper_trapezius" in printed
    # and live uses it
    assert cli.main(["live", "--simulate", "--headless", "--json", "--duration", "2",
                     "--profile", str(out), "--no-log"]) == 0
