"""pyserial URL handlers of the instrument, found through `serial.serial_for_url`.

    sim://?trainee=heavy&seed=3&routine=demo&rate=200     the simulated glove (real firmware)
    replay://path/to/session.mglog?speed=4&start=80       a recorded session, as a glove

pyserial imports `<package>.protocol_<scheme>` for every package in
`serial.protocol_handler_packages`; importing `massage_glove` (or this package) adds this
one, so `serial.serial_for_url("sim://")` works in any program that imported it.
"""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

PACKAGE = __name__


def register() -> None:
    """Make `sim://` and `replay://` known to serial.serial_for_url (idempotent)."""
    import serial
    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(PACKAGE)


def parse_url(url: str, scheme: str, known: dict) -> tuple[str, dict]:
    """(path, {name: value}) of `scheme://path?name=value&...`, checked against `known`.

    known: {name: (type, default)}; type is int, float, str, bool or list (repeatable).
    Raises ValueError naming the URL, the parameter and what was expected.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != scheme:
        raise ValueError(f"{url!r} is not a {scheme}:// URL")
    path = unquote(parts.netloc + parts.path)
    try:
        raw = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError(f"{url!r}: the query is not name=value pairs joined by &") from None
    out = {}
    for name, values in raw.items():
        if name not in known:
            raise ValueError(f"{url!r}: unknown parameter {name!r} (known: {', '.join(sorted(known))})")
        typ, _ = known[name]
        if typ is list:
            out[name] = list(values)
            continue
        if len(values) > 1:
            raise ValueError(f"{url!r}: parameter {name!r} given {len(values)} times")
        v = values[0]
        try:
            if typ is bool:
                if v.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError
                out[name] = v.lower() in ("1", "true", "yes")
            else:
                out[name] = typ(v)
        except ValueError:
            what = {int: "a whole number", float: "a number", bool: "1 or 0"}.get(typ, "text")
            raise ValueError(f"{url!r}: parameter {name!r} is {v!r}, expected {what}") from None
    for name, (typ, default) in known.items():
        out.setdefault(name, [] if typ is list else default)
    return path, out


register()
