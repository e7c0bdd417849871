"""Smoothing force: a causal live filter (spike median + low-pass) and a zero-phase one for review.

Live path (docs/SIGNAL.md section 3): a streaming median of 3 samples removes single-sample
spikes (multiplexer and ADC glitches), then a Butterworth low-pass (second-order sections,
state kept across chunks) removes noise and mains pickup. Both are causal and keep their
state in the object, so feeding a stream in chunks of any size gives exactly the output of
feeding it whole.

Default cutoff, 15 Hz: strokes are at most 2.6 Hz (156/min) and tapotement strikes come at
4-10/s, so a lower cutoff would smear the strikes the percussion rule looks for; the safety
alert must come within 30 ms of the force crossing its limit, and a second-order low-pass
at 15 Hz with the median costs about 20 ms of that (a 10 Hz cutoff would cost about 28 ms).
Tremor (6-12 Hz) passes; the band classifier's hysteresis and dwell keep it from making
the band flicker.

Arrays are (n_samples, n_channels), float64, newtons in and newtons out; inputs are never
modified. Inputs must be finite: the pipeline substitutes faulted samples before filtering.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

DEFAULT_CUTOFF_HZ = 25.0
DEFAULT_ORDER = 2
DEFAULT_KIND = "butter"
KINDS = ("butter", "bessel")
# The band the live filter's delay is quoted for: stroke rates up to 156/min (2.6 Hz).
BAND_OF_INTEREST_HZ = (0.1, 3.0)
SPIKE_WINDOW = 3  # samples in the spike median (its delay is (SPIKE_WINDOW - 1) / 2 samples)


def design_lowpass(rate_hz: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                   order: int = DEFAULT_ORDER, kind: str = DEFAULT_KIND) -> np.ndarray:
    """Second-order sections of the low-pass: Butterworth, or Bessel (flat delay, no overshoot).

    cutoff_hz is the -3 dB frequency; it must be below the Nyquist frequency rate_hz / 2.
    """
    if not 0 < cutoff_hz < rate_hz / 2:
        raise ValueError(f"cutoff {cutoff_hz} Hz must be between 0 and half the rate ({rate_hz / 2} Hz)")
    if kind == "butter":
        return signal.butter(order, cutoff_hz, btype="low", fs=rate_hz, output="sos")
    if kind == "bessel":
        return signal.bessel(order, cutoff_hz, btype="low", fs=rate_hz, output="sos", norm="mag")
    raise ValueError(f"unknown filter kind {kind!r}: use one of {KINDS}")


def _as_2d(x) -> tuple[np.ndarray, bool]:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        return a[:, None], True
    if a.ndim != 2:
        raise ValueError(f"expected (n_samples, n_channels), got shape {a.shape}")
    return a, False


class SpikeMedian:
    """Streaming median of the last 3 samples per channel (delay: 1 sample).

    A single-sample spike never reaches the output; a step passes, one sample late. The
    history before the first sample is the first sample repeated.
    """

    def __init__(self, n_channels: int):
        self.n_channels = n_channels
        self._hist: np.ndarray | None = None   # the last 2 input samples, (2, n_channels)

    def reset(self) -> None:
        self._hist = None

    def process(self, x) -> np.ndarray:
        """Median-of-3 of (n, n_channels) newtons; returns a new array of the same shape."""
        a, flat = _as_2d(x)
        if a.shape[0] == 0:
            return a.copy()
        if self._hist is None:
            self._hist = np.repeat(a[:1], 2, axis=0)
        ext = np.concatenate([self._hist, a], axis=0)
        y = np.median(np.stack([ext[:-2], ext[1:-1], ext[2:]]), axis=0)
        self._hist = ext[-2:].copy()
        return y[:, 0] if flat else y


class LowPass:
    """Causal streaming low-pass (sosfilt with per-channel state kept across chunks).

    The state starts at rest at the first sample's value (no start-up transient).
    """

    def __init__(self, n_channels: int, rate_hz: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                 order: int = DEFAULT_ORDER, kind: str = DEFAULT_KIND):
        self.n_channels = n_channels
        self.rate_hz = float(rate_hz)
        self.cutoff_hz = float(cutoff_hz)
        self.order = int(order)
        self.kind = kind
        self.sos = design_lowpass(rate_hz, cutoff_hz, order, kind)
        self._zi_unit = signal.sosfilt_zi(self.sos)        # (n_sections, 2)
        self._zi: np.ndarray | None = None                  # (n_sections, 2, n_channels)

    def reset(self, initial_n=None) -> None:
        """Forget the state; with `initial_n` (n_channels,), start at rest at those values."""
        if initial_n is None:
            self._zi = None
        else:
            x0 = np.broadcast_to(np.asarray(initial_n, np.float64), (self.n_channels,))
            self._zi = self._zi_unit[:, :, None] * x0[None, None, :]

    def process(self, x) -> np.ndarray:
        """Filter (n, n_channels) newtons; returns a new array of the same shape."""
        a, flat = _as_2d(x)
        if a.shape[0] == 0:
            return a.copy()
        if self._zi is None:
            self.reset(a[0])
        y, self._zi = signal.sosfilt(self.sos, a, axis=0, zi=self._zi)
        return y[:, 0] if flat else y


class LiveFilter:
    """The live path: SpikeMedian (optional) then LowPass. Chunked == whole."""

    def __init__(self, n_channels: int, rate_hz: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                 order: int = DEFAULT_ORDER, kind: str = DEFAULT_KIND, spike: bool = True):
        self.spike = SpikeMedian(n_channels) if spike else None
        self.lowpass = LowPass(n_channels, rate_hz, cutoff_hz, order, kind)

    @property
    def rate_hz(self) -> float:
        return self.lowpass.rate_hz

    def reset(self) -> None:
        if self.spike is not None:
            self.spike.reset()
        self.lowpass.reset()

    def process(self, x) -> np.ndarray:
        """Smooth (n, n_channels) newtons causally; returns a new array."""
        y = self.spike.process(x) if self.spike is not None else x
        return self.lowpass.process(y)

    def delay_ms(self, band_hz: tuple[float, float] = BAND_OF_INTEREST_HZ) -> float:
        return live_delay_ms(self.lowpass.rate_hz, self.lowpass.cutoff_hz, self.lowpass.order,
                             self.lowpass.kind, band_hz, spike=self.spike is not None)


def live_delay_ms(rate_hz: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                  order: int = DEFAULT_ORDER, kind: str = DEFAULT_KIND,
                  band_hz: tuple[float, float] = BAND_OF_INTEREST_HZ, spike: bool = True) -> float:
    """Delay of the live path in milliseconds over `band_hz` (default: stroke rates, 0.1-3 Hz).

    The low-pass's group delay averaged over the band (the sum of its sections' group
    delays), plus the spike median's one sample. This is what a slow change in force
    (a stroke) is late by on the display and in the band decision.
    """
    sos = design_lowpass(rate_hz, cutoff_hz, order, kind)
    freqs = np.linspace(band_hz[0], band_hz[1], 64)
    gd = np.zeros_like(freqs)
    for sec in sos:
        _, g = signal.group_delay((sec[:3], sec[3:]), w=freqs, fs=rate_hz)
        gd += g
    samples = float(np.mean(gd)) + ((SPIKE_WINDOW - 1) / 2 if spike else 0.0)
    return samples * 1000.0 / rate_hz


def filter_zero_phase(force_n, rate_hz: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                      order: int = DEFAULT_ORDER, kind: str = DEFAULT_KIND,
                      spike: bool = True) -> np.ndarray:
    """Zero-phase smoothing of a whole recording, for review (not causal: uses the future).

    A centred median of 3 (spikes) then sosfiltfilt: the low-pass runs forward and backward,
    so there is no delay, and the magnitude response is the live one squared (-6 dB at
    cutoff_hz instead of -3 dB). Input (n, n_channels) or (n,) newtons, finite; new array out.
    """
    a, flat = _as_2d(force_n)
    if a.shape[0] == 0:
        return a[:, 0].copy() if flat else a.copy()
    if spike and a.shape[0] >= 3:
        mid = np.median(np.stack([a[:-2], a[1:-1], a[2:]]), axis=0)
        a = np.concatenate([a[:1], mid, a[-1:]], axis=0)
    sos = design_lowpass(rate_hz, cutoff_hz, order, kind)
    padlen = min(3 * (2 * len(sos) + 1), a.shape[0] - 1)
    y = signal.sosfiltfilt(sos, a, axis=0, padlen=max(padlen, 0))
    return y[:, 0] if flat else y
