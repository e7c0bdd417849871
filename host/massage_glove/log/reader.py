"""Session log reader: load() a whole log, or stream it chunk by chunk in bounded memory.

Damage after the header is not an error: a damaged record is skipped and counted, an
unfinished record at the end (the app was killed, the disk filled up) is discarded and
its size reported in `torn_bytes`. A file that is not a log, has another format version,
or whose header is missing or damaged raises LogFormatError naming the file.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..errors import DataFileError, LogFormatError, LogReadError
from ..samples import DeviceInfo, SampleBlock
from ..signal.datafile import Node
from . import format as fmt
from . import validate

log = logging.getLogger(__name__)

READ_SIZE = 1 << 20


@dataclass(frozen=True)
class LogEvent:
    """One event record: kind, host time, device time (None if unknown), other fields."""
    kind: str
    t_host_s: float
    t_device_s: float | None
    fields: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: dict) -> "LogEvent":
        kind = obj.get("kind")
        t_host = obj.get("t_host_s")
        t_dev = obj.get("t_device_s")
        if not isinstance(kind, str) or not isinstance(t_host, (int, float)) or \
                not (t_dev is None or isinstance(t_dev, (int, float))):
            raise ValueError("event needs kind (string), t_host_s and t_device_s (numbers)")
        rest = {k: v for k, v in obj.items() if k not in ("kind", "t_host_s", "t_device_s")}
        return cls(kind, float(t_host), None if t_dev is None else float(t_dev), rest)


@dataclass
class SessionLog:
    """A whole session log in memory (see load())."""
    path: Path
    header: dict
    device: DeviceInfo
    channel_names: list[str]
    samples: SampleBlock
    events: list[LogEvent]
    end: dict | None               # the end record, None if the log was not closed
    torn_bytes: int                # unfinished record at the end, discarded
    damaged_regions: int           # damaged stretches skipped in the middle
    damaged_bytes: int
    bad_records: int               # records with a good CRC whose content did not decode
    unknown_records: int           # records of a type this version does not know (skipped)
    problems: list[str]            # one sentence per problem, for a person

    @property
    def complete(self) -> bool:
        """The log was closed cleanly: it has its end record (see also `intact`)."""
        return self.end is not None

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def intact(self) -> bool:
        """Closed cleanly and nothing damaged, torn or undecodable."""
        return self.complete and not (self.torn_bytes or self.damaged_regions or self.bad_records)


class LogReader:
    """Streaming access to a log: the header at once, then records in file order.

        with LogReader(path) as r:
            print(r.header["trainee"])
            for block in r.iter_blocks():   # one SampleBlock per chunk (about 1 s)
                ...
        r.torn_bytes, r.damaged_regions, r.end   # final once iteration has finished

    One pass only (iterate again by opening a new reader).
    """

    def __init__(self, path: str | os.PathLike, *, read_size: int = READ_SIZE):
        self.path = Path(path)
        self._read_size = read_size
        self.torn_bytes = 0
        self.damaged_regions = 0
        self.damaged_bytes = 0
        self.bad_records = 0
        self.unknown_records = 0
        self.problems: list[str] = []
        self.end: dict | None = None
        self.events: list[LogEvent] = []     # filled as iteration passes them
        self._used = False
        self._f = self._open()
        try:
            self._read_prologue()
            self._scanner = fmt.RecordScanner(fmt.PROLOGUE_SIZE)
            self._pending: list = []
            self._eof = False
            self.header = self._read_header()
            self.device, self.channel_names = self._describe(self.header)
        except BaseException:
            self._f.close()
            raise

    # --- opening ---------------------------------------------------------------------

    def _open(self):
        p = self.path
        try:
            return open(p, "rb")
        except FileNotFoundError:
            raise LogReadError(f"{p}: no such file. Session logs are in the sessions "
                               f"directory (see `massage-glove sessions`).", path=p) from None
        except IsADirectoryError:
            raise LogReadError(f"{p} is a directory, not a session log file.", path=p) from None
        except PermissionError:
            raise LogReadError(f"{p}: permission denied: this user may not read it.",
                               path=p) from None
        except OSError as e:
            raise LogReadError(f"{p}: cannot read it: {e.strerror or e}.", path=p) from None

    def _fail(self, what: str) -> LogFormatError:
        return LogFormatError(f"{self.path}: {what}", path=self.path)

    def _read_prologue(self) -> None:
        head = self._f.read(fmt.PROLOGUE_SIZE)
        if not head:
            raise self._fail("the file is empty: not a session log, or the app stopped before "
                             "it could write anything")
        sig = fmt.SIGNATURE
        if head[:len(sig)] != sig[:len(head)]:
            shown = head[:len(sig)].decode("ascii", "replace")
            raise self._fail(f"not a massage-glove session log (it starts with {shown!r}, a "
                             f"log starts with {sig!r})")
        if len(head) < fmt.PROLOGUE_SIZE:
            raise self._fail(f"the file ends after {len(head)} bytes, inside its first bytes: "
                             f"the app stopped before the session started; nothing to read")
        _, version = fmt.PROLOGUE.unpack(head)
        if version != fmt.FORMAT_VERSION:
            newer = version > fmt.FORMAT_VERSION
            raise self._fail(f"session log format version {version}; this software reads "
                             f"version {fmt.FORMAT_VERSION}"
                             + (": update massage-glove to read it" if newer else ""))

    def _next_item(self):
        """The next Record or Skipped from the scanner, or None at the end of the file."""
        while not self._pending:
            if self._eof:
                return None
            try:
                data = self._f.read(self._read_size)
            except OSError as e:
                raise LogReadError(f"{self.path}: reading failed: {e.strerror or e}.",
                                   path=self.path) from None
            if data:
                self._pending = self._scanner.feed(data)
            else:
                self._eof = True
                self._pending = self._scanner.finish()
        return self._pending.pop(0)

    def _read_header(self) -> dict:
        item = self._next_item()
        if item is None or (isinstance(item, fmt.Skipped) and item.torn):
            raise self._fail("the file ends inside its header: the app stopped before the "
                             "session started; nothing to read")
        if isinstance(item, fmt.Skipped) or item.rtype != fmt.REC_HEADER \
                or item.offset != fmt.PROLOGUE_SIZE:
            raise self._fail("the header is damaged (its checksum does not match); the "
                             "samples cannot be interpreted without it")
        try:
            header = fmt.decode_json(item.payload)
        except ValueError as e:
            raise self._fail(f"the header is not valid JSON ({e})") from None
        if header.get("format") != fmt.FORMAT_NAME:
            raise self._fail(f"the header names format {header.get('format')!r}, expected "
                             f"{fmt.FORMAT_NAME!r}")
        from ..limits import limits
        try:
            validate.check_header(Node(f"{self.path}: header", "", header), limits().max_chunk_rows)
        except DataFileError as e:
            raise LogFormatError(str(e), path=self.path) from None
        stated = (header.get("writer") or {}).get("max_chunk_rows")
        self.max_chunk_rows = min(stated or limits().max_chunk_rows, limits().max_chunk_rows)
        return header

    def _describe(self, header: dict) -> tuple[DeviceInfo, list[str]]:
        try:
            device = DeviceInfo.from_meta(header["device_meta"])
        except (KeyError, TypeError, ValueError) as e:
            raise self._fail(f"the header's device description is incomplete ({e!r})") from None
        by_index = sorted(device.channels, key=lambda c: c.index)
        names = [c.name for c in by_index]
        n = header.get("n_channels", len(names))
        if n != len(names) or not 1 <= n <= fmt.MAX_CHANNELS:
            raise self._fail(f"the header says {n} channels but describes {len(names)}")
        return device, names

    # --- iteration ---------------------------------------------------------------------

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    def __iter__(self) -> Iterator[SampleBlock | LogEvent]:
        """SampleBlocks and LogEvents in file order (damage skipped and counted)."""
        if self._used:
            raise RuntimeError("a LogReader can be iterated once; open a new one")
        self._used = True
        try:
            while True:
                item = self._next_item()
                if item is None:
                    break
                out = self._interpret(item)
                if out is not None:
                    yield out
        finally:
            self._f.close()

    def iter_blocks(self) -> Iterator[SampleBlock]:
        """One SampleBlock per sample chunk; events are collected in self.events."""
        for x in self:
            if isinstance(x, SampleBlock):
                yield x

    def _interpret(self, item):
        if isinstance(item, fmt.Skipped):
            if item.torn:
                self.torn_bytes += item.length
                self.problems.append(
                    f"the last {item.length} bytes (from offset {item.offset}) are an "
                    f"unfinished record, discarded: the app stopped while writing it")
            else:
                self.damaged_regions += 1
                self.damaged_bytes += item.length
                self.problems.append(
                    f"skipped {item.length} damaged bytes at offset {item.offset} (the data "
                    f"recorded there is lost; the rest of the log is fine)")
            log.warning("%s: %s", self.path, self.problems[-1])
            return None
        rt = item.rtype
        if rt == fmt.REC_SAMPLES:
            try:
                n, n_ch = fmt.chunk_shape(item.payload)
                if n_ch != self.n_channels:
                    raise fmt.ChunkError(f"chunk has {n_ch} channels, the log has "
                                         f"{self.n_channels}")
                return fmt.decode_chunk(item.payload, self.max_chunk_rows)
            except fmt.ChunkError as e:
                return self._bad(item, str(e))
        if rt == fmt.REC_EVENT:
            try:
                obj = fmt.decode_json(item.payload)
            except ValueError as e:
                return self._bad(item, f"event does not decode ({e})")
            try:
                validate.check_event(Node("event", "", obj))
            except DataFileError as e:
                return self._bad(item, str(e))
            ev = LogEvent.from_json(obj)
            self.events.append(ev)
            return ev
        if rt == fmt.REC_END:
            try:
                end = fmt.decode_json(item.payload)
            except ValueError as e:
                return self._bad(item, f"end record does not decode ({e})")
            try:
                validate.check_end(Node("end record", "", end))
            except DataFileError as e:
                return self._bad(item, str(e))
            self.end = end
            return None
        if rt == fmt.REC_HEADER:
            return self._bad(item, "a second header record")
        self.unknown_records += 1
        return None

    def _bad(self, item: fmt.Record, why: str) -> None:
        self.bad_records += 1
        self.problems.append(f"record at offset {item.offset} skipped: {why}")
        log.warning("%s: %s", self.path, self.problems[-1])
        return None

    def stated_samples(self) -> int:
        """Rows the sample chunks say they hold, from their headers alone (nothing is
        decompressed). Consumes the reader: open a new one to read the samples."""
        if self._used:
            raise RuntimeError("a LogReader can be iterated once; open a new one")
        self._used = True
        rows = 0
        try:
            while True:
                item = self._next_item()
                if item is None:
                    return rows
                if isinstance(item, fmt.Record) and item.rtype == fmt.REC_SAMPLES:
                    try:
                        n, n_ch = fmt.chunk_shape(item.payload)
                    except fmt.ChunkError:
                        continue
                    if n_ch == self.n_channels and n <= self.max_chunk_rows:
                        rows += n
        finally:
            self._f.close()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "LogReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_log(path: str | os.PathLike) -> LogReader:
    """A streaming reader (header read and checked; records on iteration)."""
    return LogReader(path)


def iter_blocks(path: str | os.PathLike) -> Iterator[SampleBlock]:
    """The samples of a log one chunk at a time (bounded memory for an hour-long log)."""
    with LogReader(path) as r:
        yield from r.iter_blocks()


def check_size(r: LogReader, rows: int) -> None:
    """LogFormatError when `rows` samples of r's channels are more than a review may hold
    (limits.json logs.max_review_samples and max_review_values)."""
    from ..limits import limits
    lim = limits()
    if rows > lim.max_review_samples or rows * r.n_channels > lim.max_review_values:
        raise r._fail(
            f"the log's sample chunks say they hold {rows} samples of {r.n_channels} channels, "
            f"more than this software reads at once ({lim.max_review_samples} samples, "
            f"{lim.max_review_values} samples x channels: logs.max_review_samples and "
            f"logs.max_review_values in {lim.file}); read it in parts with iter_blocks()")


def load(path: str | os.PathLike) -> SessionLog:
    """Read a whole session log. LogReadError/LogFormatError when it cannot be read as one.

    Memory is bounded before anything is decompressed: a first pass adds up the rows the
    sample chunks state in their headers (check_size), and the reading pass stops at the
    same bound should the file have grown in between.
    """
    with LogReader(path) as r0:
        check_size(r0, r0.stated_samples())
    r = LogReader(path)
    blocks: list[SampleBlock] = []
    events: list[LogEvent] = []
    rows = 0
    for x in r:
        if isinstance(x, SampleBlock):
            rows += len(x)
            check_size(r, rows)
        (blocks if isinstance(x, SampleBlock) else events).append(x)
    samples = SampleBlock.concat(blocks, r.n_channels)
    return SessionLog(
        path=r.path, header=r.header, device=r.device, channel_names=list(r.channel_names),
        samples=samples, events=events, end=r.end, torn_bytes=r.torn_bytes,
        damaged_regions=r.damaged_regions, damaged_bytes=r.damaged_bytes,
        bad_records=r.bad_records, unknown_records=r.unknown_records,
        problems=list(r.problems))
