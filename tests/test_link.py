"""The host link against the simulated glove (real firmware in MicroPython) through a pty."""
import os
import pty
import subprocess
import time
import tty

import numpy as np
import pytest

from massage_glove import paths
from massage_glove.errors import NotAGloveError, PortBusyError, PortNotFoundError, PortPermissionError
from massage_glove.link import GloveLink
from massage_glove.sim.glove import SimGlove


def collect(link, seconds, blocks, events, until=None):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        b, e = link.read(timeout=0.05)
        if len(b):
            blocks.append(b)
        events.extend(e)
        if until is not None and until(events):
            return True
    return False


def seqs(blocks):
    return np.concatenate([b.seq for b in blocks]) if blocks else np.zeros(0, np.int64)


@pytest.fixture
def sim():
    with SimGlove() as s:
        yield s


def test_ten_seconds_200hz_16_channels_nothing_lost(sim):
    link = GloveLink.open(sim.port)
    try:
        assert len(link.info.channels) == 16 and link.rate_hz == 200
        link.start()
        blocks, events = [], []
        collect(link, 10.5, blocks, events)
        s = seqs(blocks)
        t = np.concatenate([b.t_device_s for b in blocks])
        counts = np.concatenate([b.counts for b in blocks])
    finally:
        link.close()
    assert len(s) >= 2000
    assert np.all(np.diff(s) == 1), "every sample arrived, in order"
    assert np.allclose(np.diff(t), 0.005, atol=1e-6), "device time steps one period"
    assert link.stats.lost_samples == 0 and link.stats.rejected == {} and link.stats.device_drops == 0
    assert counts.shape[1] == 16 and counts.min() > 0, "an idle glove reads its bleed resistors"
    assert not [e for e in events if e.kind in ("gap", "drop", "corrupt", "disconnect")]


def test_corrupted_frames_are_counted_and_only_they_are_lost(sim):
    link = GloveLink.open(sim.port)
    try:
        link.start()
        blocks, events = [], []
        collect(link, 0.5, blocks, events)
        for _ in range(20):
            sim.corrupt(1)
            assert sim.wait_corruptions()
            collect(link, 0.06, blocks, events)
        sim.garbage(b"\x00\x17garbage \xff\x00\x00 more\x03")
        collect(link, 1.0, blocks, events)
    finally:
        link.close()
    s = seqs(blocks)
    expected = np.arange(s[0], s[-1] + 1)
    missing = sorted(set(expected) - set(s.tolist()))
    assert missing == sorted(sim.corrupted_seqs), "exactly the corrupted frames are missing"
    assert len(sim.corrupted_seqs) == 20
    assert link.stats.lost_samples == 20
    rejected = sum(link.stats.rejected.values())
    assert rejected >= 21, "20 corruptions and the garbage counted"
    assert len([e for e in events if e.kind == "corrupt"]) == rejected
    gaps = [e for e in events if e.kind == "gap"]
    assert sum(e.detail["missing"] for e in gaps) == 20


def test_unplug_and_replug_records_the_gap_and_resumes(sim):
    link = GloveLink.open(sim.port)
    try:
        link.start()
        blocks, events = [], []
        collect(link, 1.0, blocks, events)
        n_before = sum(len(b) for b in blocks)
        sim.unplug()
        assert collect(link, 3.0, blocks, events, until=lambda ev: any(e.kind == "disconnect" for e in ev))
        time.sleep(0.7)
        sim.replug()
        assert collect(link, 5.0, blocks, events, until=lambda ev: any(e.kind == "reconnect" for e in ev))
        collect(link, 1.0, blocks, events)
    finally:
        link.close()
    kinds = [e.kind for e in events]
    assert kinds.index("disconnect") < kinds.index("reconnect")
    rec = next(e for e in events if e.kind == "reconnect")
    assert rec.detail["seconds"] >= 0.7, "the gap is recorded with its length"
    n_after = sum(len(b) for b in blocks) - n_before
    assert n_after >= 150, "the stream resumed"
    s = seqs(blocks)
    t = np.concatenate([b.t_device_s for b in blocks])
    assert np.all(np.diff(s) > 0) and np.all(np.diff(t) > 0), "seq and time keep rising across the gap"
    assert np.max(np.diff(t)) >= 0.7, "device time shows the hole"
    assert link.stats.disconnects == 1 and link.stats.reconnects == 1


def test_glove_reboot_starts_a_new_epoch(sim):
    link = GloveLink.open(sim.port)
    try:
        link.start()
        blocks, events = [], []
        collect(link, 0.8, blocks, events)
        sim.reboot()
        assert collect(link, 5.0, blocks, events, until=lambda ev: any(e.kind == "boot" for e in ev))
        n = sum(len(b) for b in blocks)
        collect(link, 1.5, blocks, events)
        assert sum(len(b) for b in blocks) - n >= 150, "streaming again after the reboot"
    finally:
        link.close()
    s = seqs(blocks)
    assert np.all(np.diff(s) > 0)


def test_stalled_glove_is_reported_then_resumes_without_loss(sim):
    link = GloveLink.open(sim.port)
    try:
        link.start()
        blocks, events = [], []
        collect(link, 0.5, blocks, events)
        sim.stall(1.2)
        collect(link, 1.5, blocks, events)
    finally:
        link.close()
    kinds = [e.kind for e in events]
    assert "stall" in kinds and "resume" in kinds
    s = seqs(blocks)
    assert np.all(np.diff(s) == 1), "the glove's ring held the samples through the stall"


def test_wrong_port_says_what_to_do(tmp_path):
    with pytest.raises(PortNotFoundError, match="massage-glove ports"):
        GloveLink.open(str(tmp_path / "ttyNOPE"))


def test_busy_port(sim):
    link = GloveLink.open(sim.port)
    try:
        with pytest.raises(PortBusyError, match="in use"):
            GloveLink.open(sim.port)
    finally:
        link.close()


def test_silent_device_is_not_a_glove():
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        with pytest.raises(NotAGloveError, match="does not answer"):
            GloveLink.open(os.ttyname(slave), handshake_timeout=0.3)
    finally:
        os.close(master)
        os.close(slave)


def test_micropython_prompt_is_not_a_glove():
    master, slave = pty.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen([paths.micropython_exe()], stdin=slave, stdout=slave, stderr=slave)
    try:
        with pytest.raises(NotAGloveError, match="massage-glove flash"):
            GloveLink.open(os.ttyname(slave), handshake_timeout=0.5)
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
        os.close(slave)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may open any port")
def test_permission_denied(tmp_path):
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.chmod(path, 0)
    try:
        with pytest.raises(PortPermissionError, match="dialout"):
            GloveLink.open(path)
    finally:
        os.close(master)
        os.close(slave)
