# The board's hardware, created once from the pin map in config.py (the only module that touches `machine`).
import sys
import time
import select
import machine
import binascii

from glove import config


class Board:
    """Everything the firmware needs from the hardware, passed to App and Sampler."""

    def __init__(self):
        self.adc = machine.ADC(config.ADC_PIN)
        self.select_pins = [machine.Pin(p, machine.Pin.OUT, value=0) for p in config.MUX_SELECT_PINS]
        self.buzzer_hands = [h for h in config.HANDS if h in config.BUZZER_PINS]
        self.buzzer_pins = [machine.Pin(config.BUZZER_PINS[h], machine.Pin.OUT, value=0)
                            for h in self.buzzer_hands]
        try:
            self.led = machine.Pin(config.LED_PIN, machine.Pin.OUT, value=0)
        except (ValueError, TypeError):
            self.led = None
        if config.BUTTON_PIN is None:
            self.button = None
        else:
            self.button = machine.Pin(config.BUTTON_PIN, machine.Pin.IN, machine.Pin.PULL_UP)
        self.timer = machine.Timer()
        self.stdin = sys.stdin.buffer
        self.stdout = sys.stdout.buffer
        self.poll = select.poll()
        self.poll.register(sys.stdin, select.POLLIN)
        self.ticks_us = time.ticks_us
        self.ticks_ms = time.ticks_ms
        self.ticks_diff = time.ticks_diff
        self.idle = machine.idle
        self.disable_irq = machine.disable_irq
        self.enable_irq = machine.enable_irq
        self.reset = machine.reset
        self.platform = sys.platform
        # The RP2040's wiring for the sampler's register path (Sampler.tick_rp2); None on
        # other ports, where the sampler goes through the pin and ADC objects above.
        if sys.platform == "rp2" and 26 <= config.ADC_PIN <= 29:
            self.rp2 = {"select": tuple(config.MUX_SELECT_PINS), "adc_input": config.ADC_PIN - 26,
                        "buzzers": tuple(config.BUZZER_PINS[h] for h in self.buzzer_hands),
                        "button": -1 if config.BUTTON_PIN is None else config.BUTTON_PIN}
        else:
            self.rp2 = None

    def rx_ready(self):
        """True if the host has sent a byte not read yet. Allocation-free (ipoll reuses its
        result; poll() would return a new list on every call)."""
        for _ in self.poll.ipoll(0):
            return True
        return False

    def timer_init(self, freq, callback):
        # A hard interrupt where the port offers one (no scheduler latency); otherwise soft.
        try:
            self.timer.init(freq=freq, mode=machine.Timer.PERIODIC, callback=callback, hard=True)
        except TypeError:
            self.timer.init(freq=freq, mode=machine.Timer.PERIODIC, callback=callback)

    def glove_id(self):
        if config.GLOVE_ID:
            return config.GLOVE_ID
        return "glove-" + binascii.hexlify(machine.unique_id()).decode()

    def reset_cause(self):
        try:
            return machine.reset_cause()
        except AttributeError:
            return 0
