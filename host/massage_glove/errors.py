"""Typed errors of the massage-glove package: each message says what went wrong and what to do."""
from __future__ import annotations


class GloveError(Exception):
    """Base of every error this package raises on purpose (catch this in a CLI or UI)."""


class DataFileError(GloveError, ValueError):
    """A data file (calibration, bands, regions, profile) is missing, malformed or inconsistent.

    file:     the file's path (or a description when the data did not come from a file)
    field:    JSON path of the offending field, e.g. ``regions.neck.max_band`` ("" for the
              whole file)
    expected: what a valid file has there
    found:    what this file has there (repr), or None
    """

    def __init__(self, file, field: str, expected: str, found=None, *, line: int | None = None,
                 col: int | None = None):
        self.file = str(file)
        self.field = field
        self.expected = expected
        self.found = found
        self.line = line
        self.col = col
        where = self.file
        if line is not None:
            where += f":{line}:{col}"
        msg = f"{where}: "
        if field:
            msg += f"field `{field}`: "
        msg += f"expected {expected}"
        if found is not None:
            msg += f", found {found}"
        super().__init__(msg)


class CalibrationError(GloveError):
    """Calibration data cannot be fitted or does not fit the connected glove."""


class TareError(CalibrationError):
    """The quiet period offered for taring was not quiet (or not usable)."""


# --- the glove link -------------------------------------------------------------------

class LinkError(GloveError):
    """The glove cannot be reached or does not behave as a glove."""


class PortNotFoundError(LinkError):
    """No device at the named port."""


class PortBusyError(LinkError):
    """Another program holds the port."""


class PortPermissionError(LinkError):
    """The user may not open the port."""


class NotAGloveError(LinkError):
    """Something answers on the port, but not the glove firmware's protocol."""


class CommandFailed(LinkError):
    """The glove answered a command with an error REPLY."""

    def __init__(self, message: str, status: int = 0, reply_text: str = ""):
        super().__init__(message)
        self.status = status
        self.reply_text = reply_text


class Disconnected(LinkError):
    """The glove went away (cable pulled, board reset) and did not come back in time."""


class FirmwareError(GloveError):
    """Deploying or checking the firmware failed."""


# --- session logs ---------------------------------------------------------------------

class LogWriteError(GloveError):
    """A session log cannot be created, or logging stopped (disk full, file too large...).

    path:               the log file (or the directory, when the file could not be made)
    errno:              the operating system's error number, or None
    samples_saved:      samples safely in the file when logging stopped (0 at open)
    saved_until_host_s: host time (time.time()) of the last saved sample, or None
    """

    def __init__(self, message: str, *, path=None, errno: int | None = None,
                 samples_saved: int = 0, saved_until_host_s: float | None = None):
        super().__init__(message)
        self.path = None if path is None else str(path)
        self.errno = errno
        self.samples_saved = samples_saved
        self.saved_until_host_s = saved_until_host_s


class LogReadError(GloveError):
    """A session log cannot be read at all (missing, a directory, no permission)."""

    def __init__(self, message: str, *, path=None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class LogFormatError(LogReadError):
    """A file is not a session log this software can read (wrong format or version, header
    missing or damaged). Damage after the header is not an error: the reader skips it and
    reports it."""
