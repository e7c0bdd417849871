"""Helpers for the signal-chain tests: a 16-channel glove description, force -> counts, blocks."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

_HOST = Path(__file__).resolve().parents[2] / "host"
if str(_HOST) not in sys.path:
    sys.path.insert(0, str(_HOST))

from massage_glove.samples import Channel, DeviceInfo, SampleBlock  # noqa: E402
from massage_glove.signal.calibration import (PowerLaw, counts_from_conductance_s)  # noqa: E402
from massage_glove.portable import fsr  # noqa: E402

SITES = (("thumb", "fsr402"), ("index", "fsr402"), ("middle", "fsr402"), ("ring", "fsr402"),
         ("little", "fsr402"), ("knuckle_index", "fsr402"), ("knuckle_middle", "fsr402"),
         ("palm_heel", "fsr406"))
RESISTORS = {"fsr402": (1500.0, 100000.0), "fsr406": (680.0, 100000.0)}


def make_device(rate_hz: int = 200, hands=("right", "left"), glove_id="test-glove") -> DeviceInfo:
    chans = []
    for h, hand in enumerate(hands):
        for i, (site, cls) in enumerate(SITES):
            rd, rb = RESISTORS[cls]
            chans.append(Channel(h * 8 + i, ("R_" if hand == "right" else "L_") + site, hand, site,
                                 cls, rd, rb))
    return DeviceInfo(glove_id=glove_id, firmware="1.0.0", board="test", protocol=1,
                      hands=tuple(hands), channels=tuple(chans), adc_bits=12, vref_v=3.3,
                      rate_hz=rate_hz, min_rate_hz=1, max_rate_hz=1000, ts_bits=30,
                      seq_bits=16, ring_slots=512)


def nominal_counts(force_n, device: DeviceInfo, exact: bool = False) -> np.ndarray:
    """Counts a nominal glove reads under (n, n_channels) newtons (rounded uint16 unless exact)."""
    f = np.atleast_2d(np.asarray(force_n, np.float64))
    out = np.empty(f.shape)
    for j, c in enumerate(device.channels):
        p = fsr.NOMINAL[c.sensor_class]
        fj = np.clip(f[:, j], 0.0, p["f_max_n"])
        g = PowerLaw.nominal(c.sensor_class).conductance_s(fj)
        g = np.where(fj < p["f_min_n"], 0.0, g)
        out[:, j] = counts_from_conductance_s(g, c.r_divider_ohm, c.r_bleed_ohm, device.full_scale)
    if exact:
        return out
    return np.clip(np.round(out), 0, device.full_scale).astype(np.uint16)


def make_block(counts, rate_hz: float = 200.0, t0: float = 0.0, seq0: int = 0) -> SampleBlock:
    c = np.asarray(counts, np.uint16)
    n = c.shape[0]
    seq = np.arange(seq0, seq0 + n, dtype=np.int64)
    t = t0 + np.arange(n) / rate_hz
    return SampleBlock(seq, t, t.copy(), c, np.zeros(n, np.uint8))


def split_block(block: SampleBlock, cuts) -> list[SampleBlock]:
    idx = [0] + sorted(set(int(c) for c in cuts if 0 < c < len(block))) + [len(block)]
    return [SampleBlock(block.seq[a:b], block.t_device_s[a:b], block.t_host_s[a:b],
                        block.counts[a:b], block.flags[a:b]) for a, b in zip(idx[:-1], idx[1:])]
