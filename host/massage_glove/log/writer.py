"""Session log writer: records samples and events as they come, durable every second, never blocking or crashing the live session.

Threading (docs/LOG_FORMAT.md, "Writer"): by default a background thread does all the
encoding, writing and fsync. The acquisition thread only appends to a bounded queue
(a lock held for a few microseconds) and does not wake the writer for samples: the writer
wakes by time, once per flush interval (or when a flush, an event, a full chunk or the
close is handed over). When the queue is full the newest samples are dropped and
counted, and a `log_overflow` event later says how many. With background=False everything
runs in the caller's thread (deterministic, for tests and for tools that convert
recordings).

Disk errors never raise into the caller after open: the writer stops, keeps what is
already in the file readable, and exposes the error in `writer.failed`.
"""
from __future__ import annotations

import datetime as _dt
import errno as _errno
import io
import logging
import os
import platform
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import LogWriteError
from ..privatefile import open_private
from ..samples import DeviceInfo, LinkEvent, SampleBlock
from . import format as fmt
from .paths import new_session_path

log = logging.getLogger(__name__)

DEFAULT_FLUSH_INTERVAL_S = 1.0
# Queue bound: 60 s at 1 kHz (5 min at 200 Hz), about 3.4 MB of 16-channel samples.
DEFAULT_MAX_QUEUED_SAMPLES = 60_000
DEFAULT_MAX_QUEUED_EVENTS = 10_000
# Rows per sample chunk at most (a chunk is also cut at every flush).
DEFAULT_MAX_CHUNK_ROWS = 4096
MAX_EVENT_KIND_LEN = 64

# What an errno means for the person at the screen.
_REASONS = {
    _errno.ENOSPC: "the disk is full",
    _errno.EDQUOT: "the disk quota is used up",
    _errno.EFBIG: "the log file reached the largest size this system allows",
    _errno.EACCES: "permission was denied",
    _errno.EPERM: "the operation was not permitted",
    _errno.EROFS: "the disk is read-only",
    _errno.EIO: "the disk reported an input/output error (was it unplugged?)",
    _errno.ENOENT: "the directory does not exist",
    _errno.ENOTDIR: "a part of the path is not a directory",
    _errno.EEXIST: "a file of that name already exists",
    _errno.EISDIR: "the path is a directory",
}


def _reason(exc: BaseException) -> str:
    en = getattr(exc, "errno", None)
    base = _REASONS.get(en, "the system refused the write")
    detail = getattr(exc, "strerror", None) or str(exc)
    return f"{base} ({detail})"


def _clock_text(unix_s: float | None) -> str:
    if unix_s is None or not np.isfinite(unix_s):
        return "?"
    return _dt.datetime.fromtimestamp(unix_s).astimezone().strftime("%H:%M:%S")


def _default_opener(path: Path):
    """Create the log file, 0600: never overwrite a file, never follow a symlink planted at
    the name (privatefile.py). Unbuffered: each record is one write."""
    return open_private(path, "wb", buffering=0)


# --- the header ------------------------------------------------------------------------

def device_meta(device: DeviceInfo) -> dict:
    """The glove's META object (the raw one when the device came from a META frame)."""
    meta = device.to_meta()
    if meta.get("channels"):
        # rates as META has them (whole numbers), also for a description built in code
        return {k: (_whole(v) if k in ("rate_hz", "min_rate_hz", "max_rate_hz") else v)
                for k, v in meta.items()}
    return {
        "protocol": device.protocol, "firmware": device.firmware, "board": device.board,
        "glove_id": device.glove_id, "hands": list(device.hands),
        "channels": [{"index": c.index, "name": c.name, "hand": c.hand, "site": c.site,
                      "class": c.sensor_class, "r_divider_ohm": c.r_divider_ohm,
                      "r_bleed_ohm": c.r_bleed_ohm} for c in device.channels],
        "adc_bits": device.adc_bits, "vref_v": device.vref_v, "rate_hz": _whole(device.rate_hz),
        "min_rate_hz": _whole(device.min_rate_hz), "max_rate_hz": _whole(device.max_rate_hz),
        "ts_bits": device.ts_bits, "seq_bits": device.seq_bits,
        "ring_slots": device.ring_slots,
    }


def _whole(x):
    """A rate as PROTOCOL.md's META has it (an int) when it is a whole number."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


def calibration_ref(path: str | os.PathLike, *, embed_limit_bytes: int = 256 * 1024) -> dict:
    """Describe a calibration file for the header: name, SHA-256 and, when small, the content.

    The content is embedded as parsed JSON when the file is JSON, else not embedded.
    Raises LogWriteError when the file cannot be read.
    """
    import hashlib

    from .. import strictjson
    from ..errors import DataFileError
    from ..limits import limits
    from ..signal.datafile import read_bounded_bytes
    p = Path(path)
    try:
        data = read_bounded_bytes(p, limits().max_data_file_bytes)
    except DataFileError as e:
        raise LogWriteError(f"cannot read the calibration file: {e}", path=p) from None
    ref = {"file": p.name, "path": str(p.resolve()), "sha256": hashlib.sha256(data).hexdigest(),
           "bytes": len(data)}
    if len(data) <= embed_limit_bytes:
        try:
            ref["embedded"] = strictjson.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            pass
    return ref


def make_header(device: DeviceInfo, *, trainee: str, start_time: _dt.datetime | None = None,
                calibration: dict | str | os.PathLike | None = None,
                profile: str | None = None, skill_level: str | None = None,
                sensitivity: float | None = None, rate_hz: float | None = None,
                extra: dict | None = None) -> dict:
    """The header of a new session log (docs/LOG_FORMAT.md, section 4).

    calibration: a dict (e.g. from calibration_ref(), or the calibration itself under
    "embedded"), a path to the calibration file, or None for "no calibration used".
    start_time: aware datetime (a naive one is taken as local time); default now.
    rate_hz: the sample rate at the start (default: the device's).
    """
    from .. import __version__
    if start_time is None:
        start_time = _dt.datetime.now().astimezone()
    elif start_time.tzinfo is None:
        start_time = start_time.astimezone()
    if calibration is not None and not isinstance(calibration, dict):
        calibration = calibration_ref(calibration)
    meta = device_meta(device)
    chans = sorted(meta["channels"], key=lambda c: int(c["index"]))
    return {
        "format": fmt.FORMAT_NAME,
        "version": fmt.FORMAT_VERSION,
        "trainee": str(trainee),
        "start_time": start_time.isoformat(timespec="milliseconds"),
        "start_unix_s": start_time.timestamp(),
        "glove_id": device.glove_id,
        "firmware": device.firmware,
        "device_meta": meta,
        "channel_names": [str(c["name"]) for c in chans],
        "n_channels": len(chans),
        "rate_hz": float(device.rate_hz if rate_hz is None else rate_hz),
        "adc_bits": device.adc_bits,
        "units": {
            "counts": f"raw ADC counts, 0 .. {device.full_scale}",
            "t_device_s": "s, device clock, unwrapped, from the first sample of the link",
            "t_host_s": "s since 1970-01-01 UTC (host time.time())",
            "seq": "sample number, unwrapped",
        },
        "calibration": calibration,
        "profile": profile,
        "skill_level": skill_level,
        "sensitivity": sensitivity,
        "host": {"hostname": socket.gethostname(), "platform": platform.platform(),
                 "python": sys.version.split()[0]},
        "software": {"name": "massage-glove", "version": __version__,
                     "numpy": np.__version__},
        "extra": dict(extra or {}),
    }


# --- the writer ------------------------------------------------------------------------

@dataclass(frozen=True)
class WriterStats:
    """A snapshot of what the writer has done (safe to read from any thread)."""
    samples_accepted: int      # handed over and queued
    samples_written: int       # in the file (written, not necessarily fsynced)
    samples_durable: int       # in the file and fsynced
    samples_dropped: int       # refused because the queue was full
    samples_lost: int          # arrived after logging stopped on an error
    events_written: int
    events_dropped: int
    bytes_written: int         # file size after the last complete record
    queued_samples: int
    queued_events: int
    durable_until_host_s: float | None   # host time of the last fsynced sample
    flushes: int


_SAMPLES, _EVENT, _FLUSH, _CLOSE = range(4)


class LogVanished(OSError):
    """The log file is no longer in its directory (deleted, or the directory removed or moved)."""

    def __init__(self, path: Path, how: str):
        super().__init__(_errno.ENOENT, how, str(path))
        self.how = how


class SessionLogWriter:
    """Writes one session log. Create it at session start (this raises LogWriteError when
    the file cannot be made); afterwards nothing it does raises for a disk problem.

    path: the file to create (it must not exist). header: from make_header().
    clock: monotonic seconds for the flush schedule (injectable for tests).
    wall_clock: time.time() stand-in, used only in messages and the end record.
    flush_interval_s: data handed over is fsynced within this long (plus one call of
    maybe_flush, or the background thread's own timer).
    background: True, a writer thread does the I/O; False, the caller's thread does.
    max_queued_samples / max_queued_events: queue bounds (background mode).
    opener: path -> binary file object with write/flush/fileno/truncate/close.
    fsync: fd -> None (os.fsync).
    """

    def __init__(self, path: str | os.PathLike, header: dict, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
                 background: bool = True,
                 max_queued_samples: int = DEFAULT_MAX_QUEUED_SAMPLES,
                 max_queued_events: int = DEFAULT_MAX_QUEUED_EVENTS,
                 max_chunk_rows: int = DEFAULT_MAX_CHUNK_ROWS,
                 opener: Callable[[Path], object] = _default_opener,
                 fsync: Callable[[int], None] = os.fsync):
        self.path = Path(path)
        if flush_interval_s <= 0:
            raise ValueError("flush_interval_s must be > 0")
        n_ch = header.get("n_channels")
        if not isinstance(n_ch, int) or not 1 <= n_ch <= fmt.MAX_CHANNELS:
            raise ValueError("header needs n_channels (1..255): build it with make_header()")
        self.header = dict(header)
        self.header.setdefault("format", fmt.FORMAT_NAME)
        self.header.setdefault("version", fmt.FORMAT_VERSION)
        self.header["writer"] = {"flush_interval_s": flush_interval_s,
                                 "max_chunk_rows": max_chunk_rows,
                                 "background": background}
        self.n_channels = n_ch
        self._clock = clock
        self._wall = wall_clock
        self._interval = float(flush_interval_s)
        self._background = background
        self._max_q_samples = int(max_queued_samples)
        self._max_q_events = int(max_queued_events)
        self._max_chunk_rows = int(max_chunk_rows)
        self._fsync = fsync

        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._queue: deque = deque()
        self._q_samples = 0
        self._q_events = 0
        self._q_rows_since_wake = 0    # rows queued since the writer last took the queue
        self._wake_writer = False      # a flush, a full chunk or the close is queued
        self._flush_queued = False
        self._flush_requested = 0      # flush requests made / completed (for flush(wait=True))
        self._flush_done = 0
        self._closing = False
        self._closed = False
        self._failed: LogWriteError | None = None
        self.vanished = False          # the file was deleted or moved while being written
        # overflow report pending: [n, first_seq, last_seq, first_t_host]
        self._overflow: list | None = None
        self._n_accepted = 0
        self._n_dropped = 0
        self._n_lost = 0
        self._n_ev_dropped = 0

        # Owned by the I/O side (writer thread, or the caller when background=False).
        self._pend_blocks: list[SampleBlock] = []
        self._pend_rows = 0
        self._pend_events: list[bytes] = []
        self._dirty = False
        self._good_offset = 0
        self._n_written = 0
        self._n_durable = 0
        self._n_events = 0
        self._last_written_host_s: float | None = None
        self._durable_until: float | None = None
        self._n_flushes = 0
        self._last_flush_t = self._clock()

        self._file = self._create(opener)
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name=f"session-log {self.path.name}",
                                            daemon=True)
            self._thread.start()

    # --- open ------------------------------------------------------------------------

    def _create(self, opener):
        d = self.path.parent
        if not d.is_dir():
            exists = d.exists()
            what = "is not a directory" if exists else "does not exist"
            raise LogWriteError(
                f"cannot create the session log: the directory {d} {what}. Create it "
                f"(mkdir -p '{d}') or choose another one with --log-dir or MASSAGE_GLOVE_SESSIONS.",
                path=d, errno=_errno.ENOTDIR if exists else _errno.ENOENT)
        try:
            f = opener(self.path)
        except FileExistsError as e:
            raise LogWriteError(
                f"cannot create the session log {self.path}: a file of that name already "
                f"exists (it is left untouched); choose another name.",
                path=self.path, errno=e.errno) from None
        except OSError as e:
            if e.errno in (_errno.EACCES, _errno.EPERM, _errno.EROFS):
                msg = (f"cannot create the session log in {d}: {_reason(e)}. Make the "
                       f"directory writable for this user, or choose a writable one with --log-dir or "
                       f"MASSAGE_GLOVE_SESSIONS.")
            else:
                msg = f"cannot create the session log {self.path}: {_reason(e)}."
            raise LogWriteError(msg, path=d, errno=e.errno) from None
        try:
            data = fmt.prologue() + fmt.encode_record(fmt.REC_HEADER, fmt.encode_json(self.header))
            self._write_all(f, data)
            self._good_offset = len(data)
            f.flush()
            self._fsync(f.fileno())
        except OSError as e:
            for undo in (f.close, lambda: os.unlink(self.path)):
                try:
                    undo()
                except OSError:
                    pass
            advice = ("Free some space or choose" if e.errno in (_errno.ENOSPC, _errno.EDQUOT)
                      else "Choose")
            raise LogWriteError(f"cannot start the session log {self.path}: {_reason(e)}. "
                                f"{advice} another directory with --log-dir or MASSAGE_GLOVE_SESSIONS.",
                                path=self.path, errno=e.errno) from None
        self._fsync_dir(d)
        log.info("session log %s started", self.path)
        return f

    def _fsync_dir(self, d: Path) -> None:
        """Make the new file's directory entry durable (best effort; not on every OS)."""
        try:
            fd = os.open(d, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    # --- the acquisition side ----------------------------------------------------------

    @property
    def failed(self) -> LogWriteError | None:
        """None while logging works; the error (str() is the message) once it stopped."""
        return self._failed

    @property
    def closed(self) -> bool:
        return self._closed

    def check(self) -> None:
        """Raise the LogWriteError if logging stopped (for callers that prefer exceptions)."""
        if self._failed is not None:
            raise self._failed

    def write_samples(self, block: SampleBlock) -> None:
        """Hand over a block of samples (returns at once; never raises for a disk problem).

        ValueError/TypeError for a block that does not fit this log (a caller's bug);
        RuntimeError after close().
        """
        n = len(block)
        counts = block.counts
        if counts.ndim != 2 or counts.shape != (n, self.n_channels):
            raise ValueError(f"block counts have shape {counts.shape}, this log has "
                             f"{self.n_channels} channels")
        if counts.dtype != np.uint16:
            raise TypeError(f"block counts must be uint16, not {counts.dtype}")
        if not (len(block.t_device_s) == len(block.t_host_s) == len(block.flags) == n):
            raise ValueError("block columns have different lengths")
        if n == 0:
            return
        if not self._background:
            if self._closed:
                raise RuntimeError("write_samples() after close()")
            if self._failed is not None:
                self._n_lost += n
                return
            self._n_accepted += n
            self._guard(self._add_samples, block)
            return
        with self._cv:
            if self._closing:
                raise RuntimeError("write_samples() after close()")
            if self._failed is not None:
                self._n_lost += n
                return
            if self._q_samples + n > self._max_q_samples:
                self._n_dropped += n
                first_seq, last_seq = int(block.seq[0]), int(block.seq[-1])
                if self._overflow is None:
                    self._overflow = [n, first_seq, last_seq, float(block.t_host_s[0])]
                else:
                    self._overflow[0] += n
                    self._overflow[2] = last_seq
                return
            self._queue.append((_SAMPLES, block))
            self._q_samples += n
            self._n_accepted += n
            self._q_rows_since_wake += n
            # samples wait for the writer's next wake (its flush schedule): waking it for
            # every block would cost a thread switch per sample; a full chunk wakes it
            if self._q_rows_since_wake >= self._max_chunk_rows and not self._wake_writer:
                self._wake_writer = True
                self._cv.notify()

    def write_event(self, kind: str, t_host_s: float, t_device_s: float | None = None,
                    **fields) -> None:
        """Record an event (region/stage change, alert, mark, drop, gap, fault, note...).

        fields must be JSON-representable (numpy scalars and arrays are converted; other
        objects are stored as their str()). Non-finite floats are stored as null.
        """
        self._put_event(kind, t_host_s, t_device_s, fields)

    def write_link_event(self, ev: LinkEvent) -> None:
        """Record a LinkEvent: its detail becomes the fields, and its text a `text` field."""
        fields = dict(ev.detail)
        if ev.text:
            fields["text"] = ev.text
        self._put_event(ev.kind, ev.t_host_s, ev.t_device_s, fields)

    def _put_event(self, kind, t_host_s, t_device_s, fields: dict) -> None:
        if not isinstance(kind, str) or not 1 <= len(kind) <= MAX_EVENT_KIND_LEN:
            raise ValueError(f"event kind must be a string of 1..{MAX_EVENT_KIND_LEN} characters")
        for reserved in ("kind", "t_host_s", "t_device_s"):
            if reserved in fields:
                raise ValueError(f"event field name {reserved!r} is reserved")
        obj = {"kind": kind, "t_host_s": float(t_host_s),
               "t_device_s": None if t_device_s is None else float(t_device_s)}
        obj.update(fields)
        payload = fmt.encode_json(obj)
        if not self._background:
            if self._closed:
                raise RuntimeError("write_event() after close()")
            if self._failed is None:
                self._pend_events.append(payload)
            return
        with self._cv:
            if self._closing:
                raise RuntimeError("write_event() after close()")
            if self._failed is not None:
                return
            if self._q_events >= self._max_q_events:
                self._n_ev_dropped += 1
                return
            self._queue.append((_EVENT, payload))
            self._q_events += 1

    def maybe_flush(self, now: float | None = None) -> bool:
        """Make everything handed over durable if flush_interval_s has passed since the
        last flush. Cheap; call it often (e.g. after every block). True if a flush was
        done (background=False) or requested (background=True)."""
        if now is None:
            now = self._clock()
        if now - self._last_flush_t < self._interval:
            return False
        self._last_flush_t = now
        self._request_flush()
        return True

    def flush(self, wait: bool = False, timeout_s: float | None = None) -> bool:
        """Flush now. With wait=True (background mode) wait until the data is fsynced or
        logging failed; False if timeout_s passed first."""
        self._last_flush_t = self._clock()
        ticket = self._request_flush(force=True)
        if not (self._background and wait):
            return True
        with self._cv:
            return self._cv.wait_for(
                lambda: self._flush_done >= ticket or self._failed is not None
                or not self._thread.is_alive(), timeout_s)

    def _request_flush(self, force: bool = False) -> int:
        if not self._background:
            if not self._closed and self._failed is None:
                self._guard(self._do_flush)
            return 0
        with self._cv:
            if self._closing or self._failed is not None:
                return self._flush_requested
            if force or not self._flush_queued:
                self._flush_requested += 1
                self._queue.append((_FLUSH, self._flush_requested))
                self._flush_queued = True
                self._wake_writer = True
                self._cv.notify()
            return self._flush_requested

    def close(self, timeout_s: float | None = None) -> None:
        """Write what is left and the end record, fsync, close. Idempotent; never raises
        for a disk problem (see failed). timeout_s bounds the wait for a hung disk."""
        if not self._background:
            if not self._closed:
                if self._failed is None:
                    self._guard(self._do_close)
                self._closed = True
            return
        with self._cv:
            if not self._closing:
                self._closing = True
                self._queue.append((_CLOSE, None))
                self._wake_writer = True
                self._cv.notify()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("session log %s: the disk did not finish within %s s", self.path, timeout_s)
            return
        self._closed = True

    def __enter__(self) -> "SessionLogWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def stats(self) -> WriterStats:
        with self._lock:
            return WriterStats(
                samples_accepted=self._n_accepted, samples_written=self._n_written,
                samples_durable=self._n_durable, samples_dropped=self._n_dropped,
                samples_lost=self._n_lost, events_written=self._n_events,
                events_dropped=self._n_ev_dropped, bytes_written=self._good_offset,
                queued_samples=self._q_samples, queued_events=self._q_events,
                durable_until_host_s=self._durable_until, flushes=self._n_flushes)

    # --- the I/O side --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                with self._cv:
                    # Sleep until the next flush is due, or until woken for a flush, a full
                    # chunk or the close: samples and events wait for the flush (they are
                    # written at a flush either way, section 7.1 of docs/LOG_FORMAT.md).
                    while not self._wake_writer:
                        due = min(self._interval, self._last_flush_t + self._interval - self._clock())
                        if due <= 0 or not self._cv.wait(due):
                            break
                    # Take what is queued; it still counts against the bound until done.
                    batch = list(self._queue)
                    self._queue.clear()
                    self._q_rows_since_wake = 0
                    self._wake_writer = False
                    overflow, self._overflow = self._overflow, None
                if overflow is not None:
                    self._guard(self._add_overflow_event, overflow)
                for kind, obj in batch:
                    if self._failed is not None:
                        return
                    if kind == _SAMPLES:
                        self._guard(self._add_samples, obj)
                        with self._lock:
                            self._q_samples -= len(obj)
                    elif kind == _EVENT:
                        self._pend_events.append(obj)
                        with self._lock:
                            self._q_events -= 1
                    elif kind == _FLUSH:
                        with self._lock:
                            self._flush_queued = False
                        self._guard(self._do_flush)
                        with self._cv:
                            self._flush_done = max(self._flush_done, obj)
                            self._cv.notify_all()
                    elif kind == _CLOSE:
                        self._guard(self._do_close)
                        return
                if self._failed is not None:
                    return
                # Our own schedule, so data is durable even if nobody calls maybe_flush().
                if (self._pend_rows or self._pend_events or self._dirty) and \
                        self._clock() - self._last_flush_t >= self._interval:
                    self._last_flush_t = self._clock()
                    self._guard(self._do_flush)
        finally:
            with self._cv:
                self._cv.notify_all()

    def _guard(self, fn, *args) -> None:
        """Run an I/O step; turn any failure into the failed state."""
        if self._failed is not None:
            return
        try:
            fn(*args)
        except OSError as e:
            self._fail(e)
        except Exception as e:           # a bug must not stop the live session either
            log.exception("session log %s: internal error", self.path)
            self._fail(e)

    def _add_samples(self, block: SampleBlock) -> None:
        self._pend_blocks.append(block)
        self._pend_rows += len(block)
        if self._pend_rows >= self._max_chunk_rows:
            self._write_chunks()

    def _add_overflow_event(self, overflow: list) -> None:
        n, first_seq, last_seq, t_host = overflow
        log.warning("session log %s: writer queue full, %d samples not logged", self.path, n)
        self._pend_events.append(fmt.encode_json({
            "kind": "log_overflow", "t_host_s": t_host, "t_device_s": None,
            "dropped_samples": n, "first_seq": first_seq, "last_seq": last_seq,
            "text": "the disk was too slow: these samples were not logged"}))

    def _write_chunks(self) -> None:
        if not self._pend_rows:
            return
        block = SampleBlock.concat(self._pend_blocks, self.n_channels)
        step = self._max_chunk_rows
        for i in range(0, len(block), step):
            part = SampleBlock(block.seq[i:i + step], block.t_device_s[i:i + step],
                               block.t_host_s[i:i + step], block.counts[i:i + step],
                               block.flags[i:i + step])
            self._write_record(fmt.REC_SAMPLES, fmt.encode_chunk(part))
            self._n_written += len(part)
            self._last_written_host_s = float(part.t_host_s[-1])
        self._pend_blocks = []
        self._pend_rows = 0

    def _write_events(self) -> None:
        while self._pend_events:
            self._write_record(fmt.REC_EVENT, self._pend_events[0])
            self._pend_events.pop(0)
            self._n_events += 1

    def _write_record(self, rtype: int, payload: bytes) -> None:
        data = fmt.encode_record(rtype, payload)
        self._write_all(self._file, data)
        self._good_offset += len(data)
        self._dirty = True

    @staticmethod
    def _write_all(f, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = f.write(view)
            if n is None:
                n = 0
            if n <= 0:
                raise OSError(_errno.EIO, "the file accepted no bytes")
            view = view[n:]

    def _check_present(self) -> None:
        """LogVanished when the file we write is no longer the one at self.path."""
        try:
            fd = self._file.fileno()
            st = os.fstat(fd)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return                        # not a file of the OS (a test's stand-in)
        if st.st_nlink == 0:
            raise LogVanished(self.path, "the log file was deleted")
        try:
            at = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            raise LogVanished(self.path, "the log file (or its directory) was moved or deleted") from None
        except OSError:
            return
        if (at.st_dev, at.st_ino) != (st.st_dev, st.st_ino):
            raise LogVanished(self.path, "another file took the log file's place")

    def _do_flush(self) -> None:
        self._write_chunks()
        self._write_events()
        if self._dirty:
            self._file.flush()
            self._fsync(self._file.fileno())
            self._dirty = False
        self._check_present()
        with self._lock:
            self._n_durable = self._n_written
            self._durable_until = self._last_written_host_s
            self._n_flushes += 1

    def _do_close(self) -> None:
        self._write_chunks()
        self._write_events()
        end_unix = self._wall()
        end = {
            "end_time": _dt.datetime.fromtimestamp(end_unix).astimezone().isoformat(timespec="milliseconds"),
            "end_unix_s": end_unix, "samples": self._n_written, "events": self._n_events,
            "samples_dropped": self._n_dropped, "events_dropped": self._n_ev_dropped,
        }
        self._write_record(fmt.REC_END, fmt.encode_json(end))
        self._do_flush()
        f, self._file = self._file, None
        f.close()
        log.info("session log %s closed: %d samples, %d events", self.path, self._n_written,
                 self._n_events)

    def _fail(self, exc: BaseException) -> None:
        when = _clock_text(self._wall())
        if isinstance(exc, LogVanished):
            self.vanished = True
            reason = exc.how
        elif isinstance(exc, OSError):
            reason = _reason(exc)
        else:
            reason = f"an internal error ({type(exc).__name__}: {exc})"
        if self.vanished:
            saved = (f"nothing of this session is kept: {self.path} is gone (samples "
                     f"written: {self._n_written})")
        elif self._n_written:
            saved = (f"the session up to {_clock_text(self._last_written_host_s)} "
                     f"({self._n_written} samples) is saved in {self.path}")
        else:
            saved = f"no samples were saved; the header is in {self.path}"
        advice = ""
        en = getattr(exc, "errno", None)
        if en in (_errno.ENOSPC, _errno.EDQUOT):
            advice = " Free some disk space, then start a new session to log again."
        elif en == _errno.EFBIG or self.vanished:
            advice = " Start a new session to log again."
        msg = f"logging stopped: {reason} at {when}; {saved}.{advice}"
        err = LogWriteError(msg, path=self.path, errno=en, samples_saved=self._n_written,
                            saved_until_host_s=self._last_written_host_s)
        # Leave the file ending at the last complete record, then let it go.
        f, self._file = self._file, None
        if f is not None:
            try:
                f.truncate(self._good_offset)
                self._fsync(f.fileno())
            except Exception:
                pass
            try:
                f.close()
            except Exception:
                pass
        with self._cv:
            self._failed = err
            self._queue.clear()
            self._q_samples = 0
            self._q_events = 0
            self._cv.notify_all()
        self._pend_blocks, self._pend_rows, self._pend_events = [], 0, []
        log.error("%s", msg)


def open_session_log(device: DeviceInfo, *, trainee: str, directory: str | os.PathLike | None = None,
                     start_time: _dt.datetime | None = None,
                     calibration: dict | str | os.PathLike | None = None,
                     profile: str | None = None, skill_level: str | None = None,
                     sensitivity: float | None = None, extra: dict | None = None,
                     **writer_options) -> SessionLogWriter:
    """Start the log of a new session in the sessions directory (or `directory`).

    The file is <YYYYmmdd-HHMMSS>-<trainee>.mglog. LogWriteError when it cannot be made.
    """
    if start_time is None:
        start_time = _dt.datetime.now().astimezone()
    header = make_header(device, trainee=trainee, start_time=start_time,
                         calibration=calibration, profile=profile, skill_level=skill_level,
                         sensitivity=sensitivity, extra=extra)
    path = new_session_path(trainee, start_time, directory)
    return SessionLogWriter(path, header, **writer_options)
