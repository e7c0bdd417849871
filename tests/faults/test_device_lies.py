"""A glove that lies: a fake glove on a pty (fakeglove.py) sends a hostile description,
hostile names and a stream whose numbers do not add up. Each lie is refused at the
handshake with a message naming the field, or bounded where it arises in the stream."""
from __future__ import annotations

import math
import socket
import subprocess
import threading
import time

import numpy as np
import pytest

from massage_glove import protocol as P
from massage_glove.errors import NotAGloveError
from massage_glove.link import GloveLink

from fakeglove import FakeGlove, default_meta, event_frame
from faultkit import PYTHON, TIMEOUT_S, cli_env, wait_until


def _meta(**changes):
    m = default_meta()
    for path, value in changes.items():
        obj = m
        *head, last = path.split("__")
        for k in head:
            obj = obj[int(k)] if k.isdigit() else obj[k]
        if value is KeyError:
            del obj[int(last) if last.isdigit() else last]
        else:
            obj[int(last) if last.isdigit() else last] = value
    return m


def _chans(n):
    return [{"index": i, "name": f"c{i}", "hand": "right", "site": "t", "class": "fsr402",
             "r_divider_ohm": 1500, "r_bleed_ohm": 100000} for i in range(n)]


# --- the glove id names files -------------------------------------------------------------

@pytest.mark.parametrize("glove_id", ["../x/pwned", "/etc/passwd", "a/b", "..", ".hidden",
                                      "-rf", "x" * 65, "x" * 3000, "", "id with space", "id\x1b[2J",
                                      "ök", 42, None])
def test_unsafe_glove_id_is_refused_at_the_handshake(glove_id):
    with FakeGlove(_meta(glove_id=glove_id)) as fg:
        with pytest.raises(NotAGloveError) as ei:
            GloveLink.open(fg.port, reconnect=False)
    msg = str(ei.value)
    # a 3000-character id makes a META longer than a frame may be: rejected as a frame
    assert ("glove_id" if len(str(glove_id)) < 3000 else "too long") in msg and fg.port in msg, msg
    assert "\x1b" not in msg and len(msg) < 600, msg


@pytest.mark.parametrize("glove_id", ["MG-0001", "glove-e6605838833b2a2f", "sim.glove_2", "A" * 64])
def test_safe_glove_ids_are_accepted(glove_id):
    with FakeGlove(_meta(glove_id=glove_id)) as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        assert link.info.glove_id == glove_id
        link.close()


def test_a_traversing_glove_id_reads_and_writes_nothing_outside_the_directories(tmp_path):
    """`live` with a glove claiming `../planted`: refused, the planted calibration is never
    read, nothing is created outside --calibration-dir; one message line, no traceback."""
    cal = tmp_path / "cal"
    cal.mkdir()
    planted = tmp_path / "planted.json"
    planted.write_text("{not a calibration")
    before = sorted(p.name for p in tmp_path.iterdir())
    with FakeGlove(_meta(glove_id="../planted")) as fg:
        proc = subprocess.run(
            [PYTHON, "-m", "massage_glove.cli", "live", "--port", fg.port, "--region", "neck",
             "--headless", "--json", "--duration", "1", "--calibration-dir", str(cal),
             "--log-dir", str(tmp_path)], capture_output=True, text=True, timeout=TIMEOUT_S,
            env=cli_env(), cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "glove_id" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    from massage_glove.errors import CalibrationError
    from massage_glove.signal.calibration import calibration_path
    with pytest.raises(CalibrationError):
        calibration_path("../planted", cal)


# --- every META field ---------------------------------------------------------------------

BAD_META = [
    ("rate_hz", dict(rate_hz=0)), ("rate_hz", dict(rate_hz=-200)),
    ("rate_hz", dict(rate_hz=float("nan"))), ("rate_hz", dict(rate_hz=10_000_000)),
    ("rate_hz", dict(rate_hz="200")), ("rate_hz", dict(rate_hz=True)), ("rate_hz", dict(rate_hz=200.5)),
    ("max_rate_hz", dict(max_rate_hz=0)), ("min_rate_hz", dict(min_rate_hz=0)),
    ("adc_bits", dict(adc_bits=0)), ("adc_bits", dict(adc_bits=40)), ("adc_bits", dict(adc_bits=KeyError)),
    ("vref_v", dict(vref_v=float("inf"))), ("vref_v", dict(vref_v=0)), ("vref_v", dict(vref_v=-3.3)),
    ("channels[2].r_divider_ohm", dict(channels__2__r_divider_ohm=float("nan"))),
    ("channels[2].r_divider_ohm", dict(channels__2__r_divider_ohm=0)),
    ("channels[0].r_bleed_ohm", dict(channels__0__r_bleed_ohm=-1)),
    ("channels[0].r_bleed_ohm", dict(channels__0__r_bleed_ohm="100k")),
    ("channels", dict(channels=_chans(33), limits=KeyError, max_rate_hz=484)),
    ("channels", dict(channels=[])), ("channels", dict(channels="16")),
    ("channels[3].index", dict(channels__3__index=7)),
    ("channels[1].name", dict(channels__1__name="R_thumb")),
    ("channels[1].name", dict(channels__1__name="\x1b]0;owned\x07")),
    ("channels[0].hand", dict(channels__0__hand="nose")),
    ("channels[0].class", dict(channels__0__class="<script>")),
    ("hands", dict(hands=["right", "right"])), ("hands", dict(hands=["tentacle"])),
    ("firmware", dict(firmware="1.0\x1b[31m")), ("board", dict(board="")),
    ("protocol", dict(protocol=2)), ("ts_bits", dict(ts_bits=31)), ("seq_bits", dict(seq_bits=8)),
    ("ring_slots", dict(ring_slots=0)), ("buzzers", dict(buzzers=["nose"])),
    ("limits", dict(limits=[5000] * 16)), ("streaming", dict(streaming="yes")),
]


@pytest.mark.parametrize("field,change", BAD_META, ids=[f"{f}={list(c.values())[0]!r}"[:40]
                                                        for f, c in BAD_META])
def test_meta_field_breaking_the_spec_is_refused_naming_the_field(field, change):
    with FakeGlove(_meta(**change)) as fg:
        with pytest.raises(NotAGloveError) as ei:
            GloveLink.open(fg.port, reconnect=False)
    msg = str(ei.value)
    assert f"`{field}`" in msg, msg
    assert "\x1b" not in msg and "\x07" not in msg


def test_unknown_meta_fields_are_ignored():
    with FakeGlove(_meta(colour="blue", extra={"a": [1, 2]})) as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        assert len(link.info.channels) == 16
        link.close()


# --- the stream lies ----------------------------------------------------------------------

RATE = 200


def _collect(link, seconds):
    blocks, events = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        b, e = link.read(timeout=0.05)
        if len(b):
            blocks.append(b)
        events += e
    return blocks, events


def test_a_timestamp_one_ms_behind_is_a_glitch_not_a_wrap():
    period = 1_000_000 // RATE
    # sample 100 is stamped 1 ms before sample 99; every other stamp is on the grid
    ts = lambda seq: seq * period if seq != 100 else 99 * period - 1000     # noqa: E731
    with FakeGlove(t_us=ts, rate_hz=RATE) as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        link.start()
        blocks, events = _collect(link, 1.5)
        link.close()
    t = np.concatenate([b.t_device_s for b in blocks])
    seq = np.concatenate([b.seq for b in blocks])
    assert len(t) > 150
    steps = np.diff(t)
    # truth: one period per sample; the glitched stamp moves time by at most 1 ms + 1 period
    assert steps.min() > 0 and steps.max() < 1.0 / RATE + 0.0011, (steps.min(), steps.max())
    assert abs((t[-1] - t[0]) - (seq[-1] - seq[0]) / RATE) < 0.002
    assert [e.kind for e in events].count("clock") == 1, [e.kind for e in events]
    assert not [e for e in events if e.kind in ("gap", "boot")]
    assert link.stats.lost_samples == 0


def test_a_clock_leap_forward_is_bounded_by_the_sample_count():
    period = 1_000_000 // RATE
    ts = lambda seq: seq * period + (500_000_000 if seq >= 100 else 0)      # noqa: E731
    with FakeGlove(t_us=ts, rate_hz=RATE) as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        link.start()
        blocks, events = _collect(link, 1.2)
        link.close()
    t = np.concatenate([b.t_device_s for b in blocks])
    assert np.diff(t).max() < 1.5 / RATE
    assert [e.kind for e in events].count("clock") == 1


def test_a_rate_event_out_of_range_is_ignored_and_invents_no_loss():
    with FakeGlove(rate_hz=RATE) as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        link.start()
        assert wait_until(lambda: link.stats.samples > 50)
        fg.send(event_frame(P.EV_RATE, 0xFF, fg.seq, 0, 4_000_000_000))
        blocks, events = _collect(link, 1.0)
        link.close()
    assert link.rate_hz == RATE
    assert link.stats.lost_samples == 0 and link.stats.gaps == 0
    faults = [e for e in events if e.kind == "fault"]
    assert faults and "4000000000 Hz" in faults[0].text, [e.text for e in events]


def test_a_silent_glove_stalls_within_the_first_second():
    with FakeGlove(silent=True) as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        link.start()
        t0 = time.monotonic()
        _, events = _collect(link, 2.0)
        link.close()
    stalls = [e for e in events if e.kind == "stall"]
    assert stalls, "a glove that answers and then sends nothing is a stall"
    assert stalls[0].t_host_s - link.clock() < 0 and link.stats.stalls == 1


def test_duration_ends_a_session_whose_glove_sends_nothing(tmp_path):
    with FakeGlove(silent=True) as fg:
        t0 = time.monotonic()
        proc = subprocess.run(
            [PYTHON, "-m", "massage_glove.cli", "live", "--port", fg.port, "--region", "neck",
             "--headless", "--json", "--duration", "1.5", "--log-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=TIMEOUT_S, env=cli_env(), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr          # a problem: the glove sent nothing
    assert "sends nothing" in proc.stdout + proc.stderr


def test_counts_above_full_scale_read_as_saturated():
    meta = default_meta()
    rest = [61] * 16
    over = [5000] + rest[1:]
    with FakeGlove(meta, counts=lambda s: over if s % 2 else rest) as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        link.start()
        blocks, _ = _collect(link, 0.6)
        link.close()
    c = np.concatenate([b.counts for b in blocks])
    assert c[:, 0].max() == 4095 and len(c) > 50
    assert link.stats.over_range > 0 and link.stats.rejected.get("layout", 0) == 0


def test_drop_first_seq_is_unwrapped_like_data():
    with FakeGlove(seq0=65_500, rate_hz=RATE) as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        link.start()
        assert wait_until(lambda: link.stats.samples > 100)       # past the 16-bit wrap
        raw = (fg.seq - 5) & 0xFFFF
        fg.send(event_frame(P.EV_DROP, 0xFF, raw, 0, 3))
        _, events = _collect(link, 0.5)
        link.close()
    drop = [e for e in events if e.kind == "drop"][0]
    assert drop.detail["first_seq"] > 65_536 and drop.detail["first_seq"] & 0xFFFF == raw


def test_device_text_reaches_the_terminal_without_control_characters():
    with FakeGlove() as fg:
        link = GloveLink.open(fg.port, reconnect=False)
        link.start()
        fg.send(event_frame(P.EV_FAULT, 0xFF, 0, 0, 1, b"\x1b]0;owned\x07\x1b[2Jgone\r"))
        _, events = _collect(link, 0.5)
        link.close()
    f = [e for e in events if e.kind == "fault"][0]
    assert "gone" in f.text and not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in f.text)


# --- ports ---------------------------------------------------------------------------------

def test_ports_never_follows_a_url_in_a_port_file(tmp_path, monkeypatch):
    import os
    from massage_glove import ports

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(3.0)
    hits = []

    def accept():
        try:
            c, _ = srv.accept()
            hits.append(1)
            c.close()
        except OSError:
            pass
    th = threading.Thread(target=accept, daemon=True)
    th.start()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    d = tmp_path / "massage-glove" / "sims"
    d.mkdir(parents=True)
    url = f"socket://127.0.0.1:{srv.getsockname()[1]}"
    (d / f"{os.getpid()}.port").write_text(url)
    found = ports.scan(probe=True, timeout=0.3)
    th.join(timeout=4)
    srv.close()
    assert not hits, "ports connected to a URL it found in a .port file"
    assert url not in [p.device for p in found]


def test_ports_probes_a_url_the_user_names(tmp_path, monkeypatch):
    from massage_glove import ports
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    with FakeGlove() as fg:
        found = ports.scan(probe=True, timeout=0.5, urls=[fg.port])
    mine = [p for p in found if p.device == fg.port]
    assert mine and "fake-glove" in mine[0].glove
