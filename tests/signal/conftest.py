"""Fixtures for the signal-chain tests (helpers live in chain_helpers.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from chain_helpers import make_device  # noqa: E402


@pytest.fixture
def device():
    return make_device()
