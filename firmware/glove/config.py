# Board configuration: pin map, channel names, sensor classes and defaults (the one place they live).
#
# hardware/ documents this file pin for pin (its wiring table is checked against it by a
# test). A device may override any UPPER_CASE name here with a file `glove_local.py` on its
# filesystem (for example GLOVE_ID or HANDS), so this shared file never needs local edits.

FIRMWARE_VERSION = "1.0.0"
BOARD = "rp2-pico"

# Identity. None means "derive from machine.unique_id()" at boot.
GLOVE_ID = None

# Which hands this board carries. One glove: ("right",) or ("left",), sensors on mux
# inputs 0-7. One board carrying both gloves: ("right", "left"), right on 0-7, left on 8-15.
HANDS = ("right", "left")

# --- Pins (Raspberry Pi Pico GPIO numbers) -------------------------------------------
ADC_PIN = 26                # ADC0: common (SIG) pin of the 74HC4067 multiplexer
MUX_SELECT_PINS = (2, 3, 4, 5)   # S0 (LSB), S1, S2, S3 of the multiplexer
# The multiplexer's /EN pin is tied to GND on the reference board (always enabled).
BUZZER_PINS = {"right": 15, "left": 14}   # vibration motor driver (NPN base via 1 kOhm)
LED_PIN = "LED"             # on-board LED (GP25 on the Pico): lit while streaming
BUTTON_PIN = 16             # push button to GND, internal pull-up: "mark this moment"

# --- Sensors --------------------------------------------------------------------------
# The eight sensor sites of one glove, in multiplexer order (input 0..7 for the first
# hand, 8..15 for the second). Each site: (name, sensor class).
SITES = (
    ("thumb", "fsr402"),
    ("index", "fsr402"),
    ("middle", "fsr402"),
    ("ring", "fsr402"),
    ("little", "fsr402"),
    ("knuckle_index", "fsr402"),
    ("knuckle_middle", "fsr402"),
    ("palm_heel", "fsr406"),
)
SITES_PER_HAND = 8

# Per sensor class: divider resistor to GND (ohm) and bleed resistor across the FSR (ohm).
# The divider sits near the FSR's resistance at 5-10 N, where sensitivity is best
# (FSR 402: about 1.7-1.0 kOhm there; FSR 406: about 1.0-0.6 kOhm). The bleed resistor
# gives an unloaded sensor a small known reading, so a broken wire (which reads 0) can be
# told apart from "no force".
SENSOR_CLASSES = {
    "fsr402": {"r_divider_ohm": 1500, "r_bleed_ohm": 100000},
    "fsr406": {"r_divider_ohm": 680, "r_bleed_ohm": 100000},
}

# --- ADC ------------------------------------------------------------------------------
ADC_BITS = 12               # the RP2040 ADC; read_u16() is shifted down to 12 bits
VREF_V = 3.3                # divider supply = ADC reference (ratiometric)

# --- Sampling -------------------------------------------------------------------------
DEFAULT_RATE_HZ = 200
MIN_RATE_HZ = 1
MAX_CHANNEL_SAMPLES_PER_S = 16000   # 1 kHz for 16 channels
# The highest rate promised whatever the channel count: measured on the RP2040 (the chip
# bench, docs/BENCHMARKS.md), 16 channels at 1 kHz and 8 at 1 kHz run with no lost and no
# late sample; 8 at 2 kHz had a late tick while a command was being handled.
MAX_RATE_HZ = 1000
# Ring buffer between the timer and the USB writer. 512 frames is 0.5 s at 1 kHz and
# 2.5 s at 200 Hz: longer than any pause of the main loop seen on the board (USB host
# latency, garbage collection). When it is full, the newest frame is dropped and counted.
RING_SLOTS = 512

# On-glove buzz when a hard limit trips: motor on for this long (ms) after the last trip.
LIMIT_BUZZ_MS = 300
BUTTON_DEBOUNCE_MS = 30


def _apply_local():
    try:
        import glove_local
    except ImportError:
        return
    g = globals()
    for name in dir(glove_local):
        if name[:1] != "_" and name.upper() == name:
            g[name] = getattr(glove_local, name)


_apply_local()


def channels():
    """The channel table: list of (mux input, name, hand, site, sensor class)."""
    out = []
    for h, hand in enumerate(HANDS):
        prefix = "R_" if hand == "right" else "L_"
        for i, (site, cls) in enumerate(SITES):
            mux = h * SITES_PER_HAND + i
            out.append((mux, prefix + site, hand, site, cls))
    return out
