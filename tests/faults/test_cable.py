"""Cable faults through a real pty against the simulated glove, during a logged live session.

Each fault ends with the session still logged (the log is read back), the hole recorded
with its length, and the stream going on. The link's own reaction is tested in
tests/test_link.py; here the whole chain is: link -> session -> log.
"""
from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest

from massage_glove.sim.glove import SimGlove

from faultkit import LiveRun, assert_log_is_whole, events, wait_until


@pytest.fixture
def sim():
    with SimGlove() as s:        # a glove at rest, real-time clock
        yield s


def test_unplug_and_replug_mid_session(sim, tmp_path):
    run = LiveRun(sim, tmp_path)
    try:
        assert run.wait_samples(300)
        sim.unplug()
        assert wait_until(lambda: run.link.stats.disconnects == 1)
        detected = time.monotonic()
        assert wait_until(lambda: not run.glove.connected)
        assert any("disconnected" in p for p in run.session.snapshot().problems), \
            "the trainee is told the glove is disconnected"
        # the cable stays out for a while
        assert wait_until(lambda: time.monotonic() - detected >= 1.0)
        replugged = time.monotonic()
        sim.replug()
        assert wait_until(lambda: run.link.stats.reconnects == 1)
        assert run.wait_samples(300), "the stream resumed"
        assert run.session.snapshot().problems == ()
        assert run.session.running
    finally:
        summary = run.close()
    log = run.log()
    assert_log_is_whole(log, summary)
    (disc,), (rec,) = events(log, "disconnect"), events(log, "reconnect")
    assert disc.t_host_s <= rec.t_host_s
    assert rec.fields["seconds"] >= replugged - detected, "the gap is recorded with its length"
    # the hole is in the logged device time too, at the reconnection
    dt = np.diff(log.samples.t_device_s)
    assert dt.max() == pytest.approx(rec.fields["seconds"], abs=0.05)
    assert log.samples.t_host_s[-1] > rec.t_host_s, "samples after the replug are logged"


def test_glove_reboot_restarts_its_counters_mid_session(sim, tmp_path):
    run = LiveRun(sim, tmp_path)
    try:
        assert run.wait_samples(300)
        before = run.samples
        sim.reboot()
        assert wait_until(lambda: sim.boots == 2)
        assert run.wait_samples(400), "the stream resumed after the reboot"
    finally:
        summary = run.close()
    log = run.log()
    assert_log_is_whole(log, summary)
    (boot,) = events(log, "boot")
    assert boot.fields["seconds"] > 0, "the hole is recorded with its length"
    # the glove's seq restarted at 0; the logged numbering keeps rising without a gap
    assert not events(log, "gap")
    k = int(np.searchsorted(log.samples.t_host_s, boot.t_host_s))
    assert before <= k < len(log.samples)
    assert log.samples.seq[k] == log.samples.seq[k - 1] + 1
    assert log.samples.t_device_s[k] - log.samples.t_device_s[k - 1] >= boot.fields["seconds"]


def test_stalled_glove_for_a_second(sim, tmp_path):
    run = LiveRun(sim, tmp_path)
    try:
        assert run.wait_samples(300)
        stalled = threading.Thread(target=sim.stall, args=(1.0,))
        t0 = time.monotonic()
        stalled.start()
        stalled.join()
        held = time.monotonic() - t0
        assert run.wait_samples(300), "the stream resumed"
        assert run.session.snapshot().problems == ()
    finally:
        summary = run.close()
    log = run.log()
    assert_log_is_whole(log, summary)
    (stall,), (resume,) = events(log, "stall"), events(log, "resume")
    assert stall.t_host_s < resume.t_host_s
    assert resume.fields["seconds"] >= 0.9 * held, "the silence is recorded with its length"
    # the glove kept sampling into its ring: nothing is missing
    assert np.all(np.diff(log.samples.seq) == 1)
    assert summary["gloves"][0]["link"]["lost_samples"] == 0


def test_garbage_flood_and_corrupted_frames(sim, tmp_path):
    rng = random.Random(8)
    run = LiveRun(sim, tmp_path)
    try:
        assert run.wait_samples(200)
        for _ in range(16):                         # 64 KiB of line noise between frames
            sim.garbage(bytes(rng.randrange(256) for _ in range(4096)))
        sim.garbage(b"\x01" * 20000)                # longer than any frame, no delimiter
        sim.corrupt(5)
        assert sim.wait_corruptions(timeout=30)
        assert run.wait_samples(300), "the stream goes on through the flood"
    finally:
        summary = run.close()
    log = run.log()
    assert_log_is_whole(log, summary)
    st = summary["gloves"][0]["link"]
    # exactly the corrupted frames are missing, and the gaps recorded cover exactly them
    seq = log.samples.seq
    missing = sorted(set(range(int(seq[0]), int(seq[-1]) + 1)) - set(seq.tolist()))
    assert missing == sorted(sim.corrupted_seqs) and len(missing) == 5
    gaps = events(log, "gap")
    recorded = sorted(s for e in gaps for s in range(e.fields["first_seq"],
                                                     e.fields["first_seq"] + e.fields["missing"]))
    assert recorded == missing
    rate = log.header["rate_hz"]
    for e in gaps:
        assert e.fields["seconds"] == pytest.approx((e.fields["missing"] + 1) / rate, abs=1e-4)
    assert st["lost_samples"] == 5
    corrupt = events(log, "corrupt")
    assert len(corrupt) >= 5 + 1 and any(e.fields["reason"] == "long" for e in corrupt)
