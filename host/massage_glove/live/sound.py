"""Sound cues for the live views: a rising tone entering firm, an alarm for too much, a prompt, speech.

    monitor = make_sound(session, quiet=False, speak=False)   # None when quiet
    monitor.start(); ...; monitor.stop()

Three parts, each testable alone:

* `synth(name, config)`: a cue as float samples in [-1, 1] (pure; `render_wav` writes it to
  a 16-bit WAV file). The cues are data in `data/sounds.json`.
* `CueDecider.step(snapshot)`: which cues a snapshot calls for, given the ones before it
  (pure): a hand entering firm -> "firm"; a hand entering too much (over range included)
  or a new danger alert -> "too_much", repeated every `alarm_repeat_s` while a hand stays
  too much; a new warning/info alert -> "prompt" (and its sentence, when speaking).
* `Player`: plays samples through miniaudio (wheels for Linux, macOS and Windows with the
  audio library compiled in: nothing to build, no system audio package to install) and
  says sentences with pyttsx3 when it is installed. Without a sound device (CI, a server)
  opening it fails once, the failure is logged, and every later cue is dropped silently:
  sound never stops or slows a session.

`SoundMonitor` runs the decider in its own thread `poll_hz` times a second on the
session's snapshots, so the cues do not depend on how fast a view redraws.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFileError

log = logging.getLogger(__name__)

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "sounds.json"
CUES = ("firm", "too_much", "prompt")
FADE_S = 0.008           # raised-cosine fade in/out of every tone (no clicks)
_RANK = {"none": -1, "fault": -1, "light": 0, "medium": 1, "firm": 2, "too_much": 3}


@dataclass(frozen=True)
class SoundConfig:
    sample_rate_hz: int
    volume: float
    cues: dict                # name -> the cue's parameters (validated)
    alarm_repeat_s: float
    speech_repeat_s: float
    poll_hz: float
    source: str = ""


def _num(d: dict, key: str, where: str, path, lo: float, hi: float) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= float(v) <= hi):
        raise DataFileError(path, f"{where}{key}", f"a number from {lo:g} to {hi:g}", repr(v))
    return float(v)


def load_sound_config(path=None) -> SoundConfig:
    """Read and check sounds.json once; DataFileError names the file, the field and the bound."""
    path = Path(path) if path is not None else DATA_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataFileError(path, "", "a readable JSON file", type(e).__name__) from None
    if not isinstance(doc, dict) or doc.get("format") != "massage-glove/sounds":
        raise DataFileError(path, "format", '"massage-glove/sounds"',
                            repr(doc.get("format")) if isinstance(doc, dict) else None)
    rate = int(_num(doc, "sample_rate_hz", "", path, 8000, 96000))
    nyq = rate / 2
    cues_in = doc.get("cues")
    if not isinstance(cues_in, dict):
        raise DataFileError(path, "cues", "an object of cues")
    cues = {}
    for name in CUES:
        c = cues_in.get(name)
        w = f"cues.{name}."
        if not isinstance(c, dict):
            raise DataFileError(path, f"cues.{name}", "an object (the cue is needed)")
        kind = c.get("kind")
        p = {"kind": kind, "amplitude": _num(c, "amplitude", w, path, 0.0, 1.0)}
        if kind == "sweep":
            p.update(f0_hz=_num(c, "f0_hz", w, path, 50, nyq), f1_hz=_num(c, "f1_hz", w, path, 50, nyq),
                     length_s=_num(c, "length_s", w, path, 0.05, 5.0))
        elif kind == "pulses":
            p.update(f_hz=_num(c, "f_hz", w, path, 50, nyq), pulse_s=_num(c, "pulse_s", w, path, 0.03, 2.0),
                     gap_s=_num(c, "gap_s", w, path, 0.0, 2.0),
                     group_gap_s=_num(c, "group_gap_s", w, path, 0.0, 5.0),
                     harmonics=int(_num(c, "harmonics", w, path, 0, 10)))
            groups = c.get("groups")
            if (not isinstance(groups, list) or not groups
                    or not all(isinstance(g, int) and not isinstance(g, bool) and 1 <= g <= 10 for g in groups)):
                raise DataFileError(path, f"{w}groups", "a list of pulse counts from 1 to 10", repr(groups))
            p["groups"] = tuple(groups)
            if p["f_hz"] * (p["harmonics"] + 1) >= nyq:
                raise DataFileError(path, f"{w}harmonics", f"f_hz x (harmonics + 1) below {nyq:g} Hz",
                                    repr(c.get("harmonics")))
        elif kind == "notes":
            notes = c.get("notes_hz")
            if not isinstance(notes, list) or not notes or not all(
                    isinstance(f, (int, float)) and not isinstance(f, bool) and 50 <= f <= nyq for f in notes):
                raise DataFileError(path, f"{w}notes_hz", f"a list of frequencies from 50 to {nyq:g} Hz",
                                    repr(notes))
            p.update(notes_hz=tuple(float(f) for f in notes), note_s=_num(c, "note_s", w, path, 0.03, 2.0))
        else:
            raise DataFileError(path, f"{w}kind", '"sweep", "pulses" or "notes"', repr(kind))
        cues[name] = p
    return SoundConfig(rate, _num(doc, "volume", "", path, 0.0, 1.0), cues,
                       _num(doc, "alarm_repeat_s", "", path, 0.5, 60.0),
                       _num(doc, "speech_repeat_s", "", path, 0.0, 600.0),
                       _num(doc, "poll_hz", "", path, 1.0, 200.0), str(doc.get("source", "")))


# --- synthesis (pure) --------------------------------------------------------------------
def _fade(x: np.ndarray, rate: int) -> np.ndarray:
    n = min(len(x) // 2, int(FADE_S * rate))
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def _tone(f_hz: float, length_s: float, rate: int, harmonics: int = 0) -> np.ndarray:
    t = np.arange(int(round(length_s * rate))) / rate
    x = np.zeros_like(t)
    for k in range(1, harmonics + 2):        # odd and even harmonics, falling 1/k
        x += np.sin(2 * np.pi * f_hz * k * t) / k
    return _fade(x / np.max(np.abs(x)) if len(x) else x, rate)


def synth(name: str, config: SoundConfig | None = None) -> np.ndarray:
    """The cue `name` as float64 samples in [-1, 1] at `config.sample_rate_hz` (a new array)."""
    cfg = config or load_sound_config()
    c = cfg.cues[name]
    rate = cfg.sample_rate_hz
    if c["kind"] == "sweep":
        n = int(round(c["length_s"] * rate))
        t = np.arange(n) / rate
        k = (c["f1_hz"] - c["f0_hz"]) / c["length_s"]            # linear chirp
        x = _fade(np.sin(2 * np.pi * (c["f0_hz"] * t + 0.5 * k * t * t)), rate)
    elif c["kind"] == "pulses":
        pulse = _tone(c["f_hz"], c["pulse_s"], rate, c["harmonics"])
        gap = np.zeros(int(round(c["gap_s"] * rate)))
        parts = []
        for i, count in enumerate(c["groups"]):
            if i:
                parts.append(np.zeros(int(round(c["group_gap_s"] * rate))))
            for j in range(count):
                if j:
                    parts.append(gap)
                parts.append(pulse)
        x = np.concatenate(parts)
    else:
        x = np.concatenate([_tone(f, c["note_s"], rate) for f in c["notes_hz"]])
    return x * c["amplitude"] * cfg.volume


def to_pcm16(x: np.ndarray) -> bytes:
    """Float samples in [-1, 1] to little-endian signed 16-bit PCM (clipped)."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def render_wav(name: str, path, config: SoundConfig | None = None) -> Path:
    """Write cue `name` to `path` as a mono 16-bit WAV file; returns the path."""
    cfg = config or load_sound_config()
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(cfg.sample_rate_hz)
        w.writeframes(to_pcm16(synth(name, cfg)))
    return path


# --- what to play (pure) -----------------------------------------------------------------
class CueDecider:
    """Cues for a stream of LiveSnapshots: `step(snapshot)` -> [(cue, sentence or "")]."""

    def __init__(self, alarm_repeat_s: float = 3.0):
        self.alarm_repeat_s = float(alarm_repeat_s)
        self._bands: dict[str, str] = {}
        self._seen: set = set()
        self._alarm_at: float | None = None
        self._first = True

    def step(self, s) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        alarm = False
        too_much_now = False
        for hand, band in s.hand_band.items():
            before = self._bands.get(hand, "none")
            if band == "too_much":
                too_much_now = True
                if before != "too_much":
                    alarm = True
            elif band == "firm" and _RANK.get(before, -1) < _RANK["firm"]:
                out.append(("firm", ""))
            self._bands[hand] = band
        for a in sorted(s.alerts, key=lambda a: -a.age_s):           # oldest first
            key = (round(a.t_s, 4), a.rule, a.sensor, a.message or a.text)   # text gains "N s ago: "
            if key in self._seen:
                continue
            self._seen.add(key)
            if self._first and a.age_s > 1.0:
                continue                       # already old when sound started
            said = getattr(a, "message", "") or a.text          # the sentence, without "N s ago"
            if a.severity == "danger":
                alarm = True
                out.append(("speech", said))
            else:
                out.append(("prompt", said))
        self._first = False
        if len(self._seen) > 2000:             # alerts leave the snapshot after a few seconds
            self._seen = {k for k in self._seen if k[0] >= s.t_s - 60.0}
        if not alarm and too_much_now and self._alarm_at is not None \
                and s.t_s - self._alarm_at >= self.alarm_repeat_s:
            alarm = True                        # still too much: say it again
        if alarm:
            self._alarm_at = s.t_s
            out = [("too_much", "")] + [c for c in out if c[0] != "firm"]
        return out


# --- playing -----------------------------------------------------------------------------
class _Silenced:
    """Send the process's C-level stderr to /dev/null for a moment (audio libraries print there)."""

    def __enter__(self):
        try:
            self._saved = os.dup(2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        except OSError:
            self._saved = None
        return self

    def __exit__(self, *exc):
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        return False


class MiniaudioOutput:
    """A playback device fed from a buffer: `play(pcm16)` queues, an alarm replaces what waits."""

    def __init__(self, rate: int, backends=None):
        import miniaudio
        self.rate = rate
        self._buf = bytearray()
        self._lock = threading.Lock()
        with _Silenced():
            self.device = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=rate,
                buffersize_msec=60, app_name="massage-glove", backends=backends)
            gen = self._frames()
            next(gen)
            self.device.start(gen)

    def _frames(self):
        required = yield b""
        while True:
            n = 2 * int(required)
            with self._lock:
                chunk = bytes(self._buf[:n])
                del self._buf[:n]
            required = yield chunk + bytes(n - len(chunk))

    def play(self, pcm: bytes, *, interrupt: bool = False) -> None:
        with self._lock:
            if interrupt:
                self._buf.clear()
            self._buf += pcm

    def busy_s(self) -> float:
        with self._lock:
            return len(self._buf) / 2 / self.rate

    def close(self) -> None:
        self.device.close()


class _Speaker:
    """Sentences through pyttsx3 (an optional extra), one at a time in its own thread."""

    def __init__(self):
        import pyttsx3          # noqa: F401  (fails here when not installed)
        self._q: list[str] = []
        self._cv = threading.Condition()
        self._stop = False
        self._t = threading.Thread(target=self._run, name="speech", daemon=True)
        self._t.start()

    def say(self, text: str) -> None:
        with self._cv:
            self._q[:] = [text]            # only the newest waits
            self._cv.notify()

    def _run(self) -> None:
        try:
            import pyttsx3
            with _Silenced():
                engine = pyttsx3.init()
        except Exception as e:          # noqa: BLE001 - no speech engine: say so once
            log.warning("no spoken prompts: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
            return
        while True:
            with self._cv:
                while not self._q and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                text = self._q.pop()
            try:
                engine.say(text)
                engine.runAndWait()
            except Exception:           # noqa: BLE001
                log.warning("spoken prompt failed", exc_info=True)
                return

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()


class Player:
    """Plays cues and says sentences; never raises. `output_factory(rate)` opens the device."""

    def __init__(self, config: SoundConfig | None = None, *, speak: bool = False, output_factory=None):
        self.config = config or load_sound_config()
        self._factory = output_factory or MiniaudioOutput
        self._out = None
        self._failed = False
        self.speak = speak
        self._speaker = None
        self._said: dict[str, float] = {}
        self._pcm = {name: to_pcm16(synth(name, self.config)) for name in CUES}
        self.played: list[str] = []          # cues handed to the device (for tests and logs)
        self.dropped = 0                     # cues not played (no device)

    def open(self) -> bool:
        """Open the sound device now (once); False, logged, when there is none."""
        if self._out is None and not self._failed:
            try:
                self._out = self._factory(self.config.sample_rate_hz)
            except Exception as e:      # noqa: BLE001 - any backend failure means: no sound
                self._failed = True
                why = str(e).splitlines()[0] if str(e) else type(e).__name__
                log.warning("no sound device (%s): the session goes on without sound", why)
        if self.speak and self._speaker is None:
            try:
                self._speaker = _Speaker()
            except ImportError:
                self.speak = False
                log.warning("no spoken prompts: pyttsx3 is not installed (pip install 'massage-glove[speech]')")
        return self._out is not None

    def play(self, cue: str, text: str = "", now_s: float | None = None) -> None:
        if cue == "speech":
            self._say(text, now_s)
            return
        if not self.open():
            self.dropped += 1
            return
        try:
            self._out.play(self._pcm[cue], interrupt=(cue == "too_much"))
            self.played.append(cue)
        except Exception:               # noqa: BLE001
            self.dropped += 1
            log.warning("playing the %s cue failed", cue, exc_info=True)
        if text:
            self._say(text, now_s)

    def _say(self, text: str, now_s: float | None) -> None:
        if not self.speak or not text:
            return
        now = time.monotonic() if now_s is None else now_s
        if now - self._said.get(text, -1e9) < self.config.speech_repeat_s:
            return
        self._said[text] = now
        if self._speaker is not None:
            self._speaker.say(text)

    def close(self) -> None:
        for x in (self._out, self._speaker):
            if x is not None:
                try:
                    x.close()
                except Exception:       # noqa: BLE001
                    pass
        self._out = self._speaker = None


class SoundMonitor:
    """Follows `source.snapshot()` in a thread and plays what the decider says."""

    def __init__(self, source, player: Player | None = None):
        self.source = source
        self.player = player or Player()
        self.decider = CueDecider(self.player.config.alarm_repeat_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "SoundMonitor":
        self.player.open()
        self._thread = threading.Thread(target=self._run, name="sound", daemon=True)
        self._thread.start()
        return self

    def poll(self) -> list[tuple[str, str]]:
        """One step: read a snapshot, play its cues; returns them."""
        s = self.source.snapshot()
        cues = self.decider.step(s)
        for cue, text in cues:
            self.player.play(cue, text, s.t_s)
        return cues

    def _run(self) -> None:
        period = 1.0 / self.player.config.poll_hz
        failures = 0
        while not self._stop.wait(period):
            if not getattr(self.source, "running", True):
                break
            try:
                self.poll()
            except Exception:           # noqa: BLE001 - sound must never end a session
                failures += 1
                if failures == 1:
                    log.warning("sound: following the session failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.player.close()


def make_sound(source, *, quiet: bool = False, speak: bool = False) -> SoundMonitor | None:
    """The sound of a live view, or None with --quiet."""
    if quiet:
        return None
    return SoundMonitor(source, Player(speak=speak))
