"""The chip bench from Python: the official MicroPython rp2 port on an emulated RP2040.

The bench (`../shared/rp2040` next to the repository, or the folder named by the
environment variable MASSAGE_GLOVE_RP2040_BENCH) is read-only: `Bench.prepare` copies it
into a work folder, runs `npm install` there once, and adds the project's own runner
(glove_emu.mjs: drivable multiplexer inputs and a record of the buzzer pins, around the
bench's emu.mjs). `Bench.start` boots a chip bridged to a pty; `Chip` talks to the runner's
control socket and to the serial port (raw bytes, through pyserial like the host does).

Everything here works in the chip's own time (emulated nanoseconds): the emulator runs at
a fraction of real time, and slower when the machine is busy.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ENV_VAR = "MASSAGE_GLOVE_RP2040_BENCH"
BENCH_FILES = ("emu.mjs", "bootrom.mjs", "ptybridge.py", "mkfs.py", "package.json",
               "micropython-rp2-pico.bin")


def find_bench() -> tuple[Path | None, str]:
    """(bench folder, '') or (None, why it cannot run here)."""
    env = os.environ.get(ENV_VAR)
    src = Path(env) if env else ROOT.parent / "shared" / "rp2040"
    where = f"{ENV_VAR}={env}" if env else f"{src} (set {ENV_VAR} to use another)"
    if not src.is_dir():
        return None, f"no chip bench at {where}"
    missing = [f for f in BENCH_FILES if not (src / f).is_file()]
    if missing:
        return None, f"the chip bench at {where} lacks {', '.join(missing)}"
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return None, f"{tool} is not installed (the chip bench runs on Node.js)"
    try:
        import littlefs  # noqa: F401
    except ImportError:
        return None, "littlefs-python is not installed (pip install -e '.[test]')"
    return src, ""


class BenchError(RuntimeError):
    pass


class Bench:
    """A writable, installed copy of the chip bench."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def prepare(cls, src: Path, work: Path) -> "Bench":
        work.mkdir(parents=True, exist_ok=True)
        for p in src.iterdir():
            if p.name == "node_modules":
                continue
            if p.is_file():
                shutil.copy(p, work / p.name)
        shutil.copy(HERE / "glove_emu.mjs", work / "glove_emu.mjs")
        if not (work / "node_modules" / "rp2040js").is_dir():
            r = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"],
                               cwd=work, capture_output=True, text=True, timeout=600)
            if r.returncode:
                raise BenchError(f"npm install in {work} failed: {r.stderr.strip()[-500:]}")
        return cls(work)

    @property
    def elf(self) -> Path:
        return self.path / "micropython-rp2-pico.elf"

    def fs_image(self, out: Path, src_dir: Path, no_main: bool = False,
                 extra: dict[str, Path] | None = None) -> Path:
        """A littlefs image of src_dir for the board's filesystem (the bench's mkfs.py)."""
        args = [sys.executable, str(self.path / "mkfs.py"), str(out), str(src_dir)]
        if no_main:
            args.append("--no-main")
        for dest, f in (extra or {}).items():
            args += ["--extra", f"{dest}={f}"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if r.returncode:
            raise BenchError(f"mkfs.py failed: {r.stdout}{r.stderr}")
        return out

    def start(self, name: str, fs: Path | None = None, *, pace: bool = True,
              heap_watch: bool = False, heap_after_s: float = 0.0,
              stat_interval_s: float = 1.0, save_fs: Path | None = None) -> "Chip":
        return Chip(self, name, fs=fs, pace=pace, heap_watch=heap_watch,
                    heap_after_s=heap_after_s, stat_interval_s=stat_interval_s, save_fs=save_fs)


class Chip:
    """One emulated board: a pty (`port`), the runner's control socket, its stats."""

    def __init__(self, bench: Bench, name: str, *, fs, pace, heap_watch, heap_after_s,
                 stat_interval_s, save_fs):
        d = bench.path / name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
        self.dir = d
        self.port = str(d / "tty")
        self.ctl_path = str(d / "ctl.sock")
        self.stats_path = d / "stats.jsonl"
        self.log_path = d / "emu.log"
        args = [sys.executable, str(bench.path / "ptybridge.py"), "--link", self.port,
                "--log", str(self.log_path), "--", "node", str(bench.path / "glove_emu.mjs"),
                "--ctl", self.ctl_path, "--stats", str(self.stats_path),
                "--stat-interval", str(stat_interval_s)]
        if fs is not None:
            args += ["--fs", str(fs)]
        if save_fs is not None:
            args += ["--save-fs", str(save_fs)]
        if not pace:
            args.append("--no-pace")
        if heap_watch:
            args += ["--heap-watch", str(bench.elf), "--heap-after", str(heap_after_s)]
        # its own process group, so that stop() ends the bridge and the emulator, nothing else
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self._sock = None
        self._rbuf = b""
        deadline = time.monotonic() + 60
        while not (os.path.exists(self.port) and os.path.exists(self.ctl_path)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"the chip did not start: {self.log_text()[-2000:]}")
            time.sleep(0.05)

    # --- the runner's control socket ---------------------------------------------------
    def ctl(self, op: str, **kw) -> dict:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.settimeout(30)
            self._sock.connect(self.ctl_path)
        self._sock.sendall((json.dumps({"op": op, **kw}) + "\n").encode())
        while b"\n" not in self._rbuf:
            d = self._sock.recv(65536)
            if not d:
                raise BenchError("the chip's control socket closed")
            self._rbuf += d
        line, self._rbuf = self._rbuf.split(b"\n", 1)
        rep = json.loads(line)
        if not rep.get("ok"):
            raise BenchError(f"control {op}: {rep.get('error')}")
        return rep

    def now_s(self) -> float:
        """The chip's own time (emulated seconds since power-on)."""
        return self.ctl("now")["t_ns"] / 1e9

    def wait_until(self, t_s: float, wall_timeout: float = 300) -> None:
        """Wait (host side) until the chip's time reaches t_s."""
        deadline = time.monotonic() + wall_timeout
        while self.now_s() < t_s:
            if time.monotonic() > deadline:
                raise BenchError(f"the chip did not reach t={t_s:.3f} s within {wall_timeout} s")
            time.sleep(0.02)

    def set_inputs(self, counts: list[int]) -> None:
        self.ctl("set", counts=list(counts))

    def play(self, rows, step_us: int) -> float:
        """Play rows (each 16 counts, one per mux input) from now, one row per step_us of
        chip time; returns the chip time (s) at which row 0 starts."""
        f = self.dir / f"play-{time.monotonic_ns()}.bin"
        with open(f, "wb") as fh:
            for row in rows:
                fh.write(struct.pack("<16H", *row))
        return self.ctl("play", file=str(f), step_us=step_us)["t0_ns"] / 1e9

    def pins(self) -> dict:
        """Changes of the watched pins since the last call: {gpio: [(t_s, level), ...]},
        and their levels now under 'level'."""
        r = self.ctl("pins")
        out = {int(g): [(t / 1e9, v) for t, v in c] for g, c in r["pins"].items()}
        out["level"] = {int(g): v for g, v in r["level"].items()}
        return out

    # --- stats and logs ----------------------------------------------------------------
    def stats(self) -> list[dict]:
        if not self.stats_path.exists():
            return []
        out = []
        for line in self.stats_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
        return out

    def next_stats(self, wall_timeout: float = 60) -> dict:
        """The next stats line written after this call."""
        n = len(self.stats())
        deadline = time.monotonic() + wall_timeout
        while time.monotonic() < deadline:
            s = self.stats()
            if len(s) > n:
                return s[-1]
            time.sleep(0.1)
        raise BenchError("no stats from the chip")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def __enter__(self) -> "Chip":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the glove's serial protocol, raw (what the host sends and reads) -------------------

class Serial:
    """The glove's serial port, opened like the host opens it, frames decoded by the host's
    own decoder. Keeps every frame it read in order."""

    def __init__(self, port: str):
        import serial
        from massage_glove import protocol as P
        self.P = P
        self.s = serial.Serial(port, 115200, timeout=0.05)
        self.dec = P.FrameDecoder()
        self.frames: list = []
        self.raw = bytearray()
        self.seq = 100

    def close(self) -> None:
        self.s.close()

    def write(self, b: bytes) -> None:
        self.s.write(b)
        self.s.flush()

    def pump(self, wall_s: float = 0.05, keep_raw: bool = False) -> list:
        """Read for about wall_s; returns the frames read."""
        end = time.monotonic() + wall_s
        out = []
        while True:
            d = self.s.read(65536)
            if d:
                if keep_raw:
                    self.raw += d
                out += self.dec.feed(d)
            if time.monotonic() >= end:
                break
        self.frames += out
        return out

    def command(self, verb: str, *args, wall_timeout: float = 30):
        """Send one command, return its REPLY (or META for `id`); frames read meanwhile are kept."""
        self.seq = (self.seq + 1) & 0xFFFF
        seq = self.seq
        self.write(self.P.command_line(seq, verb, *args))
        end = time.monotonic() + wall_timeout
        while time.monotonic() < end:
            for f in self.pump(0.02):
                if isinstance(f, (self.P.Reply, self.P.Meta)) and f.cmd_seq == seq:
                    return f
        raise BenchError(f"no answer to {verb!r} within {wall_timeout} s")

    def wait_for(self, pred, wall_timeout: float = 60):
        end = time.monotonic() + wall_timeout
        for f in self.frames:
            if pred(f):
                return f
        while time.monotonic() < end:
            for f in self.pump(0.02):
                if pred(f):
                    return f
        raise BenchError(f"no such frame within {wall_timeout} s")

    def data(self) -> list:
        return [f for f in self.frames if isinstance(f, self.P.Data)]

    def events(self, kind: int | None = None) -> list:
        return [f for f in self.frames if isinstance(f, self.P.Event) and (kind is None or f.kind == kind)]


def interrupt_to_repl(ser: "Serial", wall_timeout: float = 30) -> bytes:
    """Ctrl-C until the MicroPython prompt shows; returns what was read meanwhile."""
    got = bytearray()
    end = time.monotonic() + wall_timeout
    while time.monotonic() < end:
        ser.write(b"\r\x03")
        t = time.monotonic() + 1.0
        while time.monotonic() < t:
            d = ser.s.read(65536)
            if d:
                got += d
                if got.endswith(b">>> ") or b"\r\n>>> " in got[-200:]:
                    return bytes(got)
    raise BenchError(f"no REPL prompt after Ctrl-C within {wall_timeout} s: {bytes(got[-300:])!r}")


def exec_raw(ser: "Serial", code: str, wall_timeout: float = 120) -> str:
    """Run code in the raw REPL (the board must be at the prompt); returns its stdout,
    raises BenchError with its traceback if it failed."""
    ser.write(b"\r\x01")
    buf = bytearray()
    end = time.monotonic() + 30
    while b"raw REPL; CTRL-B to exit\r\n>" not in buf:
        if time.monotonic() > end:
            raise BenchError(f"no raw REPL: {bytes(buf[-300:])!r}")
        buf += ser.s.read(4096)
    data = code.encode()
    for i in range(0, len(data), 256):
        ser.write(data[i:i + 256])
        time.sleep(0.01)
    ser.write(b"\x04")
    buf = bytearray()
    end = time.monotonic() + wall_timeout
    while buf.count(b"\x04") < 2 or not buf.endswith(b">"):
        if time.monotonic() > end:
            raise BenchError(f"the code did not finish within {wall_timeout} s: {bytes(buf[-500:])!r}")
        buf += ser.s.read(65536)
    ser.write(b"\x02")          # back to the friendly REPL
    text = bytes(buf).decode("latin1")
    if not text.startswith("OK"):
        raise BenchError(f"raw REPL refused the code: {text[:300]!r}")
    out, err = text[2:].split("\x04")[:2]
    if err.strip():
        raise BenchError(f"the code failed on the chip:\n{err!r}\n{out[-500:]!r}")
    return out


def exec_raw_marked(ser: "Serial", code: str, marker: bytes, wall_timeout: float = 300) -> str:
    """Run code in the raw REPL while it may write binary frames too; returns group 1 of
    the regex `marker` in what it printed (the frames are skipped)."""
    import re
    ser.write(b"\r\x01")
    buf = bytearray()
    end = time.monotonic() + 30
    while b"raw REPL; CTRL-B to exit\r\n>" not in buf:
        if time.monotonic() > end:
            raise BenchError(f"no raw REPL: {bytes(buf[-300:])!r}")
        buf += ser.s.read(4096)
    data = code.encode()
    for i in range(0, len(data), 256):
        ser.write(data[i:i + 256])
        time.sleep(0.01)
    ser.write(b"\x04")
    buf = bytearray()
    end = time.monotonic() + wall_timeout
    while True:
        m = re.search(marker, buf)
        if m:
            break
        if b"Traceback" in buf[-2000:] and buf.endswith(b">"):
            raise BenchError("the code failed on the chip: " + bytes(buf[buf.rfind(b"Traceback"):]).decode("latin1"))
        if time.monotonic() > end:
            raise BenchError(f"no {marker!r} within {wall_timeout} s: {bytes(buf[-500:])!r}")
        buf += ser.s.read(65536)
    while not buf.endswith(b"\x04>"):
        if time.monotonic() > end:
            break
        buf += ser.s.read(65536)
    ser.write(b"\x02")
    return m.group(1).decode()


def mpremote() -> Path:
    mp = Path(sys.executable).with_name("mpremote")
    return mp if mp.exists() else Path(shutil.which("mpremote") or "mpremote")


def boot(chip: Chip, wall_timeout: float = 120) -> Serial:
    """Open the chip's serial port and wait for the firmware's BOOT event."""
    ser = Serial(chip.port)
    try:
        ser.wait_for(lambda f: isinstance(f, ser.P.Event) and f.kind == ser.P.EV_BOOT, wall_timeout)
    except Exception:
        ser.close()
        raise BenchError("no BOOT event from the firmware: " + chip.log_text()[-1500:])
    return ser
