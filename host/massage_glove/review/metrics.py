"""Session metrics: pure array-in / array-out functions over a reprocessed session.

Units are in the names: t_s seconds, force_n newtons, rate_per_min strokes per minute.
Nothing here reads files or draws; review/report.py strings these together.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.signal import find_peaks


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (exclusive) of each run of True in a 1-D boolean array."""
    m = np.asarray(mask, bool)
    if m.size == 0:
        return []
    d = np.diff(np.r_[0, m.view(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def bridge_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """`mask` with runs of False no longer than max_gap samples, between Trues, filled."""
    out = np.asarray(mask, bool).copy()
    if max_gap <= 0 or not out.any():
        return out
    for a, b in runs(~out):
        if a > 0 and b < out.size and b - a <= max_gap:
            out[a:b] = True
    return out


def labels_at(t_s: np.ndarray, change_t_s, change_labels, initial=None) -> np.ndarray:
    """Label of each sample given label changes at times change_t_s (sorted or not)."""
    order = np.argsort(np.asarray(change_t_s, np.float64), kind="stable")
    ct = np.asarray(change_t_s, np.float64)[order]
    lab = np.array([initial] + [change_labels[i] for i in order], dtype=object)
    return lab[np.searchsorted(ct, t_s, side="right")]


# --- strokes ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Strokes:
    """Strokes of one hand: indices of the peaks, their times and forces."""
    peak_i: np.ndarray       # sample index of each stroke peak
    t_s: np.ndarray          # time of each peak
    peak_n: np.ndarray       # hand total force at the peak, newtons


def detect_strokes(t_s: np.ndarray, hand_force_n: np.ndarray, rate_hz: float,
                   min_prominence_n: float, min_interval_s: float) -> Strokes:
    """Strokes of one hand from its total force: peaks rising at least min_prominence_n
    above the surrounding troughs, at least min_interval_s apart."""
    f = np.nan_to_num(np.asarray(hand_force_n, np.float64))
    dist = max(1, int(round(min_interval_s * rate_hz)))
    idx, _ = find_peaks(f, prominence=min_prominence_n, distance=dist)
    return Strokes(idx, np.asarray(t_s)[idx], f[idx])


@dataclass(frozen=True)
class Rhythm:
    count: int
    rate_per_min: float | None      # from the median interval
    interval_cv: float | None       # variation of the intervals (rhythm regularity)
    peak_cv: float | None           # variation of the peaks (consistency of pressure)
    peak_median_n: float | None


def rhythm(t_s: np.ndarray, peak_n: np.ndarray, max_gap_factor: float) -> Rhythm:
    """Rate, regularity and consistency of a run of strokes (intervals longer than
    max_gap_factor x the median are pauses and are left out)."""
    n = len(t_s)
    if n < 3:
        return Rhythm(n, None, None, None, float(np.median(peak_n)) if n else None)
    iv = np.diff(np.asarray(t_s, np.float64))
    med = float(np.median(iv))
    iv = iv[iv <= max_gap_factor * med]
    p = np.asarray(peak_n, np.float64)
    cv_i = float(np.std(iv) / np.mean(iv)) if iv.size >= 2 and np.mean(iv) > 0 else None
    cv_p = float(np.std(p) / np.mean(p)) if np.mean(p) > 0 else None
    return Rhythm(n, 60.0 / med if med > 0 else None, cv_i, cv_p, float(np.median(p)))


# --- holds -----------------------------------------------------------------------------

def steady_runs(force_n: np.ndarray, engaged: np.ndarray, rate_hz: float, window_s: float,
                tolerance: float, min_s: float) -> list[tuple[int, int]]:
    """Holds: runs where the force stays within tolerance x its peak over a sliding window
    of window_s while `engaged`, lasting at least min_s (start, end indices; the window's
    length is counted in)."""
    f = np.nan_to_num(np.asarray(force_n, np.float64))
    w = max(2, int(round(window_s * rate_hz)))
    if f.size < w:
        return []
    mx = maximum_filter1d(f, w, origin=(w - 1) // 2)
    mn = minimum_filter1d(f, w, origin=(w - 1) // 2)
    ok = (mx - mn <= tolerance * mx) & np.asarray(engaged, bool) & (mx > 0)
    out = []
    for a, b in runs(ok):
        a0 = max(0, a - w + 1)
        if (b - a0) / rate_hz >= min_s:
            out.append((a0, b))
    return out


# --- the score -------------------------------------------------------------------------

def miss_cost(ratio_to_limit: np.ndarray, miss_scale: float) -> np.ndarray:
    """Cost of each sample given force / limit: 0 inside the band, rising with the excess
    (excess / limit / miss_scale), at most 1."""
    r = np.asarray(ratio_to_limit, np.float64)
    return np.clip((r - 1.0) / miss_scale, 0.0, 1.0)


def cv_part(cvs: list[float], weights: list[float], cv_max: float) -> float | None:
    """Share (0..1) of a coefficient-of-variation criterion met, weighted: 1 at or below
    cv_max, falling to 0 at twice cv_max."""
    if not cvs:
        return None
    c = np.asarray(cvs, np.float64)
    w = np.asarray(weights, np.float64)
    part = np.clip(1.0 - np.maximum(c - cv_max, 0.0) / cv_max, 0.0, 1.0)
    return float(np.sum(part * w) / np.sum(w)) if np.sum(w) > 0 else None
