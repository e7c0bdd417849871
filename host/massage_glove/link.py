"""The host side of the glove link: open by URL, handshake, stream, survive the cable.

    link = GloveLink.open("/dev/ttyACM0")          # or a pty path, loop://, sim://...
    link.start()
    block, events = link.read(timeout=0.1)          # SampleBlock + list of LinkEvent
    link.close()

The thread that calls read() reads the port itself (one thread per glove: the session's
acquisition thread): it decodes frames as they arrive (FrameDecoder), answers pending
commands, unwraps sequence numbers and device time, and turns every gap into a LinkEvent:
lost frames ("gap": seq numbers missing), frames the glove dropped ("drop", its own
report), corrupted frames ("corrupt"), a silent glove ("stall"), a pulled cable
("disconnect") and its return ("reconnect", with the time the glove was away). Nothing is
papered over: the samples that arrive are delivered exactly, and the holes are reported
with their length.

A keeper thread per link stands by: while nobody has called read() for KEEP_S it reads
the port in the caller's place (so a command sent before the stream starts, or after the
reader stopped, still gets its reply, a silent glove is still noticed, and the port is
kept drained), and it reconnects a glove that went away. While read() is called it only
wakes every KEEP_S to see that it is. Who reads is decided by one lock (`_rx_lock`): the
decoder, the sequence and clock unwrapping and the reply matching only ever run in the
thread that holds it.
"""
from __future__ import annotations

import errno
import logging
import os
import select
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import serial
from serial.serialposix import Serial as _PosixSerial

from . import protocol as P
from .errors import (CommandFailed, Disconnected, LinkError, NotAGloveError, PortBusyError,
                     PortNotFoundError, PortPermissionError)
from .samples import DeviceInfo, LinkEvent, SampleBlock

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S = 1.0
COMMAND_TIMEOUT_S = 1.0
RECONNECT_POLL_S = 0.25
STALL_PERIODS = 20           # no DATA for this many sample periods (and >= 0.5 s): a stall
# read() not called for this long: the link's keeper thread reads the port meanwhile
# (engineering default: a tenth of a second is far below the glove's ring, 2.5 s at 200 Hz,
# and far below the stall time; the keeper wakes this often while read() is being called).
KEEP_S = 0.1
# Longest single wait on the port (its read timeout, open_port): bounds how late a stop, a
# stall or a reconnect is noticed.
PORT_WAIT_S = 0.05
# A device clock step that disagrees with the sample count by more than this (and more
# than half the expected step) is a glitch or a reset of the glove's clock, never a wrap:
# engineering default, above a late timer's lag and far below a 2^30 us wrap (17.9 min).
CLOCK_TOLERANCE_S = 1.0
# A stamp that disagrees is a glitch and is not used as the next one's reference; when
# this many in a row disagree, the glove's clock was reset and its new stamps are used.
CLOCK_GLITCH_FRAMES = 3

# Host time. Intervals (gaps, stalls, reconnects, batching) use the monotonic clock only;
# the time stamped on samples and events is a label: the wall clock when the program
# started plus monotonic time since, so a wall-clock step (NTP, a user setting the time)
# moves no sample, invents no gap and ends nothing.
_WALL0, _MONO0 = time.time(), time.monotonic()


def host_clock() -> float:
    """Wall-clock seconds as at program start, advanced by the monotonic clock."""
    return _WALL0 + (time.monotonic() - _MONO0)

serial.protocol_handler_packages.append("massage_glove.urlhandlers")


def open_port(url: str, timeout: float = PORT_WAIT_S) -> serial.SerialBase:
    """Open a serial URL exclusively, turning every failure into a message a person can act on."""
    try:
        return serial.serial_for_url(url, baudrate=115200, timeout=timeout, exclusive=True,
                                     do_not_open=False)
    except ValueError as e:
        raise PortNotFoundError(f"cannot open {url!r}: {e}") from None
    except (serial.SerialException, OSError) as e:
        en = getattr(e, "errno", None)
        text = str(e)
        if en == errno.ENOENT or "No such file" in text or "could not open port" in text and "[Errno 2]" in text:
            raise PortNotFoundError(
                f"no glove on {url}: nothing is connected there. Is the glove plugged in? "
                f"Try `massage-glove ports` to list the ports.") from None
        if en == errno.EACCES or "Permission denied" in text or "[Errno 13]" in text:
            raise PortPermissionError(
                f"no permission to open {url}: add yourself to the group that owns it "
                f"(usually `sudo usermod -aG dialout $USER`, then log out and in again).") from None
        if en in (errno.EBUSY, errno.EAGAIN) or "busy" in text.lower() or "lock" in text.lower():
            raise PortBusyError(
                f"{url} is in use by another program (another massage-glove, mpremote, Thonny or "
                f"a serial monitor): close it and try again.") from None
        raise LinkError(f"cannot open {url}: {text}") from None


# read() hands over at least BATCH_SAMPLES samples (or what came within that many sample
# periods) when the rate is above BATCH_ABOVE_HZ: 3 ms of batching at 1 kHz.
BATCH_ABOVE_HZ = 250.0
BATCH_SAMPLES = 3


@dataclass
class LinkStats:
    frames: int = 0
    samples: int = 0
    lost_samples: int = 0          # seq numbers that never arrived (wire or glove)
    device_drops: int = 0          # of which the glove reported dropping
    gaps: int = 0
    disconnects: int = 0
    reconnects: int = 0
    stalls: int = 0
    clock_steps: int = 0           # device clock steps not explained by the sample count
    over_range: int = 0            # samples with counts above full scale (read as saturated)
    bad_events: int = 0            # device events whose values break PROTOCOL.md (ignored)
    rejected: dict = field(default_factory=dict)
    crc_errors: int = 0
    bytes_in: int = 0


class _Pending:
    def __init__(self):
        self.event = threading.Event()
        self.frame: P.Frame | None = None


class GloveLink:
    """A glove on a serial URL. Use GloveLink.open(); see the module docstring."""

    def __init__(self, url: str, port: serial.SerialBase, *, reconnect: bool = True,
                 clock=host_clock):
        self.url = url
        self._port: serial.SerialBase | None = port
        self.reconnect_enabled = reconnect
        self.clock = clock
        self.info: DeviceInfo | None = None
        self.decoder = P.FrameDecoder(on_reject=self._on_reject)
        self._lock = threading.Lock()           # samples/events buffers
        self._arrived = threading.Condition(self._lock)   # notified when events arrive
        self._write_lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._cmd_seq = 0
        self._streaming = False
        self._rate_hz = 0.0
        self._limits: list[int] | None = None
        self._keeper: threading.Thread | None = None
        self._rx_lock = threading.Lock()        # held by the one thread reading the port
        self._reader_at = -1e9                  # monotonic time read() was last called
        self._stop = threading.Event()
        self._wake = threading.Event()          # the keeper has something to do now
        self._seq_unwrap = P.Unwrapper(P.SEQ_BITS)
        self._ts_unwrap = P.Unwrapper(P.TS_BITS)
        self._epoch_us0: int | None = None      # unwrapped t_us of the epoch's first sample
        self._epoch_seq0: int | None = None
        self._epoch_offset_s = 0.0              # device time at the start of this epoch
        self._seq_offset = 0                    # seq numbering across epochs (0: the device's own)
        self._last_seq: int | None = None
        self._last_t_dev = 0.0
        self._last_host = 0.0
        self._last_data_host: float | None = None     # monotonic time of the last DATA
        self._started_at: float | None = None         # monotonic time the stream was started
        self._first_row_at = 0.0                      # monotonic arrival of the oldest unread row
        self._stalled = False
        self._clock_glitches = 0
        self._disconnected_at: float | None = None
        self.device_t0_us: int | None = None    # raw t_us of the very first sample
        self._rows_seq: list[int] = []
        self._rows_tdev: list[float] = []
        self._rows_host: list[float] = []
        self._rows_counts: list[tuple] = []
        self._rows_flags: list[int] = []
        self._events: deque[LinkEvent] = deque()
        self.stats = LinkStats()
        self.fatal: LinkError | None = None
        self._preboot_text = bytearray()

    # --- opening and the handshake --------------------------------------------------
    @classmethod
    def open(cls, url: str, *, reconnect: bool = True, handshake_timeout: float = HANDSHAKE_TIMEOUT_S,
             clock=host_clock) -> "GloveLink":
        """Open `url`, check a glove answers, read its description. Raises LinkError subclasses."""
        port = open_port(url)
        link = cls(url, port, reconnect=reconnect, clock=clock)
        try:
            try:
                link._handshake(handshake_timeout)
            except (serial.SerialException, OSError) as e:
                raise Disconnected(f"the device on {url} went away during the handshake ({e}): "
                                   f"check the cable and try again") from None
        except BaseException:
            link._close_port()
            raise
        link._keeper = threading.Thread(target=link._keep, name="glove-link", daemon=True)
        link._keeper.start()
        return link

    def _raw_exchange(self, verb: str, *args, timeout: float) -> P.Frame | None:
        """Send a command and read until its answer, in this thread (the handshake: before
        the keeper starts, or in the keeper holding the read lock while reconnecting)."""
        seq = self._next_seq()
        self._port.write(P.command_line(seq, verb, *args))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            chunk = self._port.read(4096)
            if not chunk:
                continue
            if len(self._preboot_text) < 4096:
                self._preboot_text += chunk
            for f in self.decoder.feed(chunk):
                if isinstance(f, (P.Reply, P.Meta)) and f.cmd_seq == seq:
                    return f
        return None

    def _handshake(self, timeout: float) -> None:
        port = self._port
        port.reset_input_buffer()
        reply = None
        for _ in range(2):
            reply = self._raw_exchange("stop", timeout=timeout)
            if reply is not None:
                break
        if reply is None:
            raise NotAGloveError(self._not_a_glove_message())
        meta = self._raw_exchange("id", timeout=timeout)
        if not isinstance(meta, P.Meta):
            why = ""
            if self.decoder.stats.rejected["long"]:
                why = " (its answer was too long for a frame, PROTOCOL.md 2.1)"
            raise NotAGloveError(f"{self.url} answered `stop` but not `id`{why}: is the firmware up "
                                 f"to date? Try `massage-glove flash --port {self.url}`.")
        try:
            info = DeviceInfo.from_meta(meta.info)     # checked against PROTOCOL.md once, here
        except (KeyError, TypeError, ValueError) as e:
            raise NotAGloveError(f"{self.url}: the glove's description is not valid: "
                                 f"{P.printable(str(e))}; the device is not used. Reflash it with "
                                 f"`massage-glove flash --port {self.url}`.") from None
        if self.info is not None and (info.glove_id != self.info.glove_id
                                      or len(info.channels) != len(self.info.channels)):
            raise LinkError(f"a different glove ({info.glove_id}) came back on {self.url} "
                            f"instead of {self.info.glove_id}: start a new session for it.")
        self.info = info
        self._rate_hz = info.rate_hz

    def _not_a_glove_message(self) -> str:
        text = bytes(self._preboot_text).decode("ascii", errors="replace")
        if ">>>" in text or "Traceback" in text or "MicroPython" in text or " stop*" in text:
            return (f"{self.url} is a MicroPython board that is not running the glove firmware "
                    f"(it answered with its prompt). Deploy it: `massage-glove flash --port {self.url}`.")
        if not text:
            return (f"{self.url} does not answer: it is not a glove, or the glove firmware is not "
                    f"running. Check the port with `massage-glove ports`; to deploy the firmware "
                    f"run `massage-glove flash --port {self.url}`.")
        return (f"{self.url} sends data that is not the glove protocol ({len(text)} bytes, "
                f"e.g. {text[:40]!r}): is this the right port? Try `massage-glove ports`.")

    # --- commands -------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._cmd_seq = (self._cmd_seq + 1) % 0xFFFF
        return self._cmd_seq

    def command(self, verb: str, *args, timeout: float = COMMAND_TIMEOUT_S) -> P.Frame:
        """Send a command and wait for its REPLY (or META for `id`). Raises CommandFailed."""
        if self._keeper is None:
            raise LinkError("the link is not open")
        seq = self._next_seq()
        pend = _Pending()
        self._pending[seq] = pend
        try:
            self._write(P.command_line(seq, verb, *args))
            # the reply is matched by whoever reads the port: the caller of read() (the
            # session's acquisition thread), or the keeper when nobody calls read()
            if not pend.event.wait(timeout):
                raise CommandFailed(f"the glove did not answer `{verb}` within {timeout:.1f} s")
        finally:
            self._pending.pop(seq, None)
        f = pend.frame
        if isinstance(f, P.Reply) and not f.ok:
            raise CommandFailed(f"the glove refused `{verb} {' '.join(map(str, args))}`: "
                                f"{P.STATUS_NAMES.get(f.status, f.status)}: {P.printable(f.text)}",
                                f.status, f.text)
        return f

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            port = self._port
            if port is None:
                raise Disconnected(f"the glove on {self.url} is disconnected")
            try:
                port.write(data)
            except (serial.SerialException, OSError) as e:
                raise Disconnected(f"the glove on {self.url} went away: {e}") from None

    def start(self) -> None:
        self.command("start")
        # the stall detector runs from here: a glove that starts and sends nothing stalls
        self._started_at = time.monotonic()
        self._streaming = True

    def stop(self) -> None:
        self._streaming = False
        try:
            self.command("stop")
        except LinkError:
            pass

    def set_rate(self, hz: int) -> None:
        self.command("rate", int(hz))
        self._rate_hz = float(hz)

    def set_limits(self, counts: list[int]) -> None:
        """The glove's own hard limit per channel (counts, 0 = off); kept across reconnects."""
        for ch, c in enumerate(counts):
            self.command("limit", ch, int(c))
        self._limits = [int(c) for c in counts]

    def buzz(self, ms: int, hand: str = "all") -> None:
        hands = self.info.raw.get("buzzers", []) if self.info else []
        if hand != "all" and hand not in hands:
            return
        self.command("buzz", int(ms), hand)

    def ping(self) -> float:
        """Round-trip time of a command in seconds."""
        t0 = time.perf_counter()
        self.command("ping")
        return time.perf_counter() - t0

    @property
    def rate_hz(self) -> float:
        return self._rate_hz

    @property
    def serial_port(self):
        """The open pyserial port (None while disconnected); URL handlers add their own attributes."""
        return self._port

    @property
    def connected(self) -> bool:
        return self._port is not None

    # --- reading --------------------------------------------------------------------
    def read(self, timeout: float = 0.0) -> tuple[SampleBlock, list[LinkEvent]]:
        """Samples and events that arrived since the last call (waits up to `timeout` for some).

        The calling thread reads the port meanwhile: bytes are taken as they arrive and the
        call returns with the first sample (above BATCH_ABOVE_HZ, with the samples of
        BATCH_SAMPLES periods from the first), or with events, or when `timeout` passes.
        """
        if self.fatal is not None:
            raise self.fatal
        now = time.monotonic()
        self._reader_at = now                   # the keeper stands back while read() is called
        deadline = now + timeout
        looked = False
        while True:
            end = self._wait_until(deadline)
            if end is None:
                break
            wait = end - time.monotonic()
            if wait <= 0:
                if looked:
                    break
                wait = 0.0                      # read(0): one look at what is waiting
            looked = True
            if self._port is None:
                # away: the keeper reconnects and reports it (an event wakes this wait)
                with self._lock:
                    if not self._events:
                        self._arrived.wait(min(wait, PORT_WAIT_S))
            elif self._rx_lock.acquire(timeout=wait):
                try:
                    self._reader_at = time.monotonic()
                    end = self._wait_until(deadline)     # another reader may have brought some
                    if end is not None:
                        self._pump(end - self._reader_at)
                finally:
                    self._rx_lock.release()
            self._reader_at = time.monotonic()
            if self.fatal is not None and not self._events and not self._rows_seq:
                raise self.fatal
        with self._lock:
            seq, tdev, host = self._rows_seq, self._rows_tdev, self._rows_host
            counts, flags = self._rows_counts, self._rows_flags
            if seq:
                self._rows_seq, self._rows_tdev, self._rows_host = [], [], []
                self._rows_counts, self._rows_flags = [], []
            events = list(self._events) if self._events else []
            self._events.clear()
        n_ch = len(self.info.channels)
        if not seq:
            return SampleBlock.empty(n_ch), events
        block = SampleBlock(np.array(seq, np.int64), np.array(tdev, np.float64),
                            np.array(host, np.float64),
                            np.array(counts, np.uint16).reshape(len(seq), n_ch),
                            np.array(flags, np.uint8))
        return block, events

    def _wait_until(self, deadline: float) -> float | None:
        """None when read() can hand over now, else the monotonic time it may wait until."""
        if self._rows_seq:
            rate = self._rate_hz or (self.info.rate_hz if self.info else 0.0)
            if rate <= BATCH_ABOVE_HZ:
                return None
            # at high rates, gather a few samples per call: one call per sample would cost
            # more than the samples; at 200 Hz every sample is handed over as it comes
            end = self._first_row_at + BATCH_SAMPLES / rate
            return end if end > time.monotonic() else None
        if self._events:
            return None
        return deadline

    def _event(self, kind: str, t_dev: float | None, text: str = "", **detail) -> None:
        ev = LinkEvent(kind, self.clock(), t_dev, detail, text)
        with self._lock:
            self._events.append(ev)
            self._arrived.notify_all()
        log.info("%s: %s", kind, text or detail)

    def _on_reject(self, reason: str, message: str) -> None:
        self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1
        if reason == "crc":
            self.stats.crc_errors += 1
        if self._keeper is not None:
            self._event("corrupt", self._last_t_dev, f"a corrupted frame was discarded ({message})",
                        reason=reason)

    def _keep(self) -> None:
        """The keeper: reconnects, and reads the port while nobody calls read()."""
        while not self._stop.is_set():
            if self._port is None:
                if not self._try_reconnect():
                    return
                continue
            idle = time.monotonic() - self._reader_at
            if idle < KEEP_S:
                self._wake.wait(KEEP_S - idle)
                self._wake.clear()
                continue
            if not self._rx_lock.acquire(timeout=KEEP_S):
                continue
            try:
                if time.monotonic() - self._reader_at >= KEEP_S and not self._stop.is_set():
                    self._pump(PORT_WAIT_S)
            finally:
                self._rx_lock.release()

    def _read_chunk(self, port, wait_s: float) -> bytes:
        """What the port has, waiting up to `wait_s` for its first byte.

        A posix serial port (a glove's /dev/ttyACM*, the simulated glove's pty) is read with
        one select and one read of everything waiting, as pyserial's own read does it, with
        its errors; any other port (URL handlers) through pyserial, waiting up to the port's
        timeout at most.
        """
        fd = port.fd if type(port).read is _PosixSerial.read else None
        if fd is not None:
            try:
                ready, _, _ = select.select((fd,), (), (), max(wait_s, 0.0))
                if not ready:
                    return b""
                data = os.read(fd, 65536)
            except (BlockingIOError, InterruptedError):
                return b""
            except OSError as e:
                raise serial.SerialException(f"read failed: {e}") from None
            if not data:
                # pyserial's words: a disconnected device reads as ready with nothing in it
                raise serial.SerialException(
                    "device reports readiness to read but returned no data "
                    "(device disconnected or multiple access on port?)")
            return data
        if wait_s <= 0:
            n = port.in_waiting
            return port.read(n) if n else b""
        # one byte (waits up to the port timeout), then whatever else is waiting:
        # no added latency, no busy loop
        chunk = port.read(1)
        if chunk:
            n = port.in_waiting
            if n:
                chunk += port.read(n)
        return chunk

    def _pump(self, wait_s: float) -> None:
        """One read of the port and everything it brings (the caller holds _rx_lock)."""
        port = self._port
        if port is None:
            return
        try:
            chunk = self._read_chunk(port, min(wait_s, PORT_WAIT_S))
        except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as e:
            self._lost(e)
            return
        now, mono = self.clock(), time.monotonic()
        if chunk:
            self.stats.bytes_in += len(chunk)
            for f in self.decoder.feed(chunk):
                self._on_frame(f, now, mono)
        last = self._last_data_host if self._last_data_host is not None else self._started_at
        if self._streaming and last is not None and not self._stalled:
            quiet = mono - last
            if quiet > max(0.5, STALL_PERIODS / max(self._rate_hz, 1.0)):
                self._stalled = True
                self.stats.stalls += 1
                self._event("stall", self._last_t_dev,
                            f"no data from the glove for {quiet:.1f} s", seconds=quiet)

    def _lost(self, err: Exception) -> None:
        if self._stop.is_set():
            return
        self._close_port()
        self.stats.disconnects += 1
        self._disconnected_at = time.monotonic()
        self._event("disconnect", self._last_t_dev,
                    f"the glove was disconnected ({err}); waiting for it to come back",
                    error=str(err))
        for p in list(self._pending.values()):
            p.event.set()
        if not self.reconnect_enabled:
            self.fatal = Disconnected(f"the glove on {self.url} was disconnected: {err}")
            self._stop.set()
        self._wake.set()                 # the keeper reconnects (or ends)

    def _try_reconnect(self) -> bool:
        """In the keeper: until the glove is back (True) or the link ends (False)."""
        while not self._stop.is_set():
            try:
                port = open_port(self.url)
            except LinkError:
                self._stop.wait(RECONNECT_POLL_S)
                continue
            with self._rx_lock:              # nobody reads the port during the handshake
                back = self._reconnect_on(port)
            if back is None:
                self._stop.wait(RECONNECT_POLL_S)
                continue
            if back:
                with self._lock:
                    self._arrived.notify_all()
            return back
        return False

    def _reconnect_on(self, port) -> bool | None:
        """Handshake on a reopened port: True back, False a different glove (fatal), None retry."""
        self._port = port
        try:
            self.decoder = P.FrameDecoder(on_reject=self._on_reject)
            self._preboot_text.clear()
            self._handshake(HANDSHAKE_TIMEOUT_S)
            if self._rate_hz and self._rate_hz != self.info.rate_hz:
                self._exchange_ok("rate", int(self._rate_hz))
            if self._limits:
                for ch, c in enumerate(self._limits):
                    self._exchange_ok("limit", ch, c)
            if self._streaming:
                self._exchange_ok("start")
        except LinkError as e:
            self._close_port()
            if "different glove" in str(e):
                self.fatal = e
                self._event("disconnect", self._last_t_dev, str(e), error=str(e))
                return False
            return None
        except (serial.SerialException, OSError):
            self._close_port()
            return None
        now = time.monotonic()
        away = now - (self._disconnected_at or now)
        self.stats.reconnects += 1
        # a new device epoch: seq and time restart; device time continues from the
        # last sample plus the time the glove was away, so time keeps rising
        self._new_epoch(self._last_t_dev + away)
        self._event("reconnect", self._last_t_dev,
                    f"the glove is back after {away:.1f} s", seconds=away)
        self._disconnected_at = None
        return True

    def _exchange_ok(self, verb, *args):
        f = self._raw_exchange(verb, *args, timeout=HANDSHAKE_TIMEOUT_S)
        if not isinstance(f, P.Reply) or not f.ok:
            raise LinkError(f"the glove did not accept `{verb}` after reconnecting")

    def _new_epoch(self, t_dev_start: float) -> None:
        if self._last_seq is not None:
            self._seq_offset = self._last_seq + 1     # seq keeps rising across epochs
        self._seq_unwrap.reset()
        self._ts_unwrap.reset()
        self._epoch_us0 = None
        self._epoch_offset_s = t_dev_start
        self._epoch_seq0 = None

    def _on_frame(self, f: P.Frame, now: float, mono: float | None = None) -> None:
        self.stats.frames += 1
        mono = time.monotonic() if mono is None else mono
        if isinstance(f, P.Data):
            self._on_data(f, now, mono)
        elif isinstance(f, (P.Reply, P.Meta)):
            pend = self._pending.get(f.cmd_seq)
            if pend is not None:
                pend.frame = f
                pend.event.set()
        elif isinstance(f, P.Event):
            self._on_device_event(f, mono)

    def _device_first_seq(self, raw: int) -> int:
        """A raw 16-bit seq from an event, on the link's unwrapped numbering (the nearest
        number to the last sample's, as DATA seq is unwrapped)."""
        if self._last_seq is None or self._seq_unwrap.last is None:
            return raw
        d = ((raw - self._seq_unwrap.last + 0x8000) & 0xFFFF) - 0x8000
        return self._last_seq + d

    def _on_device_event(self, e: P.Event, mono: float) -> None:
        text = P.printable(e.text, 80)       # device text reaches the terminal and the log
        if e.kind == P.EV_BOOT:
            if self._last_seq is not None:
                # the glove restarted under us: sequence and clock start again
                gap = mono - (self._last_data_host or mono)
                self._new_epoch(self._last_t_dev + gap)
                self._event("boot", self._last_t_dev,
                            f"the glove restarted (firmware {text}); its counters start again",
                            firmware=text, reset_cause=e.value, seconds=gap)
                if self._streaming:
                    threading.Thread(target=self._resume_after_boot, daemon=True).start()
            return
        ch = None if e.channel == P.NO_CHANNEL else e.channel
        chname = self.info.channels[ch].name if ch is not None and ch < len(self.info.channels) else None
        if e.kind == P.EV_DROP:
            self.stats.device_drops += e.value
            self._event("drop", self._last_t_dev,
                        f"the glove dropped {e.value} samples (the host did not read fast enough)",
                        first_seq=self._device_first_seq(e.seq), count=e.value)
        elif e.kind == P.EV_LIMIT:
            self._event("limit", self._last_t_dev,
                        f"the glove's own hard limit tripped on {chname} ({e.value} counts)",
                        channel=ch, channel_name=chname, counts=e.value)
        elif e.kind == P.EV_BUTTON:
            self._event("button", self._last_t_dev,
                        "mark button pressed" if e.value else "mark button released", pressed=bool(e.value))
        elif e.kind == P.EV_FAULT:
            self._event("fault", self._last_t_dev, f"the glove reports a fault: {text}",
                        code=e.value, message=text)
        elif e.kind == P.EV_RATE:
            lo, hi = self.info.min_rate_hz, self.info.max_rate_hz
            if not lo <= e.value <= hi:
                # checked like META: a rate outside the glove's own range is a lie, not a rate
                self.stats.bad_events += 1
                self._event("fault", self._last_t_dev,
                            f"the glove reported a sample rate of {e.value} Hz, outside its range "
                            f"{lo:g}..{hi:g} Hz (PROTOCOL.md, META): ignored, the rate stays "
                            f"{self._rate_hz:g} Hz", code=0, message="bad RATE event")
                return
            self._rate_hz = float(e.value)
            self._event("rate", self._last_t_dev, f"sample rate now {e.value} Hz", rate_hz=e.value)

    def _resume_after_boot(self) -> None:
        try:
            if self._limits:
                self.set_limits(self._limits)
            if self._rate_hz and self.info and self._rate_hz != self.info.rate_hz:
                self.set_rate(int(self._rate_hz))
            self.command("start")
        except LinkError as e:
            log.warning("could not restart the stream after the glove restarted: %s", e)

    def _on_data(self, f: P.Data, now: float, mono: float) -> None:
        info = self.info
        if len(f.counts) != len(info.channels):
            self._on_reject("layout", f"DATA with {len(f.counts)} channels, expected {len(info.channels)}")
            return
        counts = f.counts
        if max(counts) > info.full_scale:
            # PROTOCOL.md 2.4: above full scale reads as full scale (saturated, too much),
            # never rejected: an over-range reading must not silence an alert
            counts = tuple(min(c, info.full_scale) for c in counts)
            self.stats.over_range += 1
        rate = self._rate_hz or info.rate_hz
        host_gap = mono - self._last_data_host if self._last_data_host is not None else 0.0
        prev_u = self._seq_unwrap.last
        seq_u = self._seq_unwrap(f.seq, host_gap * rate if self._last_data_host else None)
        if prev_u is not None and self._epoch_seq0 is not None and seq_u - prev_u > 1.5 * host_gap * rate + 1000:
            # the counter jumped back without a BOOT event (lost with a corrupted frame):
            # the glove restarted; start a new epoch rather than invent a huge gap
            self._new_epoch(self._last_t_dev + host_gap)
            self._event("boot", self._last_t_dev, "the glove's counters restarted", firmware="",
                        seconds=host_gap)
            seq_u = self._seq_unwrap(f.seq)
            prev_u = None
        prev_t = self._ts_unwrap.last
        t_u = self._ts_unwrap(f.t_us, host_gap * 1e6 if self._last_data_host else None)
        if self.device_t0_us is None:
            self.device_t0_us = f.t_us
        if self._epoch_us0 is None:
            self._epoch_us0 = t_u
            # first epoch: the device's own seq (unwrapped); later ones continue from the last
            self._epoch_seq0 = seq_u if self._last_seq is not None else 0
        seq = self._seq_offset + (seq_u - self._epoch_seq0)
        t_dev = self._epoch_offset_s + (t_u - self._epoch_us0) * 1e-6
        if prev_u is not None and prev_t is not None and self._last_seq is not None:
            # the clock step must agree with the sample count: a backward step (which the
            # modulo difference reads as a near-full wrap) or a leap is a glitch or a reset
            # of the glove's clock; time then continues from the sample count
            expect_s = (seq_u - prev_u) / rate
            step_s = (t_u - prev_t) * 1e-6
            if abs(step_s - expect_s) > max(CLOCK_TOLERANCE_S, 0.5 * expect_s):
                t_fix = self._last_t_dev + expect_s
                if self._clock_glitches == 0:
                    self.stats.clock_steps += 1
                    back = ((f.t_us - prev_t) % (1 << P.TS_BITS)) * 1e-6
                    half = (1 << (P.TS_BITS - 1)) * 1e-6
                    back = back - 2 * half if back > half else back
                    self._event("clock", self._last_t_dev,
                                f"the glove's clock stepped by {back:+.6f} s where its sample count "
                                f"says {expect_s:.6f} s: time continues from the sample count",
                                step_s=back, expected_s=expect_s)
                self._clock_glitches += 1
                if self._clock_glitches <= CLOCK_GLITCH_FRAMES:
                    # a glitch: this stamp is not the reference for the next one
                    self._ts_unwrap.last = prev_t
                else:
                    # it stays: the clock was reset; carry on from the new stamps
                    self._epoch_offset_s += t_fix - t_dev
                    self._clock_glitches = 0
                t_dev = t_fix
            else:
                self._clock_glitches = 0
        if self._last_seq is not None and seq > self._last_seq + 1:
            missing = seq - self._last_seq - 1
            self.stats.gaps += 1
            self.stats.lost_samples += missing
            self._event("gap", self._last_t_dev,
                        f"{missing} samples lost ({missing / rate:.3f} s)",
                        first_seq=self._last_seq + 1, missing=missing,
                        seconds=t_dev - self._last_t_dev)
        if self._stalled:
            self._stalled = False
            quiet = mono - (self._last_data_host or self._started_at or mono)
            self._event("resume", t_dev, f"data again after {quiet:.1f} s", seconds=quiet)
        self._last_seq = seq
        self._last_t_dev = t_dev
        self._last_data_host = mono
        self.stats.samples += 1
        with self._lock:
            if not self._rows_seq:
                self._first_row_at = mono
            self._rows_seq.append(seq)
            self._rows_tdev.append(t_dev)
            self._rows_host.append(now)
            self._rows_counts.append(counts)
            self._rows_flags.append(f.flags)

    # --- closing --------------------------------------------------------------------
    def _close_port(self) -> None:
        with self._write_lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def close(self) -> None:
        if self._port is not None and self._keeper is not None:
            try:
                self.stop()
            except LinkError:
                pass
        self._stop.set()
        self._wake.set()
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(timeout=2)
        # the port is closed by nobody reading it (a read is bounded by PORT_WAIT_S)
        got = self._rx_lock.acquire(timeout=1.0)
        try:
            self._close_port()
        finally:
            if got:
                self._rx_lock.release()

    def __enter__(self) -> "GloveLink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
