"""Privacy of what the instrument writes: session logs, reviews and exports hold personal data.

What the tests try, and what must happen:

* umask 000, 022 and 077: logs, HTML reviews, progress reports and CSV exports are 0600,
  and the sessions directory (and each missing parent it creates) 0700;
* a symlink planted at the next log name, report name, export name or data file name:
  its target is never written (a new log refuses the name or takes the next one, a
  report replaces the link itself);
* the log file, or the whole sessions directory, deleted while a session runs: the session
  says so (problems, summary) and `massage-glove live` exits 1, the summary names no log;
* the running instrument holds no socket (it listens on none).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from massage_glove.errors import LogWriteError
from massage_glove.log import export_csv, new_session_path, open_session_log
from massage_glove.log.writer import SessionLogWriter
from massage_glove.signal.datafile import write_json

import hostile
from faultkit import cli_env, live_argv

UMASKS = (0o000, 0o022, 0o077)


def mode(p) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


@pytest.fixture
def umask():
    """Set a umask for the test; the previous one is restored."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask", UMASKS, ids=[f"umask{m:03o}" for m in UMASKS])
def test_log_0600_and_sessions_directory_0700_whatever_the_umask(mask, umask, tmp_path, monkeypatch):
    monkeypatch.delenv("MASSAGE_GLOVE_SESSIONS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    umask(mask)
    w = open_session_log(hostile.device(), trainee="ana", background=False)
    w.write_samples(hostile.samples())
    w.close()
    assert w.path.parent == tmp_path / "xdg" / "massage-glove" / "sessions"
    assert mode(w.path) == 0o600
    for d in (tmp_path / "xdg", tmp_path / "xdg" / "massage-glove", w.path.parent):
        assert mode(d) == 0o700, (d, oct(mode(d)))


@pytest.mark.parametrize("mask", UMASKS, ids=[f"umask{m:03o}" for m in UMASKS])
def test_reports_and_exports_0600_whatever_the_umask(mask, umask, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "20260101-100000-ana.mglog"
    log.write_bytes(hostile.log_bytes())
    umask(mask)
    rc, out, err = hostile.run_cli("review", log, "--html", tmp_path / "r.html")
    assert rc == 0, err
    rc, out, err = hostile.run_cli("progress", logs, "--html", tmp_path / "p.html")
    assert rc == 0, err
    samples_csv, events_csv = export_csv(log, tmp_path / "s.csv")
    for p in (tmp_path / "r.html", tmp_path / "p.html", samples_csv, events_csv):
        assert mode(p) == 0o600, (p, oct(mode(p)))


# --- symlinks --------------------------------------------------------------------------

@pytest.fixture
def victim(tmp_path):
    v = tmp_path / "victim.txt"
    v.write_text("precious")
    return v


def test_symlink_at_the_report_name_is_replaced_never_followed(tmp_path, victim):
    log = tmp_path / "s.mglog"
    log.write_bytes(hostile.log_bytes())
    for name in ("r.html", "p.html", "s.csv", "s.events.csv"):
        (tmp_path / name).symlink_to(victim)
    rc, out, err = hostile.run_cli("review", log, "--html", tmp_path / "r.html")
    assert rc == 0, err
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(log, logs / "20260101-100000-ana.mglog")
    rc, out, err = hostile.run_cli("progress", logs, "--html", tmp_path / "p.html")
    assert rc == 0, err
    out_csv, ev_csv = export_csv(log, tmp_path / "s.csv")
    assert ev_csv.name == "s.events.csv"
    assert victim.read_text() == "precious"
    for name in ("r.html", "p.html", "s.csv", "s.events.csv"):
        p = tmp_path / name
        assert not p.is_symlink() and p.is_file() and mode(p) == 0o600, name
    assert "<html" in (tmp_path / "r.html").read_text().lower()


def test_symlink_at_a_data_file_name_is_replaced_never_followed(tmp_path, victim):
    link = tmp_path / "cal.json"
    link.symlink_to(victim)
    write_json(link, {"format": "x"})
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and json.loads(link.read_text()) == {"format": "x"}


def test_symlink_at_the_next_log_name_is_never_written(tmp_path, victim):
    import datetime as dt
    t = dt.datetime(2026, 1, 1, 10, 0, 0).astimezone()
    first = new_session_path("ana", t, tmp_path)
    first.symlink_to(tmp_path / "would-be-created")          # dangling: exists() is False
    second = new_session_path("ana", t, tmp_path)
    assert second != first and second.name.endswith("-2.mglog")
    # a writer handed the planted name itself refuses it, whatever the link points to
    for target in (victim, tmp_path / "would-be-created"):
        first.unlink()
        first.symlink_to(target)
        with pytest.raises(LogWriteError, match="already exists"):
            SessionLogWriter(first, hostile.header(), background=False)
    assert victim.read_text() == "precious"
    assert not (tmp_path / "would-be-created").exists()


# --- deleted while the session runs ---------------------------------------------------------

@pytest.mark.parametrize("background", [False, True], ids=["caller-thread", "writer-thread"])
@pytest.mark.parametrize("what", ["file", "directory"])
def test_log_deleted_mid_session_stops_logging_and_says_so(what, background, tmp_path):
    d = tmp_path / "sessions"
    d.mkdir()
    w = SessionLogWriter(d / "s.mglog", hostile.header(), background=background)
    block = hostile.samples()
    w.write_samples(block)
    w.flush(wait=True, timeout_s=10)
    assert w.failed is None
    if what == "file":
        os.unlink(w.path)
    else:
        shutil.rmtree(d)
    w.write_samples(block)
    w.flush(wait=True, timeout_s=10)
    w.close(timeout_s=10)
    assert w.failed is not None and w.vanished
    msg = str(w.failed)
    assert str(w.path) in msg and ("deleted" in msg or "moved" in msg) and "nothing of this session" in msg


def _sockets_of(pid: int) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            out.append(target)
    return out


@pytest.mark.parametrize("what", ["file", "directory"])
def test_cli_live_exits_1_when_the_log_is_deleted_and_holds_no_socket(what, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    argv = live_argv(logs, "--duration", 8, "--region", "paraspinals", "--no-buzz")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=cli_env(), cwd=tmp_path)
    try:
        log_path = None
        err_lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            err_lines.append(line)
            if line.startswith("logging to "):
                log_path = Path(line[len("logging to "):].strip())
                break
        assert log_path is not None and log_path.exists(), "".join(err_lines)
        assert _sockets_of(p.pid) == [], "the instrument holds a socket"
        time.sleep(1.5)                       # some samples logged first
        if what == "file":
            log_path.unlink()
        else:
            shutil.rmtree(logs)
        out, err = p.communicate(timeout=180)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = "".join(err_lines) + err
    assert "Traceback" not in err, err
    assert p.returncode == 1, (p.returncode, err)
    summary = json.loads(out)
    assert summary["gloves"][0]["log"] is None, "the summary names no log that is gone"
    problems = " ".join(summary["problems"])
    assert str(log_path) in problems and "nothing of this session is kept" in problems, problems
