"""CSV export of a session log: one row per sample, and the events in a second file.

samples: seq, t_device_s, t_host_s, <one column per channel, by name>, flags
events:  t_host_s, t_device_s, kind, text, fields (the other fields as a JSON object)
Numbers are written so they read back exactly (counts and seq as integers, times as the
shortest decimal that round-trips the float64).

Every text cell is neutralised for spreadsheets (csv_cell): a cell a spreadsheet could
read as a formula (starting with = + - @, a tab or a carriage return) gets a leading
apostrophe, so a channel name or an event text from a device or a file stays text.
The files are personal data and are created readable by their owner only (0600).
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Iterable

from ..errors import LogWriteError
from ..privatefile import replace_private
from ..samples import SampleBlock
from .reader import LogEvent, LogReader, SessionLog

SAMPLE_FIXED_COLUMNS = ("seq", "t_device_s", "t_host_s")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell that no spreadsheet reads as a formula: text starting with = + - @, a tab
    or a carriage return gets a leading apostrophe (OWASP "CSV injection"); numbers, None
    and other text are returned unchanged (numbers are never formulas)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def open_private(path: str | os.PathLike):
    """A text file to write, mode 0600 whatever the umask, written to a new temporary file
    and renamed over `path` when the `with` block ends: a symlink at `path` is replaced,
    never followed (privatefile.replace_private). Use as `with open_private(p) as f:`."""
    return replace_private(path, "w", newline="")


def write_csv(path: str | os.PathLike, columns, rows: Iterable) -> Path:
    """Write a header row and rows, every text cell neutralised (csv_cell), mode 0600.
    LogWriteError naming the file when it cannot be written."""
    out = Path(path)
    try:
        with open_private(out) as f:
            w = csv.writer(f)
            w.writerow([csv_cell(str(c)) for c in columns])
            w.writerows([csv_cell(c) for c in row] for row in rows)
    except OSError as e:
        raise LogWriteError(f"cannot write the CSV file {e.filename or out}: "
                            f"{e.strerror or e}.", path=e.filename or out, errno=e.errno) from None
    return out
EVENT_COLUMNS = ("t_host_s", "t_device_s", "kind", "text", "fields")


def events_csv_path(out_path: str | os.PathLike) -> Path:
    """x.csv -> x.events.csv (any other name: name + '.events.csv')."""
    p = Path(out_path)
    if p.suffix.lower() == ".csv":
        return p.with_name(p.name[:-4] + ".events.csv")
    return p.with_name(p.name + ".events.csv")


def sample_columns(channel_names: list[str]) -> list[str]:
    return [*SAMPLE_FIXED_COLUMNS, *channel_names, "flags"]


def _write_samples(w, blocks: Iterable[SampleBlock]) -> int:
    n = 0
    for b in blocks:
        cols = [b.seq.tolist(), b.t_device_s.tolist(), b.t_host_s.tolist()]
        counts = b.counts.tolist()
        flags = b.flags.tolist()
        w.writerows([s, td, th, *c, f] for s, td, th, c, f in zip(*cols, counts, flags))
        n += len(b)
    return n


def _event_row(ev: LogEvent) -> list:
    rest = dict(ev.fields)
    text = rest.pop("text", "")
    return [csv_cell(c) for c in (
        ev.t_host_s, "" if ev.t_device_s is None else ev.t_device_s, ev.kind,
        text if isinstance(text, str) else json.dumps(text),
        json.dumps(rest, ensure_ascii=False, separators=(",", ":")) if rest else "")]


def export_csv(log: SessionLog | str | os.PathLike, out_path: str | os.PathLike) -> tuple[Path, Path]:
    """Write the samples to out_path and the events to events_csv_path(out_path).

    log: a loaded SessionLog, or the path of a log (then it is streamed chunk by chunk,
    in bounded memory). Returns (samples_csv, events_csv). LogWriteError when a CSV file
    cannot be written; LogReadError/LogFormatError for a log that cannot be read.
    """
    out = Path(out_path)
    ev_out = events_csv_path(out)
    reader = None
    if isinstance(log, SessionLog):
        names = log.channel_names
        blocks: Iterable[SampleBlock] = [log.samples]
    else:
        reader = LogReader(log)
        names = reader.channel_names
        blocks = reader.iter_blocks()
    try:
        with open_private(out) as f:
            w = csv.writer(f)
            w.writerow([csv_cell(c) for c in sample_columns(names)])
            _write_samples(w, blocks)
        events = log.events if reader is None else reader.events
        with open_private(ev_out) as f:
            w = csv.writer(f)
            w.writerow(EVENT_COLUMNS)
            w.writerows(_event_row(ev) for ev in events)
    except OSError as e:
        raise LogWriteError(f"cannot write the CSV export {e.filename or out}: "
                            f"{e.strerror or e}.", path=e.filename or out, errno=e.errno) from None
    finally:
        if reader is not None:
            reader.close()
    return out, ev_out
