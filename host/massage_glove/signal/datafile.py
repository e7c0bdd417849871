"""Reading JSON data files with checks: every problem raises DataFileError naming file and field.

Usage::

    root = read_json(path)                   # malformed JSON -> file:line:col in the message
    edges = root["classes"]["fsr402"]["edges_n"].numbers(length=3, increasing=True)

A `Node` is a value plus where it came from (file and JSON path such as
``regions.neck.max_band``); indexing a missing key, or asking for the wrong type, raises
`DataFileError` with the path and what was expected. Nothing here knows about any one format.
"""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, Iterator

from .. import strictjson
from ..errors import DataFileError
from ..privatefile import replace_private


def read_json(path: str | Path, *, text: str | None = None, max_bytes: int | None = None) -> "Node":
    """Parse a JSON file (or `text`, reported as coming from `path`) into a root Node.

    The file must be a regular file of at most `max_bytes` (default: limits.json
    files.max_data_file_bytes); it is refused unread when larger, and never read past
    the bound (a device or a FIFO named as a data file cannot make it read for ever).
    The JSON is parsed strictly (strictjson.py): duplicate keys, integers of more than 20
    digits and NaN/Infinity are errors naming the file (and the key).
    """
    path = str(path)
    if text is None:
        if max_bytes is None:
            from ..limits import limits
            max_bytes = limits().max_data_file_bytes
        text = _read_bounded(path, max_bytes)
    try:
        data = strictjson.loads(text)
    except json.JSONDecodeError as e:
        raise DataFileError(path, "", f"valid JSON ({e.msg})", None, line=e.lineno, col=e.colno) from None
    except strictjson.StrictJSONError as e:
        pos = e.position(text) or (None, None)
        raise DataFileError(path, e.field, "JSON this software accepts", str(e),
                            line=pos[0], col=pos[1]) from None
    except RecursionError:
        raise DataFileError(path, "", "valid JSON", "nesting deeper than this reader follows") from None
    return Node(path, "", data)


def _read_bounded(path: str, max_bytes: int) -> str:
    """The text of a regular file of at most max_bytes (DataFileError otherwise)."""
    data = read_bounded_bytes(path, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataFileError(path, "", "UTF-8 text", f"undecodable byte at offset {e.start}") from None


def read_bounded_bytes(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most max_bytes, never reading past the bound
    (DataFileError naming the file otherwise)."""
    path = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DataFileError(path, "", "an existing file", "no such file") from None
    except OSError as e:        # no permission, a disk error
        raise DataFileError(path, "", "a readable file", e.strerror or str(e)) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise DataFileError(path, "", "a readable file", "a directory")
        if not stat.S_ISREG(st.st_mode):
            raise DataFileError(path, "", "a regular file", "a device, pipe or socket")
        if st.st_size > max_bytes:
            raise DataFileError(path, "", f"a file of at most {max_bytes} bytes",
                                f"{st.st_size} bytes")
        chunks, left = [], max_bytes + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
    except OSError as e:
        raise DataFileError(path, "", "a readable file", e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise DataFileError(path, "", f"a file of at most {max_bytes} bytes", "more (it grew while read)")
    return data


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


class Node:
    """One JSON value with its file and path, and typed accessors that check it."""

    __slots__ = ("file", "path", "value")

    def __init__(self, file: str, path: str, value: Any):
        self.file = file
        self.path = path
        self.value = value

    # --- errors -------------------------------------------------------------------------
    def error(self, expected: str, found: str | None = "auto") -> DataFileError:
        """A DataFileError for this node (use `raise node.error("...")`)."""
        if found == "auto":
            found = _kind(self.value)
        return DataFileError(self.file, self.path, expected, found)

    def _child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else str(key)

    # --- structure ----------------------------------------------------------------------
    def obj(self) -> dict:
        if not isinstance(self.value, dict):
            raise self.error("an object")
        return self.value

    def has(self, key: str) -> bool:
        return key in self.obj()

    def __getitem__(self, key: str | int) -> "Node":
        if isinstance(key, int):
            lst = self.list()
            if not -len(lst) <= key < len(lst):
                raise DataFileError(self.file, self._child_path(key), "an item at this position",
                                    f"a list of {len(lst)}")
            return Node(self.file, self._child_path(key), lst[key])
        d = self.obj()
        if key not in d:
            raise DataFileError(self.file, self._child_path(key), "this field to be present",
                                "nothing")
        return Node(self.file, self._child_path(key), d[key])

    def get(self, key: str, default: Any = None) -> "Node":
        """The child `key`, or a Node holding `default` when it is absent."""
        d = self.obj()
        return Node(self.file, self._child_path(key), d.get(key, default))

    def items(self) -> Iterator[tuple[str, "Node"]]:
        for k, v in self.obj().items():
            yield k, Node(self.file, self._child_path(k), v)

    def list(self, *, length: int | None = None, min_length: int = 0) -> list:
        if not isinstance(self.value, list):
            raise self.error("a list")
        if length is not None and len(self.value) != length:
            raise self.error(f"a list of {length}")
        if len(self.value) < min_length:
            raise self.error(f"a list of at least {min_length}")
        return self.value

    def elements(self, **kw) -> list["Node"]:
        return [Node(self.file, self._child_path(i), v) for i, v in enumerate(self.list(**kw))]

    # --- scalars ------------------------------------------------------------------------
    def str(self, *, choices: tuple | list | None = None, nonempty: bool = True) -> str:
        v = self.value
        if not isinstance(v, str) or (nonempty and not v):
            raise self.error("a non-empty string" if nonempty else "a string")
        if choices is not None and v not in choices:
            raise self.error("one of " + ", ".join(repr(c) for c in choices))
        return v

    def bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error("true or false")
        return self.value

    def number(self, *, min: float | None = None, max: float | None = None,
               min_exclusive: float | None = None) -> float:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.error("a finite number")
        if min is not None and v < min:
            raise self.error(f"a number >= {min}")
        if min_exclusive is not None and v <= min_exclusive:
            raise self.error(f"a number > {min_exclusive}")
        if max is not None and v > max:
            raise self.error(f"a number <= {max}")
        return float(v)

    def int(self, *, min: int | None = None, max: int | None = None) -> int:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error("a whole number")
        if min is not None and v < min:
            raise self.error(f"a whole number >= {min}")
        if max is not None and v > max:
            raise self.error(f"a whole number <= {max}")
        return v

    def numbers(self, *, length: int | None = None, min_length: int = 0,
                min: float | None = None, min_exclusive: float | None = None,
                max: float | None = None, increasing: bool = False) -> list[float]:
        """A list of finite numbers, each checked; `increasing`: strictly ascending."""
        out = [e.number(min=min, max=max, min_exclusive=min_exclusive)
               for e in self.elements(length=length, min_length=min_length)]
        if increasing:
            for i in range(1, len(out)):
                if not out[i] > out[i - 1]:
                    raise DataFileError(self.file, self._child_path(i),
                                        f"a value above the previous one ({out[i - 1]})", repr(out[i]))
        return out


def check_format(root: Node, name: str, versions: tuple[int, ...]) -> int:
    """Check the `format` and `version` fields every data file carries; return the version."""
    root["format"].str(choices=(name,))
    return root["version"].int(min=min(versions), max=max(versions))


def write_json(path: str | Path, data: dict) -> None:
    """Write a data file: UTF-8, two-space indent, trailing newline, atomic replace
    (a new temporary file renamed over the name: a symlink there is replaced, never followed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_private(path, "w", private=False) as f:
        json.dump(data, f, indent=2)
        f.write("\n")
