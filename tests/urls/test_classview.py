"""The class view with several simulated trainees on loopback LSL: each tile shows its
trainee's band and last alert, a trainee who disconnects is marked lost and comes back,
and a name with markup or terminal escape sequences is shown as text."""
from __future__ import annotations

import gc
import time

import numpy as np
import pytest

from massage_glove.classview.render import render_text, safe_text
from massage_glove.classview.views import ClassFigure
from massage_glove.log import load
from massage_glove.replay import logged_alerts

NASTY = "Zoë <b>$x^2$</b> \x1b[31mRED\x1b[0m\nnext"


def _wait(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    return cond()


@pytest.fixture(scope="module")
def classroom(heavy_log, pylsl_loopback):
    from massage_glove.classview.source import LslClass
    from massage_glove.classview.trainees import Trainee
    slog = load(heavy_log["path"])
    t0 = float(slog.samples.t_device_s[0])
    first_alert = logged_alerts(slog)[0]["t_device_s"] - t0
    starts = {"ana": 20.0, "ben": first_alert - 6.0, NASTY: 60.0}
    trainees = {n: Trainee(slog, n, start_s=s).start() for n, s in starts.items()}
    # each replay first runs the chain up to its start offset: let them all be playing
    assert _wait(lambda: all(t.session.position_s() >= t.start_s for t in trainees.values()), 60)
    cls = LslClass().start()
    try:
        yield cls, trainees, slog
    finally:
        cls.close()
        for t in trainees.values():
            t.stop()
        gc.collect()


def _tile(cls, name):
    return next((t for t in cls.tiles() if t.name == name), None)


def test_every_trainee_gets_a_tile_with_their_band(classroom):
    cls, trainees, _ = classroom
    assert _wait(lambda: len(cls.tiles()) == 3), [t.name for t in cls.tiles()]
    assert _wait(lambda: all(t.hand_band for t in cls.tiles())), "band samples reach every tile"
    for name, tr in trainees.items():
        tile = _tile(cls, name)
        truth = tr.session.snapshot().hand_band
        assert set(tile.hand_band) == set(truth)
        assert not tile.lost
        assert tile.region_name != "" and tile.glove_id == tr.slog.device.glove_id


def test_a_tile_shows_its_trainees_last_alert(classroom):
    cls, trainees, _ = classroom
    ben = trainees["ben"]
    assert _wait(lambda: _tile(cls, "ben"))
    n0 = len(ben.alerts)               # alerts of the chain before the tile could see them
    assert _wait(lambda: len(ben.alerts) > n0, 30.0), "ben's replay reaches an alert"
    tile = _wait(lambda: (t := _tile(cls, "ben")) and t.last_alert and t, 10.0)
    assert tile, "the alert reaches ben's tile"
    assert tile.last_alert in [a["text"] for a in ben.alerts[n0:]]
    # and only ben's tile: ana (20 s in, warming up with light strokes) has none
    assert _tile(cls, "ana").last_alert == ""


def test_the_band_colour_matches_what_the_trainee_sees(classroom):
    """Each tile's hand bands against the trainee's own live view at the same moment."""
    cls, trainees, _ = classroom
    hits, seen = 0, set()
    for _ in range(30):
        for name, tr in trainees.items():
            truth = tr.session.snapshot().hand_band       # what the trainee's screen shows
            tile = _tile(cls, name)
            seen.update(truth.values())
            hits += tile.hand_band == truth
        time.sleep(0.1)
    # a tile may be one poll (20 ms) behind a band change: nearly always the same
    assert hits >= 0.8 * 90, hits
    assert len(seen) >= 2, "the trainees were in more than one band"


def test_a_disconnected_trainee_is_lost_and_comes_back(classroom):
    cls, trainees, _ = classroom
    ana = trainees["ana"]
    ana.stop()
    gc.collect()
    tile = _wait(lambda: (t := _tile(cls, "ana")) and t.lost and t, 10.0)
    assert tile and tile.attention and "silent" in tile.reason
    assert cls.tiles()[0].name == "ana"                 # moved to the front
    assert "LOST" in render_text(cls.tiles())
    ana.start()
    back = _wait(lambda: (t := _tile(cls, "ana")) and not t.lost and t, 20.0)
    assert back, "the same tile comes back when the trainee's streams return"
    assert len([t for t in cls.tiles() if t.name == "ana"]) == 1


def test_a_name_with_markup_or_escapes_is_shown_as_text(classroom):
    cls, _, _ = classroom
    tile = _wait(lambda: _tile(cls, NASTY))
    assert tile is not None
    text = render_text(cls.tiles(), colour=False)
    assert "\x1b[31m" not in text and "\\x1b[31mRED" in text
    assert "<b>$x^2$</b>" in text
    assert "\n" not in safe_text(NASTY) and "\\nnext" in safe_text(NASTY)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure()
    ClassFigure(fig).draw(cls.tiles(), 0.0)
    fig.canvas.draw()
    shown = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("<b>$x^2$</b>" in s for s in shown)        # literally, not as mathtext
    assert all("\x1b" not in s for s in shown)
    plt.close(fig)


def test_a_key_opens_the_trainees_full_live_view(classroom):
    from massage_glove.classview.views import open_remote
    from massage_glove.live.view_term import render
    cls, trainees, slog = classroom
    tiles = cls.tiles()
    i = next(k for k, t in enumerate(tiles) if t.name == "ben")
    key = "123456789"[i]
    assert _wait(lambda: cls.trainees[tiles[i].key].forces_info is not None)
    remote = open_remote(cls, tiles, key)
    assert remote is not None
    try:
        assert _wait(lambda: len(remote.snapshot().trace_t) > 200, 10.0)
        snap = remote.snapshot()
        assert [v.name for v in snap.sensors] == slog.channel_names
        assert snap.trace_force.shape == (len(snap.trace_t), len(slog.channel_names))
        # the hands' bands as ben's own view shows them (within a band change)
        assert _wait(lambda: remote.snapshot().hand_band == trainees["ben"].session.snapshot().hand_band, 5.0)
        assert "ben" in render(snap, width=100)
        remote.key("q")
        assert not remote.running
    finally:
        remote.close()


def test_the_terminal_version_draws_every_tile(classroom):
    import io
    import threading as _threading

    from massage_glove.classview.views import ClassTermView
    cls, trainees, _ = classroom
    class Source:                    # the class source, stopped by the test after 1.5 s
        running = True
        tiles = staticmethod(cls.tiles)

        def stop(self):
            self.running = False

    src = Source()
    out = io.StringIO()
    view = ClassTermView(src, fps=10, stream=out, stdin=io.StringIO())
    stopper = _threading.Timer(1.5, src.stop)
    stopper.start()
    try:
        view.run()
    finally:
        stopper.cancel()
    text = out.getvalue()
    assert view.frames >= 1
    for name in ("ana", "ben"):
        assert name in text
    assert "\x1b[31mRED" not in text
