"""The simulated glove's calibration (calibration/sim-glove.json) is what the real
`massage-glove calibrate --auto` fits against the simulated glove (real firmware, pty,
the force model's FSR physics with creep and noise), so the demo runs calibrated.

    python tests/test_sim_calibration.py --write      # refit and write calibration/sim-glove.json
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CAL = ROOT / "calibration" / "sim-glove.json"
LOADS_G = [200, 500, 1000, 2000]
G = 9.80665
HOLD_S, GAP_S, READ_S = 4.0, 2.0, 3.0


def fit_sim_calibration(out: Path, sensors: list[str] | None = None) -> int:
    """Run `calibrate --auto` against the simulated glove "sim-glove"; returns its exit code."""
    from massage_glove import cli
    from massage_glove.cliargs import sim_channel_names
    from massage_glove.sim import scripts
    from massage_glove.sim.glove import SimGlove
    sensors = sensors or list(sim_channel_names())
    loads = [g / 1000 * G for g in LOADS_G]
    script = scripts.calibration_script(sensors, loads, hold_s=HOLD_S, gap_s=GAP_S)
    # the free-running glove's clock runs ahead before the stream starts: wait off the body
    script["segments"].insert(0, {"duration_s": 120.0, "region": "off", "technique": "off"})
    with SimGlove(script, mode="free", glove_id="sim-glove") as sim:
        return cli.main(["calibrate", "--port", sim.port, "--auto", "--sensors", ",".join(sensors),
                         "--weights-g", ",".join(map(str, LOADS_G)), "--hold-s", str(READ_S),
                         "--out", str(out), "--timeout", "120"])


SAMPLE = ["R_thumb", "L_palm_heel"]        # refitted in the test (the whole glove takes minutes)


def test_the_committed_sim_calibration_is_what_calibrate_auto_fits(tmp_path, capsys):
    from massage_glove.signal.calibration import Calibration
    assert CAL.is_file(), "calibration/sim-glove.json is missing: python tests/test_sim_calibration.py --write"
    committed = Calibration.load(CAL)
    assert committed.glove_id == "sim-glove"
    out = tmp_path / "sim-glove.json"
    assert fit_sim_calibration(out, SAMPLE) == 0, capsys.readouterr().out
    fresh = Calibration.load(out)
    for name in SAMPLE:
        a, b = committed.channel(name), fresh.channel(name)
        assert a.model == b.model == "power"
        # the same procedure on the same physics: the curves agree within 2 % over the loads
        # (sensor noise and where each reading lands on the creep differ run to run)
        g = np.array(b.readings_counts, float)
        from massage_glove.signal.calibration import conductance_s_from_counts
        gs = conductance_s_from_counts(g, b.r_divider_ohm, b.r_bleed_ohm, 4095)
        np.testing.assert_allclose(a.curve.force_n(gs), b.curve.force_n(gs), rtol=0.02)
    # every channel of the glove is calibrated, none on the nominal curve
    from massage_glove.cliargs import sim_channel_names
    assert all(committed.channel(n).model == "power" for n in sim_channel_names())


def test_the_demo_finds_the_sim_calibration(capsys, caplog):
    from types import SimpleNamespace
    from massage_glove.live.command import _calibration_dir
    d = _calibration_dir(SimpleNamespace(calibration_dir=None), simulated=True)
    assert d is not None and (Path(d) / "sim-glove.json").is_file()


if __name__ == "__main__":
    if "--write" not in sys.argv:
        sys.exit(__doc__)
    sys.exit(fit_sim_calibration(CAL))
