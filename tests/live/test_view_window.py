"""The window read from the massage table: text scales with the window, legends and band names
outside the data and never overlapping, a pause badge that hides nothing, marks acknowledged
with their time, a letter per band on the hand dots, the back beside the hands."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fakesource import FakeSource, demo_routine
from massage_glove.live.state import BAND_LETTERS
from massage_glove.live.view_mpl import FIG_DPI, FIG_SIZE_IN, LiveFigure

MIN_TEXT_PX = 16.0        # instructions at the design size (1280 x 720): readable at ~2 m


def make(size_in=FIG_SIZE_IN, hands=("left", "right")):
    src = FakeSource(hands=hands, routine=demo_routine())
    src.advance(12.0)
    fig = Figure(figsize=size_in, dpi=FIG_DPI)
    FigureCanvasAgg(fig)
    live = LiveFigure(fig, src.snapshot())
    live.frame(src.snapshot())
    return src, live


def step(src, live, dt=1 / 30):
    src.advance(dt)
    live.frame(src.snapshot())


def px(live, text):
    return text.get_fontsize() * live.fig.dpi / 72.0


def extents(live, artists):
    r = live.canvas.get_renderer()
    return [a.get_window_extent(r) for a in artists]


def test_text_grows_and_shrinks_with_the_window():
    src, live = make()
    base = {t: t.get_fontsize() for t in (live.stage_instr, live.keys_text, live.region_text,
                                         live.alert_banner, live.groups[0].span_labels[0])}
    assert px(live, live.stage_instr) >= MIN_TEXT_PX and px(live, live.keys_text) >= 0.85 * MIN_TEXT_PX
    for factor in (1.5, 0.75):
        live.fig.set_size_inches(FIG_SIZE_IN[0] * factor, FIG_SIZE_IN[1] * factor)
        step(src, live)
        for t, size in base.items():
            assert t.get_fontsize() == pytest.approx(size * factor, rel=0.01)
        assert live.groups[0].ax.yaxis.get_major_ticks()[0].label1.get_fontsize() == pytest.approx(12 * factor, rel=0.01)
    # a wide, short window scales by its height (the text must still fit)
    live.fig.set_size_inches(FIG_SIZE_IN[0] * 2, FIG_SIZE_IN[1])
    step(src, live)
    assert live.stage_instr.get_fontsize() == pytest.approx(base[live.stage_instr], rel=0.01)


def test_legend_and_band_names_sit_outside_the_data():
    for size in (FIG_SIZE_IN, (FIG_SIZE_IN[0] * 1.4, FIG_SIZE_IN[1] * 1.4)):
        src, live = make(size)
        step(src, live)
        r = live.canvas.get_renderer()
        leg = live.legend.get_window_extent(r)
        for g in live.groups:
            data = g.ax.bbox
            assert not leg.overlaps(data), "the sensor legend covers a trace axes"
            for lab in g.span_labels:
                if lab.get_visible():
                    assert lab.get_window_extent(r).x0 >= data.x1
        # the legend names every sensor site once
        assert [t.get_text() for t in live.legend.get_texts()] == [
            "thumb", "index", "middle", "ring", "little", "knuckle index", "knuckle middle", "heel"]


@pytest.mark.parametrize("size", [FIG_SIZE_IN, (10.0, 5.625), (8.0, 9.0), (24.0, 13.5)])
def test_band_names_never_overlap(size):
    src, live = make(size)
    for region_key in ("p", "n"):
        src.key(region_key)
        step(src, live)
        for g in live.groups:
            shown = [lab for lab in g.span_labels if lab.get_visible()]
            boxes = extents(live, shown)
            for a, b in itertools.combinations(boxes, 2):
                assert not a.overlaps(b), f"{g.hand} {g.sensor_class}: band names overlap at {size}"
            # each shown name lies within its own band (so it names the right one)
            for lab, box in zip(shown, boxes):
                k = g.span_labels.index(lab)
                span = g.spans[k]
                lo = g.ax.transData.transform((0, span.get_y()))[1]
                hi = g.ax.transData.transform((0, span.get_y() + span.get_height()))[1]
                assert lo - 1 <= box.y0 and box.y1 <= hi + 1
    # at the design size the fingertip axes name all four bands
    src, live = make()
    step(src, live)
    assert all(lab.get_visible() for lab in live.groups[0].span_labels)


def trace_pixels(live):
    img = np.asarray(live.canvas.buffer_rgba())[..., :3].copy()
    h = int(live.fig.bbox.height)
    out = []
    for g in live.groups:
        x0, y0, x1, y1 = (int(round(v)) for v in g.ax.bbox.extents)
        out.append(img[h - y1:h - y0, x0:x1])
    return out


def test_pause_shows_a_badge_and_hides_nothing():
    src, live = make()
    step(src, live)
    live.canvas.draw()
    running = trace_pixels(live)
    src.key(" ")
    live.frame(src.snapshot())             # same moment, paused
    live.canvas.draw()
    paused = trace_pixels(live)
    assert live.paused_text.get_visible() and "PAUSED" in live.paused_text.get_text()
    assert live.paused_frame.get_visible()
    for a, b in zip(running, paused):
        np.testing.assert_array_equal(a, b)          # every trace pixel as it was
    r = live.canvas.get_renderer()
    badge = live.paused_text.get_window_extent(r)
    for g in live.groups:
        assert not badge.overlaps(g.ax.bbox)
    for p in live.pictures:
        assert not badge.overlaps(p.ax.bbox)


def test_a_mark_is_acknowledged_with_its_time_and_drawn_on_the_traces():
    src, live = make()
    src.key("m")                                      # at 0:12
    step(src, live, 2.0)
    assert live.mark_text.get_visible() and live.mark_text.get_text() == "Mark 1 saved at 0:12"
    for g in live.groups:
        assert g.mark_lines[0].get_visible()
        assert g.mark_lines[0].get_xdata()[0] == pytest.approx(-2.0)
    step(src, live, 3.0)                              # 5 s later the note goes, the line stays
    assert not live.mark_text.get_visible()
    assert live.groups[0].mark_lines[0].get_xdata()[0] == pytest.approx(-5.0)
    step(src, live, 6.0)                              # out of the 10 s window
    assert not live.groups[0].mark_lines[0].get_visible()


def test_hand_dots_carry_the_band_letter_too():
    src, live = make()
    step(src, live)
    snap = src.snapshot()
    live.frame(snap)
    seen = set()
    for p in live.pictures:
        for j, letter in p.letters.items():
            band = snap.sensors[j].band
            assert letter.get_text() == BAND_LETTERS[band]
            seen.add(band)
    assert len(seen) >= 2
    assert len(set(BAND_LETTERS[b] for b in ("light", "medium", "firm", "too_much"))) == 4


def test_the_back_beside_the_hands_shows_the_region_and_time_worked():
    src, live = make()
    step(src, live, 1.0)
    assert live.back_limit.get_text() == "limit FIRM"
    assert live.back_time.get_text() == "0:13 worked here"
    para = live.backmap.patches["paraspinals"]
    assert all(p.get_linewidth() > 3 for p in para)
    assert all(p.get_linewidth() < 1 for p in live.backmap.patches["neck"])
    r = live.canvas.get_renderer()
    back = live.backmap.ax.get_window_extent(r)
    for p in live.pictures:
        assert not back.overlaps(p.ax.get_window_extent(r))
    src.key("n")
    step(src, live, 1.0)
    assert all(p.get_linewidth() > 3 for p in live.backmap.patches["neck"])
    assert live.back_limit.get_text() == "limit LIGHT"


def test_texts_from_outside_are_shown_as_text():
    import dataclasses

    src, live = make()
    src.alert("Ease off: $\\frac{1}{0}$ \x1b[2J\x07 now")          # TeX and escapes: plain text
    snap = dataclasses.replace(src.snapshot(), status="glove \x1b]0;x\x07 ok $5")
    live.frame(snap)
    live.canvas.draw()                                              # a bad TeX string would raise
    assert live.alert_banner.get_text().startswith("Ease off: $\\frac{1}{0}$ [2J now")
    assert "\x1b" not in live.status_text.get_text() and "$5" in live.status_text.get_text()


def test_over_range_samples_are_drawn_on_the_traces_and_held_bands_named():
    import dataclasses

    src, live = make()
    snap = src.snapshot()
    over = np.zeros(snap.trace_force.shape, bool)
    j = next(k for k, v in enumerate(snap.sensors) if v.name == "R_index")
    over[-300:-100, j] = True                                # 1 s over range, ended 0.5 s ago
    snap = dataclasses.replace(snap, trace_over_range=over, hand_held={"right": "held: firm, 12.0 N 0.2 s ago"})
    live.frame(snap)
    g = next(g for g in live.groups if g.hand == "right" and j in g.columns)
    x, y = np.asarray(g.over_line.get_xdata(), float), np.asarray(g.over_line.get_ydata(), float)
    t = snap.trace_t - snap.t_s
    assert x[0] == pytest.approx(t[-300]) and x[1] == pytest.approx(t[-101])
    assert y[0] == pytest.approx(snap.trace_force[-300, j])
    assert all(len(o.over_line.get_xdata()) == 0 for o in live.groups if o is not g)
    right = next(p for p in live.pictures if p.hand == "right")
    assert right.held_text.get_text() == "held: firm, 12.0 N 0.2 s ago"


def test_long_texts_keep_their_line_count():
    from massage_glove.live.view_mpl import ALERT_LINES, ALERT_WRAP, wrap_lines
    text = ("Far too much pressure on the left thumb over the upper trapezius: 15.6 N, too much "
            "starts at 15 N. Stop and ease off now.")
    lines = wrap_lines(text, ALERT_WRAP, ALERT_LINES)
    assert len(lines) == ALERT_LINES and lines[-1].endswith(" ...") and all(len(x) <= ALERT_WRAP for x in lines)
    assert wrap_lines("Ease off.", ALERT_WRAP, ALERT_LINES) == ["Ease off."]
    src, live = make()
    src.alert(text)
    step(src, live)
    assert live.alert_banner.get_text().count("\n") == ALERT_LINES - 1
