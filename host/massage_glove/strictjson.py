"""Strict JSON parsing for everything read from a file: the one parser for data files and log records.

Python's `json.loads` accepts things a file from outside must not bring in:

* duplicate keys (`{"a": 1, "a": 1e9}`): silently the last one wins, so a checker and a
  person reading the file can see different values;
* integers of thousands of digits: parsing them is slow and raises a plain ValueError
  (Python's limit on int digits), not a JSONDecodeError;
* `NaN`, `Infinity` and `-Infinity`, which are not JSON (RFC 8259).

`loads()` refuses all three with `StrictJSONError` (a ValueError) whose message names the
key or the value, so callers turn it into one error naming the file and the field.
"""
from __future__ import annotations

import json

# An integer in a data file or a log is a count, an index, a size or a time in
# microseconds: 20 digits hold any 64-bit value. Longer ones are refused before
# Python converts them.
MAX_INT_DIGITS = 20


class StrictJSONError(ValueError):
    """The text is JSON, but not JSON this software accepts (see the module docstring).

    field: the key concerned (duplicate keys), or "" when it is not known.
    """

    def __init__(self, message: str, field: str = "", token: str = ""):
        super().__init__(message)
        self.field = field
        self.token = token          # the offending text (huge integers), to locate it

    def position(self, text: str) -> tuple[int, int] | None:
        """(line, column), 1-based, of the offending token in `text`, when known."""
        if not self.token:
            return None
        i = text.find(self.token)
        if i < 0:
            return None
        line = text.count("\n", 0, i) + 1
        return line, i - (text.rfind("\n", 0, i) + 1) + 1


def _pairs(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise StrictJSONError(f"the key {k!r} appears twice in one object", field=k)
        out[k] = v
    return out


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise StrictJSONError(f"an integer of {digits} digits (at most {MAX_INT_DIGITS} are accepted)",
                              token=text)
    return int(text)


def _constant(name: str):
    raise StrictJSONError(f"{name} is not a JSON number")


def loads(text: str | bytes):
    """Parse JSON text strictly. json.JSONDecodeError for malformed text (with line and
    column), StrictJSONError for duplicate keys, huge integers or NaN/Infinity,
    RecursionError for nesting deeper than Python follows."""
    return json.loads(text, object_pairs_hook=_pairs, parse_int=_int, parse_constant=_constant)
