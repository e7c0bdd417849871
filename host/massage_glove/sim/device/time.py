# The simulated glove's clock: MicroPython's time module with a virtual microsecond clock.
#
# The simulated machine module moves this clock: in real time it follows the host's clock
# (plus an offset, so a test can start it just before the 2^30 wrap), in "free" mode it
# jumps from one timer tick to the next as fast as the firmware can go. While a timer tick
# runs, the clock reads the tick's scheduled time, as a hardware interrupt would see it.
from utime import *  # noqa: F401,F403  (sleep_ms, ticks_diff, ticks_add, ...)
import utime

_PERIOD_MASK = 0x3FFFFFFF

# Virtual microseconds since boot (a plain int that never wraps); see machine.py.
offset_us = 0          # added before wrapping, to start near a wrap
frozen_us = -1         # >= 0 while a timer tick runs: the tick's scheduled time
free = False           # free-running: time only moves when the machine module moves it
virtual_us = 0         # the free-running clock
_real0 = utime.ticks_us()


def now_us():
    """Virtual microseconds since boot (unwrapped)."""
    if frozen_us >= 0:
        return frozen_us
    if free:
        return virtual_us
    return utime.ticks_diff(utime.ticks_us(), _real0) + _base_real


_base_real = 0


def ticks_us():
    return (now_us() + offset_us) & _PERIOD_MASK


def ticks_ms():
    return ((now_us() + offset_us) // 1000) & _PERIOD_MASK
