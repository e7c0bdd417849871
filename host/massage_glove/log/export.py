"""CSV export of a session log: one row per sample, and the events in a second file.

samples: seq, t_device_s, t_host_s, <one column per channel, by name>, flags
events:  t_host_s, t_device_s, kind, text, fields (the other fields as a JSON object)
Numbers are written so they read back exactly (counts and seq as integers, times as the
shortest decimal that round-trips the float64).
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
    return [ev.t_host_s, "" if ev.t_device_s is None else ev.t_device_s, ev.kind,
            text if isinstance(text, str) else json.dumps(text),
            json.dumps(rest, ensure_ascii=False, separators=(",", ":")) if rest else ""]


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
        with replace_private(out, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(sample_columns(names))
            _write_samples(w, blocks)
        events = log.events if reader is None else reader.events
        with replace_private(ev_out, "w", newline="") as f:
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
