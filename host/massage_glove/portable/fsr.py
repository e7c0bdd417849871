# FSR and divider physics: newtons <-> FSR resistance <-> ADC counts (runs under MicroPython and CPython).
#
# One copy of the physics, used by the simulated glove (forward: force -> counts) and by
# the host's nominal calibration (inverse: counts -> force). The functions use only
# arithmetic operators, so they accept floats and, in CPython, numpy arrays alike; callers
# keep inputs inside the documented ranges (no clamping here, because MicroPython has no
# numpy and numpy has no min()).
#
# Circuit (docs/SIGNAL.md, hardware/): Vref -- FSR (with R_bleed in parallel) -- ADC node
# -- R_divider -- GND. The ADC reads the divider's voltage ratiometrically:
#     counts = full * R_div / (R_div + R_par),   R_par = 1 / (G_fsr + 1/R_bleed)
#
# Nominal FSR curve (datasheet shape, Interlink FSR 400 series): R_fsr = R1 * F**-EXP with
# F in newtons. Engineering defaults fitted by eye to the datasheet's force-resistance
# graph; a per-sensor calibration (calibration/) replaces them.

NOMINAL = {
    # r1_ohm: resistance at 1 N; exponent: slope of log R against log F;
    # f_min_n: below this the FSR is open (the datasheet's actuation force);
    # f_max_n: above this the curve flattens (the datasheet's range);
    # area_mm2: active area, for pressure in kPa.
    "fsr402": {"r1_ohm": 6000.0, "exponent": 0.778, "f_min_n": 0.2, "f_max_n": 20.0,
               "area_mm2": 126.7},
    "fsr406": {"r1_ohm": 3500.0, "exponent": 0.778, "f_min_n": 0.5, "f_max_n": 100.0,
               "area_mm2": 1451.6},
}


def full_scale(adc_bits):
    """Highest ADC reading (counts) for an ADC of `adc_bits` bits."""
    return (1 << adc_bits) - 1


def conductance_from_force(force_n, r1_ohm, exponent):
    """FSR conductance (siemens) at `force_n` newtons (> 0) on the nominal power law."""
    return force_n ** exponent / r1_ohm


def force_from_conductance(g_s, r1_ohm, exponent):
    """Inverse of conductance_from_force: newtons from FSR conductance (siemens, >= 0)."""
    return (g_s * r1_ohm) ** (1.0 / exponent)


def counts_from_conductance(g_fsr_s, r_div_ohm, r_bleed_ohm, full):
    """ADC counts (float, 0..full) for an FSR of conductance `g_fsr_s` in the divider."""
    gt = g_fsr_s + 1.0 / r_bleed_ohm
    return full * r_div_ohm * gt / (r_div_ohm * gt + 1.0)


def conductance_from_counts(counts, r_div_ohm, r_bleed_ohm, full):
    """FSR conductance (siemens) from ADC counts; counts must be in (0, full).

    Inverts counts_from_conductance. The result is negative for counts below the
    unloaded (bleed-only) reading: noise around zero force.
    """
    return counts / ((full - counts) * r_div_ohm) - 1.0 / r_bleed_ohm


def unloaded_counts(r_div_ohm, r_bleed_ohm, full):
    """The reading of a healthy sensor with no force on it (bleed resistor only)."""
    return counts_from_conductance(0.0, r_div_ohm, r_bleed_ohm, full)


def counts_from_force(force_n, cls, r_div_ohm, r_bleed_ohm, full):
    """Nominal ADC counts (float) for a scalar force in newtons on a sensor of class `cls`.

    Scalar only (used by the simulated glove): below the actuation force the FSR is open,
    above its range the curve is held flat at f_max_n.
    """
    p = NOMINAL[cls]
    if force_n < p["f_min_n"]:
        g = 0.0
    else:
        f = force_n if force_n < p["f_max_n"] else p["f_max_n"]
        g = conductance_from_force(f, p["r1_ohm"], p["exponent"])
    return counts_from_conductance(g, r_div_ohm, r_bleed_ohm, full)
