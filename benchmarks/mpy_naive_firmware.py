# A naive text-line glove firmware, the baseline of benchmarks/firmware.py: one line of
# comma-separated counts per sample ("seq,c0,...,c15"), printed from the main loop.
#
# It samples like the real firmware (a periodic timer reads every channel into a list
# allocated once, and does nothing else), but sends text: no framing, no CRC, no commands,
# no events. It runs on the simulated board as flash/main.py, the same way as the firmware.
import machine

from glove import config

mux = [c[0] for c in config.channels()]
n = len(mux)
adc = machine.ADC(config.ADC_PIN)
pins = [machine.Pin(p, machine.Pin.OUT, value=0) for p in config.MUX_SELECT_PINS]
vals = [0] * n
state = [0, 0]          # seq of the latest sample, samples not yet printed


def tick(_t):
    for i in range(n):
        m = mux[i]
        pins[0].value(m & 1)
        pins[1].value((m >> 1) & 1)
        pins[2].value((m >> 2) & 1)
        pins[3].value((m >> 3) & 1)
        vals[i] = adc.read_u16() >> 4
    state[0] += 1
    state[1] += 1


timer = machine.Timer()
timer.init(freq=config.DEFAULT_RATE_HZ, mode=machine.Timer.PERIODIC, callback=tick)
while True:
    if state[1]:
        state[1] = 0
        print(str(state[0]) + "," + ",".join([str(v) for v in vals]))
    else:
        machine.idle()
