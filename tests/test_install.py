"""The package installs from its source like any other: `pip install .` into a fresh virtual
environment, outside the checkout; then `massage-glove practice --headless --duration 20`
runs the simulated glove on the firmware shipped in the wheel, calibrated, and reviews it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_pip_install_then_practice_outside_the_checkout(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".hypothesis", "sessions"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    pip = subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", str(src)],
                         capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    shutil.rmtree(src)                                # nothing may come from the checkout
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MASSAGE_GLOVE"))}
    env["MASSAGE_GLOVE_SESSIONS"] = str(work / "sessions")
    (work / "sessions").mkdir()
    exe = env_dir / "bin" / "massage-glove"
    run = subprocess.run([str(exe), "practice", "--headless", "--duration", "20"], cwd=work,
                         capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    err = run.stderr
    assert run.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "no calibration" not in err, err[-3000:]
    logs = list((work / "sessions").rglob("*.mglog"))
    assert len(logs) == 1 and logs[0].with_suffix(".html").is_file()
    # the firmware and the calibration came from the installed package
    where = subprocess.run([str(py), "-c", "import massage_glove.paths as p; "
                            "print(p.firmware_dir()); print(p.sim_calibration_dir())"],
                           capture_output=True, text=True, cwd=work, env=env)
    fw, cal = where.stdout.split()
    assert fw.startswith(str(env_dir)) and cal.startswith(str(env_dir))
    m = subprocess.run([str(py), "-m", "massage_glove", "--version"], capture_output=True,
                       text=True, cwd=work, env=env)
    assert m.returncode == 0 and m.stdout.startswith("massage-glove ")
    meta = subprocess.run([str(py), "-c", "import importlib.metadata as m; "
                           "print(m.metadata('massage-glove')['License-Expression'])"],
                          capture_output=True, text=True, cwd=work, env=env)
    assert meta.stdout.strip() == "MIT"
