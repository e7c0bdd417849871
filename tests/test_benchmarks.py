"""The benchmarks run end to end in a tiny configuration and return well-formed, finite figures.

Behaviour only: no figure is compared with a speed (the machine running the tests is shared);
`python -m benchmarks` measures.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as runner  # noqa: E402
from benchmarks import alert_delay  # noqa: E402
from massage_glove.portable.forcemodel import ForceModel  # noqa: E402

TINY = {"alert": {"seconds_200": 8.0, "seconds_1k": 6.0}, "host": {"max_blocks": 10},
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
        assert r["events"] >= 1 and 1 <= r["matched"] <= r["events"]
        assert r["matched"] + r["missed"] <= r["events"]
        for k in ("signal_ms", "host_ms", "receive_ms"):
            assert r[k]["n"] == r["matched"]
            assert positive(r[k]["p50"]) and positive(r[k]["p99"]) and r[k]["p99"] >= r[k]["p50"]
        assert r["floor_ms"] == pytest.approx(r["period_ms"] + r["wire_ms"])
        assert r["period_ms"] == pytest.approx(1000.0 / rate)
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
        staged = sum(s[k]["p50"] for k in ("calibrate", "filter", "classify", "rules"))
        assert positive(staged)


def test_cpu_share_figures(results):
    c = results["cpu"]
    assert positive(c["process_core_pct"]) and positive(c["samples_per_s"])
    assert c["glove_core_pct"] >= 0 and c["sim_relay_core_pct"] >= 0
    assert "acquire-sim-glove" in c["by_thread_core_pct"]


def test_offline_figures(results):
    o = results["offline"]
    assert o["signal_s"] == pytest.approx(36.0)
    for k in ("chain", "filter", "naive"):
        assert positive(o[k]["x_realtime"])
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
            assert positive(r["value"]) and r["target"]
    measures = " ".join(r["measure"] for r in rows)
    for what in ("Alert delay 200 Hz", "Alert delay 1 kHz", "Host cost", "CPU share", "Offline",
                 "Live view", "Firmware", "Wire bytes", "RSS", "Log bytes", "Class view"):
        assert what in measures
    md = runner.table_md(rows)
    assert len(md.splitlines()) == len(rows) + 2


def test_a_failing_benchmark_is_a_row_not_a_crash():
    rows = runner.build_rows({"fps": {"error": "ImportError: no module"}})
    assert rows == [runner._missing("Live view fps (benchmarks/live_fps.py)", "ImportError: no module")]
    assert rows[0]["verdict"] == "not measured"
