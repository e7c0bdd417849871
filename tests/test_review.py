"""The review against the force model's script: logs recorded from the simulated glove
(real firmware, pty, live session) by a good, a rushed and a heavy simulated trainee."""
from __future__ import annotations

import contextlib
import io
import json
import shutil

import pytest

from massage_glove import cli
from massage_glove.errors import DataFileError
from massage_glove.live.routine import load_routine
from massage_glove.review.report import load_settings, review_log
from massage_glove.sim import scripts

SEED = 4
from massage_glove.live.command import SIM_LEAD_IN_S
LEAD_IN_S = SIM_LEAD_IN_S["free"]


def _record(tmp, trainee: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["live", "--simulate", "--headless", "--json", "--sim-mode", "free",
                       "--routine", "demo", "--sim-trainee", trainee, "--sim-seed", str(SEED),
                       "--log-dir", str(tmp), "--no-bell"])
    summary = json.loads(buf.getvalue())
    assert summary["routine_completed"], (rc, summary["problems"])
    return summary["gloves"][0]["log"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return {t: _record(tmp_path_factory.mktemp(t), t) for t in ("good", "rushed", "heavy")}


@pytest.fixture(scope="module")
def reviews(logs):
    return {t: review_log(p) for t, p in logs.items()}


def _script(trainee):
    return scripts.routine_script(load_routine("demo").plan(), seed=SEED, trainee=trainee,
                                  lead_in_s=LEAD_IN_S)


def test_time_per_region_matches_the_routine(reviews):
    r = reviews["good"]
    want = {}
    for st in load_routine("demo").stages:
        want[st.region] = want.get(st.region, 0.0) + st.duration_s
    for region, seconds in want.items():
        got = r["regions"][region]
        assert got["seconds"] == pytest.approx(seconds, abs=1.0), (region, got, r["link"], r["notes"])
        assert got["hands_on_s"] >= 0.95 * seconds, (region, got, r["link"])


def test_time_in_band_matches_what_the_trainee_did(reviews):
    r = reviews["good"]
    assert all(d["pct_in_allowed"] >= 99.0 for d in r["regions"].values())
    # the sides were worked light only (the routine's light stage, the script's light peaks)
    assert r["regions"]["sides"]["pct_by_band"]["light"] == pytest.approx(100.0, abs=0.5)
    # firm work happened on the upper trapezius (firm stage), none on the sides
    assert r["regions"]["upper_trapezius"]["pct_by_band"]["firm"] > 5.0
    assert r["regions"]["sides"]["pct_by_band"]["firm"] == 0.0


def test_stroke_count_and_rate_against_the_script(reviews):
    r = reviews["good"]
    segs = [s for s in _script("good")["segments"] if s.get("rate_per_min")]
    for seg in segs:
        got = [s for s in r["strokes"]["segments"] if s["stage"] == seg["stage"] and s["hand"] == "right"]
        assert got, seg["stage"]
        g = got[0]
        expect_n = seg["rate_per_min"] * seg["duration_s"] / 60.0
        assert g["strokes"] == pytest.approx(expect_n, rel=0.15, abs=2), seg["stage"]
        assert g["rate_per_min"] == pytest.approx(seg["rate_per_min"], rel=0.1), seg["stage"]
        assert not g["rushing"]


def test_good_session_scores_high_with_no_misses(reviews):
    r = reviews["good"]
    assert r["score"]["total"] >= 90
    assert r["warm_up"]["ok"] and r["cool_down"]["ok"]
    assert r["coverage"]["missed"] == []
    assert len(r["advice"]) == 3


def test_rushing_is_named_and_costs_rhythm_points(reviews):
    good, rushed = reviews["good"], reviews["rushed"]
    assert any(s["rushing"] for s in rushed["strokes"]["segments"])
    bd_g, bd_r = good["score"]["breakdown"], rushed["score"]["breakdown"]
    assert bd_r["rhythm"]["points"] < bd_g["rhythm"]["points"]
    assert rushed["score"]["total"] < good["score"]["total"]
    assert any("Slow down" in a for a in rushed["advice"])


def test_heavy_trainee_loses_band_and_alert_points(reviews):
    good, heavy = reviews["good"], reviews["heavy"]
    bd_g, bd_h = good["score"]["breakdown"], heavy["score"]["breakdown"]
    assert bd_h["in_band"]["points"] < bd_g["in_band"]["points"]
    assert bd_h["alerts"]["points"] < bd_g["alerts"]["points"]
    assert heavy["score"]["total"] < good["score"]["total"] - 10
    assert heavy["alerts"] and all(a["text"] for a in heavy["alerts"])
    worst = min(heavy["regions"].values(), key=lambda d: d["pct_in_allowed"])
    assert worst["pct_in_allowed"] < 95.0


def test_a_log_cut_at_any_byte_is_reviewed_up_to_the_cut(logs, tmp_path):
    src = logs["good"]
    data = open(src, "rb").read()
    full = review_log(src)
    for frac in (0.37, 0.71):
        cut = tmp_path / f"cut{frac}.mglog"
        cut.write_bytes(data[:int(len(data) * frac)])
        r = review_log(cut)
        assert 0 < r["duration_s"] < full["duration_s"]
        assert r["complete"] is False
        assert sum(d["seconds"] for d in r["regions"].values()) <= r["duration_s"] + 0.01


def test_html_report_has_every_section(logs, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert cli.main(["review", logs["heavy"], "--html", str(out), "--against", logs["good"]]) == 0
    text = out.read_text()
    for section in ('id="score"', 'id="timeline"', 'id="regions"', 'id="strokes"', 'id="habits"',
                    'id="alerts"', 'id="comparison"', "Next time"):
        assert section in text, section
    # timeline, time in band per region, stroke peaks, comparison (the score's bars are HTML)
    assert text.count("data:image/png;base64,") >= 4
    assert "Against the instructor" in capsys.readouterr().out


def test_json_and_progress(logs, tmp_path, capsys):
    assert cli.main(["review", logs["good"], "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["score"]["breakdown"]) >= {"in_band", "alerts", "warm_up", "rhythm"}
    d = tmp_path / "sessions"
    d.mkdir()
    for t in ("good", "heavy"):
        shutil.copy(logs[t], d / f"2026010{1 if t == 'good' else 2}-100000-{t}.mglog")
    (d / "20260103-100000-broken.mglog").write_bytes(b"not a log")
    assert cli.main(["progress", str(d), "--json", "--html", str(tmp_path / "p.html")]) == 0
    cap = capsys.readouterr()
    rows = [r for rs in json.loads(cap.out)["trainees"].values() for r in rs]
    assert len(rows) == 2 and "skipped 20260103-100000-broken.mglog" in cap.err
    assert "<img" in (tmp_path / "p.html").read_text()


def test_bad_input_gets_a_clear_message(tmp_path, capsys):
    assert cli.main(["review", str(tmp_path / "none.mglog")]) == 1
    assert "no log file" in capsys.readouterr().err
    bad = tmp_path / "x.mglog"
    bad.write_text("hello")
    assert cli.main(["review", str(bad)]) == 1
    assert "not a massage-glove session log" in capsys.readouterr().err
    cfg = json.loads(open(load_settings.__globals__["REVIEW_PATH"]).read())
    cfg["score"]["weights"]["value"]["alerts"] = 50
    p = tmp_path / "review.json"
    p.write_text(json.dumps(cfg))
    with pytest.raises(DataFileError) as e:
        load_settings(p)
    assert "review.json" in str(e.value) and "weights" in str(e.value)
