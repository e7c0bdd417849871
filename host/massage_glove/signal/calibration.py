"""Counts to force: divider inversion, per-sensor force curves, calibration files, tare and faults.

The chain for one channel (docs/SIGNAL.md section 2)::

    counts --(divider, portable/fsr.py)--> G_fsr [S] --(- tare G [S])--> G [S]
           --(force curve: nominal, power law or PCHIP)--> force [N] --(/ area)--> pressure [kPa]

Force curves work on FSR conductance G (siemens), not on counts: conductance is close to
linear in force, it does not depend on the divider or bleed resistor, so a calibration stays
valid when a resistor is changed, as long as the glove reports the new value.

Every function here is pure (arrays in, new arrays out, inputs never modified) except
`Calibration.save`. Array shapes: counts and forces are (n_samples, n_channels) with
columns in the glove's channel order, or (n_channels,) for one sample.
"""
from __future__ import annotations

import datetime as _dt
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..errors import CalibrationError, DataFileError, TareError
from ..portable import fsr
from ..samples import DeviceInfo
from .datafile import Node, check_format, read_json, write_json
from .plausibility import check_curve

log = logging.getLogger(__name__)

FORMAT = "massage-glove/calibration"
VERSION = 1
MODELS = ("nominal", "power", "pchip")

# Fault bits of the per-sample fault mask (uint8). A faulted sample is never a force.
FAULT_SATURATED = 0x01  # counts at/above the reading of the class's f_max_n: force above range
FAULT_SHORT = 0x02      # counts at/above full scale minus a margin: shorted sensor or wiring
FAULT_OPEN = 0x04       # counts well below the unloaded (bleed-only) reading: broken wire
FAULT_NOISY = 0x08      # counts jumping from sample to sample: loose connector, cracked trace
FAULT_BROKEN = FAULT_SHORT | FAULT_OPEN | FAULT_NOISY

# Engineering defaults for fault detection (docs/SIGNAL.md section 2.5).
OPEN_FRACTION = 0.5        # open circuit below this fraction of the unloaded reading
SHORT_MARGIN_COUNTS = 16   # short circuit at or above full scale minus this many counts
NOISE_WINDOW_S = 0.25      # noisy: judged over this much of the latest signal ...
NOISE_STEP_COUNTS = 100.0  # ... counting reversals: a step this big, then one back as big ...
NOISE_FRACTION = 0.25      # ... on more than this share of the samples
NOISE_QUICK_SAMPLES = 8    # ... or, at once, this many of the latest samples ...
NOISE_QUICK_REVERSALS = 3  # ... holding this many reversals (a 37 Hz swing at 200 Hz)


# ------------------------------------------------------------------------------------------
# Divider: counts <-> FSR conductance (wraps portable/fsr.py for arrays and edge cases)
# ------------------------------------------------------------------------------------------

def conductance_s_from_counts(counts, r_divider_ohm, r_bleed_ohm, full: int) -> np.ndarray:
    """FSR conductance in siemens from ADC counts (any shape; resistors broadcast).

    Counts are clipped into [0, full - 0.5] first, so full scale (a short) gives a large
    finite conductance instead of a division by zero; the fault mask reports such samples.
    Below the unloaded reading the result is negative (noise around zero force).
    """
    c = np.clip(np.asarray(counts, dtype=np.float64), 0.0, full - 0.5)
    return fsr.conductance_from_counts(c, np.asarray(r_divider_ohm, np.float64),
                                       np.asarray(r_bleed_ohm, np.float64), full)


def counts_from_conductance_s(g_s, r_divider_ohm, r_bleed_ohm, full: int) -> np.ndarray:
    """ADC counts (float) for an FSR conductance in siemens; negative G is taken as 0."""
    g = np.maximum(np.asarray(g_s, dtype=np.float64), 0.0)
    return fsr.counts_from_conductance(g, np.asarray(r_divider_ohm, np.float64),
                                       np.asarray(r_bleed_ohm, np.float64), full)


def pressure_kpa(force_n, area_mm2) -> np.ndarray:
    """Mean pressure in kPa of `force_n` newtons spread over `area_mm2` (1 N/mm^2 = 1000 kPa)."""
    return np.asarray(force_n, dtype=np.float64) / np.asarray(area_mm2, np.float64) * 1000.0


# ------------------------------------------------------------------------------------------
# Force curves: force (N) <-> FSR conductance (S)
# ------------------------------------------------------------------------------------------

class PowerLaw:
    """F = a * G**b (F in newtons, G in siemens); the usual FSR calibration (DOMAIN.md 5).

    The nominal curve of fsr.py, R = r1 * F**-exponent, is this law with
    a = r1**(1/exponent) and b = 1/exponent.
    """

    kind = "power"

    def __init__(self, a: float, b: float):
        if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"power law needs a > 0 and b > 0, got a={a}, b={b}")
        self.a = float(a)
        self.b = float(b)

    @classmethod
    def nominal(cls, sensor_class: str) -> "PowerLaw":
        """The datasheet-shape curve of fsr.NOMINAL for a sensor class."""
        p = fsr.NOMINAL[sensor_class]
        return cls(p["r1_ohm"] ** (1.0 / p["exponent"]), 1.0 / p["exponent"])

    def force_n(self, g_s) -> np.ndarray:
        """Newtons from conductance in siemens; G <= 0 gives 0 N."""
        g = np.maximum(np.asarray(g_s, dtype=np.float64), 0.0)
        return self.a * g ** self.b

    def conductance_s(self, force_n) -> np.ndarray:
        """Siemens for a force in newtons (>= 0); the inverse of force_n."""
        f = np.maximum(np.asarray(force_n, dtype=np.float64), 0.0)
        return (f / self.a) ** (1.0 / self.b)

    def params(self) -> dict:
        return {"a": self.a, "b": self.b}

    def __eq__(self, other) -> bool:
        return isinstance(other, PowerLaw) and (self.a, self.b) == (other.a, other.b)

    __hash__ = None

    def __repr__(self) -> str:
        return f"PowerLaw(a={self.a:.6g}, b={self.b:.6g})"


class PchipCurve:
    """Monotone piecewise curve through known loads: PCHIP on (log G, log F).

    Interpolating in log-log space keeps the curve positive and makes each piece a local
    power law; PCHIP keeps it monotone (no overshoot between loads). Outside the loads the
    curve continues as the power law through the two end loads (so F -> 0 as G -> 0).
    """

    kind = "pchip"

    def __init__(self, g_s: Sequence[float], f_n: Sequence[float]):
        g = np.asarray(g_s, dtype=np.float64)
        f = np.asarray(f_n, dtype=np.float64)
        if g.ndim != 1 or g.shape != f.shape or g.size < 2:
            raise ValueError("PCHIP curve needs at least 2 (G, F) knots of equal length")
        if np.any(g <= 0) or np.any(f <= 0):
            raise ValueError("PCHIP knots must be positive")
        if np.any(np.diff(g) <= 0) or np.any(np.diff(f) <= 0):
            raise ValueError("PCHIP knots must increase strictly in both G and F")
        self.g_s = g
        self.f_n = f
        self._lg = np.log(g)
        self._lf = np.log(f)
        self._p = PchipInterpolator(self._lg, self._lf, extrapolate=False)
        self._s0 = (self._lf[1] - self._lf[0]) / (self._lg[1] - self._lg[0])
        self._s1 = (self._lf[-1] - self._lf[-2]) / (self._lg[-1] - self._lg[-2])

    def _log_force(self, lg: np.ndarray) -> np.ndarray:
        out = np.empty_like(lg)
        lo = lg < self._lg[0]
        hi = lg > self._lg[-1]
        mid = ~(lo | hi)
        out[lo] = self._lf[0] + self._s0 * (lg[lo] - self._lg[0])
        out[hi] = self._lf[-1] + self._s1 * (lg[hi] - self._lg[-1])
        out[mid] = self._p(lg[mid])
        return out

    def force_n(self, g_s) -> np.ndarray:
        """Newtons from conductance in siemens; G <= 0 gives 0 N."""
        g = np.asarray(g_s, dtype=np.float64)
        out = np.zeros(g.shape)
        pos = g > 0
        out[pos] = np.exp(self._log_force(np.log(g[pos])))
        return out

    def conductance_s(self, force_n) -> np.ndarray:
        """Siemens for a force in newtons: numeric inverse (bisection in log G, < 1e-9 rel)."""
        f = np.asarray(force_n, dtype=np.float64)
        out = np.zeros(f.shape)
        pos = f > 0
        if not np.any(pos):
            return out
        target = np.log(f[pos])
        # Bracket from the end power laws, which bound the monotone curve's range.
        lo = np.minimum(self._lg[0] + (target - self._lf[0]) / self._s0, self._lg[0]) - 1.0
        hi = np.maximum(self._lg[-1] + (target - self._lf[-1]) / self._s1, self._lg[-1]) + 1.0
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            above = self._log_force(mid) > target
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        out[pos] = np.exp(0.5 * (lo + hi))
        return out

    def params(self) -> dict:
        return {"g_s": self.g_s.tolist(), "f_n": self.f_n.tolist()}

    def __eq__(self, other) -> bool:
        return (isinstance(other, PchipCurve) and np.array_equal(self.g_s, other.g_s)
                and np.array_equal(self.f_n, other.f_n))

    __hash__ = None

    def __repr__(self) -> str:
        return f"PchipCurve({self.g_s.size} knots, {self.f_n[0]:.3g}-{self.f_n[-1]:.3g} N)"


Curve = PowerLaw | PchipCurve


@dataclass(frozen=True)
class FitError:
    """How well a curve reproduces the known loads.

    rms_n, max_n: root-mean-square and largest absolute force error, newtons;
    rms_pct, max_pct: the same relative to each load, percent;
    method: "residual" (the fitted curve against the loads it was fitted to; power law) or
    "leave_one_out" (each interior load predicted by the curve through the others; PCHIP,
    whose residuals are zero by construction).
    """
    rms_n: float
    max_n: float
    rms_pct: float
    max_pct: float
    method: str

    def to_json(self) -> dict:
        return {"rms_n": self.rms_n, "max_n": self.max_n, "rms_pct": self.rms_pct,
                "max_pct": self.max_pct, "method": self.method}


def fit_error(predicted_n, true_n, method: str) -> FitError:
    """FitError from predicted and known forces (newtons)."""
    p = np.asarray(predicted_n, np.float64)
    t = np.asarray(true_n, np.float64)
    if p.size == 0:
        return FitError(0.0, 0.0, 0.0, 0.0, method)
    e = p - t
    pct = 100.0 * e / t
    return FitError(float(np.sqrt(np.mean(e * e))), float(np.max(np.abs(e))),
                    float(np.sqrt(np.mean(pct * pct))), float(np.max(np.abs(pct))), method)


def _usable(loads_n, g_s) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(loads_n, np.float64).ravel()
    g = np.asarray(g_s, np.float64).ravel()
    if f.shape != g.shape:
        raise CalibrationError(f"{f.size} loads but {g.size} readings")
    keep = (f > 0) & (g > 0) & np.isfinite(f) & np.isfinite(g)
    return f[keep], g[keep]


def fit_power_law(loads_n, g_s) -> tuple[PowerLaw, FitError]:
    """Fit F = a * G**b by least squares in log space (log F = log a + b log G).

    loads_n: known forces in newtons; g_s: the FSR conductance in siemens measured under
    each. Points with a load or conductance <= 0 (the unloaded reading) are left out.
    """
    f, g = _usable(loads_n, g_s)
    if np.unique(f).size < 2:
        raise CalibrationError("a power-law fit needs readings under at least 2 different loads "
                               f"above 0 N (got {f.size} usable)")
    b, log_a = np.polyfit(np.log(g), np.log(f), 1)
    if not b > 0:
        raise CalibrationError(f"the readings do not rise with load (fitted exponent {b:.3g}): "
                               "check the sensor and its wiring")
    curve = PowerLaw(math.exp(log_a), b)
    return curve, fit_error(curve.force_n(g), f, "residual")


def _pchip_knots(f: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uf = np.unique(f)
    ug = np.array([math.exp(np.mean(np.log(g[f == x]))) for x in uf])
    bad = np.flatnonzero(np.diff(ug) <= 0)
    if bad.size:
        i = int(bad[0])
        raise CalibrationError(f"readings do not rise with load between {uf[i]:g} N and "
                               f"{uf[i + 1]:g} N: a PCHIP curve must be monotone")
    return ug, uf


def fit_pchip(loads_n, g_s) -> tuple[PchipCurve, FitError]:
    """Monotone piecewise (PCHIP, log-log) curve through the known loads.

    Repeated loads are averaged (geometric mean of G). The reported error is leave-one-out:
    each interior load is predicted by the curve through all the others.
    """
    f, g = _usable(loads_n, g_s)
    if np.unique(f).size < 2:
        raise CalibrationError("a PCHIP curve needs readings under at least 2 different loads "
                               f"above 0 N (got {f.size} usable)")
    kg, kf = _pchip_knots(f, g)
    curve = PchipCurve(kg, kf)
    pred, true = [], []
    for i in range(1, kg.size - 1):
        keep = np.arange(kg.size) != i
        pred.append(float(PchipCurve(kg[keep], kf[keep]).force_n(kg[i])))
        true.append(float(kf[i]))
    return curve, fit_error(pred, true, "leave_one_out")


# ------------------------------------------------------------------------------------------
# Calibration records and files
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelCalibration:
    """The force curve of one sensor as mounted, and the measurements it came from.

    readings_counts[i] is the mean ADC reading under loads_n[i] newtons, taken with the
    divider and bleed resistors recorded here, at the end of the loading time.
    """
    name: str
    sensor_class: str
    r_divider_ohm: float
    r_bleed_ohm: float
    curve: Curve
    model: str = "power"  # "nominal" | "power" | "pchip"
    loads_n: tuple[float, ...] = ()
    readings_counts: tuple[float, ...] = ()
    fit_error: FitError | None = None

    def to_json(self, index: int) -> dict:
        d = {"index": index, "name": self.name, "class": self.sensor_class,
             "r_divider_ohm": self.r_divider_ohm, "r_bleed_ohm": self.r_bleed_ohm,
             "loads_n": list(self.loads_n), "readings_counts": list(self.readings_counts),
             "model": self.model, "params": self.curve.params()}
        d["fit_error"] = self.fit_error.to_json() if self.fit_error else None
        return d


def fit_channel(name: str, sensor_class: str, loads_n: Sequence[float],
                readings_counts: Sequence[float], r_divider_ohm: float, r_bleed_ohm: float,
                adc_bits: int = 12, model: str = "power") -> ChannelCalibration:
    """Fit one sensor's curve ("power" or "pchip") from loads (N) and mean readings (counts)."""
    if sensor_class not in fsr.NOMINAL:
        raise CalibrationError(f"unknown sensor class {sensor_class!r} for {name}")
    full = fsr.full_scale(adc_bits)
    g = conductance_s_from_counts(readings_counts, r_divider_ohm, r_bleed_ohm, full)
    if model == "power":
        curve, err = fit_power_law(loads_n, g)
    elif model == "pchip":
        curve, err = fit_pchip(loads_n, g)
    else:
        raise CalibrationError(f"unknown calibration model {model!r} (use 'power' or 'pchip')")
    return ChannelCalibration(name, sensor_class, float(r_divider_ohm), float(r_bleed_ohm), curve,
                              model, tuple(float(x) for x in loads_n),
                              tuple(float(x) for x in readings_counts), err)


def nominal_channel(name: str, sensor_class: str, r_divider_ohm: float,
                    r_bleed_ohm: float) -> ChannelCalibration:
    """The datasheet-shape curve for a sensor without its own calibration."""
    return ChannelCalibration(name, sensor_class, float(r_divider_ohm), float(r_bleed_ohm),
                              PowerLaw.nominal(sensor_class), "nominal")


@dataclass(frozen=True)
class Calibration:
    """Force curves for every channel of one glove (file: calibration/<glove_id>.json)."""
    glove_id: str
    date: str                       # ISO 8601 date of the measurements
    adc_bits: int
    channels: tuple[ChannelCalibration, ...]
    loading_time_s: float | None = None   # how long each load rested before the reading
    note: str = ""
    source: str = field(default="", compare=False)   # file it was loaded from

    @classmethod
    def nominal(cls, device: DeviceInfo) -> "Calibration":
        """Nominal curves (fsr.NOMINAL) for every channel of `device`."""
        chans = tuple(nominal_channel(c.name, c.sensor_class, c.r_divider_ohm, c.r_bleed_ohm)
                      for c in device.channels)
        return cls(device.glove_id, _dt.date.today().isoformat(), device.adc_bits, chans,
                   None, "nominal curves from the FSR datasheet shape (no calibration)", "nominal")

    @property
    def is_nominal(self) -> bool:
        return all(c.model == "nominal" for c in self.channels)

    def channel(self, name: str) -> ChannelCalibration | None:
        for c in self.channels:
            if c.name == name:
                return c
        return None

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "glove_id": self.glove_id,
                "date": self.date, "adc_bits": self.adc_bits,
                "loading_time_s": self.loading_time_s, "units": {
                    "loads": "N", "readings": "ADC counts (mean at the end of the loading time)",
                    "power": "F[N] = a * G[S]**b, G = FSR conductance from the divider",
                    "pchip": "PCHIP through (log G[S], log F[N]) knots"},
                "note": self.note,
                "channels": [c.to_json(i) for i, c in enumerate(self.channels)]}

    def save(self, path: str | Path) -> Path:
        """Write the calibration file (JSON, format massage-glove/calibration v1)."""
        path = Path(path)
        write_json(path, self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Calibration":
        """Read and check a calibration file; DataFileError names the file and field.

        Besides every field's type and range, each channel's curve must be plausible: within
        a stated factor of its sensor's nominal curve over the working range
        (signal/plausibility.py, data/limits.json)."""
        return cls.from_node(read_json(path))

    @classmethod
    def from_node(cls, root: Node) -> "Calibration":
        check_format(root, FORMAT, (VERSION,))
        glove_id = root["glove_id"].str()
        date = root["date"].str()
        try:
            _dt.date.fromisoformat(date[:10])
        except ValueError:
            raise root["date"].error("an ISO 8601 date such as 2025-03-14") from None
        adc_bits = root["adc_bits"].int(min=8, max=16)
        lt = root.get("loading_time_s")
        loading = None if lt.value is None else lt.number(min_exclusive=0)
        chans = []
        names = set()
        for cn in root["channels"].elements(min_length=1):
            name = cn["name"].str()
            if name in names:
                raise cn["name"].error("a channel name not used before in this file")
            names.add(name)
            cls_ = cn["class"].str(choices=tuple(fsr.NOMINAL))
            r_div = cn["r_divider_ohm"].number(min_exclusive=0)
            r_bleed = cn["r_bleed_ohm"].number(min_exclusive=0)
            model = cn["model"].str(choices=MODELS)
            loads = cn.get("loads_n", []).numbers(min=0)
            readings = cn.get("readings_counts", []).numbers(min=0, max=fsr.full_scale(adc_bits))
            if len(readings) != len(loads):
                raise cn["readings_counts"].error(f"one reading per load ({len(loads)})",
                                                  f"{len(readings)} readings")
            pn = cn["params"]
            if model == "nominal":
                curve = PowerLaw.nominal(cls_)
            elif model == "power":
                curve = PowerLaw(pn["a"].number(min_exclusive=0), pn["b"].number(min_exclusive=0))
            else:
                g = pn["g_s"].numbers(min_length=2, min_exclusive=0, increasing=True)
                f = pn["f_n"].numbers(length=len(g), min_exclusive=0, increasing=True)
                curve = PchipCurve(g, f)
            if model != "nominal":
                check_curve(pn, cls_, curve)
            fe = cn.get("fit_error")
            err = None
            if fe.value is not None:
                err = FitError(fe["rms_n"].number(min=0), fe["max_n"].number(min=0),
                               fe["rms_pct"].number(min=0), fe["max_pct"].number(min=0),
                               fe["method"].str(choices=("residual", "leave_one_out")))
            chans.append(ChannelCalibration(name, cls_, r_div, r_bleed, curve, model,
                                            tuple(loads), tuple(readings), err))
        return cls(glove_id, date, adc_bits, tuple(chans), loading,
                   root.get("note", "").str(nonempty=False), root.file)


def settled_reading_counts(counts, rate_hz: float, loading_time_s: float,
                           average_s: float = 1.0) -> np.ndarray:
    """The reading of a calibration load: mean counts over the last `average_s` seconds
    of its `loading_time_s` (counts recorded from the moment the load was placed).

    counts: (n, ...) samples from placing the load onward; returns (...) floats. FSR output
    creeps upward under constant load, so every load must be read at the same time after
    placing it (calibration/README.md).
    """
    c = np.asarray(counts, np.float64)
    end = int(round(loading_time_s * rate_hz))
    if c.shape[0] < end:
        raise CalibrationError(f"the recording of a load is {c.shape[0] / rate_hz:.1f} s long, "
                               f"shorter than the loading time ({loading_time_s} s)")
    start = max(0, end - max(1, int(round(average_s * rate_hz))))
    return c[start:end].mean(axis=0)


def fit_calibration(device: DeviceInfo, loads_n, readings_counts, *, model: str = "power",
                    loading_time_s: float | None = None, date: str | None = None,
                    note: str = "") -> Calibration:
    """Fit every channel of `device` from a calibration run.

    loads_n: a list of loads (N) used for every channel, or {channel name: list};
    readings_counts: {channel name: list of mean counts, one per load}. Channels without
    readings keep the nominal curve. The divider and bleed resistors are the device's.
    """
    chans = []
    for c in device.channels:
        if c.name not in readings_counts:
            chans.append(nominal_channel(c.name, c.sensor_class, c.r_divider_ohm, c.r_bleed_ohm))
            continue
        loads = loads_n[c.name] if isinstance(loads_n, dict) else loads_n
        try:
            chans.append(fit_channel(c.name, c.sensor_class, loads, readings_counts[c.name],
                                     c.r_divider_ohm, c.r_bleed_ohm, device.adc_bits, model))
        except CalibrationError as e:
            raise CalibrationError(f"channel {c.name}: {e}") from None
    return Calibration(device.glove_id, date or _dt.date.today().isoformat(), device.adc_bits,
                       tuple(chans), loading_time_s, note)


def calibration_path(glove_id: str, directory: str | Path) -> Path:
    """Where the calibration of `glove_id` lives: <directory>/<glove_id>.json.

    The id comes from the glove: only an id of PROTOCOL.md's safe characters names a file
    (never a path outside `directory`)."""
    from ..protocol import MetaError, check_glove_id
    try:
        check_glove_id(glove_id)
    except MetaError as e:
        raise CalibrationError(f"the glove id cannot name a calibration file: {e}") from None
    return Path(directory) / f"{glove_id}.json"


def load_for_glove(device: DeviceInfo, directory: str | Path) -> Calibration:
    """The glove's calibration file if there is one in `directory`, else nominal curves."""
    path = calibration_path(device.glove_id, directory)
    if not path.exists():
        log.warning("no calibration for glove %s in %s: using nominal FSR curves "
                    "(forces may be off by 30 %% or more)", device.glove_id, directory)
        return Calibration.nominal(device)
    cal = Calibration.load(path)
    if cal.glove_id != device.glove_id:
        raise DataFileError(path, "glove_id", f"the connected glove's id {device.glove_id!r}",
                            repr(cal.glove_id))
    return cal


# ------------------------------------------------------------------------------------------
# Noisy channels: a streaming check on the raw counts
# ------------------------------------------------------------------------------------------

def run_lengths_false(fired: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """Samples since `fired` was last True in each column (0 on a True sample), along axis 0;
    carry: the count just before the first row."""
    n = fired.shape[0]
    idx = np.arange(1, n + 1)[:, None]
    last = np.maximum.accumulate(np.where(fired, idx, 0), axis=0)
    return np.where(last == 0, carry[None] + idx, idx - last)


class NoiseDetector:
    """FAULT_NOISY where a channel's counts jump up and down from sample to sample.

    A hand's force changes smoothly at the sample rate: even a fast percussion strike
    reverses direction once or twice per strike, and ADC noise is a few counts. A loose
    connector or a cracked trace makes the reading jump by hundreds of counts, one way and
    back, on most samples. The check: within the last `window_s`, the share of samples that
    end a reversal (a step of at least `step_counts` followed by one of at least
    `step_counts` the other way) is above `fraction`. White noise of 400 counts rms reverses
    on about half the samples; percussion at 12 strikes/s on under a tenth.
    A channel that starts jumping is caught before the window fills: `quick_reversals`
    reversals within the latest `quick_samples` samples (at 200 Hz a swing of 37 Hz or more,
    far above tremor at 6-12 Hz and tapotement at 4-10 strikes/s) flag it at once, so its
    jumps are not read as force while the window fills. A flagged channel stays flagged
    until the window has passed without either test firing (no gaps while it jumps, when a
    few samples happen to look smooth).
    Streaming: the last window of counts is kept, so feeding a stream in blocks gives the
    same mask as feeding it whole.
    """

    def __init__(self, n_channels: int, rate_hz: float, window_s: float = NOISE_WINDOW_S,
                 step_counts: float = NOISE_STEP_COUNTS, fraction: float = NOISE_FRACTION,
                 quick_samples: int = NOISE_QUICK_SAMPLES,
                 quick_reversals: int = NOISE_QUICK_REVERSALS):
        self.w = max(3, int(round(window_s * rate_hz)))
        self.step_counts = float(step_counts)
        self.limit = fraction * self.w
        self.qw = max(3, int(quick_samples))
        self.qlimit = int(quick_reversals)
        # history kept: enough rows before a block for both tests (the quick test's window
        # can be the longer one at low rates)
        self._keep = max(self.w, self.qw) + 1
        self._hist = np.zeros((0, n_channels))
        self._since = np.full(n_channels, 1 << 30, np.int64)   # samples since a test fired

    def process(self, counts) -> np.ndarray:
        """(n, n_channels) counts -> (n, n_channels) uint8, FAULT_NOISY or 0."""
        c = np.asarray(counts, np.float64)
        n, h, w = c.shape[0], self._hist.shape[0], self.w
        ext = np.concatenate([self._hist, c], axis=0)
        self._hist = ext[-self._keep:]
        out = np.zeros(c.shape, np.uint8)
        if ext.shape[0] < 3 or n == 0:
            return out
        d1 = np.diff(ext, axis=0)                                   # d1[k] ends at ext row k + 1
        big = np.abs(d1) >= self.step_counts
        rev = big[1:] & big[:-1] & (np.sign(d1[1:]) != np.sign(d1[:-1]))   # ends at row k + 2
        cs = np.concatenate([np.zeros((1, c.shape[1])), np.cumsum(rev, axis=0)], axis=0)
        # reversals ending at ext rows r - m + 1 .. r: cs[r - 1] - cs[max(r - m - 1, 0)]
        rows = np.arange(h, h + n)
        ok = rows >= 2
        r = rows[ok]
        quick = cs[r - 1] - cs[np.maximum(r - self.qw - 1, 0)]
        noisy = quick >= self.qlimit
        full = r >= w + 1
        if full.any():
            # reversals in the window ending at ext row r: rev[r - w - 1 .. r - 2]
            count = cs[r[full] - 1] - cs[r[full] - w - 1]
            noisy[full] |= count > self.limit
        fired = np.zeros(c.shape, bool)
        fired[r - h] = noisy
        # samples since either test last fired, carried across blocks
        since = run_lengths_false(fired, self._since)
        self._since = since[-1].copy()
        out[since < self.w] = FAULT_NOISY
        return out


# ------------------------------------------------------------------------------------------
# Per-glove conversion: counts -> faults, conductance, force, pressure (and back)
# ------------------------------------------------------------------------------------------

class ForceConverter:
    """Counts to force for every channel of one glove, with fault thresholds.

    device: the connected glove (its resistors and ADC are used for the divider);
    calibration: curves by channel name; None or a missing channel -> nominal curve.
    """

    def __init__(self, device: DeviceInfo, calibration: Calibration | None = None, *,
                 open_fraction: float = OPEN_FRACTION,
                 short_margin_counts: int = SHORT_MARGIN_COUNTS):
        self.device = device
        self.full = device.full_scale
        chans = device.channels
        self.n_channels = len(chans)
        self.names = tuple(c.name for c in chans)
        self.classes = tuple(c.sensor_class for c in chans)
        for c in chans:
            if c.sensor_class not in fsr.NOMINAL:
                raise CalibrationError(f"channel {c.name}: unknown sensor class {c.sensor_class!r}")
        self.r_divider_ohm = np.array([c.r_divider_ohm for c in chans], np.float64)
        self.r_bleed_ohm = np.array([c.r_bleed_ohm for c in chans], np.float64)
        self.area_mm2 = np.array([fsr.NOMINAL[k]["area_mm2"] for k in self.classes])
        self.f_max_n = np.array([fsr.NOMINAL[k]["f_max_n"] for k in self.classes])
        self.curves: list[Curve] = []
        self.models: list[str] = []
        for c in chans:
            cc = calibration.channel(c.name) if calibration is not None else None
            if cc is None:
                if calibration is not None and not calibration.is_nominal:
                    log.warning("calibration %s has no channel %s: nominal curve used",
                                calibration.source or calibration.glove_id, c.name)
                cc = nominal_channel(c.name, c.sensor_class, c.r_divider_ohm, c.r_bleed_ohm)
            elif cc.sensor_class != c.sensor_class:
                raise CalibrationError(
                    f"channel {c.name} is a {c.sensor_class} on the glove but a "
                    f"{cc.sensor_class} in the calibration: recalibrate this glove")
            elif (abs(cc.r_divider_ohm - c.r_divider_ohm) > 0.01 * c.r_divider_ohm
                  or abs(cc.r_bleed_ohm - c.r_bleed_ohm) > 0.01 * c.r_bleed_ohm):
                log.warning("channel %s: resistors differ from the calibration's; the curve "
                            "(in conductance) still applies with the glove's values", c.name)
            self.curves.append(cc.curve)
            self.models.append(cc.model)
        unloaded = fsr.unloaded_counts(self.r_divider_ohm, self.r_bleed_ohm, self.full)
        self.unloaded_counts = np.asarray(unloaded, np.float64)
        self.open_counts = open_fraction * self.unloaded_counts
        self.short_counts = np.full(self.n_channels, float(self.full - short_margin_counts))
        g_max = np.array([float(cv.conductance_s(fm)) for cv, fm in zip(self.curves, self.f_max_n)])
        # the range ends where the first of the channel's curve and the class's nominal curve
        # reaches f_max_n: a calibration read into creeping loads puts f_max_n a few counts
        # above where the part itself flattens out, and over range must never read as in range
        g_nom = np.array([float(PowerLaw.nominal(k).conductance_s(fm))
                          for k, fm in zip(self.classes, self.f_max_n)])
        sat = counts_from_conductance_s(np.minimum(g_max, g_nom), self.r_divider_ohm,
                                        self.r_bleed_ohm, self.full)
        # whole counts: a sensor flattening out at f_max_n reads the rounded-down value
        self.saturated_counts = np.minimum(np.floor(sat), self.short_counts)

    # --- counts -> ... ------------------------------------------------------------------
    def conductance_s(self, counts) -> np.ndarray:
        """FSR conductance, siemens, (n, n_channels) from counts (n, n_channels)."""
        return conductance_s_from_counts(counts, self.r_divider_ohm, self.r_bleed_ohm, self.full)

    def force_n_from_conductance(self, g_s) -> np.ndarray:
        """Newtons from FSR conductance (siemens, tare already removed), per column."""
        g = np.asarray(g_s, np.float64)
        out = np.empty(g.shape)
        for j, cv in enumerate(self.curves):
            out[..., j] = cv.force_n(g[..., j])
        return out

    def force_n(self, counts, tare_s=None) -> np.ndarray:
        """Newtons from counts; `tare_s` (n_channels,) conductance offsets are subtracted first.

        Faulted samples come out as whatever the curve gives; mask them with `faults`.
        """
        g = self.conductance_s(counts)
        if tare_s is not None:
            g = g - np.asarray(tare_s, np.float64)
        return self.force_n_from_conductance(g)

    def pressure_kpa(self, force_n) -> np.ndarray:
        """Mean pressure in kPa over each sensor's active area (fsr.NOMINAL area_mm2)."""
        return pressure_kpa(force_n, self.area_mm2)

    def faults(self, counts) -> np.ndarray:
        """Per-sample fault mask (uint8, FAULT_* bits), same shape as counts."""
        c = np.asarray(counts)
        out = np.zeros(c.shape, np.uint8)
        short = c >= self.short_counts
        out[short] = FAULT_SHORT
        out[(c >= self.saturated_counts) & ~short] = FAULT_SATURATED
        out[c < self.open_counts] = FAULT_OPEN
        return out

    # --- force -> counts ----------------------------------------------------------------
    def counts_from_force_n(self, force_n, tare_s=None) -> np.ndarray:
        """Raw counts (float, n_channels) each channel reads at `force_n` (n_channels,) N."""
        f = np.broadcast_to(np.asarray(force_n, np.float64), (self.n_channels,))
        g = np.array([float(cv.conductance_s(x)) for cv, x in zip(self.curves, f)])
        if tare_s is not None:
            g = g + np.asarray(tare_s, np.float64)
        return counts_from_conductance_s(g, self.r_divider_ohm, self.r_bleed_ohm, self.full)

    # --- tare ---------------------------------------------------------------------------
    def tare_s(self, counts, max_force_n) -> np.ndarray:
        """Per-channel conductance offset (siemens) from a quiet period (counts (n, n_channels)).

        The offset is the median conductance of each channel over the period: what the
        sensor reads with the glove on but not pressing (mounting preload, resistor
        tolerance). A channel whose median reads as more than `max_force_n` (n_channels,)
        newtons, or whose spread (90th - 10th percentile) does, was pressed during the
        period: TareError, asking for a quiet hand. Channels that are open or shorted in
        most of the period get offset 0 (the fault rules report them).
        """
        c = np.asarray(counts)
        if c.ndim != 2 or c.shape[1] != self.n_channels or c.shape[0] < 1:
            raise TareError(f"tare needs samples of all {self.n_channels} channels, got shape {c.shape}")
        limit = np.broadcast_to(np.asarray(max_force_n, np.float64), (self.n_channels,))
        g = self.conductance_s(c)
        broken = (self.faults(c) & FAULT_BROKEN) != 0
        offset = np.zeros(self.n_channels)
        pressed = []
        for j in range(self.n_channels):
            if broken[:, j].mean() > 0.5:
                log.warning("tare: channel %s is open or shorted; no offset", self.names[j])
                continue
            gj = g[~broken[:, j], j]
            med = float(np.median(gj))
            lo, hi = np.percentile(gj, [10, 90])
            f_med = float(self.curves[j].force_n(max(med, 0.0)))
            f_spread = float(self.curves[j].force_n(max(hi, 0.0)) - self.curves[j].force_n(max(lo, 0.0)))
            if f_med > limit[j] or f_spread > limit[j]:
                pressed.append(f"{self.names[j]} ({max(f_med, f_spread):.1f} N)")
            offset[j] = med
        if pressed:
            raise TareError("tare needs a quiet hand, but these sensors were pressed: "
                            + ", ".join(pressed)
                            + ". Rest the gloved hands in the air, still, and tare again.")
        return offset
