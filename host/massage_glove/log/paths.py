"""Where session logs go and what they are called: <sessions dir>/<YYYYmmdd-HHMMSS>-<trainee>.mglog."""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from .. import paths as _paths
from ..errors import LogWriteError
from ..privatefile import make_private_dir

ENV_SESSIONS = "MASSAGE_GLOVE_SESSIONS"
LOG_SUFFIX = ".mglog"
MAX_TRAINEE_CHARS = 40


def sessions_dir(*, create: bool = True) -> Path:
    """The sessions directory: $MASSAGE_GLOVE_SESSIONS, else
    $XDG_DATA_HOME/massage-glove/sessions (~/.local/share/massage-glove/sessions).

    The default directory is created when missing (create=True), 0700 like every part of
    it this creates (logs hold personal data; privatefile.py), whatever the umask. A
    directory named in MASSAGE_GLOVE_SESSIONS is never created (a typo there should not
    scatter logs): opening a log in it then says it does not exist.
    """
    d = _paths.sessions_dir().expanduser()
    if create and not os.environ.get(ENV_SESSIONS):
        try:
            make_private_dir(d)
        except OSError as e:
            raise LogWriteError(
                f"cannot create the sessions directory {d}: {e.strerror or e}. Set "
                f"{ENV_SESSIONS} to a writable directory.", path=d, errno=e.errno) from None
    return d


def safe_trainee(trainee: str) -> str:
    """The trainee's name as a file-name part: letters, digits, '-', '_' and '.' kept,
    anything else becomes '_'; at most MAX_TRAINEE_CHARS; 'anonymous' when empty."""
    s = "".join(c if (c.isalnum() or c in "-_.") else "_" for c in str(trainee).strip())
    s = s.strip("._")[:MAX_TRAINEE_CHARS]
    return s or "anonymous"


def session_file_name(trainee: str, start_time: _dt.datetime) -> str:
    """<YYYYmmdd-HHMMSS>-<trainee>.mglog, the time in the local time zone."""
    if start_time.tzinfo is not None:
        start_time = start_time.astimezone()
    return f"{start_time.strftime('%Y%m%d-%H%M%S')}-{safe_trainee(trainee)}{LOG_SUFFIX}"


def new_session_path(trainee: str, start_time: _dt.datetime | None = None,
                     directory: str | os.PathLike | None = None) -> Path:
    """A path for a new log that does not exist yet (-2, -3, ... added on a clash)."""
    if start_time is None:
        start_time = _dt.datetime.now().astimezone()
    d = sessions_dir() if directory is None else Path(directory).expanduser()
    name = session_file_name(trainee, start_time)
    p = d / name
    k = 2
    while os.path.lexists(p):          # a dangling symlink is taken too: never written through
        p = d / f"{name[:-len(LOG_SUFFIX)]}-{k}{LOG_SUFFIX}"
        k += 1
    return p


def list_sessions(directory: str | os.PathLike | None = None) -> list[Path]:
    """The session logs in the sessions directory (or `directory`), oldest first."""
    d = sessions_dir(create=False) if directory is None else Path(directory).expanduser()
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.suffix == LOG_SUFFIX and p.is_file())
