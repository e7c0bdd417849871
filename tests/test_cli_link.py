"""The link commands of the CLI: flash, ports, simulate (against the simulated glove)."""
import os
import subprocess
import sys
import time

import pytest

from massage_glove import cli
from massage_glove.sim.glove import SimGlove


def test_flash_deploys_to_the_board_and_it_boots_the_deployed_firmware(capsys):
    with SimGlove() as sim:
        time.sleep(0.3)
        (sim.dir / "flash" / "main.py").write_text("print('old firmware')\n")
        rc = cli.main(["flash", "--port", sim.port])
        out, err = capsys.readouterr()
        assert rc == 0, err
        flash = sim.dir / "flash"
        assert (flash / "main.py").read_text().startswith("# Boot entry of the glove")
        assert (flash / "glove" / "sampler.py").is_file()
        assert "glove sim-glove, firmware 1.0.0, 16 channels" in out
        assert sim.boots >= 2, "the board was reset after the copy"


def test_flash_compiled_sends_armv6m_mpy_files(capsys):
    with SimGlove() as sim:
        time.sleep(0.3)
        # the unix port cannot run ARM code, so no reset and no verify here
        rc = cli.main(["flash", "--port", sim.port, "--compile", "--no-reset"])
        assert rc == 0, capsys.readouterr()[1]
        mpy = (sim.dir / "flash" / "glove" / "wire.mpy").read_bytes()
        assert mpy[:1] == b"M" and mpy[2] >> 2 == 4, "native code for armv6m (arch 4) in wire.mpy"
        assert (sim.dir / "flash" / "glove" / "config.py").is_file(), "config stays editable"


def test_flash_to_a_missing_port_explains(tmp_path, capsys):
    rc = cli.main(["flash", "--port", str(tmp_path / "ttyACM9"), "--no-verify"])
    _, err = capsys.readouterr()
    assert rc == 1 and "could not deploy" in err


def test_ports_marks_the_simulated_glove(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    from massage_glove.ports import register_sim
    with SimGlove() as sim:
        register_sim(sim.port)
        assert cli.main(["ports"]) == 0
        out, _ = capsys.readouterr()
    line = next(l for l in out.splitlines() if sim.port in l)
    assert line.startswith("GLOVE") and "glove sim-glove" in line


def test_simulate_prints_a_port_a_glove_answers_on(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    p = subprocess.Popen([sys.executable, "-m", "massage_glove.cli", "simulate", "--script", "rest",
                          "--duration", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        port = p.stdout.readline().strip()
        from massage_glove.link import GloveLink
        link = GloveLink.open(port)
        assert link.info.glove_id == "sim-glove"
        link.close()
    finally:
        p.terminate()
        p.wait(timeout=10)
    assert not os.path.exists(port), "the port goes away when the simulator stops"
