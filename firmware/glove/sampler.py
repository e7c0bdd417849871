# Timer-paced sampling of the multiplexed FSR channels into a preallocated ring buffer.
#
# The timer callback allocates nothing (tests run it under micropython.heap_lock()), calls
# no user code and never prints: it walks the multiplexer, reads the ADC, stamps seq and
# time, checks the hard limits and drives the buzzers. Everything else (framing, USB,
# commands) happens in the main loop, which reads the ring.
#
# Two ways to read the hardware, the same bookkeeping (_begin/_finish, viper):
#  - tick(): through the board's objects (pins with value(), an ADC with read_u16()); any
#    port, and the test doubles of tests/firmware.
#  - tick_rp2(): the RP2040's registers directly (SIO for the select lines, buzzers and
#    button; the ADC's CS/RESULT; the 1 MHz timer), all viper: about 25 times faster than
#    the object path on a Pico, and it runs no bytecode, so a Ctrl-C that arrives during a
#    tick cannot be raised inside it (it stays pending and reaches the main loop).
#
# Overflow policy (PROTOCOL.md 2.5): when the ring is full the NEWEST sample is dropped:
# its seq is skipped, it is counted, and the first dropped seq/time are kept so the main
# loop can send one DROP event once there is room. Hard limits are checked on every sample,
# dropped or not. A hard limit trips on the second raw sample in a row at or above it (a
# single-sample glitch does not buzz; PROTOCOL.md, `limit`).
import micropython
from micropython import const
from array import array

TS_MASK = const(0x3FFFFFFF)     # t_us wraps at 2^30 (PROTOCOL.md 2.5)
SEQ_MASK = const(0xFFFF)

FLAG_BUZZING = const(0x01)
FLAG_BUTTON = const(0x02)
FLAG_LIMIT = const(0x04)

# the sampler's state, one array('i') the viper code indexes
_HEAD = const(0)        # next slot the timer writes (only the timer moves it)
_TAIL = const(1)        # next slot the main loop reads (only the main loop moves it)
_SEQ = const(2)
_PREV_TS = const(3)
_PERIOD = const(4)
_LATE = const(5)        # ticks that came more than 1.5 periods after the previous
_DROP_PENDING = const(6)
_DROP_SEQ = const(7)
_DROP_TS = const(8)
_DROP_TOTAL = const(9)
_OVER = const(10)       # channels tripped (bit per channel)
_HIT = const(11)        # channels whose previous raw sample was at or above the limit
_LIM_PENDING = const(12)
_LIM_CH = const(13)
_LIM_VAL = const(14)
_LIM_SEQ = const(15)
_LIM_TS = const(16)
_LIMIT_TICKS = const(17)
_CUR_MUX = const(18)
_SLOTS = const(19)
_N = const(20)
_SHIFT = const(21)
_NBUZZ = const(22)
_BASE = const(23)       # this tick: index of its row in counts
_FULL = const(24)       # this tick: 1 if the ring is full (the row is the scratch row)
_TSEQ = const(25)       # this tick: its seq
_TTS = const(26)        # this tick: its time
_BUZZ_ON = const(27)    # buzzers on after the last tick (bit per motor)
_AINSEL = const(28)     # tick_rp2: ADC input of the multiplexer's common pin
_BUTTON = const(29)     # tick_rp2: GPIO of the button (-1: none)
_NSTATE = const(30)

# RP2040 registers (datasheet 2.3.1.7 SIO, 4.9.6 ADC, 4.6.5 TIMER)
_SIO_IN = const(0xD0000004)
_SIO_SET = const(0xD0000014)
_SIO_CLR = const(0xD0000018)
_SIO_XOR = const(0xD000001C)
_ADC_CS = const(0x4004C000)
_ADC_RESULT = const(0x4004C004)
_TIMERAWL = const(0x40054028)


def gray_order(mux_inputs):
    """Visit order for mux inputs in Gray-code order: one select line changes per step."""
    present = set(mux_inputs)
    out = []
    for i in range(16):
        g = i ^ (i >> 1)
        if g in present:
            out.append(g)
    return out


def _field(i):
    def get(self):
        return self.st[i]

    def put(self, v):
        self.st[i] = v
    return property(get, put)


class Sampler:
    """Samples channels on every tick of `timer` into a ring of `slots` samples.

    adc: object with read_u16() (0..65535, the top 12 bits are used for adc_bits=12);
    select_pins: the multiplexer's S0..S3 pins (objects with value(v));
    channel_mux: mux input of each channel, in channel order;
    channel_buzzer: index into buzzer_pins for each channel (-1: none);
    button: a pin reading 0 while pressed, or None; clock_us: returns microseconds
    (time.ticks_us); timer: a machine.Timer-like object (init/deinit).
    rp2: None, or the RP2040 wiring for tick_rp2 (GPIO numbers): a dict with
    "select" (S0..S3), "adc_input" (0..3), "buzzers" (one per buzzer pin), "button" (or -1).
    """

    head = _field(_HEAD)
    tail = _field(_TAIL)
    seq = _field(_SEQ)
    prev_ts = _field(_PREV_TS)
    period_us = _field(_PERIOD)
    late = _field(_LATE)
    drop_pending = _field(_DROP_PENDING)
    drop_seq = _field(_DROP_SEQ)
    drop_ts = _field(_DROP_TS)
    drop_total = _field(_DROP_TOTAL)
    over = _field(_OVER)
    lim_pending = _field(_LIM_PENDING)
    lim_ch = _field(_LIM_CH)
    lim_val = _field(_LIM_VAL)
    lim_seq = _field(_LIM_SEQ)
    lim_ts = _field(_LIM_TS)
    limit_ticks = _field(_LIMIT_TICKS)

    def __init__(self, adc, select_pins, channel_mux, slots, clock_us, timer,
                 adc_bits=12, buzzer_pins=(), channel_buzzer=None, button=None,
                 limit_buzz_ms=300, rp2=None):
        self.adc = adc
        self.pins = select_pins
        self.n = len(channel_mux)
        self.slots = slots
        self.clock = clock_us
        self.timer = timer
        self.st = array("i", [0] * _NSTATE)
        st = self.st
        st[_SLOTS] = slots
        st[_N] = self.n
        st[_SHIFT] = 16 - adc_bits
        st[_CUR_MUX] = -1
        st[_LIMIT_TICKS] = 1
        order = gray_order(channel_mux)
        self.order_mux = bytearray(order)
        self.order_ch = bytearray([channel_mux.index(m) for m in order])
        # ring: `slots` rows plus one scratch row that a dropped sample is read into
        self.counts = array("H", [0] * ((slots + 1) * self.n))
        self.ts = array("I", [0] * slots)
        self.seqs = array("H", [0] * slots)
        self.flags = bytearray(slots)
        self.rate_hz = 0
        # hard limits (counts, 0 = off)
        self.limits = array("H", [0] * self.n)
        self.limit_buzz_ms = limit_buzz_ms
        # buzzers: ticks left to run per motor
        self.buzz_pins = buzzer_pins
        self.nbuzz = len(buzzer_pins)
        st[_NBUZZ] = self.nbuzz
        self.buzz_left = array("i", [0] * max(1, self.nbuzz))
        cb = channel_buzzer if channel_buzzer is not None else [-1] * self.n
        self.ch_buzzer = array("b", cb)
        self.button = button
        # tick_rp2's wiring: GPIO masks of each mux input's select levels and of the buzzers
        self.rp2 = rp2
        self.mux_bits = array("i", [0] * 16)
        self.buzz_bits = array("i", [0] * max(1, self.nbuzz))
        if rp2 is not None:
            sel = rp2["select"]
            for m in range(16):
                bits = 0
                for b in range(4):
                    if (m >> b) & 1:
                        bits |= 1 << sel[b]
                self.mux_bits[m] = bits
            for i, g in enumerate(rp2["buzzers"]):
                self.buzz_bits[i] = 1 << g
            st[_AINSEL] = rp2["adc_input"]
            st[_BUTTON] = rp2["button"]
        self.callback = self.tick if rp2 is None else self.tick_rp2

    # --- timer context -----------------------------------------------------------------
    @micropython.viper
    def _begin(self, ts: int) -> int:
        # Stamp this tick; returns the index in counts of the row it fills.
        st = ptr32(self.st)
        seq = st[_SEQ]
        st[_SEQ] = (seq + 1) & SEQ_MASK
        st[_TSEQ] = seq
        st[_TTS] = ts
        period = st[_PERIOD]
        if period:
            if ((ts - st[_PREV_TS]) & TS_MASK) > period + (period >> 1):
                st[_LATE] = st[_LATE] + 1
        st[_PREV_TS] = ts
        h = st[_HEAD]
        slots = st[_SLOTS]
        nxt = h + 1
        if nxt == slots:
            nxt = 0
        full = 0
        if nxt == st[_TAIL]:
            full = 1
            h = slots
        st[_FULL] = full
        base = h * st[_N]
        st[_BASE] = base
        return base

    @micropython.viper
    def _finish(self, flags: int) -> int:
        # Limits, buzzers, ring. Returns the buzzers that are on (bit per motor).
        st = ptr32(self.st)
        counts = ptr16(self.counts)
        lim = ptr16(self.limits)
        chb = ptr8(self.ch_buzzer)          # int8: 0xFF = no buzzer
        bl = ptr32(self.buzz_left)
        n = st[_N]
        base = st[_BASE]
        seq = st[_TSEQ]
        ts = st[_TTS]
        over = st[_OVER]
        hit = st[_HIT]
        ticks = st[_LIMIT_TICKS]
        ch = 0
        while ch < n:
            bit = 1 << ch
            limit = lim[ch]
            v = counts[base + ch]
            if limit and v >= limit:
                if hit & bit:
                    # the second raw sample in a row at or above the limit: trip
                    flags |= FLAG_LIMIT
                    b = chb[ch]
                    if b != 0xFF:
                        if bl[b] < ticks:
                            bl[b] = ticks
                    if not (over & bit):
                        over |= bit
                        if not st[_LIM_PENDING]:
                            st[_LIM_PENDING] = 1
                            st[_LIM_CH] = ch
                            st[_LIM_VAL] = v
                            st[_LIM_SEQ] = seq
                            st[_LIM_TS] = ts
                hit |= bit
            else:
                hit &= ~bit
                over &= ~bit
            ch += 1
        st[_OVER] = over
        st[_HIT] = hit
        on = 0
        nb = st[_NBUZZ]
        b = 0
        while b < nb:
            left = bl[b]
            if left > 0:
                left -= 1
                bl[b] = left
                if left:
                    on |= 1 << b
            b += 1
        if on:
            flags |= FLAG_BUZZING
        st[_BUZZ_ON] = on
        if st[_FULL]:
            if not st[_DROP_PENDING]:
                st[_DROP_SEQ] = seq
                st[_DROP_TS] = ts
            st[_DROP_PENDING] = st[_DROP_PENDING] + 1
            st[_DROP_TOTAL] = st[_DROP_TOTAL] + 1
        else:
            h = st[_HEAD]
            tsa = ptr32(self.ts)
            sq = ptr16(self.seqs)
            fl = ptr8(self.flags)
            tsa[h] = ts
            sq[h] = seq
            fl[h] = flags
            h += 1
            if h == st[_SLOTS]:
                h = 0
            st[_HEAD] = h
        return on

    def tick(self, _timer=None):
        """The timer callback, through the board's pin and ADC objects."""
        base = self._begin(self.clock() & TS_MASK)
        st = self.st
        counts = self.counts
        adc = self.adc
        pins = self.pins
        omux = self.order_mux
        och = self.order_ch
        shift = st[_SHIFT]
        prev = st[_CUR_MUX]
        for k in range(self.n):
            m = omux[k]
            x = m ^ prev
            if x:
                if x & 1:
                    pins[0].value(m & 1)
                if x & 2:
                    pins[1].value((m >> 1) & 1)
                if x & 4:
                    pins[2].value((m >> 2) & 1)
                if x & 8:
                    pins[3].value((m >> 3) & 1)
                prev = m
            counts[base + och[k]] = adc.read_u16() >> shift
        st[_CUR_MUX] = prev
        flags = 0
        if self.button is not None and not self.button.value():
            flags = FLAG_BUTTON
        was = st[_BUZZ_ON]
        on = self._finish(flags)
        if on != was:
            for b in range(self.nbuzz):
                if (on ^ was) & (1 << b):
                    self.buzz_pins[b].value((on >> b) & 1)

    @micropython.viper
    def tick_rp2(self, _timer):
        """The timer callback on an RP2040: the same work through its registers."""
        st = ptr32(self.st)
        base = int(self._begin(ptr32(_TIMERAWL)[0] & TS_MASK))
        counts = ptr16(self.counts)
        omux = ptr8(self.order_mux)
        och = ptr8(self.order_ch)
        mbits = ptr32(self.mux_bits)
        xor = ptr32(_SIO_XOR)
        cs = ptr32(_ADC_CS)
        res = ptr32(_ADC_RESULT)
        start = 1 | (st[_AINSEL] << 12) | 4       # EN, AINSEL, START_ONCE
        shift = st[_SHIFT] - 4                     # RESULT is 12 bits already
        prev = st[_CUR_MUX]
        n = st[_N]
        k = 0
        while k < n:
            m = omux[k]
            if m != prev:
                xor[0] = mbits[m] ^ mbits[prev]
                prev = m
            cs[0] = start
            while not (cs[0] & 0x100):             # READY
                pass
            counts[base + och[k]] = res[0] >> shift
            k += 1
        st[_CUR_MUX] = prev
        flags = 0
        btn = st[_BUTTON]
        if btn >= 0:
            if not (ptr32(_SIO_IN)[0] & (1 << btn)):
                flags = FLAG_BUTTON
        was = st[_BUZZ_ON]
        on = int(self._finish(flags))
        if on != was:
            bb = ptr32(self.buzz_bits)
            setm = 0
            clrm = 0
            b = 0
            nb = st[_NBUZZ]
            while b < nb:
                if on & (1 << b):
                    setm |= bb[b]
                else:
                    clrm |= bb[b]
                b += 1
            ptr32(_SIO_SET)[0] = setm
            ptr32(_SIO_CLR)[0] = clrm

    # --- main-loop side ----------------------------------------------------------------
    def start(self, rate_hz, timer_init):
        """(Re)start the timer at rate_hz. timer_init(freq, callback) arms the timer."""
        self.timer.deinit()
        st = self.st
        # park the multiplexer on the first input so a tick only writes the lines that change
        m = self.order_mux[0]
        for b in range(4):
            self.pins[b].value((m >> b) & 1)
        st[_CUR_MUX] = m
        self.rate_hz = rate_hz
        st[_PERIOD] = 1000000 // rate_hz
        st[_LIMIT_TICKS] = max(1, (self.limit_buzz_ms * rate_hz + 999) // 1000)
        st[_PREV_TS] = self.clock() & TS_MASK
        timer_init(rate_hz, self.callback)

    def stop(self):
        self.timer.deinit()
        for b in range(self.nbuzz):
            self.buzz_left[b] = 0
            self.buzz_pins[b].value(0)
        self.st[_BUZZ_ON] = 0

    @micropython.viper
    def events_waiting(self, late_reported: int) -> int:
        """Non-zero if a DROP or LIMIT is pending or late ticks were counted since
        late_reported (one cheap call for the main loop's idle passes)."""
        st = ptr32(self.st)
        return st[_DROP_PENDING] | st[_LIM_PENDING] | (st[_LATE] ^ late_reported)

    @micropython.viper
    def work_waiting(self, late_reported: int) -> int:
        """Non-zero if a sample is in the ring or an event is waiting (see events_waiting):
        the main loop's test before it sleeps."""
        st = ptr32(self.st)
        return ((st[_HEAD] ^ st[_TAIL]) | st[_DROP_PENDING] | st[_LIM_PENDING]
                | (st[_LATE] ^ late_reported))

    @micropython.viper
    def take_drop(self, out) -> int:
        """Move the pending drop report into out (array('i'): count, first seq, first t_us)
        and clear it; returns the count. The caller holds interrupts off around it."""
        st = ptr32(self.st)
        o = ptr32(out)
        n = st[_DROP_PENDING]
        o[0] = n
        o[1] = st[_DROP_SEQ]
        o[2] = st[_DROP_TS]
        st[_DROP_PENDING] = 0
        return n

    @micropython.viper
    def take_limit(self, out) -> int:
        """Move the pending limit report into out (array('i'): channel, counts, seq, t_us)
        and clear it; returns 1 if there was one. The caller holds interrupts off."""
        st = ptr32(self.st)
        o = ptr32(out)
        p = st[_LIM_PENDING]
        o[0] = st[_LIM_CH]
        o[1] = st[_LIM_VAL]
        o[2] = st[_LIM_SEQ]
        o[3] = st[_LIM_TS]
        st[_LIM_PENDING] = 0
        return p

    def available(self):
        st = self.st
        d = st[_HEAD] - st[_TAIL]
        return d + st[_SLOTS] if d < 0 else d

    def release(self, k):
        """The main loop is done with the k oldest samples."""
        st = self.st
        t = st[_TAIL] + k
        if t >= st[_SLOTS]:
            t -= st[_SLOTS]
        st[_TAIL] = t

    def discard(self):
        self.st[_TAIL] = self.st[_HEAD]

    def buzz(self, motor, ms):
        """Run buzzer `motor` for ms milliseconds (0 stops it); counted in ticks."""
        ticks = (ms * self.rate_hz + 999) // 1000
        self.buzz_left[motor] = ticks
        if ticks == 0:
            self.buzz_pins[motor].value(0)
            self.st[_BUZZ_ON] &= ~(1 << motor)
