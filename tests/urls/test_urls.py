"""sim:// and replay:// as pyserial URLs: found by serial.serial_for_url, spoken to by the
glove link exactly as a glove on a cable."""
from __future__ import annotations

import time

import numpy as np
import pytest
import serial

import massage_glove  # noqa: F401  (registers the URL handlers)
from massage_glove.errors import PortNotFoundError
from massage_glove.link import GloveLink
from massage_glove.live.routine import load_routine
from massage_glove.log import load
from massage_glove.sim import scripts


def _read_for(link, seconds):
    blocks, events = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        b, ev = link.read(timeout=0.05)
        if len(b):
            blocks.append(b)
        events += ev
    return blocks, events


def test_sim_url_is_a_pyserial_handler_and_boots_the_real_firmware():
    assert "massage_glove.urlhandlers" in serial.protocol_handler_packages
    port = serial.serial_for_url("sim://?trainee=rest&rate=100", timeout=0.05)
    try:
        assert type(port).__module__ == "massage_glove.urlhandlers.protocol_sim"
        assert port.sim.proc.poll() is None           # micropython is running the firmware
        assert "micropython" in port.sim.proc.args[0]
        assert port.portstr == "sim://?trainee=rest&rate=100"
    finally:
        port.close()
    assert port.sim is None


def test_sim_url_rate_and_glove_id_reach_the_glove():
    link = GloveLink.open("sim://?trainee=rest&rate=100&glove_id=bench-7&hands=right")
    try:
        assert link.info.glove_id == "bench-7"
        assert link.info.rate_hz == 100.0
        assert link.info.hands == ("right",)
        link.start()
        blocks, _ = _read_for(link, 1.0)
        t = np.concatenate([b.t_device_s for b in blocks])
        # 100 Hz on the device clock, within a tenth of a period
        assert np.allclose(np.diff(t), 0.01, atol=0.001)
    finally:
        link.close()


@pytest.mark.parametrize("query, words", [
    ("trainee=giant", ["trainee", "'giant'", "heavy"]),
    ("seed=x", ["seed", "whole number"]),
    ("colour=red", ["unknown parameter", "'colour'"]),
    ("routine=nowhere", ["routine", "nowhere"]),
    ("rate=0", ["rate"]),
])
def test_sim_url_bad_parameters_are_named(query, words):
    with pytest.raises(PortNotFoundError) as e:
        GloveLink.open(f"sim://?{query}")
    for w in words:
        assert w in str(e.value)


def test_live_on_a_sim_url_follows_the_routine_and_alerts_the_heavy_trainee(heavy_log):
    s = heavy_log["summary"]
    assert s["routine_completed"] and not s["problems"]
    assert s["gloves"][0]["link"]["lost_samples"] == 0
    # the heavy trainee (seed 3) pressed too hard in these stages of the demo (its script)
    routine = load_routine("demo")
    script = scripts.routine_script(routine.plan(), seed=3, trainee="heavy", lead_in_s=120.0)
    from massage_glove.signal import default_profile_set
    regions = default_profile_set().regions
    bands = ("light", "medium", "firm", "too_much")
    # stages pushed past what the region allows (a push still allowed there is no alert)
    over = [seg["stage"] for seg in script["segments"]
            if seg.get("band") and seg.get("planned_band") and seg["band"] != seg["planned_band"]
            and bands.index(seg["band"]) > regions[seg["region"]].max_band]
    assert over
    slog = load(heavy_log["path"])
    stage_at = sorted((e.t_device_s, e.fields["stage"]) for e in slog.events if e.kind == "stage")
    alerted = set()
    for e in slog.events:
        if e.kind == "alert" and e.fields["rule"] in ("over_limit", "over_limit_hand", "too_much"):
            st = [name for t, name in stage_at if t <= e.t_device_s]
            if st:
                alerted.add(st[-1])
    assert set(over) <= alerted


def test_replay_url_sends_the_recorded_samples_in_order(heavy_log):
    slog = load(heavy_log["path"])
    s = slog.samples
    start = 80.0
    link = GloveLink.open(f"replay://{heavy_log['path']}?speed=8&start={start:g}")
    try:
        assert link.info.glove_id == slog.device.glove_id
        assert [c.name for c in link.info.channels] == slog.channel_names
        link.start()
        blocks, events = _read_for(link, 1.5)
    finally:
        link.close()
    got = np.concatenate([b.counts for b in blocks])
    got_t = np.concatenate([b.t_device_s for b in blocks])
    t = s.t_device_s - s.t_device_s[0]
    i0 = int(np.searchsorted(t, start))
    n = got.shape[0]
    # 1.5 s at 8x is 12 s of the recording: at least half of it despite a loaded machine
    assert n >= 0.5 * 12 * 200
    assert np.array_equal(got, s.counts[i0:i0 + n])
    # device time as recorded (link time starts at 0 on the first sample), to the microsecond
    assert np.allclose(got_t, t[i0:i0 + n] - t[i0], atol=1e-6)
    assert not [e for e in events if e.kind in ("gap", "corrupt", "drop")]


def test_replay_url_checks_the_hard_limits_on_the_recorded_counts(heavy_log):
    slog = load(heavy_log["path"])
    c = slog.samples.counts
    ch = int(np.argmax(c.max(axis=0)))
    limit = int(np.percentile(c[:, ch], 99))
    link = GloveLink.open(f"replay://{heavy_log['path']}?speed=32&start=120")
    try:
        link.set_limits([limit if j == ch else 0 for j in range(c.shape[1])])
        link.start()
        blocks, events = _read_for(link, 2.0)
    finally:
        link.close()
    got = np.concatenate([b.counts for b in blocks])
    flags = np.concatenate([b.flags for b in blocks])
    over = got[:, ch] >= limit
    assert over.any()
    assert np.array_equal((flags & 0x04) != 0, over)       # the LIMIT flag on exactly those samples
    rises = int(np.sum(over[1:] & ~over[:-1]) + over[0])
    limits = [e for e in events if e.kind == "limit"]
    assert len(limits) == rises and all(e.detail["channel"] == ch for e in limits)


@pytest.mark.parametrize("query, words", [
    ("?speed=100", ["speed", "0.1 .. 64"]),
    ("?start=99999", ["start", "recording's length"]),
    ("?loop=maybe", ["loop", "1 or 0"]),
])
def test_replay_url_bad_parameters_are_named(heavy_log, query, words):
    with pytest.raises(PortNotFoundError) as e:
        GloveLink.open(f"replay://{heavy_log['path']}{query}")
    for w in words:
        assert w in str(e.value)


def test_replay_url_of_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(PortNotFoundError, match="no such file"):
        GloveLink.open(f"replay://{tmp_path}/none.mglog")
    bad = tmp_path / "x.mglog"
    bad.write_bytes(b"not a log at all" * 10)
    with pytest.raises(PortNotFoundError, match="x.mglog"):
        GloveLink.open(f"replay://{bad}")


def test_replay_url_answers_commands_like_a_glove(heavy_log):
    link = GloveLink.open(f"replay://{heavy_log['path']}")
    try:
        assert link.ping() >= 0
        link.buzz(100, "right")
        from massage_glove.errors import CommandFailed
        with pytest.raises(CommandFailed, match="recorded rate"):
            link.set_rate(500)
        with pytest.raises(CommandFailed, match="UNKNOWN_COMMAND"):
            link.command("dance")
    finally:
        link.close()
