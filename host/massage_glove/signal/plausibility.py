"""Plausibility of calibrations and band edges against physics, so that no file can silence the alerts.

A calibration or a profile can pass every field check and still be absurd: a coefficient
a billion times off makes every press read as a feather, band edges at 1e5 N are never
reached. Both are refused on load, with the file, the field and the bound:

* a force curve must give, at every force of its sensor's working range (the class's
  f_min_n .. f_max_n, portable/fsr.py), a force within `max_curve_factor` of the nominal
  curve's for the same conductance;
* every band edge must lie within [min_edge_factor, max_edge_factor] times DOMAIN.md's
  default edge of its sensor class, and never above the sensor's range (f_max_n); edges
  rise (checked by the loaders).

The factors are engineering defaults with their reasons in data/limits.json.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import DataFileError
from ..limits import Limits, limits
from ..portable import fsr
from .datafile import Node


def working_range_n(sensor_class: str, points: int) -> np.ndarray:
    """Forces (N), evenly spaced in log force over the class's working range."""
    p = fsr.NOMINAL[sensor_class]
    return np.geomspace(p["f_min_n"], p["f_max_n"], points)


def check_curve(node: Node, sensor_class: str, curve, lim: Limits | None = None) -> None:
    """DataFileError on `node` unless `curve` (force_n(G)) stays within the stated factor
    of the class's nominal curve over the working range."""
    lim = lim or limits()
    p = fsr.NOMINAL[sensor_class]
    f = working_range_n(sensor_class, lim.working_range_points)
    g = fsr.conductance_from_force(f, p["r1_ohm"], p["exponent"])
    with np.errstate(all="ignore"):
        fc = np.asarray(curve.force_n(g), np.float64)
        off = np.abs(np.log(fc / f))
    off = np.where(np.isfinite(off), off, np.inf)
    k = lim.max_curve_factor
    i = int(np.argmax(off))
    if off[i] > math.log(k) + 1e-12:
        raise node.error(
            f"a force curve within a factor {k:g} of the nominal {sensor_class} curve from "
            f"{p['f_min_n']:g} to {p['f_max_n']:g} N (calibration.max_curve_factor in {lim.file})",
            f"{fc[i]:.3g} N where the nominal curve gives {f[i]:.3g} N")


def edge_bounds_n(sensor_class: str, lim: Limits | None = None) -> list[tuple[float, float, float]]:
    """(reference, lowest, highest) newtons allowed for each of the class's three edges."""
    lim = lim or limits()
    ref = lim.reference_edges_n[sensor_class]
    f_max = fsr.NOMINAL[sensor_class]["f_max_n"] if sensor_class in fsr.NOMINAL else math.inf
    return [(r, r * lim.min_edge_factor, min(r * lim.max_edge_factor, f_max)) for r in ref]


def check_edges(node: Node, sensor_class: str, edges_n, lim: Limits | None = None) -> None:
    """DataFileError on the offending edge of `node` (a list of 3 edges, N) unless each
    lies within the stated bounds of DOMAIN.md's default edges for its class."""
    lim = lim or limits()
    if sensor_class not in lim.reference_edges_n:
        raise node.error(f"a sensor class with reference edges in {lim.file} ("
                         + ", ".join(lim.reference_edges_n) + ")", repr(sensor_class))
    for i, (e, (ref, lo, hi)) in enumerate(zip(edges_n, edge_bounds_n(sensor_class, lim))):
        if not lo <= e <= hi:
            raise DataFileError(
                node.file, f"{node.path}[{i}]",
                f"an edge from {lo:g} to {hi:g} N for {sensor_class} (DOMAIN.md's {ref:g} N times "
                f"{lim.min_edge_factor:g} .. {lim.max_edge_factor:g}, at most the sensor's "
                f"range; bands in {lim.file})", repr(e))


def edges_plausible(sensor_class: str, edges_n, lim: Limits | None = None) -> bool:
    try:
        check_edges(Node("", "", list(edges_n)), sensor_class, edges_n, lim)
    except DataFileError:
        return False
    return True
