"""Deploying the firmware the real way: a bare Pico (MicroPython only, empty filesystem),
`massage-glove flash --port <pty>` through mpremote, then a reboot into the glove."""
import subprocess
import sys
from pathlib import Path

from conftest import boot
from massage_glove import paths, protocol as P
from massage_glove.flash import firmware_files


def test_flash_through_mpremote_then_the_glove_boots(bench, tmp_path):
    saved = tmp_path / "after-flash.img"
    chip = bench.start("bare", None, pace=False, save_fs=saved)
    try:
        exe = Path(sys.executable).with_name("massage-glove")
        r = subprocess.run([str(exe), "flash", "--port", chip.port, "--no-reset"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        n = len(firmware_files(paths.firmware_dir()))
        assert f"deployed {n} files" in r.stderr, r.stdout + r.stderr
    finally:
        chip.stop()
    # power the chip up again on the flash mpremote wrote: main.py starts the glove
    chip = bench.start("bare-reboot", saved, pace=False)
    try:
        ser = boot(chip)
        m = ser.command("id")
        assert isinstance(m, P.Meta) and len(m.info["channels"]) == 16
        assert m.info["platform"] == "rp2"
        assert ser.command("start").ok
        ser.wait_for(lambda f: isinstance(f, P.Data), 60)
        ser.close()
    finally:
        chip.stop()
