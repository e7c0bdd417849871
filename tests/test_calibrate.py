"""Calibration against the simulated glove (real firmware, pty), and learning band edges
from a demonstration log."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from massage_glove import calibrate as cal_cmd
from massage_glove import cli
from massage_glove import sessionlog as sl
from massage_glove.errors import DataFileError
from massage_glove.portable import fsr
from massage_glove.signal.calibration import Calibration, conductance_s_from_counts
from massage_glove.sim import scripts
from massage_glove.sim.glove import SimGlove

sys.path.insert(0, str(Path(__file__).resolve().parent / "signal"))
from chain_helpers import make_block, make_device, nominal_counts  # noqa: E402

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
        # every applied load recovered from its own reading within 1 % (measured: 0.35 %
        # at most), and from the creep-free physics (nominal FSR curve) within 5 %: the
        # curve reads the conductance 3 s into a creeping load, so it sits about 1-3 % low
        # against the instant response (measured: -1.2 % to -2.7 %)
        cls = ch.sensor_class
        p = fsr.NOMINAL[cls]
        g_read = conductance_s_from_counts(np.array(ch.readings_counts), ch.r_divider_ohm,
                                           ch.r_bleed_ohm, 4095)
        assert np.all(np.diff(g_read) > 0)
        assert ch.curve.force_n(g_read) == pytest.approx(loads, rel=0.01)
        g_true = fsr.conductance_from_force(np.array(loads), p["r1_ohm"], p["exponent"])
        assert ch.curve.force_n(g_true) == pytest.approx(loads, rel=0.05)
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


def test_learn_refuses_an_ordinary_practice_log(tmp_path, capsys):
    """A trainee's practice of the demo routine is not a demonstration: the shoulder blades
    allow firm but were worked at medium, so their learned limit would be ordinary medium
    work (and the heel of the hand, barely on them, would get a too-much edge of a few N)."""
    d = tmp_path / "logs"
    d.mkdir()
    assert cli.main(["live", "--simulate", "--headless", "--json", "--sim-mode", "free",
                     "--routine", "demo", "--log-dir", str(d), "--no-bell"]) == 0
    log = json.loads(capsys.readouterr().out)["gloves"][0]["log"]
    out = tmp_path / "instructor.json"
    assert cli.main(["learn", log, "--out", str(out), "--name", "instructor"]) == 1
    err = capsys.readouterr().err
    assert "is not a demonstration to learn from" in err
    assert "shoulder_blades allows firm pressure" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


# --- the procedure on a recorded stream (no glove): loading time, prompts, Enter ---------

class _RecordedLink:
    """Plays counts to run_calibration as the link would, a few samples per read()."""

    def __init__(self, device, counts, rows: int = 25):
        self.info = device
        self.rate_hz = device.rate_hz
        self.counts = counts
        self.rows = rows
        self.at = 0

    def read(self, timeout=0.0):
        from massage_glove.samples import SampleBlock
        if self.at >= len(self.counts):
            return SampleBlock.empty(len(self.info.channels)), []
        c = self.counts[self.at:self.at + self.rows]
        block = make_block(c, self.rate_hz, t0=self.at / self.rate_hz, seq0=self.at)
        self.at += len(c)
        return block, []


def test_each_load_is_read_the_same_time_after_it_was_placed(capsys):
    device = make_device(glove_id="rec-glove")
    rate = device.rate_hz
    col = [c.name for c in device.channels].index("R_thumb")
    rest = nominal_counts(np.zeros((1, len(device.channels))), device)[0].astype(np.float64)
    hold_s, loads = 2.0, [2.0, 5.0, 10.0]
    # off 1 s, then each load: 4 s on, creeping upward by 50 counts a second, 2 s off
    rows, placed = [np.tile(rest, (int(rate), 1))], []
    for w in loads:
        on = np.tile(rest, (int(4 * rate), 1))
        f = np.zeros(len(device.channels))
        f[col] = w
        base = float(nominal_counts(f[None], device, exact=True)[0, col])
        on[:, col] = base + 50.0 * np.arange(on.shape[0]) / rate
        placed.append(on[:, col])
        rows += [on, np.tile(rest, (int(2 * rate), 1))]
    counts = np.clip(np.round(np.concatenate(rows)), 0, 4095).astype(np.uint16)
    asked = []
    readings = cal_cmd.run_calibration(_RecordedLink(device, counts), ["R_thumb"], loads, hold_s,
                                       auto=False, say=lambda m: None,
                                       ask=lambda prompt: asked.append(prompt), timeout_s=5.0)
    assert len(asked) == len(loads)                      # Enter asked once per load
    # the reading is the mean of the last second of the loading time, counted from the
    # first sample of each load: the same creep for every load
    n_hold, n_avg = int(hold_s * rate), int(rate)
    expected = [float(np.round(p)[n_hold - n_avg:n_hold].mean()) for p in placed]
    assert readings["R_thumb"] == pytest.approx(expected, abs=1e-9)


def test_calibrate_rejects_weights_it_cannot_use(capsys):
    assert cli.main(["calibrate", "--port", "/dev/null", "--weights-g", "100,2OO,500"]) == 1
    err = capsys.readouterr().err
    assert "--weights-g" in err and "2OO" in err and "Traceback" not in err


# --- learn: band edges from a demonstration log written by the real log writer ----------

def _demo_log(path):
    """An instructor's demonstration: the neck with the fingertips at 2-3 N, then the lower
    back with the fingertips at 5-7 N and the heel of the hand at 12-18 N."""
    device = make_device(glove_id="demo-glove")
    rate = device.rate_hz
    names = [c.name for c in device.channels]
    tips = [names.index(n) for n in ("R_thumb", "R_index", "R_middle")]
    heel = names.index("R_palm_heel")
    parts = [("neck", {j: (2.0, 3.0) for j in tips}),
             ("lower_back", {**{j: (5.0, 7.0) for j in tips}, heel: (12.0, 18.0)})]
    header = sl.make_header(device, trainee="instructor", skill_level="trained")
    w = sl.SessionLogWriter(path, header, clock=lambda: 0.0, background=False)
    seq = 0
    shown = {}
    for region, spans in parts:
        off = np.zeros((int(2 * rate), len(names)))
        n_on = int(8 * rate)
        t = np.arange(n_on) / rate
        on = np.zeros((n_on, len(names)))
        ramp = np.clip(np.minimum(t, t[-1] - t) / 0.3, 0, 1)       # 0.3 s on and off
        for j, (lo, hi) in spans.items():
            on[:, j] = ramp * (lo + (hi - lo) * 0.5 * (1 - np.cos(2 * np.pi * 0.5 * t)))
            shown[(region, device.channels[j].sensor_class)] = (lo, hi)
        for part in (off, on):
            block = make_block(nominal_counts(part, device), rate, t0=seq / rate, seq0=seq)
            if part is on:
                w.write_event("region", float(block.t_host_s[0]) - 1.0,
                              float(block.t_device_s[0]) - 1.0, region=region)
            w.write_samples(block)
            seq += len(block)
    w.write_samples(make_block(nominal_counts(np.zeros((int(rate), len(names))), device), rate,
                               t0=seq / rate, seq0=seq))
    w.close()
    return shown


def test_learn_gives_edges_that_bracket_the_demonstrated_forces(tmp_path, capsys):
    log = tmp_path / "demo.mglog"
    shown = _demo_log(log)
    out = tmp_path / "profiles" / "anna.json"
    assert cli.main(["learn", str(log), "--out", str(out), "--name", "anna"]) == 0
    printed = capsys.readouterr().out
    prof = json.loads(out.read_text())
    assert prof["format"] == "massage-glove/profile" and set(prof["regions"]) == {"neck", "lower_back"}
    top = {"neck": 0, "lower_back": 1}              # light, medium: the regions' allowed band
    for (region, cls), (lo, hi) in shown.items():
        e = prof["regions"][region]["classes"][cls]["edges_n"]
        # the allowed band's top edge sits just under the demonstrated peak (P95 of contact)
        assert 0.9 * hi < e[top[region]] <= 1.02 * hi, (region, cls, e)
        # and the band below it ends under the demonstrated force
        below = e[top[region] - 1] if top[region] else 0.0
        assert below < lo, (region, cls, e)
    # the heel of the hand did not touch the neck: its default edges stay
    assert "fsr406" not in prof["regions"]["neck"]["classes"]
    assert "neck" in printed and "lower_back" in printed and "4.0" in printed  # defaults shown
    from massage_glove.signal import load_profile
    load_profile(out)
    # printed beside the defaults: the region's limit learned and by default
    line = next(x for x in printed.splitlines() if x.startswith("neck") and "fsr402" in x)
    assert line.rstrip().endswith("/   4.0 N")
    # and live uses it
    assert cli.main(["live", "--simulate", "--headless", "--json", "--duration", "2",
                     "--profile", str(out), "--no-log"]) == 0


def test_learn_refuses_a_region_worked_too_briefly_and_edges_under_a_touch(tmp_path, capsys):
    from massage_glove.signal import default_profile_set
    from massage_glove.signal.profiles import LearnedEdges, LearnedProfile, check_demonstration
    ps = default_profile_set()
    dev = make_device()
    rate = dev.rate_hz
    f = np.zeros((int(20 * rate), len(dev.channels)))
    labels = ["lower_back"] * int(3 * rate) + ["neck"] * (len(f) - int(3 * rate))
    f[:, 0] = 2.0                                     # the thumb touching, light
    edges = LearnedEdges((1.0, 2.5, 3.9), (1.0, 2.0), 100, {"95": 3.9})
    prof = LearnedProfile("x", "", "", 95.0, (25.0, 75.0), {"neck": {"fsr406": edges}})
    problems = check_demonstration(f, labels, dev.channels, prof, ps, rate_hz=rate)
    assert any(p.startswith("lower_back: only 3.0 s of contact") for p in problems), problems
    assert any("neck/fsr406: the learned too-much edge 3.9 N is under a light fingertip touch (4 N)"
               in p for p in problems), problems
    good = LearnedProfile("x", "", "", 95.0, (25.0, 75.0), {"neck": {"fsr402": LearnedEdges((2.0, 4.5, 7.5), (1.0, 2.0), 100,
                                                                  {"95": 2.0})}})
    assert check_demonstration(f[int(3 * rate):], labels[int(3 * rate):], dev.channels, good, ps,
                               rate_hz=rate) == []
