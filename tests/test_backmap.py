"""The back map: ten regions of regions.json drawn live (current one highlighted, time worked
filling in) and as an SVG for the review (time and % in band per region, text escaped)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import matplotlib
import pytest

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from massage_glove.backmap import REGION_SHAPES, BackMap, back_svg  # noqa: E402
from massage_glove.signal import default_profile_set  # noqa: E402

NS = {"s": "http://www.w3.org/2000/svg"}
NAMES = {r.id: r.name for r in default_profile_set().regions.values()}


def test_every_region_of_the_data_file_has_a_shape_and_no_other():
    assert sorted(REGION_SHAPES) == sorted(NAMES) and len(NAMES) == 10
    # left-right pairs mirror each other; midline regions are symmetric about x = 0
    for rid, polys in REGION_SHAPES.items():
        xs = [x for p in polys for x, _ in p]
        assert min(xs) == pytest.approx(-max(xs))


def live_map():
    fig = Figure(figsize=(3, 4), dpi=80)
    FigureCanvasAgg(fig)
    return BackMap(fig.add_axes((0, 0, 1, 1)), NAMES)


def test_live_map_highlights_the_current_region_and_fills_with_time():
    bm = live_map()
    assert bm.update("neck", "#8fd3ff", {"neck": 10.0, "paraspinals": 40.0})
    neck = bm.patches["neck"][0]
    assert neck.get_linewidth() > 3 and to_rgba(neck.get_edgecolor()) == to_rgba("#8fd3ff")
    assert all(p.get_linewidth() < 1 for rid, ps in bm.patches.items() if rid != "neck" for p in ps)

    def darkness(rid):
        r, g, b, _ = bm.patches[rid][0].get_facecolor()
        return 3 - (r + g + b)

    # more time, stronger fill; never worked, untouched
    assert darkness("paraspinals") > darkness("neck") > darkness("sacrum")
    before = darkness("neck")
    assert not bm.update("neck", "#8fd3ff", {"neck": 10.0, "paraspinals": 40.0})   # no change
    bm.update("spine", "#8fd3ff", {"neck": 40.0, "paraspinals": 40.0, "spine": 1.0})
    assert darkness("neck") > before and bm.patches["neck"][0].get_linewidth() < 1
    assert all(p.get_linewidth() > 3 for p in bm.patches["spine"])       # both sides' shapes


def test_svg_has_every_region_with_time_and_percent_in_band():
    stats = {"neck": {"seconds": 83.0, "pct_in_band": 91.6}, "lower_back": {"seconds": 12.4, "pct_in_band": 40.0},
             "sacrum": {"seconds": 5.0, "pct_in_band": None}}
    svg = back_svg(stats, NAMES, current="neck")
    root = ET.fromstring(svg)
    polys = root.findall(".//s:polygon[@data-region]", NS)
    assert {p.get("data-region") for p in polys} == set(NAMES)
    keys = {t.get("data-region"): "".join(t.itertext()) for t in root.findall(".//s:text[@class='key']", NS)}
    assert "Neck and head: 1:23 worked, 92 % in band" in keys["neck"]
    assert "Lower back: 0:12 worked, 40 % in band" in keys["lower_back"]
    assert "Sacrum: 0:05 worked, - in band" in keys["sacrum"]
    assert "not worked" in keys["ribs"]
    # the current region is marked; deeper fill for more in band
    assert all("current" in p.get("class") for p in polys if p.get("data-region") == "neck")
    fill = {p.get("data-region"): p.get("fill") for p in polys}
    darkness = {k: sum(int(v[i:i + 2], 16) for i in (1, 3, 5)) for k, v in fill.items()}
    assert darkness["neck"] < darkness["lower_back"]


def test_svg_escapes_names_and_refuses_bad_numbers():
    names = dict(NAMES, neck='<script>alert("x")</script> & co')
    svg = back_svg({"neck": {"seconds": 1.0, "pct_in_band": 50.0}}, names, title="A & <b>")
    assert "<script" not in svg and "&lt;script&gt;" in svg and "&amp; co" in svg
    ET.fromstring(svg)                                   # still well-formed XML
    for bad in ({"seconds": -1.0, "pct_in_band": 5.0}, {"seconds": float("nan")},
                {"seconds": 3.0, "pct_in_band": 130.0}):
        with pytest.raises(ValueError, match="neck"):
            back_svg({"neck": bad}, NAMES)


def test_stats_from_a_session_summary():
    from massage_glove.backmap import stats_from_bands
    from massage_glove.live.session import BandSummary
    import numpy as np

    bs = BandSummary(rate_hz=100.0)
    on = np.ones(500, bool)                     # 5 s on the body per hand
    bs.add("neck", "right", on, np.r_[np.zeros(400, int), np.ones(100, int)], 0)   # 4 s light (allowed)
    bs.add("neck", "left", on[:200], np.zeros(200, int), 0)                       # 2 s light
    bs.add(None, "right", on, np.zeros(500, int), 0)                              # no region: left out
    stats = stats_from_bands(bs.as_dict())
    assert set(stats) == {"neck"}
    assert stats["neck"]["seconds"] == pytest.approx(5.0)
    assert stats["neck"]["pct_in_band"] == pytest.approx(100.0 * 6.0 / 7.0, abs=0.05)
    svg = back_svg(stats, NAMES)
    assert "Neck and head: 0:05 worked, 86 % in band" in svg
