"""Writing files that hold personal data (session logs, reviews, exports): 0600, never through a symlink.

Session logs and reports describe a trainee and the person they worked on. Every writer
of such a file goes through this module, so that, whatever the umask:

* files are created with mode 0600 and directories this module creates with 0700;
* a new file is created with O_CREAT | O_EXCL | O_NOFOLLOW: an existing file, or a
  symlink planted at the name (dangling or not), is never opened, followed or truncated;
* a file that replaces another (a report written again) is written to a new temporary
  file in the same directory and renamed over the name: a symlink at the name is replaced
  itself, its target is never touched, and a reader never sees half a file.

    with open_private(path, buffering=0) as f: ...            # a new file (session log)
    write_private(path, html_text)                              # create or replace (report)
    with replace_private(path, "w", newline="") as f: ...      # the same, streamed (CSV)
    make_private_dir(path)                                      # mkdir -p, new parts 0700
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
PUBLIC_FILE_MODE = 0o666        # data files (calibrations, profiles): the umask applies

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


def _create_fd(path: Path, mode: int, private: bool) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY,
                 mode)
    if private:
        try:
            os.fchmod(fd, mode)          # the umask may have taken bits away; never adds any
        except (AttributeError, OSError):
            pass
    return fd


def open_private(path: str | os.PathLike, mode: str = "wb", *, buffering: int = -1,
                 encoding: str | None = None, newline: str | None = None):
    """Create a new file, mode 0600, and open it for writing ("wb" or "w").

    FileExistsError when anything (a file, a directory, a symlink) has the name already.
    """
    if mode not in ("wb", "w"):
        raise ValueError("open_private writes new files: mode 'wb' or 'w'")
    fd = _create_fd(Path(path), PRIVATE_FILE_MODE, True)
    try:
        if mode == "w":
            return os.fdopen(fd, "w", buffering=buffering, encoding=encoding or "utf-8",
                             newline=newline)
        return os.fdopen(fd, "wb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def replace_private(path: str | os.PathLike, mode: str = "wb", *, private: bool = True,
                    encoding: str | None = None, newline: str | None = None):
    """Write `path` whole, atomically: a temporary file beside it, then a rename over it.

    The temporary file is created like open_private (0600, O_EXCL, O_NOFOLLOW); when the
    block raises, it is removed and `path` is left as it was. private=False: the file is
    created 0666 minus the umask (data files a person may share, e.g. calibrations).
    """
    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        raise IsADirectoryError(21, "Is a directory", str(p))
    tmp = p.with_name(f".{p.name}.{secrets.token_hex(6)}.tmp")
    fd = _create_fd(tmp, PRIVATE_FILE_MODE if private else PUBLIC_FILE_MODE, private)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
        elif mode == "wb":
            f = os.fdopen(fd, "wb")
        else:
            raise ValueError("replace_private: mode 'wb' or 'w'")
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_private(path: str | os.PathLike, data: bytes | str, *, private: bool = True) -> Path:
    """Create or replace `path` with `data` (str is written as UTF-8), see replace_private."""
    with replace_private(path, "wb", private=private) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def make_private_dir(path: str | os.PathLike) -> Path:
    """Create `path` and its missing parents, each new one 0700 whatever the umask.

    Directories that exist already are left as they are (a directory the user chose);
    FileExistsError / NotADirectoryError when a part of the path is not a directory.
    """
    p = Path(path)
    missing = []
    q = p
    while not q.exists():
        if q.is_symlink():               # a dangling symlink: never create through it
            raise FileExistsError(17, "a symlink is in the way", str(q))
        missing.append(q)
        if q.parent == q:
            break
        q = q.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, PRIVATE_DIR_MODE)
        except FileExistsError:
            if not d.is_dir() or d.is_symlink():
                raise
            continue
        os.chmod(d, PRIVATE_DIR_MODE)     # we just made it: the umask may have taken bits
    if not p.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(p))
    return p


def is_private(path: str | os.PathLike) -> bool:
    """True when no one but the owner may read, write or enter `path`."""
    return (os.stat(path).st_mode & 0o077) == 0
