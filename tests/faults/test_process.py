"""Process and disk faults of `massage-glove live`, run as a separate process against the
simulated glove: killed with SIGKILL while logging, the disk filling up (a file-size limit,
and a full tmpfs where mounting is allowed), and a log directory it may not write to."""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from massage_glove.log import load

from faultkit import TIMEOUT_S, cli_env, live_argv, summary_of, wait_until

# Samples reach the log writer within one read of the link (50 ms) and the writer's thread
# picks them up at once; on a busy machine allow this much more than the flush interval.
DELIVERY_MARGIN_S = 0.25


class LiveProcess:
    """`massage-glove live` in a subprocess; stderr collected line by line as it comes."""

    def __init__(self, argv, **popen):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=popen.pop("env", cli_env()), **popen)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def line_with(self, prefix: str) -> str | None:
        return next((ln for ln in self.lines if ln.startswith(prefix)), None)

    def sim_dir(self) -> Path | None:
        ln = self.line_with("simulated glove on ")
        return Path(ln.split()[3]).parent if ln else None

    def kill_orphaned_glove(self) -> None:
        """The simulated glove runs in its own session; after the host is killed, end it."""
        d = self.sim_dir()
        if d is None:
            return
        marker = f"MASSAGE_GLOVE_SIM={d / 'sim.json'}".encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in env:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(d, ignore_errors=True)


def test_sigkill_while_logging_loses_at_most_the_last_second(tmp_path):
    lp = LiveProcess(live_argv(tmp_path, "--region", "paraspinals"))
    try:
        assert wait_until(lambda: lp.line_with("logging to ") is not None), lp.lines
        path = Path(lp.line_with("logging to ")[len("logging to "):])
        # let it log a few seconds of real time, read back while it is being written
        assert wait_until(lambda: path.exists() and len(load(path).samples) >= 800)
        killed_at = time.time()
        lp.proc.send_signal(signal.SIGKILL)
        lp.proc.wait(timeout=TIMEOUT_S)
    finally:
        if lp.proc.poll() is None:
            lp.proc.kill()
            lp.proc.wait()
        lp.kill_orphaned_glove()
    assert lp.proc.returncode == -signal.SIGKILL
    log = load(path)
    assert not log.complete, "no end record: the app was killed"
    assert log.damaged_regions == 0 and log.bad_records == 0
    seq = log.samples.seq
    assert np.array_equal(seq, np.arange(seq[0], seq[0] + len(seq))), "no hole before the kill"
    flush_s = log.header["writer"]["flush_interval_s"]
    lost_s = killed_at - float(log.samples.t_host_s[-1])
    assert lost_s <= flush_s + DELIVERY_MARGIN_S, f"{lost_s:.2f} s before the kill not in the log"
    assert any(e.kind == "region" for e in log.events)


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def _limit_file_size(limit: int):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


@pytest.fixture
def tiny_tmpfs(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}); the "
                    f"file-size-limit case covers a full disk")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=False)


@pytest.mark.parametrize("how", ["file_size_limit", "full_tmpfs"])
def test_full_disk_stops_logging_keeps_what_is_written_and_the_session_goes_on(how, tmp_path, request):
    if how == "file_size_limit":
        log_dir, pre, reason = tmp_path, _limit_file_size(60_000), "the largest size"
    else:
        log_dir, pre, reason = request.getfixturevalue("tiny_tmpfs"), None, "the disk is full"
    duration = 90.0
    p = subprocess.run(live_argv(log_dir, "--sim-mode", "free", "--duration", duration,
                                 "--region", "paraspinals"),
                       capture_output=True, text=True, timeout=300, env=cli_env(), preexec_fn=pre)
    _no_traceback(p.stderr)
    s = summary_of(p)
    g = s["gloves"][0]
    # a clear message, on stderr and in the summary, and the exit code says something is wrong
    assert p.returncode == 1
    assert g["log_error"] and reason in g["log_error"] and g["log"] in g["log_error"]
    assert [ln for ln in p.stderr.splitlines() if "logging stopped" in ln] == \
        [ln for ln in p.stderr.splitlines() if g["log_error"] in ln], "said once, on one line"
    assert any(g["log_error"] in x for x in s["problems"])
    # the session went on to its end
    assert s["duration_s"] >= duration
    # what was written before is all there: the file ends at its last whole record
    log = load(g["log"])
    assert log.torn_bytes == 0 and log.damaged_regions == 0 and not log.complete
    saved = int(g["log_error"].split(" samples) is saved")[0].rsplit("(", 1)[1])
    assert len(log.samples) == saved > 0
    seq = log.samples.seq
    assert np.array_equal(seq, np.arange(seq[0], seq[0] + saved)), "from the first sample, no hole"
    assert g["samples"] > saved


@pytest.fixture
def unwritable_dir(tmp_path):
    """A sessions directory holding an earlier log that this process may not write to.

    Root ignores file modes, so as root the directory is a read-only bind mount (the
    kernel refuses every write); any other user gets a directory without write permission.
    Yields (directory, the earlier log, the words the message must use).
    """
    d = tmp_path / "sessions"
    d.mkdir()
    kept = d / "20260101-090000-earlier.mglog"
    kept.write_bytes(b"an earlier session, not to be touched")
    if os.geteuid() != 0:
        d.chmod(0o555)
        try:
            yield d, kept, "permission was denied"
        finally:
            d.chmod(0o755)
        return
    for cmd in (["mount", "--bind", str(d), str(d)],
                ["mount", "-o", "remount,bind,ro", str(d)]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["umount", str(d)], capture_output=True)
            pytest.skip(f"running as root, and a read-only bind mount is not allowed here "
                        f"({r.stderr.strip() or r.returncode}): no honest unwritable directory")
    try:
        yield d, kept, "read-only"
    finally:
        subprocess.run(["umount", str(d)], check=False)


def test_log_directory_without_write_permission_says_so_in_one_line(unwritable_dir):
    d, kept, reason = unwritable_dir
    p = subprocess.run(live_argv(d, "--sim-mode", "free", "--duration", 5,
                                 "--region", "paraspinals"),
                       capture_output=True, text=True, timeout=300, env=cli_env())
    _no_traceback(p.stderr)
    # a --log-dir that cannot be written is a mistake on the command line: exit 2, before the
    # simulated glove starts, naming the option and the directory
    assert p.returncode == 2, p.stderr
    msg = [ln for ln in p.stderr.splitlines() if ln.startswith("massage-glove")]
    assert len(msg) == 1, p.stderr
    assert "not writable" in msg[0] and str(d) in msg[0]
    assert "--log-dir" in msg[0], "the message names the option this command was given"
    assert sorted(x.name for x in d.iterdir()) == [kept.name], "nothing made, nothing removed"
    assert kept.read_bytes() == b"an earlier session, not to be touched"
    assert p.stdout == ""
