"""The live signal chain for one glove: sample blocks in, forces, bands and alerts out.

    counts -> faults (calibration)            per sample, from raw counts (noise: at once, and
                                              over the last 0.25 s)
           -> force_n (calibration, tare)     NaN where broken; the top of the range where
                                              over range (saturated), flagged in over_range
           -> filtered_n (filters)            broken samples substituted, then NaN again
           -> band, hand_band (bands)         over range = too much, broken = UNKNOWN
           -> alerts (rules)

`Pipeline.process` is called with each SampleBlock as it arrives; every stage keeps its
state, so the results do not depend on how the stream is cut into blocks. No I/O here:
the caller reads the glove, loads the data files and shows or logs the results.

Two implementations share one setup (`_Chain`: converter, profiles, rules, tare, region,
technique, firmware limits):

* `Pipeline`: every stage up to the bands in one per-sample kernel (kernel.py; numba when
  installed, the same source as plain Python when not), and the per-sample rule kernel.
* `ReferencePipeline`: the array stages (calibration.py, filters.py, bands.py) one after
  the other, and RuleEngine. It is the reference the kernel's outputs are tested against,
  bit for bit, and the baseline of the benchmarks.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from ..samples import DeviceInfo, SampleBlock
from .bands import BandClassifier, hand_band
from .calibration import FAULT_BROKEN, FAULT_SATURATED, Calibration, ForceConverter, NoiseDetector
from .filters import LiveFilter, LowPass, live_delay_ms
from .kernel import ChainKernel
from .profiles import Profile, ProfileSet, Settings, default_profile_set
from .rules import Alert, RuleEngine

try:        # the per-sample rule kernel, with RuleEngine's constructor, process and alerts
    from .rules_kernel import RuleKernel
except ImportError:
    RuleKernel = RuleEngine

log = logging.getLogger(__name__)

# The `limit` command's value for "no hard limit" (docs/PROTOCOL.md section 3: 0 turns it off).
LIMIT_OFF = 0


@dataclass(frozen=True)
class Result:
    """What the chain made of one SampleBlock (n samples, n_channels columns).

    t_s:          (n,) device time, seconds (block.t_device_s)
    force_n:      (n, n_channels) force per sensor, newtons, tared, not smoothed; NaN where
                  broken (open, shorted, noisy); the sensor's range (f_max_n) where over range
    filtered_n:   (n, n_channels) live-filtered force, newtons; NaN where broken; the range
                  where over range (the true force is above it: read it as "> 20 N")
    pressure_kpa: (n, n_channels) filtered force over each sensor's active area, kPa
    band:         (n, n_channels) int8, 0 light .. 3 too much, -1 unknown (broken sensor)
    hand_band:    (n, n_hands) int8, highest band of each hand's sensors (device.hands order)
    fault:        (n, n_channels) uint8, FAULT_* bits (calibration.py)
    alerts:       alerts that fired in this block, in time order
    region:       the region the block was checked against (None: not chosen)
    """
    t_s: np.ndarray
    force_n: np.ndarray
    filtered_n: np.ndarray
    pressure_kpa: np.ndarray
    band: np.ndarray
    hand_band: np.ndarray
    fault: np.ndarray
    alerts: list[Alert]
    region: str | None

    @property
    def filtered(self) -> np.ndarray:
        return self.filtered_n

    @property
    def over_range(self) -> np.ndarray:
        """(n, n_channels) bool: the sensor is over range (saturated), which is too much."""
        return ((self.fault & FAULT_SATURATED) != 0) & ((self.fault & FAULT_BROKEN) == 0)


class _Chain:
    """What both chains share: the glove, its force curves, profiles, rules and controls.

    device_info: the connected glove (channel table, ADC, resistors, rate);
    calibration: force curves (None: nominal curves from portable/fsr.py);
    profile_set: band and region data (None: the package's data/);
    skill: "novice" | "trained"; sensitivity: "normal" | "sensitive" | a factor;
    rate_hz: sample rate (None: device_info.rate_hz); settings: overrides the data's.
    """

    _engine_class = RuleEngine

    def __init__(self, device_info: DeviceInfo, calibration: Calibration | None = None,
                 profile_set: ProfileSet | None = None, skill: str = "trained",
                 sensitivity: str | float = "normal", rate_hz: float | None = None,
                 settings: Settings | None = None):
        self.device = device_info
        self.profile_set = profile_set or default_profile_set()
        self.settings = s = settings or self.profile_set.settings
        self.skill = skill
        self.sensitivity = sensitivity
        self.rate_hz = float(rate_hz or device_info.rate_hz)
        if calibration is not None and calibration.glove_id != device_info.glove_id:
            log.warning("calibration is for glove %s, the connected glove is %s",
                        calibration.glove_id, device_info.glove_id)
        self.converter = ForceConverter(device_info, calibration, open_fraction=s.open_fraction,
                                        short_margin_counts=s.short_margin_counts)
        nch = self.converter.n_channels
        self.n_channels = nch
        self.region: str | None = None
        self.technique: str | None = None
        self.profile: Profile = self._resolve(None)
        self.engine = self._engine_class(device_info.channels, self.profile_set, skill,
                                         sensitivity, self.rate_hz, s, **self._engine_options())
        self.hands = self.engine.hands
        self._init_chain()
        self.tare_s = np.zeros(nch)

    def _engine_options(self) -> dict:
        """Keyword arguments of the rule engine (subclasses)."""
        return {}

    def _init_chain(self) -> None:
        """Build the stages (subclasses)."""
        raise NotImplementedError

    def _edges_changed(self) -> None:
        """self.profile has new edges (subclasses)."""
        raise NotImplementedError

    def _resolve(self, region: str | None) -> Profile:
        return self.profile_set.resolve(region, self.skill, self.sensitivity, self.device.channels)

    # --- controls -----------------------------------------------------------------------
    @property
    def tare_s(self) -> np.ndarray:
        """(n_channels,) conductance offsets, siemens, subtracted before the force curve
        (read-only; assign a new array to change them)."""
        return self._tare_s

    @tare_s.setter
    def tare_s(self, value) -> None:
        t = np.array(value, np.float64)
        if t.shape != (self.n_channels,) or not np.all(np.isfinite(t)):
            raise ValueError(f"tare offsets must be {self.n_channels} finite conductances "
                             f"(siemens), got shape {t.shape}")
        t.flags.writeable = False
        self._tare_s = t
        self._tare_changed()

    def _tare_changed(self) -> None:
        """self.tare_s is new (subclasses that copy it)."""

    def set_region(self, region: str | None) -> Profile:
        """Check the following blocks against `region` (a region id, or None)."""
        self.profile = self._resolve(region)
        self.region = region
        self._edges_changed()
        return self.profile

    def set_technique(self, technique: str | None) -> None:
        """Tell the rules which technique is being practised (regions.json techniques), or None."""
        if technique is not None and technique not in self.profile_set.techniques:
            raise ValueError(f"unknown technique {technique!r}: use one of "
                             + ", ".join(self.profile_set.techniques))
        self.technique = technique

    def tare(self, block: SampleBlock) -> np.ndarray:
        """Take the per-channel conductance offsets (siemens) from a quiet block.

        Raises TareError naming the sensors that were pressed. Returns the offsets.
        """
        light = np.array([self.profile_set.classes[c.sensor_class].edges_n[0]
                          for c in self.device.channels])
        max_n = self.settings.tare_max_fraction * light
        self.tare_s = self.converter.tare_s(block.counts, max_n)
        return self.tare_s.copy()

    @property
    def delay_ms(self) -> float:
        """Stated delay of the live filter over the band of interest (filters.live_delay_ms)."""
        s = self.settings
        return live_delay_ms(self.rate_hz, float(s.filter_cutoff_hz), int(s.filter_order),
                             s.filter_kind, spike=s.spike_median)

    # --- processing ---------------------------------------------------------------------
    def _counts(self, block: SampleBlock) -> np.ndarray:
        counts = np.asarray(block.counts)
        if counts.ndim != 2 or counts.shape[1] != self.n_channels:
            raise ValueError(f"block has counts of shape {counts.shape}, expected (n, {self.n_channels})")
        return counts

    def _alerts(self, t_s, filtered, bands, fault, force) -> list[Alert]:
        return self.engine.process(t_s, filtered, bands, fault, self.region, self.technique,
                                   raw_n=force)

    # --- firmware hard limits -----------------------------------------------------------
    def hard_limits_counts(self, region: str | None = None) -> list[int]:
        """Per channel, the counts at which the glove's own hard limit should trip.

        The too-much edge of `region` (default: the current region) for this skill and
        receiver, mapped back through the calibration and tare to raw counts, rounded up,
        and never above the reading where the sensor saturates (saturated is too much
        too). LIMIT_OFF (0) where that is unreachable short of a short circuit. The glove
        then buzzes on its own while the host is stalled.
        """
        prof = self._resolve(region if region is not None else self.region)
        cv = self.converter
        c = cv.counts_from_force_n(prof.too_much_n, self.tare_s)
        out = []
        for j in range(self.n_channels):
            lim = min(math.ceil(float(c[j])), math.ceil(float(cv.saturated_counts[j])))
            out.append(LIMIT_OFF if lim >= cv.short_counts[j] or lim <= 0 else int(lim))
        return out


class Pipeline(_Chain):
    """Counts to alerts for one glove: the per-sample kernel (kernel.py) and rule kernel.

    Arguments as `_Chain`; kernel: "numba", "python" (the same kernels uncompiled: the
    chain's and the rules') or None (numba when it is installed and MG_KERNEL is not
    "python"). The kernel is compiled, or
    loaded from numba's disk cache, here: never on the first sample. Its outputs are
    bit-identical to ReferencePipeline's.
    """

    _engine_class = RuleKernel

    def __init__(self, device_info: DeviceInfo, calibration: Calibration | None = None,
                 profile_set: ProfileSet | None = None, skill: str = "trained",
                 sensitivity: str | float = "normal", rate_hz: float | None = None,
                 settings: Settings | None = None, *, kernel: str | None = None):
        if kernel not in (None, "numba", "python"):
            raise ValueError(f"kernel {kernel!r}: use 'numba', 'python' or None")
        self._compiled = None if kernel is None else kernel == "numba"
        super().__init__(device_info, calibration, profile_set, skill, sensitivity, rate_hz,
                         settings)

    def _engine_options(self) -> dict:
        return {} if self._engine_class is RuleEngine else {"compiled": self._compiled}

    def _init_chain(self) -> None:
        s, nch, rate = self.settings, self.n_channels, self.rate_hz
        # the stages give the kernel their parameters (their own state stays unused)
        self._bands = BandClassifier(self.profile.edges_n, rate, s.hysteresis_fraction,
                                     s.dwell_up_ms, s.dwell_down_ms)
        self.kernel = ChainKernel(
            self.converter, NoiseDetector(nch, rate),
            LowPass(nch, rate, s.filter_cutoff_hz, s.filter_order, s.filter_kind),
            s.spike_median, self._bands, self.engine.hand_of, len(self.hands), self._compiled)

    def _tare_changed(self) -> None:
        self.kernel.set_tare(self._tare_s)

    def _edges_changed(self) -> None:
        self._bands.set_edges(self.profile.edges_n)          # checks them
        self.kernel.set_edges(self._bands.edges_n, self._bands.off_n)

    def process(self, block: SampleBlock) -> Result:
        """Run one block through the chain (see module docstring)."""
        counts = self._counts(block)
        force, filtered, pressure, bands, hb, fault = self.kernel.process(counts)
        t = np.asarray(block.t_device_s, np.float64)
        alerts = self._alerts(t, filtered, bands, fault, force)
        return Result(t, force, filtered, pressure, bands, hb, fault, alerts, self.region)


class ReferencePipeline(_Chain):
    """Counts to alerts for one glove with the array stages, one after the other, and
    RuleEngine: the reference for Pipeline's outputs and the baseline of the benchmarks."""

    def _init_chain(self) -> None:
        s, nch = self.settings, self.n_channels
        self.noise = NoiseDetector(nch, self.rate_hz)
        self.filter = LiveFilter(nch, self.rate_hz, s.filter_cutoff_hz, s.filter_order,
                                 s.filter_kind, s.spike_median)
        self.classifier = BandClassifier(self.profile.edges_n, self.rate_hz, s.hysteresis_fraction,
                                         s.dwell_up_ms, s.dwell_down_ms)
        self._last_good = np.zeros(nch)

    def _edges_changed(self) -> None:
        self.classifier.set_edges(self.profile.edges_n)

    def process(self, block: SampleBlock) -> Result:
        """Run one block through the chain (see module docstring)."""
        counts = self._counts(block)
        n = counts.shape[0]
        cv = self.converter
        fault = cv.faults(counts) | self.noise.process(counts)
        g = cv.conductance_s(counts) - self.tare_s
        force = cv.force_n_from_conductance(g)
        # over range, unless the channel is broken (a noisy one may jump past the saturation
        # reading: that is not force)
        sat = ((fault & FAULT_SATURATED) != 0) & ((fault & FAULT_BROKEN) == 0)
        broken = (fault & FAULT_BROKEN) != 0
        # Filter input: saturated -> top of the sensor's range; broken -> last good value.
        x = np.where(sat, cv.f_max_n, force)
        x = _hold_last(np.where(broken, np.nan, x), self._last_good)
        if n:
            self._last_good = x[-1].copy()
        filt = self.filter.process(x) if n else np.zeros((0, self.n_channels))
        band_in = np.where(sat, np.inf, np.where(broken, np.nan, filt))
        bands = self.classifier.process(band_in)
        hb = hand_band(bands, self.engine.hand_of, len(self.hands))
        top = np.broadcast_to(cv.f_max_n, filt.shape)
        filtered = np.where(broken, np.nan, np.where(sat, top, filt))
        force = np.where(broken, np.nan, np.where(sat, top, force))
        alerts = self._alerts(block.t_device_s, filtered, bands, fault, force)
        return Result(np.asarray(block.t_device_s, np.float64), force,
                      filtered, cv.pressure_kpa(filtered), bands, hb, fault, alerts, self.region)


def _hold_last(x: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """Replace NaN by the last finite value above it in each column (`initial` before row 0)."""
    if x.shape[0] == 0:
        return x.copy()
    ext = np.concatenate([initial[None], x], axis=0)
    ok = ~np.isnan(ext)
    ok[0] = True
    idx = np.where(ok, np.arange(ext.shape[0])[:, None], 0)
    idx = np.maximum.accumulate(idx, axis=0)
    filled = np.take_along_axis(ext, idx, axis=0)
    return filled[1:]
