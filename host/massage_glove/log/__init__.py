"""Session logs: one crash-safe file per practice session (format: docs/LOG_FORMAT.md).

    writer = open_session_log(device, trainee="ana", calibration="calibration/g1.json",
                              profile="back-standard", skill_level="novice", sensitivity=1.0)
    writer.write_samples(block); writer.write_event("region", t, None, region="neck")
    writer.maybe_flush(); ...; writer.close()
    if writer.failed: show(str(writer.failed))   # logging stopped, the session goes on

    log = load(path); export_csv(log, "session.csv")
"""
from __future__ import annotations

from ..errors import LogFormatError, LogReadError, LogWriteError
from .export import events_csv_path, export_csv, sample_columns
from .format import FORMAT_NAME, FORMAT_VERSION
from .paths import (ENV_SESSIONS, LOG_SUFFIX, list_sessions, new_session_path,
                    safe_trainee, session_file_name, sessions_dir)
from .reader import LogEvent, LogReader, SessionLog, iter_blocks, load, open_log
from .writer import (SessionLogWriter, WriterStats, calibration_ref, device_meta,
                     make_header, open_session_log)

__all__ = [
    "ENV_SESSIONS", "FORMAT_NAME", "FORMAT_VERSION", "LOG_SUFFIX", "LogEvent",
    "LogFormatError", "LogReadError", "LogReader", "LogWriteError", "SessionLog",
    "SessionLogWriter", "WriterStats", "calibration_ref", "device_meta", "events_csv_path",
    "export_csv", "iter_blocks", "list_sessions", "load", "make_header", "new_session_path",
    "open_log", "open_session_log", "safe_trainee", "sample_columns", "session_file_name",
    "sessions_dir",
]
