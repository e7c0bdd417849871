"""Shared pieces of the benchmarks: percentiles, process memory and CPU from /proc, the
machine description, the glove's channel table, and force-model counts synthesised on the host."""
from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import runpy
import subprocess
from array import array

import numpy as np

from massage_glove import paths
from massage_glove.samples import Channel, DeviceInfo

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --- statistics ---------------------------------------------------------------------------
def pct(values, q: float) -> float:
    """q-th percentile (0..100) of `values`; NaN when there are none."""
    a = np.asarray(values, np.float64)
    return float(np.percentile(a, q)) if a.size else math.nan


def summary(values) -> dict:
    """n, p50, p99, min, max, mean of a list of numbers (NaN for an empty list)."""
    a = np.asarray(values, np.float64)
    if not a.size:
        return {"n": 0, "p50": math.nan, "p99": math.nan, "min": math.nan, "max": math.nan,
                "mean": math.nan}
    return {"n": int(a.size), "p50": pct(a, 50), "p99": pct(a, 99), "min": float(a.min()),
            "max": float(a.max()), "mean": float(a.mean())}


# --- /proc --------------------------------------------------------------------------------
def rss_kb(pid: int | str = "self") -> int:
    """Resident set size (VmRSS, kB) of a process."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def cpu_s(pid: int | str = "self", tid: int | None = None) -> float:
    """User + system CPU seconds of a process (or of one of its threads) from /proc."""
    p = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    with open(p) as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK      # utime, stime


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    out = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
           "numpy": np.__version__, "platform": platform.platform(),
           "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
    for mod in ("scipy", "matplotlib"):
        try:
            out[mod] = __import__(mod).__version__
        except ImportError:
            out[mod] = None
    try:
        from importlib.metadata import version
        out["brainflow"] = version("brainflow")
    except Exception:
        out["brainflow"] = None
    try:
        r = subprocess.run([paths.micropython_exe(), "-c", "import sys; print(sys.version)"],
                           capture_output=True, text=True, timeout=10)
        out["micropython"] = r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["micropython"] = None
    try:
        with open("/proc/loadavg") as f:
            out["loadavg"] = f.read().split()[:3]
    except OSError:
        pass
    return out


# --- the glove ----------------------------------------------------------------------------
def firmware_config() -> dict:
    """The firmware's board configuration (firmware/glove/config.py) read on the host."""
    return runpy.run_path(str(paths.firmware_dir() / "glove" / "config.py"))


def channel_table(hands=("right", "left")) -> list[tuple]:
    """(mux, name, hand, site, class, r_divider_ohm, r_bleed_ohm) per channel, as the
    simulated glove with these hands builds it (config.channels() plus SENSOR_CLASSES)."""
    cfg = firmware_config()
    out = []
    for h, hand in enumerate(hands):
        prefix = "R_" if hand == "right" else "L_"
        for i, (site, cls) in enumerate(cfg["SITES"]):
            c = cfg["SENSOR_CLASSES"][cls]
            out.append((h * cfg["SITES_PER_HAND"] + i, prefix + site, hand, site, cls,
                        float(c["r_divider_ohm"]), float(c["r_bleed_ohm"])))
    return out


def device_info(rate_hz: float = 200.0, hands=("right", "left")) -> DeviceInfo:
    """A DeviceInfo equal in channels and ADC to what the simulated glove describes."""
    cfg = firmware_config()
    chans = tuple(Channel(i, name, hand, site, cls, rd, rb)
                  for i, (mux, name, hand, site, cls, rd, rb) in enumerate(channel_table(hands)))
    n = len(chans)
    return DeviceInfo(glove_id="bench-glove", firmware=cfg["FIRMWARE_VERSION"], board="bench",
                      protocol=1, hands=tuple(hands), channels=chans, adc_bits=cfg["ADC_BITS"],
                      vref_v=cfg["VREF_V"], rate_hz=float(rate_hz), min_rate_hz=1.0,
                      max_rate_hz=float(cfg["MAX_CHANNEL_SAMPLES_PER_S"] // n), ts_bits=30,
                      seq_bits=16, ring_slots=cfg["RING_SLOTS"])


def synth_counts(script: dict, rate_hz: float, n_samples: int, hands=("right", "left"),
                 t0_us: int = 0) -> np.ndarray:
    """(n_samples, n_channels) uint16 ADC counts of `script`, as the glove reads them.

    The force model's own fill_counts (the code the simulated glove's ADC runs, FSR
    physics, creep and ADC noise included), sampled at rate_hz, columns in channel order.
    """
    from massage_glove.portable.forcemodel import MUX_INPUTS, ForceModel
    from massage_glove.sim.scripts import sample_times_us

    table = channel_table(hands)
    model = ForceModel(script, table, (1 << int(firmware_config()["ADC_BITS"])) - 1)
    cols = [c[0] for c in table]
    t_us = sample_times_us(rate_hz, n_samples, t0_us)
    out = np.empty((n_samples, MUX_INPUTS), np.uint16)
    buf = array("H", [0] * MUX_INPUTS)
    fill = model.fill_counts
    for k in range(n_samples):
        fill(int(t_us[k]), buf)
        out[k] = buf
    return out[:, cols]


# --- the chain under test and its baseline ---------------------------------------------------
def _reference_class():
    """massage_glove.signal.pipeline.ReferencePipeline (today's numpy chain), or None."""
    from massage_glove.signal import pipeline as pl
    return getattr(pl, "ReferencePipeline", None)


def baseline_settings(profile_set=None):
    """The baseline's settings: the data's, with the fast alert path off where the field exists."""
    import dataclasses

    from massage_glove.signal import default_profile_set
    s = (profile_set or default_profile_set()).settings
    if any(f.name == "fast_alert_samples" for f in dataclasses.fields(s)):
        s = dataclasses.replace(s, fast_alert_samples=0)
    return s


def make_chain(which: str, device, rate_hz: float, region: str | None = None):
    """A chain for `which`: "new" (Pipeline, the data's settings) or "baseline"
    (ReferencePipeline with fast_alert_samples=0; Pipeline itself while the package has no
    ReferencePipeline, so the two rows then measure the same chain and chains() says so)."""
    from massage_glove.signal import Pipeline
    if which == "new":
        p = Pipeline(device, rate_hz=rate_hz)
    elif which == "baseline":
        cls = _reference_class() or Pipeline
        p = cls(device, rate_hz=rate_hz, settings=baseline_settings())
    else:
        raise ValueError(f"chain {which!r}: expected 'new' or 'baseline'")
    if region is not None:
        p.set_region(region)
    return p


def chains() -> dict:
    """What "new" and "baseline" are in this run (for the results and the table)."""
    import dataclasses

    from massage_glove.signal import default_profile_set
    ref = _reference_class() is not None
    s = default_profile_set().settings
    fast = getattr(s, "fast_alert_samples", None)
    try:
        from massage_glove.signal.jit import kernel_name
        kern = kernel_name()
    except ImportError:
        kern = None
    has_field = any(f.name == "fast_alert_samples" for f in dataclasses.fields(s))
    return {"reference_pipeline": ref, "fast_alert_field": has_field, "fast_alert_samples": fast,
            "kernel": kern,
            "new": "Pipeline" + (f" (fast_alert_samples={fast})" if has_field else ""),
            "baseline": ("ReferencePipeline" if ref else "Pipeline (no ReferencePipeline in the package: same chain)")
            + (", fast_alert_samples=0" if has_field else ""),
            "same_chain": not ref}
