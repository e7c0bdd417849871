# Cost per frame of the glove firmware on the MicroPython unix port (run by benchmarks/firmware.py).
#
# Builds the firmware's own Board and App on the simulated `machine` module (sim/device/,
# no force model: every sensor at rest), then times, with the real microsecond clock:
#   tick:   Sampler.tick(), the timer callback (mux walk, 16 ADC reads, limits, ring);
#   encode: App.send_data(), which encodes BATCH ring rows into DATA frames (CRC-32, COBS)
#           and writes them (to a sink here, so no I/O is timed);
#   naive:  what a text-line firmware does per sample: the same 16 mux selects and ADC
#           reads, then one line of comma-separated counts, formatted and written.
# Prints one JSON object: microseconds per frame for each, and bytes per frame.
import sys
import json
import utime
import machine

from glove import config
from glove.board import Board
from glove.app import App, BATCH

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000


class Sink:
    def __init__(self):
        self.bytes = 0

    def write(self, b, n=None):
        # the firmware writes (buffer, length): a stream's write with a length
        n = len(b) if n is None else n
        self.bytes += n
        return n


board = Board()
sink = Sink()
board.stdout = sink
app = App(board)
s = app.sampler
s.start(config.DEFAULT_RATE_HZ, board.timer_init)
for a in machine._adcs:
    a._resolve()

# tick alone
t0 = utime.ticks_us()
for _ in range(N):
    s.tick()
    s.discard()
tick_us = utime.ticks_diff(utime.ticks_us(), t0) / N

# encode (and write to the sink) BATCH frames at a time
app.streaming = True
rounds = N // BATCH
enc = 0
for _ in range(rounds):
    for _ in range(BATCH):
        s.tick()
    t0 = utime.ticks_us()
    app.send_data()
    enc += utime.ticks_diff(utime.ticks_us(), t0)
encode_us = enc / (rounds * BATCH)
frame_bytes = sink.bytes / (rounds * BATCH)

# naive: select, read, format a text line, write it
pins = board.select_pins
adc = board.adc
mux = [c[0] for c in config.channels()]
vals = [0] * len(mux)
sink.bytes = 0
t0 = utime.ticks_us()
for seq in range(N):
    for i in range(len(mux)):
        m = mux[i]
        for b in range(4):
            pins[b].value((m >> b) & 1)
        vals[i] = adc.read_u16() >> 4
    sink.write((str(seq) + "," + ",".join([str(v) for v in vals]) + "\n").encode())
naive_us = utime.ticks_diff(utime.ticks_us(), t0) / N
print(json.dumps({"n": N, "channels": len(mux), "tick_us": tick_us, "encode_us": encode_us,
                  "frame_us": tick_us + encode_us, "frame_bytes": frame_bytes,
                  "naive_us": naive_us, "naive_line_bytes": sink.bytes / N}))
