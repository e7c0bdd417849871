"""Session metrics: pure array-in / array-out functions over a reprocessed session.

Units are in the names: t_s seconds, force_n newtons, rate_per_min strokes per minute.
Nothing here reads files or draws; review/report.py strings these together. Every
definition is written out in docs/REVIEW.md, with its measured error on the corpus.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.signal import butter, find_peaks, sosfiltfilt

MAD_TO_SD = 1.4826      # median absolute deviation -> standard deviation (normal data)


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


def label_codes(t_s: np.ndarray, change_t_s, change_labels, initial=None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, table) with labels_at(...) == table[codes]: per sample the index of the label
    change in force (0: `initial`), and the labels in time order (object array)."""
    order = np.argsort(np.asarray(change_t_s, np.float64), kind="stable")
    ct = np.asarray(change_t_s, np.float64)[order]
    lab = np.array([initial] + [change_labels[i] for i in order], dtype=object)
    return np.searchsorted(ct, t_s, side="right"), lab


def labels_at(t_s: np.ndarray, change_t_s, change_labels, initial=None) -> np.ndarray:
    """Label of each sample given label changes at times change_t_s (sorted or not)."""
    codes, table = label_codes(t_s, change_t_s, change_labels, initial)
    return table[codes]


def label_mask(labels: np.ndarray, pred) -> np.ndarray:
    """Samples whose label satisfies pred(label): pred is asked once per distinct label."""
    a = np.asarray(labels, dtype=object)
    out = np.zeros(a.shape, bool)
    for v in dict.fromkeys(a.tolist()):
        if pred(v):
            out |= a == v if v is not None else np.equal(a, None)
    return out


def change_bounds(*labels: np.ndarray) -> list[tuple[int, int]]:
    """Runs (start, end) over which every label array stays the same."""
    n = len(labels[0]) if labels else 0
    if n == 0:
        return []
    change = np.zeros(n - 1, bool)
    for lab in labels:
        a = np.asarray(lab, dtype=object)
        change |= a[1:] != a[:-1]
    cuts = (np.flatnonzero(change) + 1).tolist()
    b = [0, *cuts, n]
    return list(zip(b[:-1], b[1:]))


def fill_faults(force_n: np.ndarray, fault: np.ndarray, saturated: np.ndarray,
                top_n: np.ndarray) -> np.ndarray:
    """Force per channel with faulty samples replaced, for stroke finding (copy).

    A saturated sample takes its sensor's top of range `top_n` (the true force is at least
    that); an open, shorted or noisy one is interpolated from the channel's good samples,
    so a fault never makes or breaks a stroke.
    """
    f = np.array(force_n, np.float64, copy=True)
    bad = np.asarray(fault, bool) & ~np.asarray(saturated, bool)
    for j in range(f.shape[1]):
        b = bad[:, j]
        if b.any():
            good = np.flatnonzero(~b & np.isfinite(f[:, j]))
            f[b, j] = np.interp(np.flatnonzero(b), good, f[good, j]) if good.size else 0.0
    sat = np.asarray(saturated, bool)
    if sat.any():
        f = np.where(sat, np.maximum(np.nan_to_num(f), top_n), f)
    return np.nan_to_num(f, copy=False)


def robust_cv(x) -> float | None:
    """Spread of x relative to its middle: 1.4826 x median absolute deviation / median.

    Unlike std/mean, one stroke left over from the stage before does not move it."""
    a = np.asarray(x, np.float64)
    if a.size < 3:
        return None
    med = float(np.median(a))
    if med <= 0:
        return None
    return float(MAD_TO_SD * np.median(np.abs(a - med)) / med)


# --- strokes ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Strokes:
    """Strokes of one hand: indices of the peaks, their times and forces."""
    peak_i: np.ndarray       # sample index of each stroke peak
    t_s: np.ndarray          # time of each peak
    peak_n: np.ndarray       # hand total force at the peak, newtons


@lru_cache(maxsize=32)
def _butter_design(cutoff_hz, btype: str, rate_hz: float) -> np.ndarray:
    sos = butter(2, cutoff_hz, btype=btype, fs=rate_hz, output="sos")
    sos.flags.writeable = False
    return sos


def _butter_sos(cutoff_hz, btype: str, rate_hz: float) -> np.ndarray:
    """2nd-order Butterworth sections (new array), designed once per (cutoff, type, rate)."""
    return _butter_design(cutoff_hz, btype, rate_hz).copy()


def lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth low-pass (run forward and back), new array."""
    if x.size < 16 or cutoff_hz >= 0.45 * rate_hz:
        return np.asarray(x, np.float64).copy()
    sos = _butter_sos(cutoff_hz, "low", rate_hz)
    return sosfiltfilt(sos, x, padlen=min(3 * 5, x.size - 1))


def detect_strokes(t_s: np.ndarray, hand_force_n: np.ndarray, rate_hz: float,
                   min_prominence_n: float, min_interval_s: float,
                   rel_prominence: float = 0.0, cutoff_hz: float | None = None) -> Strokes:
    """Strokes of one hand over one run (a stage) from its total force.

    The force is first low-passed at cutoff_hz when given (stroke rates lie below 2.6 Hz,
    hand tremor at 6-12 Hz, DOMAIN.md 2); a stroke is a peak rising above its surrounding
    troughs by at least max(min_prominence_n, rel_prominence x the run's own stroke
    amplitude: 95th minus 5th percentile of the force), at least min_interval_s after the
    previous one. Time and force of the peak are read from the filtered force (zero phase:
    a stroke's top stays where it was; tremor does not move it)."""
    f = np.nan_to_num(np.asarray(hand_force_n, np.float64))
    x = lowpass(f, rate_hz, cutoff_hz) if cutoff_hz else f
    if x.size < 3:
        return Strokes(np.zeros(0, int), np.zeros(0), np.zeros(0))
    amp = float(np.percentile(x, 95) - np.percentile(x, 5))
    prom = max(min_prominence_n, rel_prominence * amp)
    dist = max(1, int(round(min_interval_s * rate_hz)))
    idx, _ = find_peaks(x, prominence=prom, distance=dist)
    t = np.asarray(t_s, np.float64)
    tp = t[idx].copy()
    inner = (idx > 0) & (idx < x.size - 1)
    if inner.any() and not cutoff_hz:
        # a sharp top (a strike, 30-60 ms) between samples: a parabola through the peak and
        # its two neighbours (a broad stroke's top is better left on its sample)
        i = idx[inner]
        y0, y1, y2 = x[i - 1], x[i], x[i + 1]
        den = y0 - 2.0 * y1 + y2
        off = np.where(den < 0, 0.5 * (y0 - y2) / np.where(den < 0, den, -1.0), 0.0)
        tp[inner] = t[i] + np.clip(off, -0.5, 0.5) * (t[i + 1] - t[i - 1]) / 2.0
    return Strokes(idx, tp, x[idx])


def trim_edges(st: Strokes, fraction: float = 0.5) -> Strokes:
    """A run's strokes without a first (or last) peak closer than `fraction` x the median
    interval to its neighbour: the tail of the stage before, fading out as this one starts
    (a stroke of the stage cannot come that early), or the next one fading in."""
    n = st.t_s.size
    if n < 4:
        return st
    iv = np.diff(st.t_s)
    med = float(np.median(iv))
    keep = np.ones(n, bool)
    keep[0] = iv[0] >= fraction * med
    keep[-1] = iv[-1] >= fraction * med
    return Strokes(st.peak_i[keep], st.t_s[keep], st.peak_n[keep])


@dataclass(frozen=True)
class Rhythm:
    count: int
    rate_per_min: float | None      # from the median interval
    interval_cv: float | None       # robust variation of the intervals, pauses left out
    peak_cv: float | None           # robust variation of the peaks (consistency of pressure)
    peak_median_n: float | None
    pauses: int = 0                 # intervals longer than max_gap_factor x the median
    paused_s: float = 0.0           # time those intervals lasted beyond one usual interval


def rhythm(t_s: np.ndarray, peak_n: np.ndarray, max_gap_factor: float,
           lifted: np.ndarray | None = None) -> Rhythm:
    """Rate, regularity, pauses and consistency of a run of strokes.

    An interval longer than max_gap_factor x the median is a pause (the hand stopped,
    still on the body) and is counted as one, not taken into the regularity; when
    `lifted` (one bool per interval) says the hand left the body in it, it is a lift,
    counted by the hands-on metric instead."""
    n = len(t_s)
    p = np.asarray(peak_n, np.float64)
    if n < 3:
        return Rhythm(n, None, None, None, float(np.median(p)) if n else None)
    iv = np.diff(np.asarray(t_s, np.float64))
    med = float(np.median(iv))
    long_ = iv > max_gap_factor * med
    lift = np.zeros(iv.size, bool) if lifted is None else np.asarray(lifted, bool)
    pause = long_ & ~lift
    keep = iv[~long_]
    return Rhythm(n, 60.0 / med if med > 0 else None, robust_cv(keep), robust_cv(p),
                  float(np.median(p)), int(pause.sum()), float(np.sum(iv[pause] - med)))


def pace_verdict(rate_per_min: float | None, lo: float, hi: float, tolerance: float) -> str | None:
    """'too_slow' below lo / tolerance, 'too_fast' above hi x tolerance, else 'ok'."""
    if rate_per_min is None:
        return None
    if rate_per_min < lo / tolerance:
        return "too_slow"
    if rate_per_min > hi * tolerance:
        return "too_fast"
    return "ok"


def third_ratio(t_s: np.ndarray, peak_n: np.ndarray, min_per_third: int) -> float | None:
    """Median peak of the last third of a run's strokes over the first third's (by time)."""
    t = np.asarray(t_s, np.float64)
    p = np.asarray(peak_n, np.float64)
    if t.size < 3 * min_per_third:
        return None
    span = t[-1] - t[0]
    early = p[t <= t[0] + span / 3.0]
    late = p[t >= t[-1] - span / 3.0]
    if early.size < min_per_third or late.size < min_per_third or np.median(early) <= 0:
        return None
    return float(np.median(late) / np.median(early))


# --- holds -----------------------------------------------------------------------------

def steady_runs(force_n: np.ndarray, engaged: np.ndarray, rate_hz: float, window_s: float,
                tolerance: float, min_s: float) -> list[tuple[int, int]]:
    """Steady stretches: runs where the force stays within tolerance x its peak over a
    sliding window of window_s while `engaged`, lasting at least min_s (start, end
    indices; the window's length is counted in)."""
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


def hold_extent(force_n: np.ndarray, a: int, b: int) -> tuple[int, int, float]:
    """A hold's true extent around the steady stretch [a, b): from where the force rises
    through half its held level (the median over the stretch) to where it falls back
    through it. Returns (start, end, level_n)."""
    f = np.nan_to_num(np.asarray(force_n, np.float64))
    level = float(np.median(f[a:b]))
    half = 0.5 * level
    below = f < half
    left = np.flatnonzero(below[:a])
    right = np.flatnonzero(below[b:])
    s = int(left[-1]) + 1 if left.size else 0
    e = b + int(right[0]) if right.size else f.size
    return s, e, level


def release_s(force_n: np.ndarray, end: int, level_n: float, rate_hz: float) -> float:
    """Seconds the force takes to fall from 90 % to 10 % of the held level after a hold."""
    f = np.nan_to_num(np.asarray(force_n, np.float64))
    back = f[:end + int(rate_hz * 5)]
    hi = np.flatnonzero(back[:end] >= 0.9 * level_n)
    if not hi.size:
        return 0.0
    i90 = int(hi[-1])
    lo = np.flatnonzero(back[i90:] <= 0.1 * level_n)
    i10 = i90 + int(lo[0]) if lo.size else back.size
    return float((i10 - i90) / rate_hz)


# --- episodes and the score ------------------------------------------------------------

def episodes(over: np.ndarray, merge: int) -> list[tuple[int, int]]:
    """Episodes of a boolean 'over the limit' series: runs of True, joined across gaps of
    at most `merge` samples (one prolonged push is one episode, however many alerts)."""
    return runs(bridge_gaps(over, merge))


def miss_cost(ratio_to_limit: np.ndarray, miss_scale: float) -> np.ndarray:
    """Cost of each sample given force / limit: 0 inside the band, rising with the excess
    (excess / limit / miss_scale), at most 1. A saturated sensor (ratio inf) costs 1."""
    r = np.asarray(ratio_to_limit, np.float64)
    return np.clip(np.nan_to_num((r - 1.0) / miss_scale, posinf=1.0), 0.0, 1.0)


def cv_part(cvs: list[float], weights: list[float], cv_max: float) -> float | None:
    """Share (0..1) of a coefficient-of-variation criterion met, weighted: 1 at or below
    cv_max, falling to 0 at twice cv_max."""
    if not cvs:
        return None
    c = np.asarray(cvs, np.float64)
    w = np.asarray(weights, np.float64)
    part = np.clip(1.0 - np.maximum(c - cv_max, 0.0) / cv_max, 0.0, 1.0)
    return float(np.sum(part * w) / np.sum(w)) if np.sum(w) > 0 else None


def falloff(value: float, good: float, zero: float) -> float:
    """1 at `good` or better, falling linearly to 0 at `zero` (either direction)."""
    if good == zero:
        return 1.0 if value == good else 0.0
    x = (value - zero) / (good - zero)
    return float(min(1.0, max(0.0, x)))


def tremor_rms_n(force_n: np.ndarray, mask: np.ndarray, rate_hz: float,
                 band_hz: tuple[float, float]) -> float | None:
    """RMS (N) of the force's 6-12 Hz band (hand tremor, DOMAIN.md 2) over `mask`."""
    m = np.asarray(mask, bool)
    if m.sum() < rate_hz or band_hz[1] >= 0.5 * rate_hz:
        return None
    sos = _butter_sos(tuple(band_hz), "band", rate_hz)
    y = sosfiltfilt(sos, np.nan_to_num(np.asarray(force_n, np.float64)))
    return float(np.sqrt(np.mean(y[m] ** 2)))
