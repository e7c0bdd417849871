"""Sensor faults from the simulated glove (saturated, open, noisy channels) and the device's
microsecond clock and sample counter wrapping during a live session."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from massage_glove import protocol as P
from massage_glove.log import load
from massage_glove.signal.calibration import FAULT_BROKEN, FAULT_NOISY, FAULT_OPEN
from massage_glove.signal.pipeline import Pipeline
from massage_glove.sim.glove import SimGlove

from faultkit import LiveRun, assert_log_is_whole, cli_env, events, live_argv, summary_of, wait_until

FAULTS = {"saturated": ("R_middle", 40.0, 70.0), "open": ("L_index", 40.0, 70.0),
          "noisy": ("R_ring", 40.0, 70.0)}


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    """The default routine with one channel saturated, one open and one noisy from 40 to 70 s."""
    d = tmp_path_factory.mktemp("sensor")
    specs = [f"--sim-fault={k}:{ch}:{t0}:{t1}" for k, (ch, t0, t1) in FAULTS.items()]
    p = subprocess.run(live_argv(d, "--sim-mode", "free", "--duration", 110,
                                 "--region", "paraspinals", *specs),
                       capture_output=True, text=True, timeout=300, env=cli_env())
    assert "Traceback" not in p.stderr, p.stderr
    s = summary_of(p)
    return s, load(s["gloves"][0]["log"])


def _alerts(log, rule, sensor):
    return [e for e in events(log, "alert") if e.fields["rule"] == rule and e.fields["channel"] == sensor]


@pytest.mark.parametrize("kind,rule", [("saturated", "too_much"), ("open", "sensor_broken"),
                                       ("noisy", "sensor_broken")])
def test_each_sensor_fault_is_reported_as_a_fault(faulty_run, kind, rule):
    """Open, shorted and noisy sensors are faults; over range (saturated) is too much."""
    s, log = faulty_run
    sensor = FAULTS[kind][0]
    assert (rule, sensor) in {(a["rule"], a["sensor"]) for a in s["alerts"]}
    hits = _alerts(log, rule, sensor)
    assert hits, f"{kind} {sensor} not in the log"
    if kind == "noisy":
        assert "jumps about" in hits[0].fields["text"]
    if kind == "open":
        assert "reads nothing" in hits[0].fields["text"]
    if kind == "saturated":
        # the routine's own presses may be too much too: one of the alerts is the over range
        assert any("> 20 N (over range)" in h.fields["text"] for h in hits)
        assert not _alerts(log, "sensor_broken", sensor)
    if kind != "saturated":
        # a broken sensor is never read as pressure: no band alert on it
        assert not [a for a in s["alerts"] if a["sensor"] == sensor
                    and a["rule"] in ("too_much", "over_limit", "hold_too_long")]


def test_faulted_channels_are_never_read_as_fine(faulty_run):
    """Replay the logged counts through the signal chain: while faulted, the open and the
    noisy channel have no band (unknown), and the saturated one reads too much."""
    s, log = faulty_run
    names = log.channel_names
    pipe = Pipeline(log.device)
    pipe.set_region("paraspinals")
    res = pipe.process(log.samples)
    sat, opn, noisy = (names.index(FAULTS[k][0]) for k in ("saturated", "open", "noisy"))
    # where the raw counts show each fault
    c = log.samples.counts
    open_rows = c[:, opn] == 0
    assert open_rows.sum() >= 0.9 * 30 * log.header["rate_hz"]
    assert np.all(res.band[open_rows, opn] == -1) and np.all(np.isnan(res.filtered_n[open_rows, opn]))
    noisy_rows = (res.fault[:, noisy] & FAULT_NOISY) != 0
    # a statistical check over a 0.25 s window: most of the stretch, not every sample
    assert noisy_rows.sum() >= 0.85 * 30 * log.header["rate_hz"], "the noisy stretch is flagged"
    assert np.all(res.band[noisy_rows, noisy] == -1)
    assert np.all(np.isnan(res.filtered_n[noisy_rows, noisy]))
    sat_rows = (res.fault[:, sat] & ~np.uint8(FAULT_BROKEN)) != 0
    assert sat_rows.sum() >= 0.9 * 30 * log.header["rate_hz"]
    # flagged from its first sample (the view shows "saturated"); its band is too much once
    # the band's own debounce (dwell_up_ms) has passed
    dwell = int(np.ceil(pipe.settings.dwell_up_ms * 1e-3 * pipe.rate_hz)) + 1
    run_start = sat_rows & ~np.r_[False, sat_rows[:-1]]
    settled = sat_rows.copy()
    for i in np.flatnonzero(run_start):
        settled[i:i + dwell] = False
    assert np.all(res.band[settled, sat] == 3), "saturated reads as too much, never fine"
    # outside the faults, the same channels read forces (the checks above are not vacuous)
    assert np.isfinite(res.filtered_n[~open_rows & ~noisy_rows, noisy]).mean() > 0.5
    # the hand's band is decided by its other sensors alone
    for j, rows in ((opn, open_rows), (noisy, noisy_rows)):
        h = pipe.engine.hand_of[j]
        others = [k for k in range(len(names)) if pipe.engine.hand_of[k] == h and k != j]
        assert np.array_equal(res.hand_band[rows, h], res.band[rows][:, others].max(axis=1))
    assert not ((res.fault[:, opn] & FAULT_OPEN) != 0).all()


# --- clock and counter wrap ---------------------------------------------------------------

def test_device_clock_and_sequence_wrap_during_a_session(tmp_path):
    """The glove's 30-bit microsecond clock wraps during the session (it starts 300 s before
    the wrap; a free-running glove's clock runs on a little before the stream starts) and
    its 16-bit seq after 2**16 samples (328 s at 200 Hz): time and numbering go on without
    a gap."""
    wrap_us = 1 << P.TS_BITS
    with SimGlove(mode="free", offset_us=wrap_us - 300_000_000) as sim:
        run = LiveRun(sim, tmp_path)
        try:
            assert wait_until(lambda: run.session.session_time() >= 700.0, timeout=240)
            t0_us = run.link.device_t0_us       # the raw clock at the first sample
        finally:
            summary = run.close()
    assert t0_us < wrap_us, "the session started before the clock wrapped"
    log = load(summary["gloves"][0]["log"])
    assert_log_is_whole(log, summary)
    seq, t = log.samples.seq, log.samples.t_device_s
    assert seq[-1] >= 1 << P.SEQ_BITS, "the 16-bit counter wrapped and was unwrapped"
    assert t0_us + (t[-1] - t[0]) * 1e6 > wrap_us, "the 30-bit clock wrapped and was unwrapped"
    assert np.all(np.diff(seq) == 1)
    assert np.allclose(np.diff(t), 1.0 / log.header["rate_hz"], atol=2e-6)
    assert not [e for e in log.events if e.kind in ("gap", "boot", "corrupt", "disconnect")]
    g = summary["gloves"][0]
    assert g["tared"] and g["link"]["lost_samples"] == 0 and summary["problems"] == []
    assert summary["duration_s"] >= 700.0
