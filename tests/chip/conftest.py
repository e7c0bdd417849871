"""The chip tier: the firmware on the official MicroPython rp2 port on an emulated RP2040.

Runs where Node.js and the chip bench are (../shared/rp2040 beside the repository, or the
folder in MASSAGE_GLOVE_RP2040_BENCH); skipped with the reason elsewhere. One copy of the
bench is installed (npm install) per test session. Every figure is in the chip's own time:
the emulator runs at a fraction of real time.
"""
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chipbench as cb  # noqa: E402
from chipbench import boot  # noqa: E402,F401  (tests import it from here)

ROOT = HERE.parent.parent
FIRMWARE = ROOT / "firmware"


@pytest.fixture(scope="session")
def bench(tmp_path_factory):
    src, why = cb.find_bench()
    if src is None:
        pytest.skip("chip tier skipped: " + why)
    return cb.Bench.prepare(src, tmp_path_factory.mktemp("rp2040"))


@pytest.fixture(scope="session")
def mpy_firmware(tmp_path_factory):
    """The firmware as `massage-glove flash --compile` deploys it (mpy-cross -march=armv6m)."""
    from massage_glove.flash import compile_mpy
    out = tmp_path_factory.mktemp("fw-mpy")
    compile_mpy(FIRMWARE, out)
    return out
