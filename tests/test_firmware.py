"""The firmware on the real MicroPython interpreter, and compiled for the RP2040 by mpy-cross."""
import os
import subprocess
from pathlib import Path

import pytest

from massage_glove import paths

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware"
FW_TESTS = sorted((ROOT / "tests" / "firmware").glob("test_*.py"))


def run_mpy(script: Path | None = None, code: str | None = None, timeout=60):
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(ROOT / "tests" / "firmware"), str(FW)]),
               PROTOCOL_VECTORS=str(ROOT / "docs" / "protocol_vectors.json"))
    args = [paths.micropython_exe()] + ([str(script)] if script else ["-c", code])
    return subprocess.run(args, cwd=ROOT / "tests" / "firmware", env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("script", FW_TESTS, ids=[p.stem for p in FW_TESTS])
def test_firmware_under_micropython(script):
    r = run_mpy(script)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{script.stem} OK" in r.stdout


@pytest.mark.parametrize("src", sorted(FW.rglob("*.py")), ids=lambda p: str(p.relative_to(FW)))
def test_mpy_cross_armv6m_compiles(src, tmp_path):
    r = subprocess.run([paths.mpy_cross_exe(), "-march=armv6m", "-o", str(tmp_path / "out.mpy"), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.mpy").stat().st_size > 0


def test_heap_lock_catches_an_allocating_timer_path():
    # The firmware tests rely on heap_lock to prove the timer path allocates nothing: show
    # that a tick which does allocate is caught.
    code = """
from fakeboard import Board
bd = Board()
hits = []
def bad_tick(t):
    hits.append([1, 2, 3])
bd.timer.init(100, bad_tick)
try:
    bd.timer.fire(1)
    print("NOT CAUGHT")
except MemoryError:
    print("CAUGHT")
"""
    r = run_mpy(code=code)
    assert "CAUGHT" in r.stdout and "NOT CAUGHT" not in r.stdout, r.stdout + r.stderr


def test_sampler_tick_is_allocation_free_at_1khz_16_channels():
    code = """
import micropython
from fakeboard import Board
from glove.sampler import Sampler
bd = Board()
s = Sampler(bd.adc, bd.select_pins, list(range(16)), 64, bd.ticks_us, bd.timer,
            buzzer_pins=bd.buzzer_pins, channel_buzzer=[0]*8+[1]*8, button=bd.button)
for ch in range(16):
    s.limits[ch] = 1
s.start(1000, bd.timer_init)
bd.timer.fire(5000)   # every tick under heap_lock, ring overflowing, every limit tripping
print("ticks", s.seq, "drops", s.drop_total)
"""
    r = run_mpy(code=code)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ticks 5000 drops 4937" in r.stdout, r.stdout
