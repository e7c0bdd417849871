# The glove's main loop: commands from the host, DATA frames from the ring, events, button.
import json
import micropython
from array import array
from micropython import const

from glove import config
from glove import wire
from glove.sampler import Sampler

BUTTON_POLL_MS = const(5)   # the button is read at most this often by the main loop

BATCH = const(16)           # DATA frames encoded per USB write
READ_PER_PASS = const(128)  # command bytes read per pass before the ring is served again
MAX_BUZZ_MS = const(5000)


class App:
    """Runs the glove on `board` (glove.board.Board or a test double with the same members)."""

    def __init__(self, board, rate_hz=None):
        self.b = board
        chans = config.channels()
        self.chans = chans
        self.n = len(chans)
        classes = config.SENSOR_CLASSES
        hands = list(board.buzzer_hands)
        self.sampler = Sampler(
            board.adc, board.select_pins, [c[0] for c in chans], config.RING_SLOTS,
            board.ticks_us, board.timer, adc_bits=config.ADC_BITS,
            buzzer_pins=board.buzzer_pins,
            channel_buzzer=[hands.index(c[2]) if c[2] in hands else -1 for c in chans],
            button=board.button, limit_buzz_ms=config.LIMIT_BUZZ_MS,
            rp2=getattr(board, "rp2", None))
        self.full = (1 << config.ADC_BITS) - 1
        self.max_rate = min(config.MAX_RATE_HZ, config.MAX_CHANNEL_SAMPLES_PER_S // self.n)
        self.rate = rate_hz or min(config.DEFAULT_RATE_HZ, self.max_rate)
        self.streaming = False
        self.fr = wire.Framer()
        self.frame_len = wire.data_wire_length(self.n)
        self.batch = bytearray(BATCH * self.frame_len)
        self.batch_mv = memoryview(self.batch)
        self.line = bytearray(wire.MAX_LINE + 1)
        self.line_len = 0
        self.line_over = False
        self.b1 = bytearray(1)
        self.rate_event = -1          # seq of the first sample at a new rate, to report
        self.late_reported = 0
        self.button_state = 1
        self.button_since = 0
        self.button_checked = 0
        self.ev = array("i", [0] * 4)   # an event taken from the sampler (no tuples)
        self.glove_id = board.glove_id()
        self.class_of = [classes[c[4]] for c in chans]

    # --- output ---------------------------------------------------------------------
    def _send(self, n):
        self.b.stdout.write(self.fr.wire_mv[:n])

    def reply(self, seq, status, text=""):
        self._send(self.fr.reply(seq, status, text))

    def event(self, kind, channel, seq, t_us, value, text=""):
        self._send(self.fr.event(kind, channel, seq & 0xFFFF, t_us & wire_ts_mask(), value, text))

    def meta(self, seq):
        m = {
            "protocol": wire.PROTOCOL_VERSION, "firmware": config.FIRMWARE_VERSION,
            "board": config.BOARD, "platform": self.b.platform, "glove_id": self.glove_id,
            "hands": list(config.HANDS),
            "channels": [{"index": i, "name": c[1], "hand": c[2], "site": c[3], "class": c[4],
                          "r_divider_ohm": self.class_of[i]["r_divider_ohm"],
                          "r_bleed_ohm": self.class_of[i]["r_bleed_ohm"]}
                         for i, c in enumerate(self.chans)],
            "adc_bits": config.ADC_BITS, "vref_v": config.VREF_V, "rate_hz": self.rate,
            "min_rate_hz": config.MIN_RATE_HZ, "max_rate_hz": self.max_rate,
            "ts_bits": 30, "seq_bits": 16, "ring_slots": config.RING_SLOTS,
            "streaming": self.streaming, "limits": list(self.sampler.limits),
            "buzzers": list(self.b.buzzer_hands), "button": self.b.button is not None,
        }
        self._send(self.fr.meta(seq, json.dumps(m, separators=(",", ":"))))

    # --- commands -------------------------------------------------------------------
    def handle_line(self, line):
        try:
            cmd = wire.parse_command(line)
        except wire.CommandError as e:
            self.reply(e.seq, e.status, e.text)
            return
        try:
            self.execute(cmd)
        except wire.CommandError as e:
            self.reply(e.seq, e.status, e.text)
        except Exception as e:  # a bug must not take the glove down: report it
            self.reply(cmd.seq, wire.ST_INTERNAL, "internal error: %r" % (e,))

    def _int_arg(self, cmd, s, lo, hi, what):
        ok = 0 < len(s) <= 6
        for c in s:
            if c < "0" or c > "9":
                ok = False
        if not ok or not (lo <= int(s) <= hi):
            raise wire.CommandError(cmd.seq, wire.ST_BAD_ARGUMENT,
                                    "%s must be a whole number from %d to %d" % (what, lo, hi))
        return int(s)

    def _nargs(self, cmd, lo, hi):
        if not (lo <= len(cmd.args) <= hi):
            raise wire.CommandError(cmd.seq, wire.ST_BAD_ARGUMENT,
                                    "%s takes %s argument(s)" % (cmd.verb, lo if lo == hi else "%d to %d" % (lo, hi)))

    def execute(self, cmd):
        v = cmd.verb
        s = self.sampler
        if v == "ping":
            self._nargs(cmd, 0, 0)
            self.reply(cmd.seq, wire.ST_OK, str(self.b.ticks_us() & wire_ts_mask()))
        elif v == "id":
            self._nargs(cmd, 0, 0)
            self.meta(cmd.seq)
        elif v == "start":
            self._nargs(cmd, 0, 0)
            self._irq_off()
            s.discard()
            s.drop_pending = 0
            self._irq_on()
            self.streaming = True
            if self.b.led is not None:
                self.b.led.value(1)
            self.reply(cmd.seq, wire.ST_OK)
        elif v == "stop":
            self._nargs(cmd, 0, 0)
            self.streaming = False
            s.discard()
            if self.b.led is not None:
                self.b.led.value(0)
            self.reply(cmd.seq, wire.ST_OK)
        elif v == "rate":
            self._nargs(cmd, 1, 1)
            hz = self._int_arg(cmd, cmd.args[0], config.MIN_RATE_HZ, self.max_rate, "rate (Hz)")
            self.rate = hz
            self.rate_event = s.seq
            s.start(hz, self.b.timer_init)
            self.reply(cmd.seq, wire.ST_OK, str(hz))
        elif v == "buzz":
            self._nargs(cmd, 1, 2)
            ms = self._int_arg(cmd, cmd.args[0], 0, MAX_BUZZ_MS, "buzz time (ms)")
            hand = cmd.args[1] if len(cmd.args) > 1 else "all"
            hands = list(self.b.buzzer_hands)
            if hand == "all":
                motors = range(len(hands))
            elif hand in hands:
                motors = (hands.index(hand),)
            else:
                raise wire.CommandError(cmd.seq, wire.ST_BAD_ARGUMENT,
                                        "no buzzer on hand %r: this glove has %s" % (hand, ", ".join(hands) or "none"))
            for m in motors:
                s.buzz(m, ms)
            self.reply(cmd.seq, wire.ST_OK)
        elif v == "limit":
            self._nargs(cmd, 2, 2)
            value = self._int_arg(cmd, cmd.args[1], 0, self.full, "limit (counts)")
            if cmd.args[0] == "all":
                chans = range(self.n)
            else:
                chans = (self._int_arg(cmd, cmd.args[0], 0, self.n - 1, "channel"),)
            self._irq_off()
            for ch in chans:
                s.limits[ch] = value
                # re-armed (PROTOCOL.md, `limit`): a channel already over trips again
                s.over = s.over & ~(1 << ch)
            self._irq_on()
            self.reply(cmd.seq, wire.ST_OK)
        elif v == "reset":
            self._nargs(cmd, 0, 0)
            self.reply(cmd.seq, wire.ST_OK)
            s.stop()
            self.b.reset()
        else:
            raise wire.CommandError(cmd.seq, wire.ST_UNKNOWN, "unknown command %r" % v)

    def _irq_off(self):
        self._irq = self.b.disable_irq()

    def _irq_on(self):
        self.b.enable_irq(self._irq)

    def read_commands(self):
        """Read what the host sent (up to READ_PER_PASS bytes) and act on complete lines."""
        b = self.b
        got = 0
        while got < READ_PER_PASS and b.rx_ready():
            if not b.stdin.readinto(self.b1):
                break
            got += 1
            c = self.b1[0]
            if c == 0x0A:
                n = self.line_len
                self.line_len = 0
                if self.line_over:
                    self.line_over = False
                    self.reply(wire.NO_SEQ, wire.ST_BAD_FORMAT, "line longer than 96 bytes")
                elif n:
                    self.handle_line(bytes(self.line[:n]))
            elif c == 0x0D:
                pass
            elif self.line_over:
                pass
            elif self.line_len >= wire.MAX_LINE:
                self.line_over = True
                self.line_len = 0
            else:
                self.line[self.line_len] = c
                self.line_len += 1
        return got

    # --- data and events ------------------------------------------------------------
    def send_data(self):
        """Encode up to BATCH waiting samples into one write. Returns how many were sent."""
        s = self.sampler
        k = s.available()
        if not k:
            return 0
        if not self.streaming:
            s.release(k)
            return 0
        if k > BATCH:
            k = BATCH
        off = 0
        t = s.tail
        n = self.n
        for _ in range(k):
            off = self.fr.data(s.seqs[t], s.ts[t], s.flags[t], s.counts, t * n, n, self.batch, off)
            t += 1
            if t == s.slots:
                t = 0
        self.b.stdout.write(self.batch, off)      # (a slice would allocate a memoryview)
        s.release(k)
        return k

    def send_events(self):
        s = self.sampler
        # the common case first, in one call: nothing to report
        if s.events_waiting(self.late_reported) or self.rate_event >= 0:
            self._send_sampler_events(s)
        btn = self.b.button
        if btn is not None:
            now = self.b.ticks_ms()
            if self.b.ticks_diff(now, self.button_checked) >= BUTTON_POLL_MS:
                self.button_checked = now
                v = btn.value()
                if v != self.button_state:
                    if self.b.ticks_diff(now, self.button_since) >= config.BUTTON_DEBOUNCE_MS:
                        self.button_state = v
                        self.event(wire.EV_BUTTON, wire.NO_CHANNEL, s.seq, self.b.ticks_us(), 1 - v)
                else:
                    self.button_since = now

    def _send_sampler_events(self, s):
        ev = self.ev
        # every drop is reported at the next pass, with the exact count, even while the
        # ring stays full (PROTOCOL.md 2.5)
        self._irq_off()
        n = s.take_drop(ev)
        self._irq_on()
        if n and self.streaming:
            self.event(wire.EV_DROP, wire.NO_CHANNEL, ev[1], ev[2], n)
        self._irq_off()
        n = s.take_limit(ev)
        self._irq_on()
        if n:
            self.event(wire.EV_LIMIT, ev[0], ev[2], ev[3], ev[1])
        if self.rate_event >= 0:
            self.event(wire.EV_RATE, wire.NO_CHANNEL, self.rate_event, self.b.ticks_us(), self.rate)
            self.rate_event = -1
        if s.late != self.late_reported:
            late = s.late
            self.event(wire.EV_FAULT, wire.NO_CHANNEL, s.seq, self.b.ticks_us(), wire.FAULT_LATE,
                       "%d late samples: the timer fell behind" % (late - self.late_reported))
            self.late_reported = late

    def service(self):
        """One pass of the main loop; returns True if there was anything to do."""
        busy = self.read_commands()
        busy += self.send_data()
        self.send_events()
        return busy

    def loop(self, until_ms=None):
        """The main loop: serve the ring, the host and the events; sleep when there is
        nothing to do. Returns once ticks_ms() passes until_ms (never if None)."""
        s = self.sampler
        b = self.b
        while True:
            # an idle pass costs one viper call and one poll (a full service() pass costs
            # about four times as much on a Pico, and the core wakes for every interrupt)
            if s.work_waiting(self.late_reported) or b.rx_ready() or self.rate_event >= 0:
                self.service()
            else:
                if until_ms is not None and b.ticks_diff(b.ticks_ms(), until_ms) >= 0:
                    return
                b.idle()

    def run(self):
        s = self.sampler
        # a lone delimiter first: a host that read REPL text before (a restart from the
        # prompt) resynchronises at it, and the BOOT frame is not lost (PROTOCOL.md 2.3)
        self.b.stdout.write(b"\x00")
        self.event(wire.EV_BOOT, wire.NO_CHANNEL, 0, self.b.ticks_us(), self.b.reset_cause(),
                   config.FIRMWARE_VERSION)
        s.start(self.rate, self.b.timer_init)
        try:
            while True:
                try:
                    self.loop()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as e:
                    # Report and carry on: the host sees a FAULT event, the stream goes on.
                    try:
                        self.event(wire.EV_FAULT, wire.NO_CHANNEL, s.seq, self.b.ticks_us(),
                                   wire.FAULT_INTERNAL, "%s: %s" % (type(e).__name__, e))
                    except Exception:
                        pass
        finally:
            s.stop()
            if self.b.led is not None:
                self.b.led.value(0)


def wire_ts_mask():
    return 0x3FFFFFFF


def main():
    from glove.board import Board
    App(Board()).run()
