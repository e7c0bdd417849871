# The reference glove's electrical design as data: board config, Pico and multiplexer pin numbers, part values, derived figures.
#
# Every generator in hardware/ (wiring.py, schematic.py, placement.py) and
# tests/test_hardware.py take their facts from here, and this module takes the pin map,
# channel table and resistor values from firmware/glove/config.py, so the drawings and
# tables cannot disagree with the firmware. Values that exist only on the circuit board
# (anti-alias filter, motor driver parts) are the constants below.
#
# Runs on the host (CPython) only; it needs nothing outside the standard library.
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARDWARE_DIR = ROOT / "hardware"
CONFIG_PATH = ROOT / "firmware" / "glove" / "config.py"
FSR_PATH = ROOT / "host" / "massage_glove" / "portable" / "fsr.py"
BANDS_PATH = ROOT / "host" / "massage_glove" / "data" / "bands.json"

# --- Raspberry Pi Pico header ----------------------------------------------------------
# GPIO number -> physical pin of the 40-pin header (Pico and Pico W share the pinout).
PICO_GPIO_PIN = {
    0: 1, 1: 2, 2: 4, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11, 9: 12, 10: 14, 11: 15,
    12: 16, 13: 17, 14: 19, 15: 20, 16: 21, 17: 22, 18: 24, 19: 25, 20: 26, 21: 27,
    22: 29, 26: 31, 27: 32, 28: 34,
}
PICO_ADC_CHANNEL = {26: 0, 27: 1, 28: 2}       # GPIOs wired to the RP2040 ADC
PICO_POWER_PIN = {"3V3(OUT)": 36, "VSYS": 39, "VBUS": 40, "AGND": 33, "GND": 38,
                  "ADC_VREF": 35}
PICO_ONBOARD_LED_GPIO = 25                      # the pin behind Pin("LED") on a Pico

# --- 74HC4067 (CD74HC4067, DIP-24 / SOIC-24) --------------------------------------------
MUX_CHIP_PIN = {"COM": 1, "S0": 10, "S1": 11, "GND": 12, "S3": 13, "S2": 14, "EN": 15,
                "VCC": 24}


def mux_chip_pin(mux_input):
    """Package pin of multiplexer input I<n>: I0..I7 are pins 9..2, I8..I15 pins 23..16."""
    if not 0 <= mux_input <= 15:
        raise ValueError("74HC4067 inputs are 0..15, not %r" % (mux_input,))
    return 9 - mux_input if mux_input < 8 else 31 - mux_input


def mux_breakout_label(mux_input):
    """The silkscreen label of input <n> on the common CD74HC4067 breakouts (SparkFun BOB-09056 and clones)."""
    return "C%d" % mux_input


# --- Part values that live only on the circuit board -----------------------------------
# Anti-alias filter, one per channel, between the divider node and the mux input:
# series R then C to AGND. See BOM.md "Anti-alias filter" for the reasoning.
FILTER_R_OHM = 10_000
FILTER_C_F = 330e-9
# Vibration motor driver, one per hand: GPIO -> base resistor -> NPN; motor from VSYS
# through a series resistor that drops VSYS (about 4.8 V on USB) to about 3 V for a 3 V
# coin motor drawing about 70 mA.
MOTOR_BASE_R_OHM = 1000
MOTOR_SERIES_R_OHM = 22
MOTOR_CURRENT_A = 0.070
NPN_VBE_V = 0.7
VSYS_V = 4.8
# Interlink's guideline: at most 1 mA per cm^2 of actuator area through an FSR.
FSR_MAX_MA_PER_CM2 = 1.0
# Load-spreading puck on each FSR 402 (diameter, mm): just inside the 12.7 mm active area.
PUCK_402_DIAMETER_MM = 12.0

# Conductors of one glove's cable, in connector order (2x6, 2.54 mm): the sensor
# supply, one sense line per site, the motor pair, and a ground that screens the bundle.
def glove_connector(cfg):
    """[(position, signal, what it carries)] of one glove's 12-way cable connector."""
    rows = [(1, "3V3_SNS", "sensor supply: 3V3(OUT), shared by every FSR of the glove"),
            (2, "GND", "ground (screen; nothing on the glove returns through it)")]
    for i, (site, cls) in enumerate(cfg.SITES):
        rows.append((3 + i, "SNS%d" % i, "FSR %s (%s) -> divider node of its channel" % (site, cls)))
    pos = 3 + len(cfg.SITES)
    rows.append((pos, "MOT+", "vibration motor +, from VSYS via %s" % ohms(MOTOR_SERIES_R_OHM)))
    rows.append((pos + 1, "MOT-", "vibration motor -, to the driver's collector"))
    return rows


# --- Loading the firmware config and the physics ---------------------------------------
_loaded = 0
_ABSENT = object()


def _load_file(path, stem, block_local=False):
    global _loaded
    _loaded += 1
    name = "_hw_%s_%d" % (stem, _loaded)
    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise FileNotFoundError("cannot load %s" % path)
    mod = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("glove_local", _ABSENT)
    if block_local:
        # The documents describe the shared reference config: a glove_local.py that
        # happens to be importable on this computer must not leak into them.
        sys.modules["glove_local"] = None
    try:
        spec.loader.exec_module(mod)
    finally:
        if block_local:
            if saved is _ABSENT:
                del sys.modules["glove_local"]
            else:
                sys.modules["glove_local"] = saved
    return mod


def load_config(path=CONFIG_PATH):
    """The firmware's board config (firmware/glove/config.py, or a copy at `path`) as a module."""
    return _load_file(Path(path), "config", block_local=True)


def load_fsr():
    """The divider physics shared by firmware simulation and host (host/.../portable/fsr.py)."""
    return _load_file(FSR_PATH, "fsr")


def load_bands():
    """Default band edges per sensor class (newtons) from the host's bands.json."""
    with open(BANDS_PATH) as f:
        return {cls: v["edges_n"] for cls, v in json.load(f)["classes"].items()}


# --- Checks and tables -----------------------------------------------------------------
def gp(gpio):
    """'GP2' for GPIO 2."""
    return "GP%d" % gpio


def pin_text(gpio):
    """'GP2 (pin 4)': GPIO name and physical header pin."""
    if gpio in PICO_GPIO_PIN:
        return "%s (pin %d)" % (gp(gpio), PICO_GPIO_PIN[gpio])
    return "%s (not on the header)" % gp(gpio)


def led_text(cfg):
    if cfg.LED_PIN == "LED":
        return "on-board LED (GP%d, no header pin)" % PICO_ONBOARD_LED_GPIO
    return pin_text(cfg.LED_PIN)


def problems(cfg):
    """Everything wrong with a board config as wiring, as sentences a builder can act on."""
    out = []
    used = {}

    def take(gpio, what):
        if not isinstance(gpio, int):
            out.append("%s: pin %r is not a GPIO number" % (what, gpio))
            return
        if gpio not in PICO_GPIO_PIN:
            out.append("%s: GP%d is not on the Pico's header" % (what, gpio))
        if gpio in used:
            out.append("%s and %s both use GP%d" % (used[gpio], what, gpio))
        used[gpio] = what

    if cfg.ADC_PIN not in PICO_ADC_CHANNEL:
        out.append("ADC_PIN GP%s is not an ADC input (GP26, GP27, GP28)" % (cfg.ADC_PIN,))
    take(cfg.ADC_PIN, "ADC_PIN")
    if len(cfg.MUX_SELECT_PINS) != 4:
        out.append("MUX_SELECT_PINS has %d pins; the 74HC4067 needs 4 (S0-S3)"
                   % len(cfg.MUX_SELECT_PINS))
    for i, p in enumerate(cfg.MUX_SELECT_PINS):
        take(p, "MUX_SELECT_PINS S%d" % i)
    for hand, p in sorted(cfg.BUZZER_PINS.items()):
        take(p, "BUZZER_PINS[%s]" % hand)
    take(cfg.BUTTON_PIN, "BUTTON_PIN")
    if cfg.LED_PIN != "LED":
        take(cfg.LED_PIN, "LED_PIN")
    for hand in cfg.HANDS:
        if hand not in cfg.BUZZER_PINS:
            out.append("HANDS has %r but BUZZER_PINS has no motor pin for it" % hand)
    n = len(cfg.HANDS) * cfg.SITES_PER_HAND
    if len(cfg.SITES) != cfg.SITES_PER_HAND:
        out.append("SITES lists %d sites but SITES_PER_HAND is %d"
                   % (len(cfg.SITES), cfg.SITES_PER_HAND))
    if n > 16:
        out.append("%d channels do not fit the 16 inputs of one 74HC4067" % n)
    for site, cls in cfg.SITES:
        if cls not in cfg.SENSOR_CLASSES:
            out.append("site %s uses sensor class %s, which SENSOR_CLASSES lacks" % (site, cls))
    return out


def board_pins(cfg):
    """[(function, Pico pin, where it goes)] for every board-level connection in the config."""
    rows = [("ADC (multiplexer signal)", "%s = ADC%d" % (pin_text(cfg.ADC_PIN),
                                                         PICO_ADC_CHANNEL.get(cfg.ADC_PIN, -1)),
             "74HC4067 SIG / COM (chip pin %d)" % MUX_CHIP_PIN["COM"])]
    for i, p in enumerate(cfg.MUX_SELECT_PINS):
        rows.append(("mux select S%d%s" % (i, " (LSB)" if i == 0 else ""), pin_text(p),
                     "74HC4067 S%d (chip pin %d)" % (i, MUX_CHIP_PIN["S%d" % i])))
    for hand in cfg.HANDS:
        p = cfg.BUZZER_PINS.get(hand)
        if p is not None:
            rows.append(("vibration motor, %s glove" % hand, pin_text(p),
                         "%s to the NPN base of the %s motor driver"
                         % (ohms(MOTOR_BASE_R_OHM), hand)))
    rows.append(("mark button", pin_text(cfg.BUTTON_PIN),
                 "push button to GND (internal pull-up, %d ms debounce)" % cfg.BUTTON_DEBOUNCE_MS))
    rows.append(("status LED", led_text(cfg), "lit while streaming"))
    rows.append(("sensor supply", "3V3(OUT) (pin %d)" % PICO_POWER_PIN["3V3(OUT)"],
                 "every glove's 3V3_SNS line; 74HC4067 VCC (chip pin %d)" % MUX_CHIP_PIN["VCC"]))
    rows.append(("analogue ground", "AGND (pin %d)" % PICO_POWER_PIN["AGND"],
                 "divider resistors, filter capacitors, 74HC4067 GND (chip pin %d) and EN "
                 "(chip pin %d)" % (MUX_CHIP_PIN["GND"], MUX_CHIP_PIN["EN"])))
    rows.append(("motor supply", "VSYS (pin %d)" % PICO_POWER_PIN["VSYS"],
                 "MOT+ of each glove via %s" % ohms(MOTOR_SERIES_R_OHM)))
    rows.append(("motor ground", "GND (pin %d)" % PICO_POWER_PIN["GND"],
                 "NPN emitters (keep motor current off AGND)"))
    return rows


def channel_rows(cfg):
    """One dict per channel, in mux order, with everything the wiring table shows."""
    rows = []
    for mux, name, hand, site, cls in cfg.channels():
        sc = cfg.SENSOR_CLASSES[cls]
        rows.append({
            "index": mux, "name": name, "hand": hand, "site": site, "class": cls,
            "mux_input": mux, "mux_label": "%s (I%d, chip pin %d)"
            % (mux_breakout_label(mux), mux, mux_chip_pin(mux)),
            "r_divider_ohm": sc["r_divider_ohm"], "r_bleed_ohm": sc["r_bleed_ohm"],
            "connector": "SNS%d" % (mux % cfg.SITES_PER_HAND),
        })
    return rows


def ohms(r):
    """'1.5 kohm', '680 ohm', '100 kohm'."""
    if r >= 1e6:
        return "%g Mohm" % (r / 1e6)
    if r >= 1e3:
        return "%g kohm" % (r / 1e3)
    return "%g ohm" % r


def loaded_area_mm2(cls, active_area_mm2):
    """Area the force is spread over: the puck on an FSR 402, the whole pad of an FSR 406."""
    if cls == "fsr402":
        return math.pi * (PUCK_402_DIAMETER_MM / 2) ** 2
    return active_area_mm2


def class_figures(cfg, fsr=None, bands=None):
    """Per sensor class: what a healthy channel reads, FSR current, and the filter corner.

    Nominal curve from fsr.py; band edges from bands.json. Returns {class: dict}.
    """
    fsr = fsr or load_fsr()
    bands = bands or load_bands()
    full = fsr.full_scale(cfg.ADC_BITS)
    out = {}
    for cls, sc in cfg.SENSOR_CLASSES.items():
        p = fsr.NOMINAL[cls]
        rd, rb = sc["r_divider_ohm"], sc["r_bleed_ohm"]
        edges = bands.get(cls, [])

        def r_fsr(f):
            return p["r1_ohm"] * f ** -p["exponent"]

        def r_par(f):
            return 1.0 / (1.0 / r_fsr(f) + 1.0 / rb)

        def r_source(rp):        # Thevenin resistance of the divider node
            return rd * rp / (rd + rp)

        fmax = p["f_max_n"]
        r_hi = r_source(rb)              # unloaded: bleed only
        r_lo = r_source(r_par(fmax))     # hardest press on the nominal curve
        corner = [1.0 / (2 * math.pi * (FILTER_R_OHM + r) * FILTER_C_F) for r in (r_hi, r_lo)]
        out[cls] = {
            "r_divider_ohm": rd, "r_bleed_ohm": rb,
            "unloaded_counts": fsr.unloaded_counts(rd, rb, full),
            "edges_n": edges,
            "r_fsr_at_edges_ohm": [r_fsr(f) for f in edges],
            "counts_at_edges": [fsr.counts_from_force(f, cls, rd, rb, full) for f in edges],
            "f_max_n": fmax,
            "counts_at_f_max": fsr.counts_from_force(fmax, cls, rd, rb, full),
            "r_fsr_5n_10n_ohm": (r_fsr(5.0), r_fsr(10.0)),
            "fsr_current_ma_at_edges": [1e3 * cfg.VREF_V / (rd + r_par(f)) for f in edges],
            "fsr_current_ma_at_f_max": 1e3 * cfg.VREF_V / (rd + r_par(fmax)),
            "source_ohm_range": (r_lo, r_hi),
            "corner_hz_range": (min(corner), max(corner)),
            "area_mm2": p["area_mm2"],
            "loaded_area_mm2": loaded_area_mm2(cls, p["area_mm2"]),
            "current_limit_ma": FSR_MAX_MA_PER_CM2 * loaded_area_mm2(cls, p["area_mm2"]) / 100.0,
        }
    return out


def fingerprint(*parts):
    """A short stable hash of what a drawing shows, embedded in it so a test can tell a stale image."""
    h = hashlib.sha256(repr(parts).encode()).hexdigest()
    return h[:16]


def config_facts(cfg):
    """The config facts every drawing depends on (pins, hands, sites, classes and values)."""
    return (cfg.ADC_PIN, tuple(cfg.MUX_SELECT_PINS), tuple(sorted(cfg.BUZZER_PINS.items())),
            cfg.LED_PIN, cfg.BUTTON_PIN, tuple(cfg.HANDS), tuple(cfg.SITES),
            cfg.SITES_PER_HAND, tuple(sorted((k, tuple(sorted(v.items())))
                                             for k, v in cfg.SENSOR_CLASSES.items())),
            tuple(cfg.channels()))
