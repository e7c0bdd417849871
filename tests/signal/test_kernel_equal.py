"""The per-sample kernel (Pipeline), its uncompiled fallback and the array stages
(ReferencePipeline) give the same outputs, bit for bit, on every block size.

Streams (kernel_streams.py): open, shorted, noisy and over-range sensors, ADC noise and
one-sample glitches, tare, region and technique changes between blocks, every rule
firing; 200 Hz and 1 kHz; nominal curves and a calibration mixing PCHIP, power-law and
square-root (b = 0.5) curves. Every Result field is compared with assert_array_equal
(NaN where NaN) and the same dtype; alerts with ==. No tolerance anywhere, and none is
needed: the kernel's forces come from a table the reference's own ForceConverter.force_n
computes (so numpy's exp/log/power, SIMD or libm, are the same on both sides), and every
other operation is done in the same order in IEEE double arithmetic, compiled or not.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kernel_streams as ks
from chain_helpers import make_device
from massage_glove.signal import jit, kernel
from massage_glove.signal.calibration import (FAULT_NOISY, FAULT_OPEN, FAULT_SATURATED,
                                              FAULT_SHORT, NoiseDetector)
from massage_glove.signal.pipeline import Pipeline, ReferencePipeline
from massage_glove.signal.profiles import RULE_IDS

FIELDS = ("t_s", "force_n", "filtered_n", "pressure_kpa", "band", "hand_band", "fault")
BLOCKS = (1, 2, 3, 5, 7, 16, 64, None)              # None: each stage in one block
CASES = ((200.0, "nominal"), (200.0, "mixed"), (1000.0, "mixed"))
HERE = Path(__file__).resolve().parent
RETARE = 4          # the scripted stream is re-tared (and an empty block run) before the spine

_REF: dict = {}


def _calibration(name, device):
    return ks.mixed_calibration(device) if name == "mixed" else None


def reference(rate, cal):
    """ReferencePipeline on the stream, each stage whole (its chunk invariance is tested
    below and in test_filters/test_bands/test_rules)."""
    if (rate, cal) not in _REF:
        st = ks.stream(rate)
        _REF[rate, cal] = ks.run(ReferencePipeline(st.device, _calibration(cal, st.device),
                                                   rate_hz=rate), st, None, RETARE)
    return _REF[rate, cal]


def assert_same(got, want):
    for f in FIELDS:
        assert got[f].dtype == want[f].dtype, f
        np.testing.assert_array_equal(got[f], want[f], err_msg=f, strict=True)
    np.testing.assert_array_equal(got["tare_s"], want["tare_s"])
    assert got["region"] == want["region"]
    assert len(got["alerts"]) == len(want["alerts"])
    for a, b in zip(got["alerts"], want["alerts"]):
        assert a == b


@pytest.mark.parametrize("rate,cal", CASES)
def test_the_streams_hold_every_fault_and_fire_every_rule(rate, cal):
    """The truth the streams were scripted with (kernel_streams.py docstring)."""
    ref = reference(rate, cal)
    assert {a.rule for a in ref["alerts"]} == set(RULE_IDS)
    names = [c.name for c in ks.stream(rate).device.channels]
    fault = ref["fault"]
    assert (fault[:, ks.RING] & FAULT_OPEN).any() and (fault[:, ks.L_IDX] & FAULT_SHORT).any()
    assert (fault[:, ks.L_MID] & FAULT_NOISY).any() and (fault[:, ks.L_TH] & FAULT_SATURATED).any()
    broken = {a.sensor for a in ref["alerts"] if a.rule == "sensor_broken"}
    assert broken == {names[ks.RING], names[ks.L_IDX], names[ks.L_MID]}
    assert {a.sensor for a in ref["alerts"] if a.rule == "sensor_saturated"} == {names[ks.L_TH]}
    assert np.isnan(ref["force_n"]).any() and (ref["band"] == -1).any()
    assert set(np.unique(ref["band"])) == {-1, 0, 1, 2, 3}
    assert np.any(ref["tare_s"] > 0)


def test_the_mixed_calibration_uses_every_curve_form():
    st = ks.stream(200.0)
    p = Pipeline(st.device, ks.mixed_calibration(st.device))
    kinds = {type(c).__name__ + ("/sqrt" if getattr(c, "b", 0) == 0.5 else "")
             for c in p.converter.curves}
    assert kinds == {"PchipCurve", "PowerLaw", "PowerLaw/sqrt"}
    # the pressed PCHIP sensors (thumb, index, middle) are read below and between their knots
    ref = reference(200.0, "mixed")
    g = p.converter.conductance_s(st.counts) - ref["tare_s"]
    for j in (ks.TH, ks.IDX, ks.MID):
        c = p.converter.curves[j]
        assert type(c).__name__ == "PchipCurve"
        ok = ~np.isnan(ref["force_n"][:, j]) & (g[:, j] > 0)
        lg = np.log(g[ok, j])
        x = np.log(c.g_s)
        assert (lg < x[0]).any() and ((lg > x[0]) & (lg < x[-1])).any()


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("rate,cal", CASES)
def test_compiled_kernel_equals_the_array_stages(rate, cal, block):
    st = ks.stream(rate)
    p = Pipeline(st.device, _calibration(cal, st.device), rate_hz=rate)
    assert p.kernel.compiled == jit.COMPILED
    assert_same(ks.run(p, st, block, RETARE), reference(rate, cal))


@pytest.mark.parametrize("block", (1, 3, 64, None))
@pytest.mark.parametrize("rate,cal", CASES)
def test_uncompiled_kernel_equals_the_array_stages(rate, cal, block):
    if rate > 200 and block is not None:
        pytest.skip("1 kHz in small blocks uncompiled: covered at 200 Hz")
    st = ks.stream(rate)
    p = Pipeline(st.device, _calibration(cal, st.device), rate_hz=rate, kernel="python")
    assert not p.kernel.compiled and isinstance(p.kernel._st, list)
    assert_same(ks.run(p, st, block, RETARE), reference(rate, cal))


def test_the_reference_is_block_invariant():
    """What lets the kernel at every block size be compared with the reference whole."""
    st = ks.stream(200.0)
    for block in (5,):
        assert_same(ks.run(ReferencePipeline(st.device, ks.mixed_calibration(st.device)),
                           st, block, RETARE), reference(200.0, "mixed"))


_SIM_REF: dict = {}


def sim_reference(rate):
    if rate not in _SIM_REF:
        st = ks.sim_stream(rate)
        _SIM_REF[rate] = ks.run(ReferencePipeline(st.device, rate_hz=rate), st, None)
    return _SIM_REF[rate]


@pytest.mark.parametrize("rate,block,kern", [(200.0, 1, "numba"), (200.0, 3, "numba"),
                                             (200.0, 16, "numba"), (200.0, None, "numba"),
                                             (200.0, 7, "python")])
def test_simulated_trainee_on_the_routine(rate, block, kern):
    """The simulated glove's force model of a heavy trainee, the first 110 s of the default
    routine (warm-up, then kneading the traps too hard: too deep too fast, too much), cut
    where the routine's stage changes."""
    if kern == "numba" and not jit.COMPILED:
        pytest.skip("numba is not installed")
    st = ks.sim_stream(rate)
    ref = sim_reference(rate)
    assert {"too_deep_too_fast", "too_much"} <= {a.rule for a in ref["alerts"]}
    assert_same(ks.run(Pipeline(st.device, rate_hz=rate, kernel=kern), st, block), ref)


_CHILD = """
import pickle, sys
sys.path.insert(0, {here!r})
import kernel_streams as ks
from massage_glove.signal import jit
from massage_glove.signal.pipeline import Pipeline
assert not jit.COMPILED
st = ks.stream(200.0)
p = Pipeline(st.device, ks.mixed_calibration(st.device))
out = ks.run(p, st, 5, {retare})
out["kernel"] = p.kernel.name
sys.stdout.buffer.write(pickle.dumps(out))
"""


def test_mg_kernel_python_runs_the_same_source_without_numba():
    """MG_KERNEL=python: numba is not imported; Pipeline gives the compiled outputs."""
    env = dict(os.environ, MG_KERNEL="python")
    p = subprocess.run([sys.executable, "-c", _CHILD.format(here=str(HERE), retare=RETARE)], env=env,
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    got = pickle.loads(p.stdout)
    assert got.pop("kernel") == "python"
    assert_same(got, reference(200.0, "mixed"))


@pytest.mark.skipif(not jit.COMPILED, reason="numba is not installed")
def test_one_compiled_specialisation_and_no_compile_on_the_first_sample():
    st = ks.stream(200.0)
    p = Pipeline(st.device, rate_hz=200.0)
    assert kernel.chain_block.signatures and len(kernel.chain_block.signatures) == 1
    assert len(kernel.restart_bands.signatures) == 1
    ks.run(p, st, 16)
    Pipeline(make_device(1000), ks.mixed_calibration(make_device(1000)), rate_hz=1000.0)
    assert len(kernel.chain_block.signatures) == 1 and len(kernel.restart_bands.signatures) == 1


@pytest.mark.parametrize("compiled", [True, False])
def test_force_table_is_the_converters_force_at_every_count(compiled):
    """Every whole count of every channel, tared (PCHIP, power-law and square-root curves,
    G <= 0 below the tare, the clip at full scale, counts beyond it): the kernel's force is
    ForceConverter.force_n's. Fault thresholds and the noise test are moved out of the way
    so that every force is seen; the table is remade when the tare changes."""
    if compiled and not jit.COMPILED:
        pytest.skip("numba is not installed")
    dev = make_device(200)
    p = Pipeline(dev, ks.mixed_calibration(dev), kernel="numba" if compiled else "python")
    cv, k = p.converter, p.kernel
    k._par[kernel.P_STEP] = np.inf
    for j in range(cv.n_channels):
        base = k._p_ch + j * kernel.PC
        k._par[base + kernel.C_SHORT] = np.inf
        k._par[base + kernel.C_SAT] = np.inf
        k._par[base + kernel.C_OPEN] = -np.inf
    counts = np.repeat(np.r_[0:cv.full + 1, cv.full + 1, 65535][:, None], cv.n_channels, 1)
    counts = counts.astype(np.uint16)
    for tare in (np.zeros(cv.n_channels), np.linspace(0, 2e-4, cv.n_channels)):
        p.tare_s = tare
        force = k.process(counts)[0]
        np.testing.assert_array_equal(force, cv.force_n(counts, tare), strict=True)
        assert np.isfinite(force).all() and (force == 0).any() and (force > 0).any()
    with pytest.raises(ValueError, match="whole ADC readings"):
        k.process(np.full((1, cv.n_channels), 100.5))


def test_noise_detector_is_block_invariant_when_the_quick_window_is_the_longer():
    """At 20 Hz the 0.25 s window is 5 samples, the quick test's 8: the history kept
    between blocks must cover the longer of the two."""
    rng = np.random.default_rng(2)
    c = 2000 + rng.choice([-300, 0, 300], (400, 3)) * (rng.random((400, 3)) < 0.6)
    whole = NoiseDetector(3, 20.0).process(c)
    assert whole.any() and not whole.all()
    for b in (1, 2, 3, 5, 7):
        d = NoiseDetector(3, 20.0)
        np.testing.assert_array_equal(
            np.concatenate([d.process(c[i:i + b]) for i in range(0, len(c), b)]), whole)
