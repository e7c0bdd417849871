"""A channel that starts jumping (a loose connector) is not read as force while the noise
window fills: it is flagged within a few samples, and no pressure alert comes from it."""
from __future__ import annotations

import numpy as np
import pytest

from chain_helpers import make_block, make_device, nominal_counts
from massage_glove.signal.calibration import FAULT_NOISY, NOISE_QUICK_SAMPLES
from massage_glove.signal.pipeline import Pipeline

RATE = 200.0
DEV = make_device(RATE)
RING = 3


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("region", ["paraspinals", "neck"])
def test_jumping_channel_flagged_at_once_and_never_alerts_as_force(seed, region):
    rng = np.random.default_rng(seed)
    n = int(3 * RATE)
    f = np.zeros((n, 16))
    f[:, RING] = 1.0                                  # a light touch on the ring finger
    c = nominal_counts(f, DEV).astype(np.int64)
    k = 200                                           # the connector works loose at 1 s
    # the simulated glove's noisy fault: 400 counts rms on the reading (portable/forcemodel.py)
    c[k:, RING] = np.clip(c[k:, RING] + rng.normal(0, 400, n - k), 0, 4095)
    p = Pipeline(DEV, rate_hz=RATE)
    p.set_region(region)
    r = p.process(make_block(c.astype(np.uint16), RATE))
    noisy = (r.fault[:, RING] & FAULT_NOISY) != 0
    assert not noisy[:k].any()                        # a steady channel is never flagged
    first = k + int(np.argmax(noisy[k:]))
    assert noisy[k:].any() and first - k <= 3 * NOISE_QUICK_SAMPLES, first - k
    assert noisy[first + 50:].mean() > 0.9
    # no pressure, warm-up or hold alert from the jumps: only the sensor fault
    assert {a.rule for a in r.alerts} <= {"sensor_broken"}, [(a.t_s, a.rule) for a in r.alerts]


def test_percussion_and_tremor_are_not_noise():
    t = np.arange(int(4 * RATE)) / RATE
    f = np.zeros((len(t), 16))
    tap = np.maximum(0.0, np.sin(2 * np.pi * 10 * t)) ** 2 * 12.0      # 10 strikes/s
    f[:, 1] = tap
    f[:, 2] = 6.0 + 1.0 * np.sin(2 * np.pi * 12 * t)                  # tremor at 12 Hz
    p = Pipeline(DEV, rate_hz=RATE)
    r = p.process(make_block(nominal_counts(f, DEV), RATE))
    assert not (r.fault & FAULT_NOISY).any()


@pytest.mark.parametrize("seed", range(10))
def test_jumps_with_a_step_are_never_force_once_flagged(seed):
    """Noise that also steps the reading up (+800 counts, about 6 N) looks like a press for
    its first few samples, before any test can tell: an alert may come from those, never
    from a later sample, and the channel stays flagged while it jumps."""
    rng = np.random.default_rng(seed)
    n = int(3 * RATE)
    c = nominal_counts(np.zeros((n, 16)), DEV).astype(np.int64)
    k = 200
    c[k:, RING] = np.clip(c[k:, RING] + rng.normal(0, 400, n - k) + 800, 0, 4095)
    p = Pipeline(DEV, rate_hz=RATE)
    p.set_region("neck")
    r = p.process(make_block(c.astype(np.uint16), RATE))
    noisy = (r.fault[:, RING] & FAULT_NOISY) != 0
    first = k + int(np.argmax(noisy[k:]))
    assert first - k <= 3 * NOISE_QUICK_SAMPLES
    assert noisy[first:].all()                       # no gaps while it jumps
    late = [a for a in r.alerts if a.rule != "sensor_broken" and a.t_s * RATE > first + 0.5]
    assert not late, [(a.t_s, a.rule) for a in late]


def _onset_delays(quick_reversals=None, seeds=200):
    from massage_glove.signal.calibration import NoiseDetector
    out = []
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        f = np.zeros((400, 16))
        f[:, RING] = 1.0
        c = nominal_counts(f, DEV).astype(np.int64)
        c[200:, RING] = np.clip(c[200:, RING] + rng.normal(0, 400, 200), 0, 4095)
        kw = {} if quick_reversals is None else {"quick_reversals": quick_reversals}
        m = (NoiseDetector(16, RATE, **kw).process(c)[:, RING] & FAULT_NOISY) != 0
        out.append(int(np.argmax(m[200:])) if m[200:].any() else 200)
    return np.array(out)


def test_noise_is_caught_long_before_the_window_fills():
    quick = _onset_delays()
    window_only = _onset_delays(quick_reversals=10 ** 6)
    print(f"samples from the first jump to the flag: median {np.median(quick):.0f}, "
          f"max {quick.max()} (window alone: median {np.median(window_only):.0f})")
    assert np.median(quick) <= NOISE_QUICK_SAMPLES and quick.max() <= 3 * NOISE_QUICK_SAMPLES
    assert np.median(window_only) > 2 * np.median(quick)
