# The timer path: allocation-free ticks, channel mapping, ring overflow policy, limits, wrap.
import micropython
from fakeboard import Board, check, done, _now
from glove.sampler import Sampler, gray_order

# Gray order: one select line changes between consecutive inputs
order = gray_order(list(range(16)))
check(sorted(order) == list(range(16)), "gray order covers all inputs")
for a, b in zip(order, order[1:] + order[:1]):
    x = a ^ b
    check(x and not (x & (x - 1)), "one select bit changes %d->%d" % (a, b))

bd = Board()
mux = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
for m in range(16):
    bd.adc.values[m] = 100 + m
s = Sampler(bd.adc, bd.select_pins, mux, 8, bd.ticks_us, bd.timer, buzzer_pins=bd.buzzer_pins,
            channel_buzzer=[0] * 8 + [1] * 8, button=bd.button, limit_buzz_ms=20)
s.start(1000, bd.timer_init)
bd.timer.fire(3)          # under heap_lock: a tick that allocates raises MemoryError here
check(s.available() == 3, "three samples in the ring")
for ch in range(16):
    check(s.counts[ch] == 100 + ch, "channel %d reads its own mux input" % ch)
check(s.seqs[0] == 0 and s.seqs[2] == 2, "seq counts ticks")
check(s.ts[1] - s.ts[0] == 1000, "timestamps one period apart")
# at most one select pin write per channel step
w0 = sum(p.writes for p in bd.select_pins)
bd.timer.fire(1)
check(sum(p.writes for p in bd.select_pins) - w0 <= 16, "one pin write per channel")

# overflow: the ring holds slots-1 samples; the newest are dropped and counted
s.discard()
bd.timer.fire(7)
check(s.available() == 7, "ring full at slots-1")
first_drop_seq = s.seq
bd.timer.fire(5)
check(s.available() == 7, "nothing overwritten when full")
check(s.drop_pending == 5 and s.drop_total == 5, "5 drops counted")
check(s.drop_seq == first_drop_seq, "first dropped seq kept")
# the kept samples are the oldest, in order
t = s.tail
prev = None
for i in range(7):
    if prev is not None:
        check(s.seqs[t] == (prev + 1) & 0xFFFF, "kept samples consecutive")
    prev = s.seqs[t]
    t = (t + 1) % s.slots
s.release(7)
bd.timer.fire(1)
check(s.seqs[(s.head - 1) % s.slots] == (first_drop_seq + 5) & 0xFFFF, "seq skips the dropped ones")

# hard limits: two raw samples in a row at or above the limit trip it (a one-sample glitch
# does not); checked on every sample (dropped or not), buzz and flag, one pending report.
# Every tick runs under heap_lock (Timer.fire).
s.discard()
s.limits[3] = 150
bd.adc.values[3] = 200          # a one-sample glitch ...
bd.timer.fire(1)
bd.adc.values[3] = 100          # ... then back under
bd.timer.fire(1)
check(s.lim_pending == 0 and not s.over, "one sample over the limit does not trip")
check(not any(s.flags[i] & 0x04 for i in range(s.slots)), "no LIMIT flag for a glitch")
check(bd.buzzer_pins[0].v == 0, "no buzz for a glitch")
for _ in range(5):              # glitches on every other sample never trip
    bd.adc.values[3] = 200
    bd.timer.fire(1)
    bd.adc.values[3] = 100
    bd.timer.fire(1)
check(s.lim_pending == 0, "alternating glitches do not trip")
s.discard()
bd.adc.values[3] = 150          # at the limit counts as over
bd.timer.fire(1)
check(s.lim_pending == 0 and not (s.flags[(s.head - 1) % s.slots] & 0x04), "first sample over: not yet")
bd.adc.values[3] = 200
bd.timer.fire(1)
h = (s.head - 1) % s.slots
check(s.flags[h] & 0x04, "LIMIT flag on the second sample in a row")
check(s.lim_pending == 1 and s.lim_ch == 3 and s.lim_val == 200, "limit event pending")
check(s.lim_seq == s.seqs[h], "the event names the second sample")
bd.timer.fire(1)
check(bd.buzzer_pins[0].v == 1 and bd.buzzer_pins[1].v == 0, "right motor on, left off")
check(s.flags[(s.head - 1) % s.slots] & 0x01, "BUZZING flag")
bd.adc.values[3] = 100
bd.timer.fire(40)
check(bd.buzzer_pins[0].v == 0, "motor stops after limit_buzz_ms")
check(not (s.over & 8), "trip cleared when back under")
# limits still checked while the ring is full
s.lim_pending = 0
for _ in range(10):
    bd.timer.fire(1)
check(s.available() == s.slots - 1, "ring full")
bd.adc.values[3] = 300
bd.timer.fire(2)
check(s.lim_pending == 1, "limit checked on dropped samples")
bd.adc.values[3] = 100
bd.timer.fire(1)
# a limit turned off forgets a pending first sample
s.discard()
s.lim_pending = 0
bd.adc.values[3] = 300
bd.timer.fire(1)
s.limits[3] = 0
bd.timer.fire(1)
s.limits[3] = 150
bd.timer.fire(1)
check(s.lim_pending == 0, "the count restarts after the limit is turned off")
bd.timer.fire(1)
check(s.lim_pending == 1, "and trips on the next sample in a row")
bd.adc.values[3] = 100
s.limits[3] = 0
bd.timer.fire(1)
s.lim_pending = 0

# button flag
s.discard()
bd.button.v = 0
bd.timer.fire(1)
check(s.flags[(s.head - 1) % s.slots] & 0x02, "BUTTON flag while pressed")
bd.button.v = 1

# late ticks are counted
late0 = s.late
bd.timer.fire(1, step_us=5000)
check(s.late == late0 + 1, "late tick counted")

# seq and clock wrap
s.discard()
s.seq = 0xFFFE
_now[0] = 0x3FFFFFFF - 1500
bd.timer.fire(3)
t = s.tail
check(s.seqs[(t + 1) % s.slots] == 0xFFFF and s.seqs[(t + 2) % s.slots] == 0, "seq wraps at 2^16")
check(s.ts[(t + 1) % s.slots] < s.ts[t], "t_us wraps at 2^30")
check(((s.ts[(t + 1) % s.slots] - s.ts[t]) & 0x3FFFFFFF) == 1000, "wrapped difference is one period")

# a sampler with 8 channels on the left-hand mux inputs
bd2 = Board(hands=("left",))
for m in range(16):
    bd2.adc.values[m] = m * 10
s2 = Sampler(bd2.adc, bd2.select_pins, [8, 9, 10, 11, 12, 13, 14, 15], 16, bd2.ticks_us, bd2.timer)
s2.start(200, bd2.timer_init)
bd2.timer.fire(2)
check([s2.counts[i] for i in range(8)] == [80, 90, 100, 110, 120, 130, 140, 150], "8-channel mapping")

done("test_sampler")
