"""The one check of what a session log says: header, event and end records, before anything uses them.

A log is a file, and a file may be crafted. The reader passes every JSON record through
here once; what comes out has the types and bounds the rest of the program relies on
(review, export, progress), so nothing downstream re-checks and nothing downstream is
reached by an unchecked value. Each problem is one `DataFileError` naming the file, the
field (a JSON path such as ``device_meta.channels[2].hand``) and what was expected; the
reader turns a bad header into a LogFormatError and a bad event into a skipped record.

The glove's description (`device_meta`) goes through the same check as a META frame at
the handshake (protocol.check_meta, docs/PROTOCOL.md); the other fields follow the log
format (docs/LOG_FORMAT.md section 2).
"""
from __future__ import annotations

import math

from ..errors import DataFileError
from ..portable import fsr
from ..signal.datafile import Node
from . import format as fmt

MAX_NAME_CHARS = 200          # names, ids and short texts in the header
SEVERITIES = ("info", "warning", "danger")


def _opt(node: Node, check):
    """None when the node is absent or null, else check(node)."""
    return None if node.value is None else check(node)


def _text(node: Node, *, nonempty: bool = False, max_chars: int | None = MAX_NAME_CHARS) -> str:
    s = node.str(nonempty=nonempty)
    if max_chars is not None and len(s) > max_chars:
        raise node.error(f"a string of at most {max_chars} characters", f"{len(s)} characters")
    return s


def check_device_meta(meta: Node) -> None:
    """The glove's description as recorded in the header: the handshake's own check of a
    META object (protocol.check_meta, PROTOCOL.md), and a sensor class this software has
    a force curve for."""
    from ..protocol import MetaError, check_meta
    try:
        check_meta(meta.value)
    except MetaError as e:
        found = e.found if isinstance(e.found, str) and e.found == "nothing" else repr(e.found)
        if len(found) > 60:
            found = found[:57] + "..."
        raise DataFileError(meta.file, f"{meta.path}.{e.field}" if e.field else meta.path,
                            e.expected, found) from None
    for c in meta["channels"].elements():
        c["class"].str(choices=tuple(fsr.NOMINAL))


def check_header(root: Node, max_chunk_rows: int) -> None:
    """Every header field the product reads (LOG_FORMAT.md section 2), with its bound.

    max_chunk_rows: the largest `writer.max_chunk_rows` accepted (limits.json).
    """
    root.obj()
    v = root.get("version")
    _opt(v, lambda n: n.int(min=fmt.FORMAT_VERSION, max=fmt.FORMAT_VERSION))
    meta = root["device_meta"]
    check_device_meta(meta)
    n_meta = len(meta["channels"].value)
    n = root.get("n_channels", n_meta)
    if n.int(min=1, max=fmt.MAX_CHANNELS) != n_meta:
        raise n.error(f"the number of channels in device_meta.channels ({n_meta})")
    names = root.get("channel_names")
    if names.value is not None:
        got = [_text(e, nonempty=True) for e in names.elements(length=n_meta)]
        by_index = [c["name"] for c in sorted(meta["channels"].value, key=lambda c: c["index"])]
        if got != by_index:
            raise names.error("the channel names of device_meta.channels in index order", repr(got))
    for key in ("trainee", "start_time", "glove_id", "firmware", "profile", "skill_level"):
        _opt(root.get(key), _text)
    _opt(root.get("start_unix_s"), lambda n: n.number())
    from ..protocol import MAX_RATE_HZ
    _opt(root.get("rate_hz"), lambda n: n.number(min_exclusive=0, max=MAX_RATE_HZ))
    _opt(root.get("adc_bits"), lambda n: n.int(min=8, max=16))
    _opt(root.get("sensitivity"), lambda n: n.number(min_exclusive=0, max=2.0))
    for key in ("units", "host", "software"):
        _opt(root.get(key), lambda n: n.obj())
    cal = root.get("calibration")
    if cal.value is not None:
        cal.obj()
        for key in ("file", "path", "sha256"):
            _opt(cal.get(key), lambda n: _text(n, max_chars=4096))
        _opt(cal.get("bytes"), lambda n: n.int(min=0))
        _opt(cal.get("embedded"), lambda n: n.obj())
    extra = root.get("extra")
    if extra.value is not None:
        extra.obj()
        _opt(extra.get("routine"), _text)
        _opt(extra.get("session_id"), _text)
    w = root.get("writer")
    if w.value is not None:
        w.obj()
        _opt(w.get("max_chunk_rows"), lambda n: n.int(min=1, max=max_chunk_rows))
        _opt(w.get("flush_interval_s"), lambda n: n.number(min_exclusive=0))
        _opt(w.get("background"), lambda n: n.bool())


# Event fields the product reads, by name, whatever the kind (LOG_FORMAT.md section 4).
_EVENT_LABELS = ("region", "stage", "technique", "source", "units")     # a string, or null
_EVENT_TEXT = ("text", "rule")                                           # a string when present
_EVENT_NUMBERS = ("value", "limit", "seconds", "missing", "first_seq", "last_seq",
                  "dropped_samples", "rate_hz")


def check_event(root: Node) -> None:
    """An event record: kind, times, and the fields of known meaning."""
    root.obj()
    kind = root["kind"].str()
    if len(kind) > 64:
        raise root["kind"].error("a string of 1..64 characters", f"{len(kind)} characters")
    root["t_host_s"].number()
    _opt(root.get("t_device_s"), lambda n: n.number())
    fields = root.obj()
    for key in _EVENT_LABELS:
        _opt(root.get(key), lambda n: _text(n, max_chars=10_000))
    for key in _EVENT_TEXT:
        if key in fields:
            _text(root[key], max_chars=10_000)
    for key in _EVENT_NUMBERS:
        _opt(root.get(key), lambda n: n.number())
    if "severity" in fields:
        root["severity"].str(choices=SEVERITIES)
    if kind == "alert":                 # a LIMIT event's channel is an index; an alert's a name
        _text(root["rule"], nonempty=True)
        _opt(root.get("channel"), lambda n: _text(n, max_chars=10_000))
    if "ok" in fields:
        root["ok"].bool()
    if "offsets_s" in fields:
        root["offsets_s"].numbers(max=1e6, min=-1e6)


def check_end(root: Node) -> None:
    root.obj()
    _opt(root.get("end_time"), _text)
    _opt(root.get("end_unix_s"), lambda n: n.number())
    for key in ("samples", "events", "samples_dropped", "events_dropped"):
        _opt(root.get(key), lambda n: n.int(min=0))


def finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


__all__ = ["DataFileError", "check_device_meta", "check_end", "check_event", "check_header"]
