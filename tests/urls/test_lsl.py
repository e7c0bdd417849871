"""The LSL outlet: an inlet on loopback receives the chain's forces and bands in order, on
rising timestamps, with every alert, region, stage and mark of the session as a marker."""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from massage_glove.log import load
from massage_glove.lsl import LslTap, band_codes, source_id
from massage_glove.replay import ReplaySession, logged_alerts


class _Record:
    """A tap keeping what the chain produced (the truth the inlet is compared with)."""

    def __init__(self):
        self.forces, self.bands = [], []

    def on_result(self, g, block, res):
        self.forces.append(np.asarray(res.filtered_n, np.float32))
        self.bands.append(band_codes(res, g.pipeline.profile.contact_n, g.hand_of,
                                     len(g.pipeline.hands)))

    def on_alert(self, *a):
        pass

    def on_event(self, *a):
        pass


def _pull(inlet, out, stop, n_ch, string=False):
    while not stop.is_set():
        data, ts = inlet.pull_chunk(timeout=0.2, max_samples=4096)
        if ts:
            out[0].extend(data)
            out[1].extend(ts)


def test_an_inlet_gets_the_forces_bands_and_every_marker(heavy_log, pylsl_loopback):
    pylsl = pylsl_loopback
    slog = load(heavy_log["path"])
    ref = ReplaySession(slog, realtime=False)
    rec = _Record()
    ref.opt.taps = (rec,)
    ref.run_to_end()
    want_f = np.concatenate(rec.forces)
    want_b = np.concatenate(rec.bands)
    assert want_f.shape[0] == len(slog.samples)

    s = ReplaySession(slog, realtime=False)
    tap = LslTap(s)
    s.opt.taps = (tap,)
    trainee, glove = slog.header["trainee"], slog.device.glove_id
    inlets, got, threads = {}, {}, []
    stop = threading.Event()
    for kind in ("forces", "bands", "markers"):
        found = pylsl.resolve_byprop("source_id", source_id(glove, trainee, kind), 1, 5.0)
        assert found, f"the {kind} stream is not found on loopback"
        info = found[0]
        inlets[kind] = pylsl.StreamInlet(info, max_buflen=600, recover=True)
        inlets[kind].open_stream(timeout=5.0)
        got[kind] = ([], [])
        threads.append(threading.Thread(target=_pull, args=(inlets[kind], got[kind], stop, 0),
                                        daemon=True))
    full = inlets["forces"].info(timeout=5.0)
    assert full.nominal_srate() == slog.header["rate_hz"]
    assert full.channel_format() == pylsl.cf_float32
    ch = full.desc().child("channels").child("channel")
    labels, units, classes, hands = [], [], [], []
    while not ch.empty():
        labels.append(ch.child_value("label"))
        units.append(ch.child_value("unit"))
        classes.append(ch.child_value("sensor_class"))
        hands.append(ch.child_value("hand"))
        ch = ch.next_sibling()
    assert labels == slog.channel_names
    assert set(units) == {"newtons"}
    assert classes == [c.sensor_class for c in slog.device.channels]
    assert hands == [c.hand for c in slog.device.channels]
    sid = full.desc().child("session").child_value("session_id")
    assert sid == slog.header["extra"]["session_id"]
    assert inlets["bands"].info(timeout=5.0).channel_format() == pylsl.cf_int8
    for t in threads:
        t.start()
    try:
        s.start()
        s.wait()
        tap.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
                len(got["forces"][1]) < len(want_f) or len(got["bands"][1]) < len(want_b)
                or not any('"end"' in m[0] for m in got["markers"][0])):
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=2)
        s.close()
        for i in inlets.values():
            i.close_stream()
        del tap
    f = np.asarray(got["forces"][0], np.float32)
    ts = np.asarray(got["forces"][1])
    assert f.shape == want_f.shape
    assert np.array_equal(np.isnan(f), np.isnan(want_f))
    assert np.array_equal(np.nan_to_num(f), np.nan_to_num(want_f))      # float32, bit for bit
    assert np.all(np.diff(ts) > 0)
    # stamps keep the device's spacing: 1/rate apart, to a microsecond
    dt = np.diff(slog.samples.t_device_s)
    assert np.allclose(np.diff(ts), dt, atol=2e-6)
    b = np.asarray(got["bands"][0], np.int8)
    assert np.array_equal(b, want_b)
    assert np.all(np.diff(np.asarray(got["bands"][1])) > 0)
    # the markers: every logged alert, region, stage and mark
    markers = [json.loads(m[0]) for m in got["markers"][0]]
    mts = np.asarray(got["markers"][1])
    alerts = [(m["rule"], m["sensor"]) for m in markers if m["type"] == "alert"]
    assert alerts == [(a["rule"], a["sensor"]) for a in logged_alerts(slog)]
    for kind in ("region", "stage", "mark"):
        logged = [e.fields.get(kind if kind != "mark" else "text") for e in slog.events if e.kind == kind]
        sent = [m.get(kind if kind != "mark" else "text") for m in markers if m["type"] == kind]
        assert sent == logged, kind
    # an alert marker's stamp is its sample's stamp
    first = next(i for i, m in enumerate(markers) if m["type"] == "alert")
    k = int(np.searchsorted(slog.samples.t_device_s, markers[first]["t_device_s"] - 1e-7))
    assert abs(mts[first] - ts[k]) < 1e-5
    region = next(m for m in markers if m["type"] == "region" and m.get("region"))
    assert "allowed" in region and "name" in region


def test_live_lsl_streams_the_sessions_forces(pylsl_loopback, tmp_path):
    """`live --lsl` on the simulated glove: the forces stream carries the session's forces
    (every sample the log holds, in order, timestamps 1/rate apart on the device clock)."""
    import contextlib
    import io
    import json as _json

    from massage_glove import cli
    pylsl = pylsl_loopback
    got = ([], [])
    stop = threading.Event()
    inlet_box = {}

    def listen():
        found = pylsl.resolve_byprop("source_id", source_id("lsl-live", "lia", "forces"), 1, 20.0)
        if not found:
            return
        inlet = pylsl.StreamInlet(found[0], max_buflen=60)
        inlet.open_stream(timeout=5.0)
        inlet_box["info"] = inlet.info(timeout=5.0)
        while not stop.is_set():
            d, ts = inlet.pull_chunk(timeout=0.2, max_samples=4096)
            got[0].extend(d)
            got[1].extend(ts)
        inlet.close_stream()

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["live", "--port", "sim://?trainee=good&seed=2&glove_id=lsl-live&lead_in=1",
                       "--region", "paraspinals", "--trainee", "lia", "--headless", "--json",
                       "--no-bell", "--duration", "8", "--lsl", "--log-dir", str(tmp_path)])
    time.sleep(1.0)
    stop.set()
    th.join(timeout=5)
    s = _json.loads(buf.getvalue())
    assert rc == 0 or s["problems"] == [], s["problems"]
    assert "info" in inlet_box, "the live session's forces stream was found on loopback"
    f = np.asarray(got[0], np.float32)
    ts = np.asarray(got[1])
    log = load(s["gloves"][0]["log"])
    assert f.shape[1] == len(log.channel_names)
    # the inlet connected a moment after the stream appeared: what it got is the tail
    assert len(ts) >= 0.5 * len(log.samples)
    assert np.all(np.diff(ts) > 0)
    dt = np.diff(log.samples.t_device_s[-len(ts):])
    assert np.allclose(np.diff(ts), dt, atol=2e-6)
