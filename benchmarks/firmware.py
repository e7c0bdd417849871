"""Firmware cost per frame on the MicroPython unix port, free-running rate and bytes on the wire,
against a naive text-line firmware (benchmarks/mpy_naive_firmware.py) run the same way.

* cost per frame: benchmarks/mpy_frame_cost.py in the unix port, on the simulated `machine`
  module with every sensor at rest: the real Sampler.tick() (timer callback) and
  App.send_data() (DATA frame encoding) timed over N frames, and the naive firmware's
  per-sample work (same mux selects and ADC reads, one text line formatted and written).
  The simulated ADC and pins are Python objects, so the tick includes their cost; on the
  board they are C calls, and the board's CPU is slower: these are interpreter figures.
* free-running rate: each firmware boots as the simulated glove (SimGlove, mode "free":
  device time jumps to the next timer tick as soon as the main loop is idle, so a sample is
  never late and nothing is dropped by the timer) playing a trainee's routine; the host
  reads the raw bytes from the pty and counts DATA frames (0x00 delimiters) or lines for
  `seconds` of wall time, checking the sequence numbers at every read for lost samples.
  Samples per wall second is the highest rate this firmware (with the simulated sensors'
  force model in the same process, the same for both) sustains here without drops.
* bytes on the wire: bytes per sample measured in the free run (the text line's length
  depends on the counts, so it is measured on the routine), times 200 Hz.
"""
from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from massage_glove import paths
from massage_glove import protocol as P
from massage_glove.sim import scripts
from massage_glove.sim.glove import SimGlove

HERE = Path(__file__).resolve().parent
RATE_HZ = 200
# The firmware promises 1 kHz at 16 channels (config.MAX_CHANNEL_SAMPLES_PER_S = 16000):
# the interpreter must do a frame's work within that period, and keep up with that rate.
TARGET_FRAME_US = 1000.0
TARGET_RATE_HZ = 1000.0
# 16 channels at 200 Hz must fit a 115200-baud UART (8N1: 11 520 bytes/s), the rate the
# host opens every port at, so a UART or Bluetooth-serial link can carry the stream.
TARGET_BYTES_PER_S = 115200 / 10


def mpy_env() -> dict:
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([str(paths.sim_device_dir()), str(paths.portable_dir()),
                                          str(paths.firmware_dir())])
    env.pop("MASSAGE_GLOVE_SIM", None)
    return env


def frame_cost(n: int = 20000) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-fw-") as d:
        r = subprocess.run([paths.micropython_exe(), "-X", "heapsize=8M",
                            str(HERE / "mpy_frame_cost.py"), str(n)],
                           capture_output=True, text=True, timeout=300, env=mpy_env(), cwd=d)
    if r.returncode != 0:
        raise RuntimeError(f"mpy_frame_cost.py failed: {r.stdout}{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _seq_of_frame(piece: bytes) -> int | None:
    try:
        f = P.decode_frame(piece)
    except P.DecodeError:
        return None
    return f.seq if isinstance(f, P.Data) else None


def _seq_of_line(piece: bytes) -> int | None:
    try:
        return int(piece.split(b",", 1)[0]) & 0xFFFF
    except ValueError:
        return None


def free_run(kind: str, seconds: float = 4.0, warm_s: float = 0.5, seed: int = 6) -> dict:
    """Samples per wall second, bytes per sample and lost samples of one firmware, free-running."""
    script = scripts.routine_script(seed=seed, lead_in_s=1.0)
    binary = kind == "binary"
    delim = b"\x00" if binary else b"\n"
    seq_of = _seq_of_frame if binary else _seq_of_line
    with tempfile.TemporaryDirectory(prefix="bench-fw-") as d:
        if not binary:
            (Path(d) / "flash").mkdir()
            shutil.copy(HERE / "mpy_naive_firmware.py", Path(d) / "flash" / "main.py")
        with SimGlove(script, mode="free", workdir=d) as sim:
            fd = os.open(sim.port, os.O_RDWR | os.O_NOCTTY)
            try:
                if binary:
                    os.write(fd, P.command_line(1, "start"))
                buf = b""
                counting = False
                frames = nbytes = lost = 0
                prev_seq = None
                t_end = time.perf_counter() + warm_s
                t0 = None
                while True:
                    now = time.perf_counter()
                    if now >= t_end:
                        if counting:
                            break
                        counting, t0, t_end = True, now, now + seconds
                        buf = buf[buf.rfind(delim) + 1:] if delim in buf else buf
                        prev_seq = None
                    r, _, _ = select.select([fd], [], [], 0.1)
                    if not r:
                        continue
                    data = os.read(fd, 65536)
                    if not counting:
                        buf = (buf + data)[-4096:]
                        continue
                    buf += data
                    cut = buf.rfind(delim)
                    if cut < 0:
                        continue
                    whole, buf = buf[:cut + 1], buf[cut + 1:]
                    k = whole.count(delim)
                    last = whole[:-1].rsplit(delim, 1)[-1]
                    s = seq_of(last)
                    if prev_seq is not None and s is not None:
                        lost += max(0, ((s - prev_seq) & 0xFFFF) - k)
                    if s is not None:
                        prev_seq = s
                    frames += k
                    nbytes += len(whole)
                wall = time.perf_counter() - t0
            finally:
                os.close(fd)
            err = sim.stderr_text
    if frames == 0:
        raise RuntimeError(f"the {kind} firmware sent nothing: {err}")
    return {"kind": kind, "seconds": wall, "samples": frames, "samples_per_s": frames / wall,
            "bytes_per_s": nbytes / wall, "bytes_per_sample": nbytes / frames,
            "lost_samples": lost, "bytes_per_s_at_200hz": nbytes / frames * RATE_HZ}


def run(n_frames: int = 20000, seconds: float = 4.0) -> dict:
    return {"cost": frame_cost(n_frames), "binary": free_run("binary", seconds),
            "text": free_run("text", seconds), "target_frame_us": TARGET_FRAME_US,
            "target_rate_hz": TARGET_RATE_HZ, "target_bytes_per_s": TARGET_BYTES_PER_S}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=4.0)
    a = ap.parse_args(argv)
    print(json.dumps(run(a.frames, a.seconds), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
