"""The live window drawn offscreen from the real session on the simulated glove (real
firmware, pty, link, signal chain): traces, band colours, an alert banner after a
violation, the region label after a region key."""
from __future__ import annotations

import time

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from massage_glove.link import GloveLink
from massage_glove.live.session import LiveSession, SessionOptions
from massage_glove.live.state import BAND_COLOURS, BAND_LABELS
from massage_glove.live.view_mpl import FIG_DPI, FIG_SIZE_IN, LiveFigure
from massage_glove.sim import scripts
from massage_glove.sim.glove import SimGlove


def _wait(cond, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_window_from_the_simulated_glove(tmp_path):
    # medium effleurage on the paraspinals: fine there, over the limit on the neck
    plan = [{"stage": "work", "region": "paraspinals", "technique": "effleurage",
             "duration_s": 60.0, "band": "medium"}]
    with SimGlove(scripts.routine_script(plan, seed=5)) as sim:
        link = GloveLink.open(sim.port)
        try:
            s = LiveSession([link], SessionOptions(region="paraspinals", log_dir=tmp_path,
                                                   bell=False)).start()
            assert _wait(lambda: s.gloves[0].tared and s.session_time() > 4.0)
            fig = Figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI)
            FigureCanvasAgg(fig)
            snap = s.snapshot()
            live = LiveFigure(fig, snap)
            live.frame(snap)
            # traces: every sensor's line carries the session's force, and some of it is real
            lines = {j: line for g in live.groups for line, j in zip(g.lines, g.columns)}
            assert sorted(lines) == list(range(16))
            ys = np.concatenate([np.asarray(line.get_ydata(), float) for line in lines.values()])
            assert np.nanmax(ys) > 1.0
            # band colours of the hand pictures follow the session's bands
            for p in live.pictures:
                for j, c in p.markers.items():
                    assert to_hex(c.get_facecolor()) == BAND_COLOURS[snap.sensors[j].band]
                assert p.band_text.get_text() == BAND_LABELS[snap.hand_band[p.hand]]
            assert not live.alert_banner.get_visible()
            assert live.region_text.get_text().startswith("Along the spine")
            # the neck key: the region label changes and medium strokes there raise an alert
            s.key("n")
            assert _wait(lambda: s.snapshot().region == "neck")
            assert _wait(lambda: any(a.rule in ("over_limit", "over_limit_hand")
                                     for a in s.snapshot().alerts), timeout=15)
            snap = s.snapshot()
            live.frame(snap)
            assert live.region_text.get_text().startswith("Neck and head")
            assert live.limit_text.get_text() == "limit: LIGHT"
            assert live.alert_banner.get_visible()
            assert "neck" in live.alert_banner.get_text()
            s.close()
        finally:
            link.close()
