"""Shared test setup: the package on sys.path when run from a checkout, and --glove."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "host") not in sys.path:
    sys.path.insert(0, str(ROOT / "host"))


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
