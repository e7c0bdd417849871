"""The debrief: what the review's HTML, text and CSV show, against logs whose forces are
known exactly (written by the real log writer from synthetic counts), and what they do
with hostile names from a crafted log (markup, quotes, spreadsheet formulas, escapes)."""
from __future__ import annotations

import csv
import html.parser
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from massage_glove import cli
from massage_glove import sessionlog as sl
from massage_glove.log import load
from massage_glove.log.export import FORMULA_PREFIXES, csv_cell, export_csv
from massage_glove.review import command as review_command
from massage_glove.review import debrief as D
from massage_glove.review.html import render_html
from massage_glove.review.report import Session, review_session
from massage_glove.review.text import render_text
from massage_glove.signal.calibration import ForceConverter

sys.path.insert(0, str(Path(__file__).resolve().parent / "signal"))
from chain_helpers import make_block, nominal_counts  # noqa: E402
from chain_helpers import make_device as _chain_device  # noqa: E402


def make_device(**kw):
    """The signal tests' glove, its META rate bounds whole numbers as a glove sends them
    (the log reader checks the header's META as it checks a glove's)."""
    import dataclasses
    d = _chain_device(**kw)
    return dataclasses.replace(d, min_rate_hz=1, max_rate_hz=1000, rate_hz=int(d.rate_hz))

RATE = 200.0


# --- a log with known forces ----------------------------------------------------------------

def write_log(path, device, *, forces, trainee="Ana", routine="demo", regions=(), stages=(),
              alerts=(), marks=(), counts_override=None, start_time=None):
    """Write `forces` (n, n_channels) newtons as the counts of a nominal glove, with region,
    stage, alert and mark events at their device times, through the real log writer."""
    import datetime as dt
    header = sl.make_header(device, trainee=trainee, skill_level="trained",
                            start_time=start_time or dt.datetime(2026, 5, 9, 12, 0, tzinfo=dt.timezone.utc),
                            extra={"routine": routine} if routine else None)
    w = sl.SessionLogWriter(path, header, clock=lambda: 0.0, background=False)
    counts = nominal_counts(forces, device)
    if counts_override is not None:
        counts_override(counts)
    for t, region in regions:
        w.write_event("region", t, t, region=region, source="key")
    for t, stage, technique in stages:
        w.write_event("stage", t, t, stage=stage, technique=technique, source="routine")
    for a in alerts:
        a = dict(a)
        t = a.pop("t")
        w.write_event("alert", t, t, **a)
    for t, fields in marks:
        w.write_event("mark", t, t, **fields)
    step = 1000
    for i in range(0, len(counts), step):
        w.write_samples(make_block(counts[i:i + step], RATE, t0=i / RATE, seq0=i))
    w.close()
    return path


def plateau(n_s, spans):
    """(n samples, 16) forces: spans = [(channel, t0_s, t1_s, newtons)], each a flat plateau."""
    f = np.zeros((int(n_s * RATE), 16))
    for j, t0, t1, v in spans:
        f[int(t0 * RATE):int(t1 * RATE), j] = v
    return f


DEV = make_device(glove_id="debrief-glove")
CH = {c.name: i for i, c in enumerate(DEV.channels)}
# The upper trapezius (firm allowed): the right thumb light 3 N, firm 12 N, too much 20 N;
# the right heel of the hand firm 30 N; the left index finger medium 6 N throughout.
KNOWN = [(CH["R_thumb"], 1, 4, 3.0), (CH["R_thumb"], 4, 7, 12.0), (CH["R_thumb"], 7, 10, 17.0),
         (CH["R_palm_heel"], 1, 10, 30.0), (CH["L_index"], 1, 10, 6.0)]
SAT = (11.0, 12.0)          # the right index finger saturated (above range) from 11 to 12 s


@pytest.fixture(scope="module")
def known_log(tmp_path_factory):
    d = tmp_path_factory.mktemp("known")
    conv = ForceConverter(DEV, None)
    sat_counts = int(np.ceil(conv.saturated_counts[CH["R_index"]]))

    def saturate(c):
        c[int(SAT[0] * RATE):int(SAT[1] * RATE), CH["R_index"]] = sat_counts
    forces = plateau(13, KNOWN)
    return write_log(d / "known.mglog", DEV, forces=forces, regions=[(0.5, "upper_trapezius")],
                     stages=[(0.5, "kneading_traps", "kneading")], counts_override=saturate,
                     alerts=[{"t": 7.05, "rule": "too_much", "channel": "R_thumb", "severity": "danger",
                              "region": "upper_trapezius", "value": 20.0, "limit": 15.0, "units": "N",
                              "text": "Far too much pressure on the right thumb."}],
                     marks=[(8.0, {"text": "softer", "tag": "softer"})])


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_sample_csv_has_the_known_forces_bands_and_names(known_log, tmp_path):
    out, stages = tmp_path / "s.csv", tmp_path / "st.csv"
    assert cli.main(["review", str(known_log), "--csv", str(out), "--csv-stages", str(stages)]) == 0
    rows = _read_csv(out)
    head, body = rows[0], rows[1:]
    assert len(body) == int(13 * RATE)                      # one row per sample
    col = {c: i for i, c in enumerate(head)}
    assert head[:4] == ["time_s", "region", "stage", "technique"]
    for name in ("R_thumb", "R_palm_heel", "L_index"):
        assert f"{name} force N" in col and f"{name} band" in col
    assert "Right hand band" in col and "Left hand band" in col and head[-1] == "faults"
    at = lambda t: body[int(t * RATE)]  # noqa: E731
    # Forces in the middle of each plateau (0.5 s from any step, where the zero-phase
    # filter has settled): within 2 % + 0.05 N of the truth. The tolerance is the
    # 12-bit rounding of the counts through the nominal curve (up to ~1.5 % at 3 N on an
    # FSR 402), not the filter.
    for j, t0, t1, want in KNOWN:
        name = DEV.channels[j].name
        for t in np.arange(t0 + 0.5, t1 - 0.5, 0.25):
            got = float(at(t)[col[f"{name} force N"]])
            assert got == pytest.approx(want, rel=0.02, abs=0.05), (name, t, got, want)
    assert float(at(0.25)[col["R_thumb force N"]]) == pytest.approx(0.0, abs=0.05)
    # bands against the upper trapezius' edges (fingertip 4 / 9 / 15 N, palm 10 / 25 / 40 N)
    assert at(2.5)[col["R_thumb band"]] == "Light"
    assert at(5.5)[col["R_thumb band"]] == "Firm"
    assert at(8.5)[col["R_thumb band"]] == "Too much"
    assert at(5.5)[col["R_palm_heel band"]] == "Firm"
    assert at(5.5)[col["L_index band"]] == "Medium"
    assert at(5.5)[col["Right hand band"]] == "Firm" and at(8.5)[col["Right hand band"]] == "Too much"
    assert at(5.5)[col["Left hand band"]] == "Medium"
    assert at(0.25)[col["Right hand band"]] == "No contact"
    # display names of the region, stage and technique, nothing before the first region
    assert at(5.5)[1:4] == ["Shoulders (upper trapezius)", "Kneading the shoulders", "Kneading (petrissage)"]
    assert at(0.25)[1] == "No region set"
    # a saturated sensor is too much, and the fault is said in words
    r = at(11.5)
    assert r[col["R_index band"]] == "Too much" and r[col["Right hand band"]] == "Too much"
    assert r[col["faults"]] == "right index finger: above range"
    assert at(10.5)[col["faults"]] == ""
    # personal data: owner only
    assert os.stat(out).st_mode & 0o777 == 0o600 and os.stat(stages).st_mode & 0o777 == 0o600


def test_stage_csv_has_one_row_per_stage_with_its_metrics(known_log, tmp_path):
    out = tmp_path / "st.csv"
    assert cli.main(["review", str(known_log), "--csv-stages", str(out)]) == 0
    rows = _read_csv(out)
    col = {c: i for i, c in enumerate(rows[0])}
    by = {r[0]: r for r in rows[1:]}
    assert set(by) == {"Before the routine", "Kneading the shoulders"}
    k = by["Kneading the shoulders"]
    assert float(k[col["seconds"]]) == pytest.approx(12.5, abs=1 / RATE)
    assert float(k[col["start_s"]]) == pytest.approx(0.5, abs=1 / RATE)
    # hands on: 1 s to 10 s (both hands), then the saturated right index 11-12 s
    assert float(k[col["hands_on_s"]]) == pytest.approx(9.0 + 1.0, abs=0.2)
    # share of the hands' contact time in each band: right hand firm 6 s (the heel is
    # firm while the thumb is light), too much 3 s + 1 s saturated (over range is too
    # much); left hand medium 9 s: of 19 hand-seconds, within 2 points (filter edges)
    assert float(k[col["pct_too_much"]]) == pytest.approx(100 * 4 / 19, abs=2)
    assert float(k[col["pct_medium"]]) == pytest.approx(100 * 9 / 19, abs=2)
    assert float(k[col["pct_firm"]]) == pytest.approx(100 * 6 / 19, abs=2)
    assert float(k[col["pct_in_allowed"]]) == pytest.approx(100 * 15 / 19, abs=2)
    assert k[col["allowed_band"]] == "Firm" and k[col["region"]] == "Shoulders (upper trapezius)"
    assert int(k[col["alerts"]]) == 1 and int(k[col["danger_episodes"]]) == 1


# --- CSV: formulas are text -------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x",
                                  "=cmd|' /C calc'!A0"])
def test_a_cell_a_spreadsheet_would_run_is_text(cell):
    assert csv_cell(cell) == "'" + cell
    assert not csv_cell(cell).startswith(FORMULA_PREFIXES)


@pytest.mark.parametrize("cell", ["Ana", "right thumb", "", "1.5 N", "'quoted"])
def test_an_ordinary_cell_is_unchanged(cell):
    assert csv_cell(cell) == cell


def test_numbers_stay_numbers():
    assert csv_cell(-1.5) == -1.5 and csv_cell(0) == 0 and csv_cell(None) is None


# --- hostile names through a crafted log --------------------------------------------------------

EVIL = {
    "hand": "<script>alert('h')</script>",
    "sensor": 'R_"><img src=x onerror=alert(1)>',
    "region": "<b onmouseover=alert(2)>back</b>",
    "severity": "<script>alert('s')</script>",
    "glove": "</title><script>alert('g')</script>",
    "trainee": "=cmd|' /C calc'!A0 <script>alert('t')</script> \x1b[2J\x1b]0;pwned\x07",
    "text": "+HYPERLINK(\"http://x\") <iframe src=x></iframe> \x1b[31mred",
    "mark": "@SUM(1) <svg onload=alert(3)>",
    "formula": "=cmd|' /C calc'!A0",
}


def _evil_device():
    """A device description with markup in its glove id, a hand and a sensor name: the log
    reader refuses it (META is checked at the boundary), so it reaches the debrief only by
    being swapped into a loaded log, to test the sinks' own escaping."""
    import dataclasses
    base = make_device(glove_id="debrief-glove")
    chans = tuple(dataclasses.replace(c, name=EVIL["sensor"]) if c.name == "R_thumb" else
                  dataclasses.replace(c, hand=EVIL["hand"]) if c.hand == "left" else c for c in base.channels)
    return dataclasses.replace(base, glove_id=EVIL["glove"], hands=("right", EVIL["hand"]), channels=chans)


@pytest.fixture(scope="module")
def evil_log(tmp_path_factory):
    """A crafted log: markup, quotes, formulas and escape sequences in the trainee, a region,
    alert severities, rules, sensors and texts, and a mark (event fields, not META)."""
    d = tmp_path_factory.mktemp("evil")
    f = plateau(12, [(0, 1, 10, 17.0), (8, 1, 10, 6.0), (7, 1, 10, 30.0)])
    return write_log(d / "evil.mglog", DEV, forces=f, trainee=EVIL["trainee"], routine=None,
                     regions=[(0.5, "upper_trapezius"), (6.0, EVIL["region"]), (9.0, EVIL["formula"])],
                     alerts=[{"t": 1.2 + k, "rule": "too_much", "channel": EVIL["sensor"], "severity": EVIL["severity"],
                              "region": EVIL["region"], "value": 20.0, "limit": 15.0, "units": "N",
                              "text": EVIL["text"]} for k in range(3)]
                     + [{"t": 2.0, "rule": "<i>rule</i>", "channel": EVIL["hand"] + " hand", "severity": "danger",
                         "region": "upper_trapezius", "value": 2, "limit": 2, "units": "sensors", "text": EVIL["text"]}],
                     marks=[(3.0, {"text": EVIL["mark"], "tag": EVIL["mark"]})])


@pytest.fixture(scope="module")
def evil_outputs(evil_log, tmp_path_factory):
    """The debrief of the crafted log with the hostile device swapped in: HTML, text and
    both CSVs, written by the same functions the command uses."""
    import dataclasses
    from massage_glove.log.export import write_csv
    d = tmp_path_factory.mktemp("evil_out")
    dev = _evil_device()
    slog = dataclasses.replace(load(evil_log), device=dev, channel_names=[c.name for c in dev.channels])
    S = Session(slog)
    rev = review_session(S)
    names = D.Names.for_session(S)
    html_out = d / "r.html"
    html_out.write_text(render_html(S, rev), encoding="utf-8")
    cols, rows = D.stage_table(S, rev, names)
    return {"html": html_out, "text": render_text(rev),
            "csv": write_csv(d / "s.csv", D.sample_columns(S, names), D.sample_rows(S, names)),
            "stages": write_csv(d / "st.csv", cols, rows),
            "raw": export_csv(slog, d / "raw.csv")}


@pytest.mark.parametrize("field", ["glove_id", "hand", "sensor"])
def test_a_log_whose_device_has_markup_in_its_names_is_refused_naming_the_field(field, tmp_path, capsys):
    import dataclasses
    dev = make_device(glove_id="debrief-glove")
    if field == "glove_id":
        dev = dataclasses.replace(dev, glove_id=EVIL["glove"])
    elif field == "hand":
        dev = dataclasses.replace(dev, hands=("right", EVIL["hand"]), channels=tuple(
            dataclasses.replace(c, hand=EVIL["hand"]) if c.hand == "left" else c for c in dev.channels))
    else:
        dev = dataclasses.replace(dev, channels=tuple(
            dataclasses.replace(c, name=EVIL["sensor"]) if c.name == "R_thumb" else c for c in dev.channels))
    log = write_log(tmp_path / "x.mglog", dev, forces=plateau(2, []), routine=None)
    assert cli.main(["review", str(log), "--html", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert {"glove_id": "glove_id", "hand": "hands", "sensor": "name"}[field] in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, k, v) for k, v in attrs)


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "section", "div",
                "small", "ol", "ul", "li", "img", "table", "tr", "th", "td", "b", "br", "span"}


def test_hostile_names_are_text_in_the_html(evil_outputs, evil_log, tmp_path):
    out = tmp_path / "r.html"
    assert cli.main(["review", str(evil_log), "--html", str(out)]) == 0     # through the command
    assert os.stat(out).st_mode & 0o777 == 0o600
    for page in (out.read_text(encoding="utf-8"), evil_outputs["html"].read_text(encoding="utf-8")):
        _check_page(page)
    page = evil_outputs["html"].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;g&#39;)&lt;/script&gt;" in page          # glove id
    assert "&lt;script&gt;alert(&#39;h&#39;)&lt;/script&gt;" in page          # hand


def _check_page(page):
    low = page.lower()
    for bad in ("<script", "<img src=x", "<iframe", "<svg", "<b onmouseover", "onerror=alert(1)>", "<i>rule"):
        assert bad not in low, bad
    p = _Tags()
    p.feed(page)
    assert set(p.tags) <= ALLOWED_TAGS, set(p.tags) - ALLOWED_TAGS
    for tag, k, v in p.attrs:
        assert not k.startswith("on"), (tag, k)
        if tag == "img" and k == "src":
            # figures are PNGs; the back map is an SVG, which as an <img> runs no script
            assert v.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")), v[:40]
    # the names are there, as text
    assert "&lt;b onmouseover=alert(2)&gt;back&lt;/b&gt;" in page             # region
    assert "&lt;svg onload=alert(3)&gt;" in page                                # mark
    assert "&lt;iframe src=x&gt;&lt;/iframe&gt;" in page                         # alert text
    # an unknown severity is styled as a warning, never as a class taken from the log
    classes = {v for tag, k, v in p.attrs if k == "class"}
    assert all(set(c.split()) <= {"sub", "score", "advice", "top", "muted", "ok", "bad", "n", "lost", "warning",
                                  "danger", "info", "trainee", "parts", "nw", "bar", "track", "fill", ""}
               for c in classes), classes
    # inline styles are only the score bars' widths, numbers the page computed
    import re
    styles = [v for tag, k, v in p.attrs if k == "style"]
    assert styles and all(re.fullmatch(r"width:\d+(\.\d+)?%", v) for v in styles), styles


def test_hostile_names_are_clean_in_the_terminal(evil_log, evil_outputs, capsys):
    assert cli.main(["review", str(evil_log)]) == 0
    for out in (capsys.readouterr().out, evil_outputs["text"]):
        assert "\x1b" not in out and "\x07" not in out
        assert "alert('t')" in out            # the name is shown, its escape sequences are not obeyed
    assert "alert('h')" in evil_outputs["text"]


def test_hostile_names_are_neutralised_in_every_csv(evil_log, evil_outputs, tmp_path):
    out, st = tmp_path / "s.csv", tmp_path / "st.csv"
    assert cli.main(["review", str(evil_log), "--csv", str(out), "--csv-stages", str(st)]) == 0
    paths = [out, st, evil_outputs["csv"], evil_outputs["stages"], *evil_outputs["raw"]]
    for path in paths:
        rows = _read_csv(path)
        for row in rows:
            for cell in row:
                assert not cell.startswith(FORMULA_PREFIXES), (path.name, cell)
    raw_events = _read_csv(evil_outputs["raw"][1])
    texts = [r[3] for r in raw_events[1:]]
    assert "'" + EVIL["text"] in texts                       # kept whole, as text
    head = _read_csv(evil_outputs["csv"])[0]
    assert any(EVIL["hand"] in h for h in head)              # a hand name starting with < is not a formula
    assert "'" + EVIL["sensor"] + " force N" not in head and EVIL["sensor"] + " force N" in head
    stage_rows = _read_csv(st)
    assert any(r[1] == EVIL["region"].replace("_", " ") for r in stage_rows[1:])
    assert any(r[1] == "'" + EVIL["formula"] for r in stage_rows[1:])        # a region named as a formula
    assert any(r[1] == "'" + EVIL["formula"] for r in _read_csv(out)[1:])


# --- display names -----------------------------------------------------------------------------

def test_no_ids_or_python_values_in_the_debrief(known_log):
    S = Session(load(known_log))
    rev = review_session(S)
    page = render_html(S, rev)
    # the advice sentences are the review's own (report.py); everything the debrief writes
    # around them uses display names
    start, end = page.index('<ol class="advice">'), page.index("</ol>")
    shown = page[:start] + page[end:]
    shown = shown.split("<style>")[0] + shown.split("</style>")[1]
    for leak in ("upper_trapezius", "kneading_traps", "too_much", "R_thumb", "palm_heel", "True", "False",
                 "None", "fsr402", "fsr406"):
        assert leak not in shown, leak
    txt = render_text(rev)
    for leak in ("upper_trapezius", "kneading_traps", "too_much", "True", "False", "None"):
        body = "\n".join(l for l in txt.splitlines() if not l.lstrip()[:2].rstrip(".").isdigit())
        assert leak not in body, (leak, body)


def test_the_timeline_draws_each_sensor_class_against_its_own_limit(known_log):
    from massage_glove.review.html import timeline_figure
    import matplotlib.pyplot as plt
    S = Session(load(known_log))
    names = D.Names.for_session(S)
    eps = D.alert_episodes(D.session_alerts(S), names)
    fig = timeline_figure(S, names, eps, D.marks(S, names))
    panels = [ax for ax in fig.axes if ax.get_ylabel()]
    assert [ax.get_ylabel().split("\n")[0] for ax in panels] == ["Fingertips and knuckles", "Heel of the hand"]
    # the upper trapezius allows up to firm: the fingertips' limit is 15 N, the heel's 40 N
    # (data/bands.json), each drawn on its own panel as the dashed line
    for ax, want in zip(panels, (15.0, 40.0)):
        dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        assert dashed and all(np.allclose(ln.get_ydata(), want) for ln in dashed), ax.get_ylabel()
    # the too-much episode of the right thumb is on the fingertips' panel only
    from matplotlib.patches import Polygon, Rectangle
    spans = lambda ax: [p for p in ax.patches if isinstance(p, (Polygon, Rectangle))]  # noqa: E731
    assert len(spans(panels[0])) == 1 and len(spans(panels[1])) == 0
    # the mark is drawn with its tag, force and region
    texts = [t.get_text() for t in panels[0].texts]
    assert any(t.startswith("softer: 47 N") and "Shoulders (upper trapezius)" in t for t in texts), texts
    plt.close(fig)


def test_alert_episodes_group_consecutive_alerts_of_one_rule_and_hand():
    names = D.Names(channels=DEV.channels)
    a = lambda t, rule="too_much", ch="R_thumb", sev="danger": {  # noqa: E731
        "t_s": t, "rule": rule, "sensor": ch, "severity": sev, "region": "neck", "text": f"at {t}"}
    # too_much repeats every 3 s while it lasts (holdoff 3 s, clear 2 s): 0, 3, 6, 9 s is
    # one episode; 40 s is a new one; the left hand's alert is its own; R_index is the
    # right hand too, so it continues the right hand's episode
    alerts = [a(0), a(3), a(6), a(9, ch="R_index"), a(40), a(3.5, ch="L_thumb"),
              a(5, rule="over_limit", sev="warning")]
    eps = D.alert_episodes(alerts, names)
    got = sorted((e.rule, e.hand, e.t0_s, e.t1_s, e.count) for e in eps)
    assert got == sorted([("too_much", "right", 0, 9, 4), ("too_much", "right", 40, 40, 1),
                          ("too_much", "left", 3.5, 3.5, 1), ("over_limit", "right", 5, 5, 1)])
    assert [e.sensors for e in eps if e.t0_s == 0] == [["R_thumb", "R_index"]]


def test_every_lost_point_has_a_reason(known_log):
    S = Session(load(known_log))
    rev = review_session(S)
    reasons = D.lost_reasons(rev, D.Names.for_session(S))
    for p, b in rev["score"]["breakdown"].items():
        if b["fraction"] is not None and b["lost"] > 0:
            assert reasons[p], p
    assert "Shoulders (upper trapezius)" in reasons["in_band"]
    if "episodes" in rev:
        # the review's too-much episodes from the forces: 17 N from 7 to 10 s, saturated 11-12 s
        import re
        m = re.search(r"2 too-much episodes \(2 presses\), ([\d.]+) s in all", reasons["alerts"])
        assert m and float(m.group(1)) == pytest.approx(4.0, abs=0.2), reasons["alerts"]
    else:
        # the log's alerts: one too-much alert
        assert "1 danger episode (1 alert)" in reasons["alerts"], reasons["alerts"]


def test_marks_carry_their_force_and_region(known_log):
    S = Session(load(known_log))
    m = D.marks(S, D.Names.for_session(S))
    assert len(m) == 1 and m[0]["tag"] == "softer" and m[0]["region_name"] == "Shoulders (upper trapezius)"
    # at 8 s: right thumb 17 N + heel 30 N; left index 6 N (within the count rounding)
    assert m[0]["force_n"]["right"] == pytest.approx(47.0, rel=0.02)
    assert m[0]["force_n"]["left"] == pytest.approx(6.0, rel=0.02)


# --- progress of a class --------------------------------------------------------------------------

def _session(path, trainee, heavy: bool, day: int):
    import datetime as dt
    v = 17.0 if heavy else 7.0           # the right fingertips: too much, or firm at most
    f = plateau(40, [(j, 1, 39, v) for j in range(5)] + [(CH["L_index"], 1, 39, 6.0)])
    al = [{"t": 2.0 + 3 * k, "rule": "too_much", "channel": "R_thumb", "severity": "danger",
           "region": "upper_trapezius", "value": 20.0, "limit": 15.0, "units": "N",
           "text": "Far too much pressure."} for k in range(12)] if heavy else []
    return write_log(path, DEV, forces=f, trainee=trainee, routine=None, regions=[(0.5, "upper_trapezius")],
                     alerts=al, start_time=dt.datetime(2026, 5, day, 12, 0, tzinfo=dt.timezone.utc))


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("class")
    (d / "ana").mkdir()
    (d / "ben").mkdir()
    # Ana: heavy, heavy, then light enough; Ben: fine, then heavy
    for day, heavy in ((1, True), (2, True), (3, False)):
        _session(d / "ana" / f"2026050{day}-120000-ana.mglog", "Ana", heavy, day)
    for day, heavy in ((1, False), (3, True)):
        _session(d / "ben" / f"2026050{day}-120000-ben.mglog", "Ben", heavy, day)
    return d


def test_progress_of_a_class_tells_who_improved_and_who_needs_attention(class_dir, capsys):
    assert cli.main(["progress", str(class_dir), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert sorted(got["trainees"]) == ["Ana", "Ben"]
    assert [len(got["trainees"][k]) for k in ("Ana", "Ben")] == [3, 2]
    summary = {s["trainee"]: s for s in got["class"]}
    ana, ben = summary["Ana"], summary["Ben"]
    # the heavy sessions (too much and 12 danger alerts) score below the others
    a = [r["score"] for r in got["trainees"]["Ana"]]
    assert a[2] > a[0] and a[2] > a[1]
    assert ana["improved"] and ana["attention"] == [] and ana["change"] == pytest.approx(a[2] - a[0], abs=0.05)
    b = [r["score"] for r in got["trainees"]["Ben"]]
    assert b[1] < b[0] and not ben["improved"]
    # Ben's latest: heavy, 12 danger alerts 3 s apart (one episode), a fall of over 10
    # points, and a latest score under 70 when it is
    assert b[0] - b[1] >= 10
    assert any(w.startswith("1 danger episode ") for w in ben["attention"]), ben["attention"]
    assert any("fell" in w for w in ben["attention"])
    assert any("under 70" in w for w in ben["attention"]) == (b[1] < 70)
    assert len(ben["attention"]) == 2 + (b[1] < 70)
    # the class summary puts who needs attention first
    assert [s["trainee"] for s in got["class"]] == ["Ben", "Ana"]
    # parts as shares of their maximum
    for r in got["trainees"]["Ana"]:
        assert all(v is None or 0.0 <= v <= 1.0 for v in r["share"].values())


def test_progress_html_has_a_table_and_plot_per_trainee_and_the_class(class_dir, tmp_path, capsys):
    out = tmp_path / "p.html"
    assert cli.main(["progress", str(class_dir), "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count('class="trainee"') == 2 and page.count("<img") == 2
    assert 'id="class"' in page and "Ana" in page and "Ben" in page
    assert os.stat(out).st_mode & 0o777 == 0o600
    text = capsys.readouterr().out
    assert "Class summary" in text and "NEEDS ATTENTION" in text


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 25])
def test_progress_ticks_are_whole_sessions_and_parts_are_shares(n):
    rows = [{"score": 50 + k, "share": {"in_band": 0.5, "balance": 1.0, "alerts": None}} for k in range(n)]
    fig = review_command.progress_figure(rows)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert min(ticks) >= 1 and max(ticks) <= n
    ys = np.concatenate([np.asarray(line.get_ydata(), float) for line in ax.get_lines()])
    ymax = float(np.max(ys[np.isfinite(ys)]))
    assert ymax <= 100.0 and ax.get_ylim()[1] <= 105
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_a_one_hand_glove_without_region_or_routine_is_debriefed(tmp_path):
    dev = make_device(glove_id="one-hand", hands=("left",))
    f = np.zeros((int(8 * RATE), 8))
    f[int(1 * RATE):int(7 * RATE), 1] = 5.0
    log = write_log(tmp_path / "one.mglog", dev, forces=f, routine=None)
    out, st = tmp_path / "r.html", tmp_path / "st.csv"
    assert cli.main(["review", str(log), "--html", str(out), "--csv-stages", str(st)]) == 0
    page = out.read_text(encoding="utf-8")
    for leak in (">None<", "True", "False", "nan"):
        assert leak not in page, leak
    assert 'id="timeline"' in page and "Left hand" in page
    rows = _read_csv(st)
    assert len(rows) == 2 and rows[1][:2] == ["No routine", "No region set"]
    assert float(rows[1][rows[0].index("hands_on_s")]) == pytest.approx(6.0, abs=0.1)


def test_each_part_of_a_richer_review_says_why_it_lost_points():
    """The reasons read the review's own figures, whichever parts the review scores: a
    review dict with every part losing points, and the too-much gate."""
    parts = ["in_band", "alerts", "rules", "warm_up", "rhythm", "pace", "consistency", "hands_on", "coverage",
             "holds", "cool_down", "fatigue", "contact", "receiver", "balance", "session_length", "technique_time"]
    seg = {"hand": "right", "region": "upper_trapezius", "technique": "kneading", "stage": "kneading_traps",
           "t0_s": 10.0, "t1_s": 40.0, "strokes": 30, "rate_per_min": 140.0, "usual_rate_per_min": 80.0,
           "rate_range_per_min": [60.0, 100.0], "pace": "too_fast", "too_fast": True, "too_slow": False,
           "rhythm_cv": 0.4, "peak_cv": 0.5, "peak_median_n": 20.0, "pauses": 3, "paused_s": 7.0,
           "rushing": True, "inconsistent_pressure": True, "irregular_rhythm": True, "stop_start": True}
    r = {
        "routine": "demo", "channels": [{"name": c.name, "hand": c.hand, "site": c.site, "class": c.sensor_class}
                                        for c in DEV.channels],
        "regions": {"lower_back": {"pct_in_allowed": 77.0, "allowed": "medium", "hands_on_s": 20.0, "seconds": 20.0,
                                   "pct_by_band": {"light": 60.0, "medium": 17.0, "firm": 23.0, "too_much": 0.0}}},
        "episodes": {"count": 3, "seconds": 84.4, "list": [{"region": "upper_trapezius", "saturated": True}]},
        "alerts": [], "strokes": {"segments": [seg]},
        "rules": {"violations": [{"rule": "percussion", "text": "Percussion over the kidney area."}]},
        "warm_up": {"first_firm_s": 20.0, "done_s": 15.0, "needed_s": 60.0, "ok": False},
        "hands_on": {"fraction": 0.62, "working_s": 180.0},
        "coverage": {"missed": ["sides"], "covered": ["lower_back"], "targets": ["lower_back", "sides"]},
        "holds": [{"region": "paraspinals", "t0_s": 200.0, "seconds": 25.0, "min_s": 10.0, "limit_s": 15.0,
                   "too_long": True}],
        "cool_down": {"light_fraction": 0.4, "lighter": False, "slower": False},
        "fatigue": {"late_to_early_peak_ratio": 0.7},
        "contact": {"p90_light_edge_share": 0.4, "too_light": True},
        "receiver": {"feedback": [{"t_s": 90.0, "eased": False}, {"t_s": 120.0, "eased": True}]},
        "balance": {"ratio": 2.5, "work_ns": {"right": 500.0, "left": 200.0}},
        "session_length": {"minutes": 4.0, "verdict": "too_short", "kind": "standard"},
        "technique_time": {"seconds": {"kneading": 30.0}, "verdicts": {"kneading": "too_short"}},
        "score": {"total": 40.0, "parts_total": 60.0, "episode_gate": 0.667,
                  "breakdown": {p: {"fraction": 0.5, "max": 5.0, "points": 2.5, "lost": 2.5} for p in parts}},
    }
    names = D.Names.for_review(r)
    why = D.lost_reasons(r, names)
    want = {"in_band": "Lower back 23.0 %", "alerts": "3 too-much episodes, 84 s in all", "rules": "kidney",
            "warm_up": "needs 60 s", "rhythm": "3 pauses", "pace": "140 strokes/min, too fast (usual 60-100)",
            "consistency": "peaks varied 50 %", "hands_on": "62 %", "coverage": "Sides (lats)",
            "holds": "25 s hold on the muscles along the spine at 200 s, too long (advised 10-15 s)",
            "cool_down": "light 40 %", "fatigue": "70 %", "contact": "0.4 x the light edge",
            "receiver": "1 of 2 requests", "balance": "2.5 times", "session_length": "4 min of work, too short",
            "technique_time": "Kneading (petrissage) 0.5 min, too short"}
    for p in parts:
        assert want[p] in why[p], (p, why[p])
    assert "kneading_traps" not in " ".join(why.values())
    g = D.gate_row(r)
    assert g["lost"] == pytest.approx(20.0) and g["factor"] == pytest.approx(0.667) and "3 too-much episodes" in g["reason"]
    txt = render_text({**r, "trainee": "Ana", "start_time": "x", "duration_s": 60.0, "glove_id": "g", "skill": "trained",
                       "advice": [], "marks": [], "notes": [], "strokes": {"segments": [seg], "count": {"right": 30}}})
    assert "Too-much episodes" in txt and "-20.0" in txt


def test_the_back_map_in_the_html_names_each_region_as_text(evil_outputs):
    import base64
    import re
    page = evil_outputs["html"].read_text(encoding="utf-8")
    m = re.search(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert m, "the review has no back map"
    svg = base64.b64decode(m.group(1)).decode("utf-8")
    assert svg.startswith("<svg") and "<script" not in svg.lower()
    # a region the regions data does not know is not drawn (the back has only the ten); the
    # ten are named from the data file
    assert "onmouseover" not in svg
    assert "Neck" in svg and "Kidney" in svg, svg[:400]
