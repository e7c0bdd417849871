"""Bounds on what the instrument accepts from files: data/limits.json, checked, loaded once.

    limits().max_data_file_bytes     # data files larger than this are refused unread
    limits().max_curve_factor        # calibration plausibility (signal/plausibility.py)

Every value is an engineering default with its reason in the data file (docs/SECURITY.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

LIMITS_PATH = Path(__file__).resolve().parent / "data" / "limits.json"
LIMITS_FORMAT = "massage-glove/limits"
# The limits file itself is read with this bound (it cannot come from the file).
LIMITS_FILE_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_data_file_bytes: int
    max_chunk_rows: int
    max_review_samples: int
    max_review_values: int
    max_curve_factor: float
    working_range_points: int
    reference_edges_n: Mapping[str, tuple[float, float, float]]
    min_edge_factor: float
    max_edge_factor: float
    file: str = ""


def load_limits(path: str | Path = LIMITS_PATH) -> Limits:
    """Read and check the limits file (DataFileError names the file and field)."""
    from .signal.datafile import check_format, read_json
    root = read_json(path, max_bytes=LIMITS_FILE_MAX_BYTES)
    check_format(root, LIMITS_FORMAT, (1,))
    v = lambda n: n["value"]  # noqa: E731
    for sec in ("files", "logs", "calibration", "bands"):
        for _, n in root[sec].items():
            n["source"].str()
    f, lg, cal, b = root["files"], root["logs"], root["calibration"], root["bands"]
    ref = {}
    for cls, n in v(b["reference_edges_n"]).items():
        ref[cls] = tuple(n.numbers(length=3, min_exclusive=0, increasing=True))
    lo = v(b["min_edge_factor"]).number(min_exclusive=0, max=1)
    return Limits(
        max_data_file_bytes=v(f["max_data_file_bytes"]).int(min=1024, max=1 << 30),
        max_chunk_rows=v(lg["max_chunk_rows"]).int(min=1, max=1 << 24),
        max_review_samples=v(lg["max_review_samples"]).int(min=1, max=1 << 40),
        max_review_values=v(lg["max_review_values"]).int(min=1, max=1 << 40),
        max_curve_factor=v(cal["max_curve_factor"]).number(min=1, max=1000),
        working_range_points=v(cal["working_range_points"]).int(min=2, max=10000),
        reference_edges_n=ref, min_edge_factor=lo,
        max_edge_factor=v(b["max_edge_factor"]).number(min=1, max=1000), file=root.file)


_LIMITS: Limits | None = None


def limits() -> Limits:
    """The package's limits, loaded once."""
    global _LIMITS
    if _LIMITS is None:
        _LIMITS = load_limits()
    return _LIMITS
