"""The simulated glove: the real firmware in the MicroPython unix port, behind a pty.

    with SimGlove(script) as sim:
        link = GloveLink.open(sim.port)      # the same code path as a real glove

The firmware (`firmware/main.py`, unchanged) runs in `micropython` with the simulated
`machine` module of sim/device/, whose ADC reads the force model (portable/forcemodel.py).
Its stdin/stdout is one pty; a relay copies bytes between it and a second pty whose path
(`sim.port`, a stable symlink) the host opens. The relay is where cable faults are made:
corrupted frames, garbage, a stalled glove, an unplug and replug, a reboot. Byte 0x03
from the host interrupts the firmware (as the board's USB interrupt character does), so
mpremote can reach the REPL.
"""
from __future__ import annotations

import json
import logging
import os
import pty
import select
import signal
import subprocess
import tempfile
import threading
import time
import tty
from pathlib import Path

from .. import paths, protocol

log = logging.getLogger(__name__)

EXIT_RESET = 75       # machine.reset() in the simulated machine module
EXIT_TIMER_ALLOC = 70
TMP_PREFIX = "massage-glove-sim-"


def _die_with_parent(parent_pid: int):
    """preexec of the MicroPython process: it gets SIGKILL when the thread that started it
    ends (Linux prctl PR_SET_PDEATHSIG), so a killed host never leaves a glove running."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec():
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # PR_SET_PDEATHSIG = 1
        if os.getppid() != parent_pid:              # the parent died before the prctl
            os._exit(1)
    return preexec


class _Spawner:
    """One long-lived thread that starts every MicroPython process: PR_SET_PDEATHSIG fires
    when the starting *thread* ends, so processes are never started from short-lived
    threads (a re-enumeration after `reset` runs in one)."""

    def __init__(self):
        import queue
        self._q: "queue.Queue" = queue.Queue()
        self._t: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, fn):
        with self._lock:
            if self._t is None or not self._t.is_alive():
                self._t = threading.Thread(target=self._loop, name="sim-spawner", daemon=True)
                self._t.start()
        done = threading.Event()
        box: list = []
        self._q.put((fn, box, done))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def _loop(self):
        while True:
            fn, box, done = self._q.get()
            try:
                box.append(fn())
            except BaseException as e:     # handed back to the caller
                box.append(e)
            done.set()


_spawner = _Spawner()


def sweep_stale_dirs() -> int:
    """Remove the temp dirs of simulated gloves whose host process is gone (killed with
    SIGKILL, which leaves no chance to clean up). Returns how many were removed."""
    import shutil
    n = 0
    base = Path(tempfile.gettempdir())
    for d in base.glob(TMP_PREFIX + "*-*"):
        pid = d.name[len(TMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not d.is_dir() or d.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
            continue                      # its host is alive
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        n += 1
    return n


class SimError(RuntimeError):
    pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class SimGlove:
    """A simulated glove on a pty. See the module docstring.

    script: force model script (dict, see portable/forcemodel.py) or None for a glove at
    rest; hands: ("right", "left") one board with both gloves, or one hand; mode:
    "realtime" (device clock follows the host clock) or "free" (time jumps from tick to
    tick as fast as the firmware and the host keep up); offset_us: start the device clock
    this far in (to cross the 2^30 us wrap early); seed: picks the unique id.
    """

    def __init__(self, script: dict | None = None, *, hands=("right", "left"),
                 glove_id: str | None = "sim-glove", mode: str = "realtime",
                 offset_us: int = 0, workdir: str | os.PathLike | None = None,
                 unique_id: str = "e6605838833b2a2f"):
        if mode not in ("realtime", "free"):
            raise ValueError("mode must be 'realtime' or 'free'")
        for i, seg in enumerate((script or {}).get("segments", ())):
            extra = set(seg.get("hands", ())) - set(hands)
            if extra:
                raise ValueError(f"force model segment {i} works with the {', '.join(sorted(extra))} "
                                 f"hand, which this simulated glove ({', '.join(hands)}) does not have: "
                                 f"make the script with the same hands")
        self.script = script
        self.hands = tuple(hands)
        self.glove_id = glove_id
        self.mode = mode
        self.offset_us = offset_us
        self.unique_id = unique_id
        self._tmp = None
        if workdir is None:
            sweep_stale_dirs()
            self._tmp = tempfile.TemporaryDirectory(prefix=f"{TMP_PREFIX}{os.getpid()}-")
            workdir = self._tmp.name
        self.dir = Path(workdir)
        self.port = str(self.dir / "ttyGLOVE0")
        self.proc: subprocess.Popen | None = None
        self._dev_fd = -1          # master of the device's pty
        self._host_fd = -1         # master of the host-facing pty
        self._host_slave = -1
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._corrupt_pending = 0
        self._garbage_pending: list[bytes] = []
        self._hold = bytearray()
        self.firmware_running = False
        self.boots = 0
        self.corrupted_seqs: list[int] = []
        self.garbage_bytes = 0
        self.bytes_to_host = 0
        self.stderr_text = ""
        self.exit_codes: list[int] = []

    # --- life cycle -----------------------------------------------------------------
    def __enter__(self) -> "SimGlove":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> str:
        """Boot the glove and plug it in; returns the port path."""
        self._write_config()
        self._plug()
        return self.port

    def close(self) -> None:
        self._unplug()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _write_config(self) -> None:
        (self.dir / "local").mkdir(parents=True, exist_ok=True)
        (self.dir / "flash").mkdir(exist_ok=True)
        lines = ["# written by the simulated glove harness\n",
                 f"HANDS = {self.hands!r}\n"]
        if self.glove_id:
            lines.append(f"GLOVE_ID = {self.glove_id!r}\n")
        (self.dir / "local" / "glove_local.py").write_text("".join(lines))
        cfg = {"script": self.script, "mode": self.mode, "offset_us": self.offset_us,
               "unique_id": self.unique_id, "reset_cause": 1}
        (self.dir / "sim.json").write_text(json.dumps(cfg))

    def _spawn(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)
        fw = paths.firmware_dir()
        env = dict(os.environ)
        flash = self.dir / "flash"
        # firmware deployed to the simulated board (massage-glove flash) wins over the
        # checkout's, as files on a real board's flash would
        env["MICROPYPATH"] = os.pathsep.join([
            str(self.dir / "local"), str(paths.sim_device_dir()), str(paths.portable_dir()),
            str(flash), str(fw), ".frozen"])
        main = flash / "main.py" if (flash / "main.py").exists() else fw / "main.py"
        env["MASSAGE_GLOVE_SIM"] = str(self.dir / "sim.json")
        (self.dir / "reset").unlink(missing_ok=True)
        self.proc = _spawner.run(lambda: subprocess.Popen(
            [paths.micropython_exe(), "-X", "heapsize=8M", "-i", str(main)],
            stdin=slave, stdout=slave, stderr=subprocess.PIPE, cwd=self.dir / "flash",
            env=env, close_fds=True, start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid())))
        os.close(slave)
        self._dev_fd = master
        self.firmware_running = True
        self.boots += 1

    def _open_host_pty(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)
        self._host_fd, self._host_slave = master, slave
        tmp = self.port + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.port)

    def _plug(self) -> None:
        self._stop.clear()
        self._hold.clear()
        self._spawn()
        self._open_host_pty()
        self._threads = [threading.Thread(target=self._to_host, name="sim-to-host", daemon=True),
                         threading.Thread(target=self._to_device, name="sim-to-device", daemon=True),
                         threading.Thread(target=self._watch, name="sim-watch", daemon=True)]
        for t in self._threads:
            t.start()

    def _kill_device(self) -> None:
        p = self.proc
        if p is not None and p.poll() is None:
            p.kill()
        if p is not None:
            p.wait()
            try:
                self.stderr_text += p.stderr.read().decode(errors="replace")
            except (OSError, ValueError):
                pass
            p.stderr.close()
        self.proc = None

    def _unplug(self) -> None:
        self._stop.set()
        self._kill_device()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=2)
        self._threads = []
        for fd in (self._dev_fd, self._host_fd, self._host_slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._dev_fd = self._host_fd = self._host_slave = -1
        if os.path.lexists(self.port):
            os.unlink(self.port)

    # --- faults ---------------------------------------------------------------------
    def unplug(self) -> None:
        """Pull the cable: the port disappears and the glove loses power."""
        self._unplug()

    def replug(self) -> None:
        """Plug the cable back in: the glove boots again (seq restarts) on the same path."""
        self._write_config()
        self._plug()

    def reboot(self) -> None:
        """The glove restarts (watchdog, brown-out) while the port stays open."""
        with self._lock:
            old_fd = self._dev_fd
            self._kill_device()
            self._spawn()
        try:
            os.close(old_fd)
        except OSError:
            pass

    def stall(self, seconds: float) -> None:
        """Freeze the glove's processor for `seconds` (no bytes; the clock runs on)."""
        p = self.proc
        if p is None:
            raise SimError("the simulated glove is not running")
        os.kill(p.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(p.pid, signal.SIGCONT)

    def corrupt(self, frames: int = 1) -> None:
        """Flip one byte inside each of the next `frames` DATA frames on their way to the host."""
        with self._lock:
            self._corrupt_pending += frames

    def garbage(self, data: bytes) -> None:
        """Insert `data` between two frames, followed by a delimiter."""
        with self._lock:
            self._garbage_pending.append(bytes(data))

    def wait_corruptions(self, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not self._corrupt_pending and not self._garbage_pending:
                    return True
            time.sleep(0.01)
        return False

    # --- relay ----------------------------------------------------------------------
    def _edit(self, data: bytes) -> bytes:
        """Apply pending corruption/garbage; holds back an incomplete frame meanwhile."""
        with self._lock:
            if not self._corrupt_pending and not self._garbage_pending and not self._hold:
                return data
            buf = self._hold + data
            last = buf.rfind(b"\x00")
            if last < 0:
                self._hold = buf
                return b""
            self._hold = bytearray(buf[last + 1:])
            out = bytearray()
            pieces = bytes(buf[:last]).split(b"\x00")
            for piece in pieces:
                if self._garbage_pending and out[-1:] in (b"", b"\x00"):
                    g = self._garbage_pending.pop(0)
                    out += g + b"\x00"
                    self.garbage_bytes += len(g)
                if self._corrupt_pending and len(piece) > 12:
                    try:
                        f = protocol.decode_frame(piece)
                    except protocol.DecodeError:
                        f = None
                    if isinstance(f, protocol.Data):
                        b = bytearray(piece)
                        i = len(b) // 2
                        b[i] ^= 0x55 if b[i] != 0x55 else 0xAA
                        piece = bytes(b)
                        self._corrupt_pending -= 1
                        self.corrupted_seqs.append(f.seq)
                out += piece + b"\x00"
            return bytes(out)

    def _to_host(self) -> None:
        while not self._stop.is_set():
            fd = self._dev_fd
            try:
                r, _, _ = select.select([fd], [], [], 0.1)
                if not r:
                    continue
                data = os.read(fd, 4096)
            except (OSError, ValueError):
                if self._dev_fd != fd:      # reboot swapped the device pty
                    continue
                time.sleep(0.01)
                continue
            if not data:
                continue
            if not self.firmware_running:
                out = data
            else:
                out = self._edit(data)
            if out:
                try:
                    _write_all(self._host_fd, out)
                    self.bytes_to_host += len(out)
                except OSError:
                    return

    def _to_device(self) -> None:
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self._host_fd], [], [], 0.1)
                if not r:
                    continue
                data = os.read(self._host_fd, 4096)
            except OSError:
                time.sleep(0.05)     # no host has the port open yet
                continue
            if b"\x03" in data and self.firmware_running and self.proc is not None:
                # the board's USB stack turns Ctrl-C into KeyboardInterrupt
                self.firmware_running = False
                os.kill(self.proc.pid, signal.SIGINT)
            try:
                _write_all(self._dev_fd, data)
            except OSError:
                pass

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            p = self.proc
            if p is None:
                continue
            code = p.poll()
            if code is None:
                continue
            self.exit_codes.append(code)
            try:
                self.stderr_text += p.stderr.read().decode(errors="replace")
            except (OSError, ValueError):
                pass
            if code == EXIT_TIMER_ALLOC:
                log.error("simulated glove stopped: %s", self.stderr_text.strip())
            if code == EXIT_RESET or (self.dir / "reset").exists():
                # machine.reset(): the board re-enumerates, like an unplug and replug
                threading.Thread(target=self._reenumerate, daemon=True).start()
            return

    def _reenumerate(self) -> None:
        self._unplug()
        time.sleep(0.2)
        self.replug()
