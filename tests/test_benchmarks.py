"""The benchmarks run end to end in a tiny configuration and return well-formed, finite figures.

Behaviour only: no figure is compared with a speed (the machine running the tests is shared);
`python -m benchmarks` measures.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as runner  # noqa: E402
from benchmarks import alert_delay, common, false_alarms, host_cost  # noqa: E402
from massage_glove.portable.forcemodel import ForceModel  # noqa: E402

TINY = {"alert": {"seconds_200": 8.0, "seconds_1k": 6.0},
        "false": {"scripts": "glitch2", "seconds": 10.0}, "host": {"max_blocks": 10},
        "cpu": {"seconds": 1.5}, "firmware": {"n_frames": 500, "seconds": 0.5},
        "fps": {"seconds": 0.2}, "memory": {"minutes": 1.0},
        "offline": {"hours": 0.01, "unique_minutes": 0.2, "naive_s": 1.0},
        "class": {"trainees": "3", "seconds": 3.0}}


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def results():
    return runner.run_all(TINY, log=lambda s: None)


def test_every_benchmark_ran(results):
    assert set(results) == set(runner.NAMES)
    for name, r in results.items():
        assert "error" not in r, f"{name}: {r.get('error')}\n{r.get('trace', '')}"


def test_alert_delay_figures(results):
    a = results["alert"]
    for key, rate in (("r200", 200), ("r1k", 1000)):
        r = a[key]
        assert r["rate_hz"] == rate and r["channels"] in (8, 16)
        assert r["events"] >= 1
        for w in ("new", "baseline"):
            m = r[w]
            assert 1 <= m["matched"] <= r["events"] and m["matched"] + m["missed"] <= r["events"]
            for k in ("signal_ms", "host_ms", "receive_ms", "transport_ms"):
                assert m[k]["n"] == m["matched"]
                assert positive(m[k]["p50"]) and positive(m[k]["p99"]) and m[k]["p99"] >= m[k]["p50"]
        # the floor: one sample period + one 1 ms USB frame (6 ms at 200 Hz, 2 ms at 1 kHz)
        assert r["floor_ms"] == pytest.approx({200: 6.0, 1000: 2.0}[rate])
        assert r["period_ms"] == pytest.approx(1000.0 / rate)
        assert r["frame_bytes"] <= r["usb_packet_bytes"]
        assert r["target_p99_ms"] == {200: 13.0, 1000: 7.0}[rate]
        assert r["frame_bytes"] == alert_delay.data_frame_bytes(r["channels"])
        assert r["block_samples"]["min"] >= 1


def test_alert_ground_truth_is_the_first_instant_over_the_limit():
    script, events, table = alert_delay.make_script(12.0, ("right", "left"), seed=5)
    alert_delay.true_crossings(script, table, events)
    assert events and {e["kind"] for e in events} <= {"step", "ramp"}
    model = ForceModel(script, table, 4095)
    for e in events:
        t = e["t_true_s"]
        assert e["start_s"] - 1e-6 <= t <= e["start_s"] + e["rise_s"] + 0.05     # whole microseconds
        us = round(t * 1e6)
        assert model.truth_us(us)[e["channel"]] >= e["limit_n"]
        if us - alert_delay.TRUTH_STEP_US >= e["start_s"] * 1e6:
            assert model.truth_us(us - alert_delay.TRUTH_STEP_US)[e["channel"]] < e["limit_n"]
        assert e["level_n"] > e["limit_n"]


def test_host_cost_figures(results):
    h = results["host"]
    assert [s["block_samples"] for s in h["sizes"]] == sorted(s["block_samples"] for s in h["sizes"])
    for s in h["sizes"]:
        assert s["blocks"] == 10
        assert positive(s["total"]["p50"]) and positive(s["decode"]["p50"])
        for w in ("new", "baseline"):
            assert positive(s[w]["total"]["p50"]) and positive(s[w]["cpu"]["p50"])
            assert s[w]["total"]["n"] == s[w]["cpu"]["n"] == 10
        # today's chain runs its stages one by one: every stage is timed
        assert s["baseline"]["staged"]
        assert positive(sum(s["baseline"][k]["p50"] for k in ("calibrate", "filter", "classify", "rules")))


def test_cpu_share_figures(results):
    c = results["cpu"]
    assert positive(c["process_core_pct"]) and positive(c["samples_per_s"])
    assert c["glove_core_pct"] >= 0 and c["sim_relay_core_pct"] >= 0
    assert "acquire-sim-glove" in c["by_thread_core_pct"]


def test_offline_figures(results):
    o = results["offline"]
    assert o["signal_s"] == pytest.approx(36.0)
    for k in ("chain", "baseline_chain", "filter", "naive"):
        assert positive(o[k]["x_realtime"])
    # both chains saw the same hour: the same alerts
    assert o["chain"]["alerts"] == o["baseline_chain"]["alerts"]
    assert o["naive"]["extrapolated"] is True
    assert "error" in o["brainflow"] or positive(o["brainflow"]["x_realtime"])
    assert "error" in o["review"] or positive(o["review"]["x_realtime"])


def test_firmware_figures(results):
    f = results["firmware"]
    assert positive(f["cost"]["tick_us"]) and positive(f["cost"]["encode_us"])
    assert positive(f["cost"]["naive_us"])
    assert f["cost"]["frame_bytes"] == alert_delay.data_frame_bytes(16)
    for k in ("binary", "text"):
        assert positive(f[k]["samples_per_s"]) and positive(f[k]["bytes_per_sample"])
        assert f[k]["lost_samples"] == 0
    assert f["binary"]["bytes_per_sample"] == alert_delay.data_frame_bytes(16)


def test_memory_figures(results):
    m = results["memory"]
    assert m["signal_s"] >= 59.0 and m["lost_samples"] == 0
    for k in ("rss_start_kb", "rss_warm_kb", "rss_end_kb", "log_bytes", "log_bytes_per_hour"):
        assert positive(m[k])


def test_fps_figures(results):
    v = results["fps"]
    assert positive(v["agg"]["blit_fps"]) and positive(v["agg"]["naive_fps"])


def test_class_view_figures(results):
    v = results["class"]
    assert "error" not in v, v.get("error")
    r = v["rows"][0]
    assert r["trainees"] == 3 and r["frames"] > 0
    assert positive(r["class_cpu_pct"]) and positive(r["publisher_cpu_pct"])
    assert r["alert_to_tile_ms"]["n"] == 0 or positive(r["alert_to_tile_ms"]["p99"])
    assert v["own_alert_delay"]["host_ms"]["n"] > 0


def test_table_rows(results, tmp_path):
    rows = runner.build_rows(results)
    assert rows
    for r in rows:
        assert r["verdict"] in ("PASS", "MISS", "—", "not measured")
        if r["verdict"] in ("PASS", "MISS"):
            if r["measure"].startswith("False alarms"):     # a count: zero is a figure
                assert isinstance(r["value"], int) and r["value"] >= 0 and r["target"]
            else:
                assert positive(r["value"]) and r["target"]
        # the chain's rows name the cause of a miss (the runner analyses them)
        if r["verdict"] == "MISS" and r["measure"].startswith(
                ("Alert delay", "False alarms", "Host chain", "Offline", "CPU share of one core")):
            assert r.get("cause"), r
    measures = " ".join(r["measure"] for r in rows)
    for what in ("Alert delay 200 Hz", "Alert delay 1 kHz", "False alarms", "Host chain", "CPU share", "Offline",
                 "Live view", "Firmware", "Wire bytes", "RSS", "Log bytes", "Class view"):
        assert what in measures
    md = runner.table_md(rows)
    assert len(md.splitlines()) == len(rows) + 2


def test_a_failing_benchmark_is_a_row_not_a_crash():
    rows = runner.build_rows({"fps": {"error": "ImportError: no module"}})
    assert rows == [runner._missing("Live view fps (benchmarks/live_fps.py)", "ImportError: no module")]
    assert rows[0]["verdict"] == "not measured"


def test_false_alarm_figures(results):
    fa = results["false"]
    (s,) = fa["scripts"]
    assert s["script"] == "glitch2" and s["glitch_samples"] == 2 and s["glitches"] > 0
    for w in ("new", "baseline"):
        m = s[w]
        assert m["episodes"] == m["true"] + m["false"]
        assert m["samples"] == pytest.approx(s["seconds"] * 200 - 200, abs=1)


# --- the benchmarks' own logic, against truths known independently ----------------------
def test_an_episode_is_false_only_when_no_named_sensor_reached_its_limit():
    t = np.arange(0, 2000) / 1000.0                    # 1 ms truth grid, 2 s
    truth = np.zeros((t.size, 3))
    truth[500:520, 1] = 10.0                           # sensor 1 over its 9 N limit at 0.50-0.52 s
    limit = np.array([9.0, 9.0, 9.0])
    ep = lambda ts, sensors: {"t_s": ts, "sensors": sensors}        # noqa: E731
    assert not false_alarms.is_false(ep(0.53, [1]), t, truth, limit)      # crossed 10 ms before
    assert false_alarms.is_false(ep(0.53, [0]), t, truth, limit)          # another sensor
    assert not false_alarms.is_false(ep(0.53, [0, 1, 2]), t, truth, limit)   # a hand: any sensor
    assert false_alarms.is_false(ep(0.52 + false_alarms.LOOKBACK_S + 0.01, [1]), t, truth, limit)
    assert not false_alarms.is_false(ep(0.45, [1]), t, truth, limit)       # 50 ms ahead of it
    assert false_alarms.is_false(ep(0.50 - false_alarms.LOOKAHEAD_S - 0.01, [1]), t, truth, limit)
    truth[800, 2] = 9.0                                                    # at the limit counts
    assert not false_alarms.is_false(ep(0.81, [2]), t, truth, limit)


def test_episodes_are_first_alerts_of_each_hand_episode_without_reminders():
    from massage_glove.signal.rules import Alert
    names = ["R_thumb", "R_index", "L_thumb"]
    hand_of = {"R_thumb": "right", "R_index": "right", "L_thumb": "left"}

    def al(t, sensor, rule, hand, ep, repeat=False):
        return Alert(t, "neck", sensor, rule, "danger", 1.0, 1.0, "N", "", hand, ep, repeat)
    alerts = [al(1.0, "R_thumb", "over_limit", "right", 1), al(1.1, "R_index", "too_much", "right", 1),
              al(1.2, "R_thumb", "over_limit", "right", 1, True), al(1.5, "right hand", "over_limit_hand", "right", 2),
              al(1.6, "L_thumb", "sensor_broken", "left", 3), al(2.0, "L_thumb", "too_much", "left", 4)]
    eps = false_alarms.episodes(alerts, hand_of, names)
    assert [(e["t_s"], e["sensors"]) for e in eps] == [(1.0, [0]), (1.5, [0, 1]), (2.0, [2])]


def test_glitches_are_written_where_said_within_their_amplitude():
    rng = np.random.default_rng(0)
    n, n_ch = 4000, 16
    counts = rng.integers(50, 60, size=(n, n_ch)).astype(np.uint16)
    before = counts.copy()
    t_us = (np.arange(n) * 5000).astype(np.int64)
    lo, hi = np.full(n_ch, 1500.0), np.full(n_ch, 2900.0)
    hi[3] = lo[3]                                       # no room: never glitched
    got = false_alarms.add_glitches(counts, t_us, lo, hi, 2, per_s=8.0, seed=3)
    assert len(got) > 20
    mask = np.zeros_like(counts, bool)
    last = {}
    for k, j, v in got:
        assert j != 3 and 1500 <= v < 2900
        assert list(counts[k:k + 2, j]) == [v, v]
        mask[k:k + 2, j] = True
        assert t_us[k] / 1e6 - last.get(j, -9.0) >= false_alarms.GLITCH_REUSE_S
        last[j] = t_us[k] / 1e6
    np.testing.assert_array_equal(counts[~mask], before[~mask])


def test_false_alarm_count_follows_the_truth_not_the_chain():
    """A press over the limit is a true episode; 2-sample glitches under a light hold that
    raise an alert are false ones (the truth of both is the script's)."""
    table = common.channel_table()
    dev = common.device_info()
    pipe = common.make_chain("baseline", dev, 200.0, false_alarms.HOLD_REGION)
    j = 7                                              # R_palm_heel
    lim = float(pipe.profile.limit_n[j])
    off = false_alarms._off
    script = {"seed": 1, "segments": [off(2.0), {"duration_s": 1.5, "region": false_alarms.HOLD_REGION,
              "technique": "hold", "ramp_s": 0.2, "force_by_channel": {table[j][1]: 1.4 * lim}},
              off(4.0)], "tremor": {"amp_n": 0.0, "hz": 9.0}, "noise_counts": 2.0, "faults": []}
    data = false_alarms.play(script)
    r = false_alarms.run_chain("baseline", data)
    assert r["episodes"] >= 1 and r["false"] == 0
    # glitches far over the limit on quiet channels after the press: false, never true
    k0 = int(4.5 * 200)
    for i, k in enumerate(range(k0, k0 + 6 * 40, 40)):
        data["counts"][k:k + 2, i % 16] = 2900
    r2 = false_alarms.run_chain("baseline", data)
    assert r2["false"] >= 1 and r2["true"] == r["true"]


def test_the_baseline_is_todays_chain_with_the_fast_path_off():
    import dataclasses
    from massage_glove.signal import Pipeline, pipeline
    dev = common.device_info()
    base = common.make_chain("baseline", dev, 200.0)
    ref = getattr(pipeline, "ReferencePipeline", None)
    assert type(base) is (ref or Pipeline)
    if any(f.name == "fast_alert_samples" for f in dataclasses.fields(base.settings)):
        assert base.settings.fast_alert_samples == 0
    assert type(common.make_chain("new", dev, 200.0)) is Pipeline
    ch = common.chains()
    assert ch["same_chain"] == (ref is None)
    with pytest.raises(ValueError):
        common.make_chain("old", dev, 200.0)


def test_a_false_alarm_row_misses_only_when_worse_than_the_baseline():
    def res(new, base):
        return {"chains": {}, "lookback_s": 0.3, "scripts": [{
            "script": "glitch2", "seconds": 60.0, "glitch_samples": 2, "glitches": 200,
            "new": {"false": new, "episodes": new + 1, "true": 1,
                    "false_at": [{"sensor": "R_thumb", "t_s": 3.0, "rule": "over_limit"}] * new},
            "baseline": {"false": base, "episodes": base + 1, "true": 1, "false_at": []}}]}
    (same,) = runner.build_rows({"false": res(4, 4)})
    (worse,) = runner.build_rows({"false": res(5, 4)})
    (better,) = runner.build_rows({"false": res(0, 4)})
    assert (same["verdict"], worse["verdict"], better["verdict"]) == ("PASS", "MISS", "PASS")
    assert "1 more false episodes" in worse["cause"] and "R_thumb" in worse["cause"]


def test_host_cost_times_only_the_stages_a_chain_calls():
    counts, frames = host_cost.stream(200 + (4 + host_cost.WARMUP_BLOCKS) * 2)
    s = host_cost.measure_block_size(counts, frames, 2, 4)
    assert s["blocks"] == 4
    b = s["baseline"]
    assert b["staged"] and b["stages_called"] == ["calibrate", "filter", "classify", "rules"]
    for w in ("new", "baseline"):
        c = s[w]
        for k in ("calibrate", "filter", "classify", "rules"):
            assert (c[k] is not None) == (k in c["stages_called"])
