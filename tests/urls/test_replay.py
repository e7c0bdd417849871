"""`massage-glove replay`: a recorded session through the live chain gives back its alerts."""
from __future__ import annotations

import contextlib
import io
import json
import time

import numpy as np
import pytest

from massage_glove import cli
from massage_glove.live.view_term import render
from massage_glove.log import load
from massage_glove.replay import ReplaySession, logged_alerts


def _same_alerts(replayed, logged, rate_hz):
    """Pairs in order: same rule, same sensor, device time within one sample period."""
    assert len(replayed) == len(logged)
    for a, b in zip(replayed, logged):
        assert (a["rule"], a["sensor"]) == (b["rule"], b["sensor"]), (a, b)
        assert abs(a["t_device_s"] - b["t_device_s"]) <= 1.0 / rate_hz, (a, b)


def test_replay_reproduces_the_logged_alerts_exactly(heavy_log):
    slog = load(heavy_log["path"])
    logged = logged_alerts(slog)
    assert len(logged) >= 10, "the heavy trainee's session has alerts to reproduce"
    assert {a["rule"] for a in logged} >= {"over_limit", "too_much"}
    s = ReplaySession(slog, realtime=False)
    _same_alerts(s.run_to_end(), logged, slog.header["rate_hz"])


def test_replay_after_seeking_back_and_forth_still_gives_the_same_alerts(heavy_log):
    slog = load(heavy_log["path"])
    s = ReplaySession(slog, realtime=False).start()
    try:
        s.seek(200.0)
        deadline = time.monotonic() + 60
        while s.position_s() < 200.0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert s.position_s() >= 200.0
        s.key(",")                          # back 10 s: the chain runs again from the start
        s.key("0")                          # then to the very start
        s.wait()
    finally:
        s.close()
    _same_alerts(s.replayed, logged_alerts(slog), slog.header["rate_hz"])


def test_replay_plays_at_speed_and_pauses(heavy_log):
    slog = load(heavy_log["path"])
    s = ReplaySession(slog, speed=8.0, start_s=100.0).start()
    try:
        time.sleep(0.3)
        p0 = s.position_s()
        assert p0 >= 100.0
        s.key(" ")                      # pause
        time.sleep(0.1)
        p1 = s.position_s()
        time.sleep(0.4)
        assert s.position_s() == p1     # nothing plays while paused
        snap = s.snapshot()
        assert "REPLAY" in snap.status and "PAUSED" in snap.status
        s.key(" ")
        s.key("+")                      # 8x -> 16x
        assert s.speed == 16.0
        t0, q0 = time.monotonic(), s.position_s()
        time.sleep(0.5)
        rate = (s.position_s() - q0) / (time.monotonic() - t0)
        assert rate <= 16.0 * 1.1       # never ahead of the chosen speed
        text = render(s.snapshot(), width=100)
        assert "REPLAY" in text and "0-9" in text
    finally:
        s.close()


def test_replay_shows_the_alert_in_the_view_at_its_moment(heavy_log):
    slog = load(heavy_log["path"])
    first = logged_alerts(slog)[0]
    t_rel = first["t_device_s"] - float(slog.samples.t_device_s[0])
    s = ReplaySession(slog, speed=16.0, start_s=max(0.0, t_rel - 1.0)).start()
    try:
        deadline = time.monotonic() + 10
        seen = None
        while time.monotonic() < deadline and seen is None:
            snap = s.snapshot()
            same = [a for a in snap.alerts if a.rule == first["rule"]]
            seen = min(same, key=lambda a: a.t_s) if same else None
            time.sleep(0.02)
    finally:
        s.close()
    assert seen is not None and abs(seen.t_s - t_rel) <= 1 / 200


def test_replay_command_json(heavy_log):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["replay", heavy_log["path"], "--json"])
    assert rc == 0
    out = json.loads(buf.getvalue())
    _same_alerts(out["replayed"], out["logged"], 200.0)


def test_live_runs_on_a_replay_url(heavy_log, tmp_path):
    """`live` itself (its own tare, its own routine clock) against a recording at 16x, from a
    moment the trainee had the hands off (the tare needs it)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["live", "--port", f"replay://{heavy_log['path']}?speed=16&start=100",
                       "--routine", "demo", "--headless", "--json", "--no-bell",
                       "--log-dir", str(tmp_path), "--duration", "60"])
    s = json.loads(buf.getvalue())
    assert s["gloves"][0]["samples"] >= 60 * 200 * 0.9
    assert s["gloves"][0]["link"]["lost_samples"] == 0
    # the routine's stages follow the recording's: the same stage at the same moment
    new = load(s["gloves"][0]["log"])
    old = load(heavy_log["path"])
    t_old0 = float(old.samples.t_device_s[0])
    i0 = int(np.searchsorted(old.samples.t_device_s - t_old0, 100.0))
    assert np.array_equal(new.samples.counts, old.samples.counts[i0:i0 + len(new.samples)])
    st_old = [(e.t_device_s - old.samples.t_device_s[i0], e.fields["stage"]) for e in old.events
              if e.kind == "stage"]
    st_new = [(e.t_device_s - new.samples.t_device_s[0], e.fields["stage"]) for e in new.events
              if e.kind == "stage"]
    assert len(st_new) >= 2
    # every stage the live session entered, at the recorded moment (within a sample)
    old_at = dict((name, t) for t, name in st_old)
    for t, name in st_new:
        assert abs(old_at[name] - t) <= 1 / 200 + 1e-9, (name, t, old_at[name])
