"""The live session end to end: the simulated glove (real firmware) -> pty -> link -> signal
chain -> alerts -> log, checked against the force model's script (what the trainee did)."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from massage_glove import cli
from massage_glove.errors import GloveError
from massage_glove.link import GloveLink
from massage_glove.live.command import SIM_LEAD_IN_S
from massage_glove.live.routine import load_routine
from massage_glove.live.session import KEY_MARK, KEY_PAUSE, LiveSession, SessionOptions
from massage_glove.log import load
from massage_glove.sim import scripts
from massage_glove.sim.glove import SimGlove


def run_cli(capsys, *argv) -> dict:
    rc = cli.main(["live", "--simulate", "--headless", "--json", "--sim-mode", "free", *argv])
    out = capsys.readouterr().out
    summary = json.loads(out)
    summary["_rc"] = rc
    return summary


def stage_times(log) -> list[tuple[float, str]]:
    return sorted((e.t_device_s, e.fields["stage"]) for e in log.events if e.kind == "stage")


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """The demo routine by a good and by a heavy simulated trainee (free-running glove)."""
    out = {}
    for trainee in ("good", "heavy"):
        d = tmp_path_factory.mktemp(trainee)
        pytest.MonkeyPatch().setenv("MASSAGE_GLOVE_SESSIONS", str(d))
        import io
        import contextlib
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = cli.main(["live", "--simulate", "--headless", "--json", "--sim-mode", "free",
                           "--routine", "demo", "--sim-trainee", trainee, "--sim-seed", "3",
                           "--log-dir", str(d), "--no-bell"])
        s = json.loads(buf.getvalue())
        s["_rc"] = rc
        out[trainee] = s
    return out


def test_good_trainee_completes_the_demo_without_alerts(demo_runs):
    s = demo_runs["good"]
    assert s["_rc"] == 0 and s["problems"] == []
    assert s["routine_completed"] is True
    assert s["alerts"] == []
    g = s["gloves"][0]
    assert g["tared"] and g["link"]["lost_samples"] == 0 and g["link"]["crc_errors"] == 0
    routine = load_routine("demo")
    assert s["duration_s"] >= routine.duration_s
    # every region of the routine shows up in the band summary, mostly in its allowed band
    for region in {st.region for st in routine.stages}:
        for hand in ("right", "left"):
            h = s["bands"][region][hand]
            assert h["on_body_s"] > 0
            assert h["pct_in_allowed"] >= 95.0, (region, hand, h)


def test_good_trainee_log_has_every_sample_and_the_stages(demo_runs):
    s = demo_runs["good"]
    log = load(s["gloves"][0]["log"])
    assert log.complete and not log.problems
    assert log.samples.seq.shape[0] == s["gloves"][0]["samples"]
    assert np.all(np.diff(log.samples.seq) == 1)
    routine = load_routine("demo")
    stages = stage_times(log)
    assert [name for _, name in stages] == [st.id for st in routine.stages] + ["end"]
    # each stage lasts its planned time, in signal time
    starts = np.array([t for t, _ in stages])
    planned = np.array([st.duration_s for st in routine.stages])
    assert np.allclose(np.diff(starts), planned, atol=0.1)
    assert any(e.kind == "tare" and e.fields["ok"] for e in log.events)
    assert log.header["extra"]["routine"] == "demo"


def test_heavy_trainee_every_pushed_stage_is_alerted(demo_runs):
    s = demo_runs["heavy"]
    routine = load_routine("demo")
    script = scripts.routine_script(routine.plan(), seed=3, trainee="heavy",
                                    lead_in_s=SIM_LEAD_IN_S["free"])
    pushed = [seg for seg in script["segments"] if seg.get("band") and seg.get("planned_band")
              and seg["band"] != seg["planned_band"]]
    assert pushed, "the heavy trainee pushes at least one stage"
    log = load(s["gloves"][0]["log"])
    stages = dict((name, t) for t, name in stage_times(log))
    alerts = [e for e in log.events if e.kind == "alert"]
    band_index = {"light": 0, "medium": 1, "firm": 2, "too_much": 3}
    from massage_glove.signal import default_profile_set
    regions = default_profile_set().regions
    for seg in pushed:
        allowed = regions[seg["region"]].max_band         # skill: trained (live's default)
        if band_index[seg["band"]] <= allowed:
            continue                                      # pushed, but still allowed there
        t0 = stages[seg["stage"]]
        t1 = t0 + seg["duration_s"]
        hit = [a for a in alerts if t0 <= a.t_device_s <= t1
               and a.fields["rule"] in ("over_limit", "over_limit_hand", "too_much")]
        assert hit, f"stage {seg['stage']} was done at {seg['band']} and not alerted"
    assert s["alert_counts"].get("too_much", 0) + s["alert_counts"].get("over_limit", 0) > 0


def test_saturated_is_too_much_and_open_is_a_fault_never_fine(capsys, tmp_path):
    s = run_cli(capsys, "--routine", "demo", "--duration", "90", "--log-dir", str(tmp_path),
                "--sim-fault", "saturated:R_index:50:60", "--sim-fault", "open:L_thumb:40:70")
    rules = {(a["rule"], a["sensor"]) for a in s["alerts"]}
    assert ("too_much", "R_index") in rules
    assert ("sensor_broken", "R_index") not in rules
    assert ("sensor_broken", "L_thumb") in rules
    log = load(s["gloves"][0]["log"])
    assert any(e.kind == "alert" and e.fields["rule"] == "sensor_broken" for e in log.events)


# --- in-process session: keys, pause, marks, two gloves ------------------------------------

def _wait(cond, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_keys_switch_region_mark_and_pause_the_routine(tmp_path):
    routine = load_routine("demo")
    with SimGlove(scripts.routine_script(routine.plan(), seed=1)) as sim:
        link = GloveLink.open(sim.port)
        try:
            s = LiveSession([link], SessionOptions(routine=routine, log_dir=tmp_path, bell=False))
            s.start()
            assert _wait(lambda: s.snapshot().stage is not None)
            snap = s.snapshot()
            assert snap.stage.name == routine.stages[0].name
            assert snap.region == routine.stages[0].region
            assert len(snap.sensors) == 16 and snap.trace_force.shape[1] == 16
            s.key(KEY_PAUSE)
            assert _wait(lambda: s.snapshot().paused)
            left = s.snapshot().stage.remaining_s
            t = s.session_time()
            assert _wait(lambda: s.session_time() > t + 0.5)
            assert s.snapshot().stage.remaining_s == pytest.approx(left, abs=0.06)
            s.key(KEY_PAUSE)
            assert _wait(lambda: s.snapshot().stage.remaining_s < left - 0.2)
            s.key("n")                                   # neck
            assert _wait(lambda: s.snapshot().region == "neck")
            assert s.snapshot().region_limit == "light"
            s.key(KEY_MARK)
            assert _wait(lambda: s.snapshot().marks == 1)
            s.key("-")                                   # the receiver said softer
            assert _wait(lambda: s.snapshot().marks == 2)
            with pytest.raises(GloveError):
                s.mark(tag="louder")
            summary = s.close()
        finally:
            link.close()
    log = load(summary["gloves"][0]["log"])
    kinds = [(e.kind, e.fields.get("region") or e.fields.get("text")) for e in log.events]
    assert ("region", "neck") in kinds
    assert ("mark", "mark (key)") in kinds
    tagged = [e for e in log.events if e.kind == "mark" and e.fields.get("tag")]
    assert [e.fields["tag"] for e in tagged] == ["softer"] and tagged[0].t_device_s is not None
    assert ("note", "paused") in kinds and ("note", "resumed") in kinds


def test_two_gloves_on_two_ports(tmp_path):
    with SimGlove(scripts.routine_script(seed=2, hands=("right",)), hands=("right",),
                  glove_id="right-glove") as r, \
            SimGlove(scripts.routine_script(seed=2, hands=("left",)), hands=("left",),
                     glove_id="left-glove") as left:
        links = [GloveLink.open(r.port), GloveLink.open(left.port)]
        try:
            s = LiveSession(links, SessionOptions(region="paraspinals", log_dir=tmp_path, bell=False))
            s.start()
            assert _wait(lambda: all(g.tared for g in s.gloves) and s.session_time() > 3.0)
            snap = s.snapshot()
            assert [v.hand for v in snap.sensors] == ["right"] * 8 + ["left"] * 8
            assert set(snap.hand_band) == {"right", "left"}
            assert snap.trace_force.shape == (snap.trace_t.shape[0], 16)
            assert np.isfinite(snap.trace_force[-50:, 8:]).any()     # second glove aligned in
            summary = s.close()
        finally:
            for link in links:
                link.close()
    logs = [g["log"] for g in summary["gloves"]]
    assert len(set(logs)) == 2
    ids = [load(p).header["glove_id"] for p in logs]
    assert ids == ["right-glove", "left-glove"]
    assert load(logs[0]).header["extra"]["session_id"] == load(logs[1]).header["extra"]["session_id"]
