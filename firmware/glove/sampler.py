# Timer-paced sampling of the multiplexed FSR channels into a preallocated ring buffer.
#
# tick() is the hardware timer callback. It allocates nothing (tests run it under
# micropython.heap_lock()), calls no user code and never prints: it walks the multiplexer,
# reads the ADC, stamps seq and time, checks the hard limits and drives the buzzers.
# Everything else (framing, USB, commands) happens in the main loop, which reads the ring.
#
# Overflow policy (PROTOCOL.md 2.5): when the ring is full the NEWEST sample is dropped:
# its seq is skipped, it is counted, and the first dropped seq/time are kept so the main
# loop can send one DROP event once there is room. Hard limits are checked on every sample,
# dropped or not.
from micropython import const
from array import array

TS_MASK = const(0x3FFFFFFF)     # t_us wraps at 2^30 (PROTOCOL.md 2.5)
SEQ_MASK = const(0xFFFF)

FLAG_BUZZING = const(0x01)
FLAG_BUTTON = const(0x02)
FLAG_LIMIT = const(0x04)


def gray_order(mux_inputs):
    """Visit order for mux inputs in Gray-code order: one select line changes per step."""
    present = set(mux_inputs)
    out = []
    for i in range(16):
        g = i ^ (i >> 1)
        if g in present:
            out.append(g)
    return out


class Sampler:
    """Samples channels on every tick of `timer` into a ring of `slots` samples.

    adc: object with read_u16() (0..65535, the top 12 bits are used for adc_bits=12);
    select_pins: the multiplexer's S0..S3 pins (objects with value(v));
    channel_mux: mux input of each channel, in channel order;
    channel_buzzer: index into buzzer_pins for each channel (-1: none);
    button: a pin reading 0 while pressed, or None; clock_us: returns microseconds
    (time.ticks_us); timer: a machine.Timer-like object (init/deinit).
    """

    def __init__(self, adc, select_pins, channel_mux, slots, clock_us, timer,
                 adc_bits=12, buzzer_pins=(), channel_buzzer=None, button=None,
                 limit_buzz_ms=300):
        self.adc = adc
        self.pins = select_pins
        self.n = len(channel_mux)
        self.slots = slots
        self.clock = clock_us
        self.timer = timer
        self.shift = 16 - adc_bits
        order = gray_order(channel_mux)
        self.order_mux = array("B", order)
        self.order_ch = array("B", [channel_mux.index(m) for m in order])
        self.cur_mux = -1
        # ring: `slots` rows plus one scratch row that a dropped sample is read into
        self.counts = array("H", [0] * ((slots + 1) * self.n))
        self.ts = array("L", [0] * slots)
        self.seqs = array("H", [0] * slots)
        self.flags = bytearray(slots)
        self.head = 0      # next slot the timer writes (only the timer moves it)
        self.tail = 0      # next slot the main loop reads (only the main loop moves it)
        self.seq = 0
        self.prev_ts = 0
        self.period_us = 0
        self.rate_hz = 0
        # drops since the last report, and the first dropped sample's seq and time
        self.drop_pending = 0
        self.drop_seq = 0
        self.drop_ts = 0
        self.drop_total = 0
        self.late = 0          # ticks that came more than 1.5 periods after the previous
        # hard limits (counts, 0 = off), tripped-channel mask, first trip not yet reported
        self.limits = array("H", [0] * self.n)
        self.over = 0
        self.lim_pending = 0
        self.lim_ch = 0
        self.lim_val = 0
        self.lim_seq = 0
        self.lim_ts = 0
        self.limit_buzz_ms = limit_buzz_ms
        self.limit_ticks = 1
        # buzzers: ticks left to run per motor
        self.buzz_pins = buzzer_pins
        self.nbuzz = len(buzzer_pins)
        self.buzz_left = array("l", [0] * max(1, self.nbuzz))
        cb = channel_buzzer if channel_buzzer is not None else [-1] * self.n
        self.ch_buzzer = array("b", cb)
        self.button = button

    # --- timer context -----------------------------------------------------------------
    def tick(self, _timer=None):
        ts = self.clock() & TS_MASK
        seq = self.seq
        self.seq = (seq + 1) & SEQ_MASK
        if self.period_us and ((ts - self.prev_ts) & TS_MASK) > self.period_us + (self.period_us >> 1):
            self.late += 1
        self.prev_ts = ts
        n = self.n
        h = self.head
        nxt = h + 1
        if nxt == self.slots:
            nxt = 0
        full = nxt == self.tail
        base = (self.slots if full else h) * n
        counts = self.counts
        adc = self.adc
        pins = self.pins
        omux = self.order_mux
        och = self.order_ch
        lim = self.limits
        shift = self.shift
        prev = self.cur_mux
        flags = 0
        for k in range(n):
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
            v = adc.read_u16() >> shift
            ch = och[k]
            counts[base + ch] = v
            limit = lim[ch]
            if limit:
                bit = 1 << ch
                if v >= limit:
                    flags |= FLAG_LIMIT
                    b = self.ch_buzzer[ch]
                    if b >= 0 and self.buzz_left[b] < self.limit_ticks:
                        self.buzz_left[b] = self.limit_ticks
                    if not (self.over & bit):
                        self.over |= bit
                        if not self.lim_pending:
                            self.lim_pending = 1
                            self.lim_ch = ch
                            self.lim_val = v
                            self.lim_seq = seq
                            self.lim_ts = ts
                elif self.over & bit:
                    self.over &= ~bit
        self.cur_mux = prev
        bl = self.buzz_left
        for b in range(self.nbuzz):
            left = bl[b]
            if left > 0:
                left -= 1
                bl[b] = left
                if left:
                    flags |= FLAG_BUZZING
                    self.buzz_pins[b].value(1)
                else:
                    self.buzz_pins[b].value(0)
        if self.button is not None and not self.button.value():
            flags |= FLAG_BUTTON
        if full:
            if not self.drop_pending:
                self.drop_seq = seq
                self.drop_ts = ts
            self.drop_pending += 1
            self.drop_total += 1
        else:
            self.ts[h] = ts
            self.seqs[h] = seq
            self.flags[h] = flags
            self.head = nxt

    # --- main-loop side ----------------------------------------------------------------
    def start(self, rate_hz, timer_init):
        """(Re)start the timer at rate_hz. timer_init(freq, callback) arms the timer."""
        self.timer.deinit()
        # park the multiplexer on the first input so tick() only writes the lines that change
        m = self.order_mux[0]
        for b in range(4):
            self.pins[b].value((m >> b) & 1)
        self.cur_mux = m
        self.rate_hz = rate_hz
        self.period_us = 1000000 // rate_hz
        self.limit_ticks = max(1, (self.limit_buzz_ms * rate_hz + 999) // 1000)
        self.prev_ts = self.clock() & TS_MASK
        timer_init(rate_hz, self.tick)

    def stop(self):
        self.timer.deinit()
        for b in range(self.nbuzz):
            self.buzz_left[b] = 0
            self.buzz_pins[b].value(0)

    def available(self):
        d = self.head - self.tail
        return d + self.slots if d < 0 else d

    def release(self, k):
        """The main loop is done with the k oldest samples."""
        t = self.tail + k
        if t >= self.slots:
            t -= self.slots
        self.tail = t

    def discard(self):
        self.tail = self.head

    def buzz(self, motor, ms):
        """Run buzzer `motor` for ms milliseconds (0 stops it); counted in ticks."""
        ticks = (ms * self.rate_hz + 999) // 1000
        self.buzz_left[motor] = ticks
        if ticks == 0:
            self.buzz_pins[motor].value(0)
