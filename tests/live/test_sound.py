"""Sound cues: each cue rendered to WAV and measured; which cue a session moment calls for;
no sound device (CI) is logged once and never raises."""
from __future__ import annotations

import json
import logging
import wave

import numpy as np
import pytest

from fakesource import FakeSource
from massage_glove.errors import DataFileError
from massage_glove.live import sound
from massage_glove.live.sound import CueDecider, Player, SoundMonitor, load_sound_config, render_wav

CFG = load_sound_config()
FREQ_TOL_HZ = 10.0          # dominant-frequency tolerance (FFT bins are ~3 Hz here)
LEN_TOL_S = 0.002


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float) / 32767
    return x, rate


def peak_hz(x, rate):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    return float(np.fft.rfftfreq(8 * len(x), 1 / rate)[np.argmax(spec)])


def zero_cross_hz(x, rate):
    """Frequency from upward zero crossings (independent of the FFT)."""
    up = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    return (len(up) - 1) / ((up[-1] - up[0]) / rate)


def runs(active):
    """(start, end) sample index of each run of True."""
    d = np.diff(np.r_[0, active.astype(int), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def test_firm_is_a_rising_tone_of_its_stated_length(tmp_path):
    c = CFG.cues["firm"]
    x, rate = read_wav(render_wav("firm", tmp_path / "firm.wav"))
    assert abs(len(x) / rate - c["length_s"]) <= LEN_TOL_S
    tenth = len(x) // 10
    f_start = zero_cross_hz(x[:tenth], rate)
    f_end = zero_cross_hz(x[-tenth:], rate)
    # a linear sweep: the first and last tenth average 5 % and 95 % of the way
    span = c["f1_hz"] - c["f0_hz"]
    assert f_start == pytest.approx(c["f0_hz"] + 0.05 * span, abs=FREQ_TOL_HZ)
    assert f_end == pytest.approx(c["f0_hz"] + 0.95 * span, abs=FREQ_TOL_HZ)
    assert f_end > f_start + 0.8 * span


def test_too_much_is_a_loud_pulsed_alarm_3_plus_2(tmp_path):
    c = CFG.cues["too_much"]
    x, rate = read_wav(render_wav("too_much", tmp_path / "alarm.wav"))
    n_pulses = sum(c["groups"])
    want_len = (n_pulses * c["pulse_s"] + sum(g - 1 for g in c["groups"]) * c["gap_s"]
                + (len(c["groups"]) - 1) * c["group_gap_s"])
    assert abs(len(x) / rate - want_len) <= LEN_TOL_S
    env = np.convolve(np.abs(x), np.ones(64) / 64, mode="same") > 0.05
    pulses = runs(env)
    assert len(pulses) == n_pulses == 5
    for a, b in pulses:
        assert abs((b - a) / rate - c["pulse_s"]) <= 0.02
        assert peak_hz(x[a:b], rate) == pytest.approx(c["f_hz"], abs=FREQ_TOL_HZ)
    gaps = [(pulses[i + 1][0] - pulses[i][1]) / rate for i in range(len(pulses) - 1)]
    assert gaps[2] > gaps[0] + 0.1          # the pause between the two groups
    # harmonic-rich (IEC 60601-1-8 asks for at least four harmonics) and the loudest cue
    a, b = pulses[0]
    spec = np.abs(np.fft.rfft(x[a:b]))
    f = np.fft.rfftfreq(b - a, 1 / rate)
    for k in range(2, 6):
        near = np.abs(f - k * c["f_hz"]) < 15
        assert spec[near].max() > 0.1 * spec.max()
    others = [np.abs(read_wav(render_wav(n, tmp_path / f"{n}.wav"))[0]).max() for n in ("firm", "prompt")]
    assert np.abs(x).max() > 2 * max(others)


def test_prompt_is_two_falling_notes(tmp_path):
    c = CFG.cues["prompt"]
    x, rate = read_wav(render_wav("prompt", tmp_path / "prompt.wav"))
    n = int(round(c["note_s"] * rate))
    assert abs(len(x) / rate - len(c["notes_hz"]) * c["note_s"]) <= LEN_TOL_S
    got = [peak_hz(x[i * n:(i + 1) * n], rate) for i in range(len(c["notes_hz"]))]
    assert got == pytest.approx(list(c["notes_hz"]), abs=FREQ_TOL_HZ)
    assert got[0] > got[1]


def test_bad_sound_file_names_the_field(tmp_path):
    doc = json.loads(sound.DATA_FILE.read_text())
    doc["cues"]["firm"]["f1_hz"] = 90000
    p = tmp_path / "sounds.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(DataFileError, match=r"cues\.firm\.f1_hz"):
        load_sound_config(p)


# --- which cue, when ---------------------------------------------------------------------------
def stepped(force_of_t, times, **kw):
    """Cues per time for a fake session whose right-hand forces follow force_of_t(t) (n_sensors,)."""
    src = FakeSource(hands=("right",), force=lambda t: np.array([force_of_t(x) for x in t]), **kw)
    dec = CueDecider(alarm_repeat_s=3.0)
    out = []
    last = 0.0
    for t in times:
        src.advance(t - last)
        last = t
        out += [(t, c) for c, _ in dec.step(src.snapshot())]
    return out


def one(n, value):
    v = np.zeros(8)
    v[n] = value
    return v


def test_entering_firm_gives_one_rising_tone_and_too_much_the_alarm():
    # paraspinals, fingertip edges 4 / 9 / 15 N: 2 s light, 2 s firm, 5 s too much, off
    def f(t):
        return one(1, 2.0 if t < 2 else 12.0 if t < 4 else 18.0 if t < 9 else 0.0)
    times = np.round(np.arange(0.05, 12.0, 0.05), 3)
    cues = stepped(f, times)
    firm = [t for t, c in cues if c == "firm"]
    alarm = [t for t, c in cues if c == "too_much"]
    assert firm == [pytest.approx(2.0, abs=0.051)]
    # first alarm as the hand enters too much, then every 3 s while it stays there
    assert alarm == [pytest.approx(4.0, abs=0.051), pytest.approx(7.0, abs=0.051)]


def test_a_danger_alert_sounds_the_alarm_and_a_warning_the_prompt():
    src = FakeSource(hands=("right",), force=lambda t: np.zeros((len(t), 8)))
    src.advance(1.0)
    dec = CueDecider()
    assert dec.step(src.snapshot()) == []
    src.alert("Far too much pressure on the neck. Stop.", "danger")
    got = dec.step(src.snapshot())
    assert got[0] == ("too_much", "") and ("speech", "Far too much pressure on the neck. Stop.") in got
    assert dec.step(src.snapshot()) == []             # the same alert only once
    src.advance(0.5)
    src.alert("Slow down: strokes too fast.", "warning")
    assert dec.step(src.snapshot()) == [("prompt", "Slow down: strokes too fast.")]


# --- no sound card ---------------------------------------------------------------------------------
def no_device(rate):
    raise RuntimeError("failed to init device (-401)")


def test_without_a_sound_device_cues_are_dropped_and_logged_once(caplog):
    player = Player(CFG, output_factory=no_device)
    with caplog.at_level(logging.WARNING, logger="massage_glove.live.sound"):
        for _ in range(3):
            player.play("too_much")
            player.play("firm")
    assert player.played == [] and player.dropped == 6
    warnings = [r for r in caplog.records if "no sound device" in r.getMessage()]
    assert len(warnings) == 1 and "-401" in warnings[0].getMessage()


class FakeOutput:
    def __init__(self, rate):
        self.rate = rate
        self.played = []

    def play(self, pcm, interrupt=False):
        self.played.append((len(pcm), interrupt))

    def close(self):
        pass


def test_monitor_plays_through_the_device_and_survives_a_failing_source():
    outs = []
    player = Player(CFG, output_factory=lambda r: outs.append(FakeOutput(r)) or outs[-1])
    src = FakeSource(hands=("right",), force=lambda t: np.tile(one(0, 20.0), (len(t), 1)))
    src.advance(1.0)
    mon = SoundMonitor(src, player)
    assert [c for c, _ in mon.poll()] == ["too_much"]
    n_alarm = len(sound.to_pcm16(sound.synth("too_much", CFG)))
    assert outs[0].played == [(n_alarm, True)]           # the alarm replaces what was waiting

    class Broken(FakeSource):
        def snapshot(self):
            raise OSError("gone")
    mon2 = SoundMonitor(Broken(), player)
    mon2.start()
    mon2.stop()                                          # no exception out of the thread


def test_the_real_backend_without_a_card_does_not_raise():
    """On a machine without sound (CI) miniaudio fails to open; on one with sound, it plays."""
    player = Player(CFG)
    ok = player.open()
    player.play("firm")
    assert player.dropped == (0 if ok else 1)
    player.close()


def test_quiet_means_no_sound():
    assert sound.make_sound(FakeSource(), quiet=True) is None


def test_the_miniaudio_output_feeds_the_device_from_its_buffer():
    """miniaudio's null backend (a device that consumes samples in real time, no sound card)
    pulls the queued cue through the same generator a real device uses."""
    import time

    import miniaudio
    from massage_glove.live.sound import MiniaudioOutput

    out = MiniaudioOutput(CFG.sample_rate_hz, backends=[miniaudio.Backend.NULL])
    try:
        pcm = sound.to_pcm16(sound.synth("firm", CFG))
        out.play(pcm)
        queued = out.busy_s()
        assert queued == pytest.approx(CFG.cues["firm"]["length_s"], abs=0.01)
        for _ in range(100):                  # the device drains it (0.3 s of sound)
            time.sleep(0.05)
            if out.busy_s() == 0.0:
                break
        assert out.busy_s() == 0.0
        out.play(pcm)
        out.play(sound.to_pcm16(sound.synth("too_much", CFG)), interrupt=True)
        assert out.busy_s() > 0.9 * (len(sound.synth("too_much", CFG)) / CFG.sample_rate_hz)
        assert out.busy_s() < len(sound.synth("too_much", CFG)) / CFG.sample_rate_hz + 0.01
    finally:
        out.close()


def test_spoken_prompts_once_per_15_s_through_pyttsx3(monkeypatch):
    import sys
    import threading
    import types

    said = []
    done = threading.Event()

    class Engine:
        def say(self, text):
            said.append(text)

        def runAndWait(self):
            done.set()

    monkeypatch.setitem(sys.modules, "pyttsx3", types.SimpleNamespace(init=lambda: Engine()))
    player = Player(CFG, speak=True, output_factory=FakeOutput)
    player.open()
    player.play("prompt", "Slow down: strokes too fast.", now_s=10.0)
    assert done.wait(5.0)
    done.clear()
    player.play("prompt", "Slow down: strokes too fast.", now_s=20.0)    # within 15 s: not again
    player.play("speech", "Far too much pressure. Stop.", now_s=21.0)
    assert done.wait(5.0)
    assert said == ["Slow down: strokes too fast.", "Far too much pressure. Stop."]
    player.play("prompt", "Slow down: strokes too fast.", now_s=25.5)    # 15.5 s later: again
    done.clear()
    assert done.wait(5.0) and said[-1] == "Slow down: strokes too fast."
    player.close()


def test_speak_without_pyttsx3_is_logged_and_silent(monkeypatch, caplog):
    import sys
    monkeypatch.setitem(sys.modules, "pyttsx3", None)           # import fails
    player = Player(CFG, speak=True, output_factory=FakeOutput)
    with caplog.at_level(logging.WARNING, logger="massage_glove.live.sound"):
        player.open()
        player.play("prompt", "Slow down.")
    assert not player.speak and any("pyttsx3 is not installed" in r.getMessage() for r in caplog.records)
    assert player.played == ["prompt"]
