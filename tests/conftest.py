"""Shared test setup: the package on sys.path when run from a checkout, and --glove."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "host") not in sys.path:
    sys.path.insert(0, str(ROOT / "host"))


def pytest_sessionstart(session):
    """Compile the signal kernels once, before any test (numba keeps them in its disk cache):
    the first build of a Pipeline after an install compiles them (seconds), and a test that
    starts `massage-glove live` while a glove already streams must not pay that inside its
    timing. Every later process, the tests' subprocesses included, loads them from the cache."""
    from massage_glove.samples import Channel, DeviceInfo
    from massage_glove.signal import Pipeline
    chans = tuple(Channel(j, f"R_{j}", "right", "thumb", "fsr402", 1500.0, 100000.0) for j in range(2))
    Pipeline(DeviceInfo(glove_id="warm-up", firmware="1.0.0", board="test", protocol=1,
                        hands=("right",), channels=chans, adc_bits=12, vref_v=3.3, rate_hz=200,
                        min_rate_hz=1, max_rate_hz=1000, ts_bits=30, seq_bits=16, ring_slots=512))


def pytest_addoption(parser):
    parser.addoption("--glove", default=None,
                     help="serial port of a real glove; hardware tests skip without it")


@pytest.fixture
def glove_port(request):
    port = request.config.getoption("--glove")
    if not port:
        pytest.skip("no real glove named (pytest --glove /dev/ttyACM0)")
    return port


# tests/firmware/ holds MicroPython scripts, run by test_firmware.py under `micropython`
collect_ignore = ["firmware"]
