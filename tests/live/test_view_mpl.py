"""The live window drawn offscreen (Agg) from a fake source: what is drawn, and the blitting."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgba
from matplotlib.figure import Figure

from fakesource import FakeSource, demo_routine
from massage_glove.live.state import BAND_COLOURS, BAND_LABELS
from massage_glove.live.view_mpl import FIG_DPI, FIG_SIZE_IN, LiveFigure, MplView, decimate_minmax


def make(hands=("left", "right"), **kw):
    src = FakeSource(hands=hands, routine=kw.pop("routine", demo_routine()), **kw)
    src.advance(12.0)
    fig = Figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI)
    FigureCanvasAgg(fig)
    live = LiveFigure(fig, src.snapshot())
    live.frame(src.snapshot())
    return src, live


def step(src, live, dt=1 / 30):
    src.advance(dt)
    snap = src.snapshot()
    live.frame(snap)
    return snap


def pixels(live):
    return np.asarray(live.canvas.buffer_rgba())[..., :3].copy()


def area_has_colour(live, artist, colour, tol=6):
    """Whether any pixel inside the artist's extent has this colour."""
    x0, y0, x1, y1 = live._extent(artist, live.canvas.get_renderer())
    h = int(live.fig.bbox.height)
    px = pixels(live)[h - int(y1):h - int(y0), int(x0):int(x1)].astype(int)
    want = (np.array(to_rgba(colour)[:3]) * 255).round().astype(int)
    return bool((np.abs(px - want).max(axis=-1) <= tol).any())


def test_traces_present_with_the_snapshot_data():
    src, live = make()
    snap = step(src, live)
    lines = {j: line for g in live.groups for line, j in zip(g.lines, g.columns)}
    assert sorted(lines) == list(range(16))
    assert len(snap.trace_t) == 2000
    x_all = snap.trace_t - snap.t_s
    for j, line in lines.items():
        # the drawn points are samples of the trace (the lowest and highest per 2 pixels)
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert 300 < len(x) < 2000
        k = np.searchsorted(x_all, x)
        np.testing.assert_allclose(x_all[k], x)
        np.testing.assert_allclose(snap.trace_force[k, j], y)
        assert y.max() == snap.trace_force[:, j].max() and y.min() == snap.trace_force[:, j].min()
        assert x[0] == x_all[0] and x[-1] == x_all[-1]
    # one axes per hand and sensor class, each shaded with its own class's edges
    assert [(g.hand, g.sensor_class) for g in live.groups] == [
        ("left", "fsr402"), ("left", "fsr406"), ("right", "fsr402"), ("right", "fsr406")]
    palm = live.groups[1]
    assert [r.get_y() for r in palm.spans] == pytest.approx([0.0, 10.0, 25.0, 40.0])
    assert palm.limit_line.get_ydata()[0] == pytest.approx(40.0)     # paraspinals: limit firm


def test_one_glove_and_a_nan_sensor():
    src, live = make(hands=("right",))
    src.faults[2] = "open"
    snap = step(src, live)
    assert len(live.pictures) == 1 and len(live.groups) == 2
    line = live.groups[0].lines[2]
    assert np.isnan(line.get_ydata()).all()
    marker = live.pictures[0].markers[2]
    assert to_hex(marker.get_facecolor()) == BAND_COLOURS["fault"]
    assert marker.get_hatch()
    assert snap.sensors[2].band == "fault"


def test_hand_markers_and_big_band_follow_the_snapshot():
    src, live = make()
    for _ in range(5):
        snap = step(src, live, dt=0.37)
        for p in live.pictures:
            for j, c in p.markers.items():
                assert to_hex(c.get_facecolor()) == BAND_COLOURS[snap.sensors[j].band]
                assert snap.sensors[j].hand == p.hand
            band = snap.hand_band[p.hand]
            assert p.band_text.get_text() == BAND_LABELS[band]
            assert to_hex(p.band_text.get_bbox_patch().get_facecolor()) == BAND_COLOURS[band]
            assert area_has_colour(live, p.band_text, BAND_COLOURS[band])
    bands = {s.band for s in snap.sensors}
    assert len(bands) > 1, "the fake forces should give several bands"


def test_alert_banner_flashes_then_stays_then_goes():
    src, live = make()
    assert not live.alert_banner.get_visible()
    src.alert("Too much pressure on the neck: ease off now.")
    step(src, live, dt=0.0)
    assert live.alert_banner.get_visible()
    assert live.alert_banner.get_text() == "Too much pressure on the neck: ease off now."
    red = BAND_COLOURS["too_much"]
    assert area_has_colour(live, live.alert_banner, red)
    step(src, live, dt=0.15)        # flashing: the off phase inverts the banner
    assert to_hex(live.alert_banner.get_bbox_patch().get_facecolor()) == "#ffffff"
    step(src, live, dt=1.5)         # steady after the first second, still showing
    assert live.alert_banner.get_visible()
    assert to_hex(live.alert_banner.get_bbox_patch().get_facecolor()) == red
    step(src, live, dt=4.0)         # aged out
    assert not live.alert_banner.get_visible()
    assert not area_has_colour(live, live.status_text, red)


def test_older_alerts_listed_under_the_stage():
    src, live = make()
    src.alert("First alert sentence.", "warning")
    src.advance(2.0)
    src.alert("Second alert sentence.")
    step(src, live)
    assert live.alert_banner.get_text() == "Second alert sentence."
    assert "First alert sentence." in live.alert_older.get_text()


def test_region_key_changes_label_shading_and_background():
    src, live = make()
    step(src, live)
    before = live.background_captures
    assert live.region_text.get_text().startswith("Along the spine")
    step(src, live)
    assert live.background_captures == before          # nothing static changed
    src.key("n")
    step(src, live)
    assert live.background_captures == before + 1      # shading moved: new background
    assert live.region_text.get_text().startswith("Neck and head")
    assert live.limit_text.get_text() == "limit: LIGHT"
    fingers = live.groups[0]
    assert [r.get_y() for r in fingers.spans] == pytest.approx([0.0, 3.2, 7.2, 12.0])
    assert fingers.limit_line.get_ydata()[0] == pytest.approx(3.2)  # light|medium edge
    assert "> n neck" in live.keys_text.get_text()


def test_stage_countdown_and_next():
    src, live = make()                        # t = 12 s in a 30 s first stage
    assert live.stage_title.get_text() == "Stage 1/2: Warm-up: light effleurage"
    assert live.stage_clock.get_text() == "0:18"
    assert live.stage_next.get_text() == "Next: The neck, lightly"
    step(src, live, dt=23.0)                  # 35 s: 15 s left of the second stage
    assert live.stage_title.get_text() == "Stage 2/2: The neck, lightly"
    assert live.stage_clock.get_text() == "0:15"
    assert live.stage_next.get_text() == "Last stage"


def test_problems_box_and_paused_overlay():
    src, live = make()
    assert not live.problems_text.get_visible() and not live.paused_text.get_visible()
    src.problems = ("glove R disconnected: check the cable",)
    src.key(" ")
    step(src, live)
    assert live.problems_text.get_visible()
    assert "glove R disconnected" in live.problems_text.get_text()
    assert area_has_colour(live, live.problems_text, "#c62828")
    assert live.paused_text.get_visible() and "PAUSED" in live.paused_text.get_text()
    src.problems = ()
    src.key(" ")
    step(src, live)
    assert not live.problems_text.get_visible() and not live.paused_text.get_visible()


def test_update_returns_the_animated_artists():
    src, live = make()
    src.advance(0.1)
    artists = live.update(src.snapshot())
    assert artists and all(a.get_animated() for a in artists)
    for a in (live.alert_banner, live.stage_clock, live.status_text, live.paused_text,
              *live.groups[0].lines, *live.pictures[0].markers.values(), live.pictures[0].band_text):
        assert a in artists
    for a in (live.region_text, live.keys_text, live.groups[0].spans[0]):
        assert a not in artists and not a.get_animated()


def test_a_steady_frame_redraws_only_the_traces():
    src, live = make()
    step(src, live)
    step(src, live, dt=0.001)       # same second, same bands: only the trace axes change
    x0 = min(g.ax.bbox.x0 for g in live.groups)
    x1 = max(g.ax.bbox.x1 for g in live.groups)
    y0 = min(g.ax.bbox.y0 for g in live.groups)
    y1 = max(g.ax.bbox.y1 for g in live.groups)
    assert live.last_blit
    for r in live.last_blit:        # copied to the screen: the trace column only
        assert x0 <= r[0] and r[2] <= x1 and y0 <= r[1] and r[3] <= y1


def test_blitted_frames_equal_a_full_redraw():
    """After frames with alerts, band changes, a region key and a pause, the blitted picture
    is pixel for pixel what a full redraw of the last snapshot gives."""
    src, live = make()
    fresh = Figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI)
    FigureCanvasAgg(fresh)
    ref = LiveFigure(fresh, src.snapshot())
    for i in range(21):
        if i == 3:
            src.alert("Too much pressure: ease off.")
        if i == 8:
            src.key("l")
        if i == 12:
            src.key(" ")
        if i == 15:
            src.problems = ("logging stopped for glove R: disk full",)
        if i == 18:
            src.key(" ")
            src.faults[9] = "saturated"
        snap = step(src, live, dt=0.21)
        if i % 3 != 1:
            continue
        ref.background = None           # the reference: a full redraw of this snapshot
        ref.frame(snap)
        diff = np.abs(pixels(live).astype(int) - pixels(ref).astype(int))
        assert diff.max() <= 2, f"frame {i}: {np.count_nonzero(diff.max(axis=-1) > 2)} pixels differ"


def test_savefig_includes_the_animated_artists(tmp_path):
    src, live = make()
    src.alert("Too much pressure: ease off.")
    step(src, live)
    out = tmp_path / "live.png"
    live.savefig(out)
    assert out.stat().st_size > 10_000
    step(src, live)
    assert live.background is not None


class _Event:
    def __init__(self, key):
        self.key = key


def test_window_keys_go_to_the_source():
    src = FakeSource()
    view = MplView(src)
    for k in ("n", "N", " ", "space", "m", "shift", "escape"):
        view._on_key(_Event(k))
    assert src.keys == ["n", "n", " ", " ", "m", "q"]
    assert not src.running


def test_decimation_keeps_peaks_order_and_gaps():
    x = np.arange(1000) / 100.0
    y = np.sin(x * 3.0)
    y[500] = 50.0                       # a spike must stay exactly as tall
    y[700:710] = np.nan                 # a gap stays a gap
    xd, yd = decimate_minmax(x, y, 100)
    assert len(xd) <= 2 * 100 + 10
    assert np.all(np.diff(xd) >= 0)
    assert np.nanmax(yd) == 50.0 and xd[np.nanargmax(yd)] == 5.0
    assert np.isnan(yd[(xd >= 7.0) & (xd < 7.1)]).any()
    short = np.arange(50.0)
    assert decimate_minmax(short, short, 100)[1] is short
