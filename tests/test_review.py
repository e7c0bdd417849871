"""The review against the force model's script: logs recorded from the simulated glove
(real firmware, pty, live session, log writer) by a good, a rushed and a heavy simulated
trainee on the demo routine, and a `--region` session without a routine. The labelled
corpus with exact truth per stroke is in tests/review/."""
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


def _calibration_dir(tmp) -> str:
    """A calibration file for the simulated glove (its own channel table, nominal curves)."""
    from massage_glove.signal.calibration import Calibration, nominal_channel
    from review.corpus import make_device
    dev = make_device(glove_id="sim-glove")
    chans = tuple(nominal_channel(c.name, c.sensor_class, c.r_divider_ohm, c.r_bleed_ohm)
                  for c in dev.channels)
    d = tmp / "calibration"
    d.mkdir()
    Calibration("sim-glove", "2026-01-05", 12, chans, None, "test calibration", "").save(d / "sim-glove.json")
    return str(d)


def _record(tmp, trainee: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["live", "--simulate", "--headless", "--json", "--sim-mode", "free",
                       "--routine", "demo", "--sim-trainee", trainee, "--sim-seed", str(SEED),
                       "--log-dir", str(tmp), "--no-bell", "--calibration-dir", _calibration_dir(tmp)])
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
        assert got["seconds"] == pytest.approx(seconds, abs=0.5), (region, got, r["link"], r["notes"])
        assert got["hands_on_s"] >= 0.95 * seconds, (region, got, r["link"])


def test_time_in_band_matches_what_the_trainee_did(reviews):
    r = reviews["good"]
    assert all(d["pct_in_allowed"] >= 99.0 for d in r["regions"].values())
    # the sides were worked light only (the routine's light stage, the script's light peaks)
    assert r["regions"]["sides"]["pct_by_band"]["light"] == pytest.approx(100.0, abs=2.0)
    # firm work happened on the upper trapezius (firm stage), none on the sides
    assert r["regions"]["upper_trapezius"]["pct_by_band"]["firm"] > 5.0
    assert r["regions"]["sides"]["pct_by_band"]["firm"] == 0.0


def test_stroke_count_and_rate_against_the_script(reviews):
    """The force model starts stroke k at k x 60 / rate (plus the trainee's jitter), so a
    stage holds rate x duration strokes: within 3 %, or one stroke at each of the stage's
    two edges (the simulated trainee cross-fades 0.8 s between stages; the corpus in
    tests/review/ checks every stroke exactly)."""
    for trainee in ("good", "rushed"):
        r = reviews[trainee]
        segs = [s for s in _script(trainee)["segments"] if s.get("rate_per_min") and s["technique"] != "hold"]
        assert segs
        for seg in segs:
            for hand in ("right", "left"):
                got = [s for s in r["strokes"]["segments"] if s["stage"] == seg["stage"] and s["hand"] == hand]
                assert len(got) == 1, (trainee, seg["stage"], hand, got)
                g = got[0]
                expect_n = seg["rate_per_min"] * seg["duration_s"] / 60.0
                assert abs(g["strokes"] - expect_n) <= max(0.03 * expect_n, 2.0), (trainee, seg["stage"], hand, g)
                assert g["rate_per_min"] == pytest.approx(seg["rate_per_min"], rel=0.03), (trainee, seg["stage"], g)


def test_good_session_scores_high_with_no_corrective_advice(reviews):
    r = reviews["good"]
    assert r["score"]["total"] >= 90, r["score"]
    assert r["warm_up"]["ok"] and r["cool_down"]["ok"], (r["warm_up"], r["cool_down"])
    assert r["coverage"]["missed"] == []
    assert r["episodes"]["count"] == 0
    assert [x["fault"] for x in r["advice_items"]] == [None, None, None], r["advice_items"]
    assert len(r["advice"]) == 3
    # the calibration the live session used is in the header, and the review used it
    assert not any("calibration" in n for n in r["notes"]), r["notes"]


def test_rushing_is_named_first_and_costs_pace_points(reviews):
    good, rushed = reviews["good"], reviews["rushed"]
    assert any(s["pace"] == "too_fast" for s in rushed["strokes"]["segments"])
    assert rushed["score"]["breakdown"]["pace"]["points"] < good["score"]["breakdown"]["pace"]["points"]
    assert rushed["score"]["total"] < good["score"]["total"]
    # pace is named; a too-much moment (the rushed trainee's peaks spread wider) comes first
    pace = [x for x in rushed["advice_items"] if x["fault"] == "pace"]
    assert pace and pace[0]["text"].startswith("Slow down"), rushed["advice_items"]
    assert all(x["fault"] == "alerts" for x in rushed["advice_items"][:rushed["advice_items"].index(pace[0])])


def test_heavy_trainee_loses_band_and_episode_points(reviews):
    good, heavy, rushed = reviews["good"], reviews["heavy"], reviews["rushed"]
    bd_g, bd_h = good["score"]["breakdown"], heavy["score"]["breakdown"]
    assert bd_h["in_band"]["points"] < 0.5 * bd_h["in_band"]["max"], bd_h["in_band"]
    assert heavy["episodes"]["count"] > 0 and bd_h["alerts"]["points"] < bd_g["alerts"]["points"]
    assert heavy["score"]["total"] < rushed["score"]["total"] < good["score"]["total"]
    assert heavy["advice_items"][0]["fault"] == "alerts", heavy["advice_items"]
    assert heavy["alerts"] and all(a["text"] for a in heavy["alerts"])
    worst = min(heavy["regions"].values(), key=lambda d: d["pct_in_allowed"])
    assert worst["pct_in_allowed"] < 95.0


def test_region_session_without_a_routine_keeps_its_region(tmp_path):
    """`live --region upper_trapezius` with no routine: the region is logged at the first
    sample's device time, so the review scores it and never names 'None'."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        cli.main(["live", "--simulate", "--headless", "--json", "--sim-mode", "free",
                  "--region", "upper_trapezius", "--duration", "150", "--sim-seed", str(SEED),
                  "--log-dir", str(tmp_path), "--no-bell"])
    summary = json.loads(buf.getvalue())
    r = review_log(summary["gloves"][0]["log"])
    assert list(r["regions"]) == ["upper_trapezius"], r["regions"].keys()
    d = r["regions"]["upper_trapezius"]
    assert d["pct_in_allowed"] is not None and d["hands_on_s"] > 10.0, d
    assert r["drill"] and not r["coverage"]["judged"]
    assert not any("None" in a for a in r["advice"]), r["advice"]


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
