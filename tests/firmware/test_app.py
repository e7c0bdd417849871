# The command loop end to end on test doubles: every command, errors, events, streaming.
import binascii as zlib
from fakeboard import Board, check, done, decoded, load_vectors
import glove.app as appmod
from glove import config


def cmd(app, bd, s):
    b = s.encode()
    bd.stdin.feed(b + (b"*%08x\n" % (zlib.crc32(b) & 0xFFFFFFFF)))
    app.service()
    return decoded(bd.stdout)


bd = Board()
app = appmod.App(bd)
check(app.n == len(config.channels()), "channels from config")
app.sampler.start(app.rate, bd.timer_init)

# identify
out = cmd(app, bd, "1 id")
check(len(out) == 1 and out[0][0] == "meta" and out[0][1] == 1, "id answered by META")
meta = out[0][2]
for k in ("protocol", "firmware", "board", "glove_id", "channels", "adc_bits", "rate_hz", "limits"):
    check(k in meta, "meta has " + k)
check(meta["channels"][7]["class"] == "fsr406" and meta["channels"][7]["r_divider_ohm"] == 680,
      "palm sensor class and divider")
check(meta["max_rate_hz"] == 1000, "1 kHz possible for 16 channels")

# stop before start: OK, no data
bd.timer.fire(5)
out = cmd(app, bd, "2 stop")
check(out == [("reply", 2, 0, "")], "stop OK and no data")

# start: data from the next sample on, in seq order
out = cmd(app, bd, "3 start")
check(out == [("reply", 3, 0, "")], "start OK")
bd.timer.fire(40)
while app.service():
    pass
out = decoded(bd.stdout)
data = [f for f in out if f[0] == "data"]
check(len(data) == 40, "40 samples streamed, got %d" % len(data))
seqs = [f[1] for f in data]
check(seqs == list(range(seqs[0], seqs[0] + 40)), "consecutive seq")
check(data[1][2] - data[0][2] == 5000, "200 Hz timestamps")

# rate change: RATE event with the first seq at the new rate
out = cmd(app, bd, "4 rate 1000")
check(("reply", 4, 0, "1000") in out, "rate OK")
check(any(f[0] == "event" and f[1] == 6 and f[5] == 1000 for f in out), "RATE event")
check(bd.timer.freq == 1000, "timer re-armed at 1 kHz")

# errors never change state and never crash
cases = [("5 rate 0", 4), ("6 rate 1001", 4), ("7 rate abc", 4), ("8 bogus", 3), ("9 buzz 9000", 4),
         ("10 buzz 100 nose", 4), ("11 limit 16 100", 4), ("12 limit 0 5000", 4), ("13 ping extra", 4)]
for text, status in cases:
    out = [f for f in cmd(app, bd, text) if f[0] == "reply"]
    check(len(out) == 1 and out[0][2] == status, "%r -> status %d, got %r" % (text, status, out))
check(bd.timer.freq == 1000, "bad rate left the rate alone")
bd.stdin.feed(b"x" * 200 + b"\n")
while app.service():
    pass
out = [f for f in decoded(bd.stdout) if f[0] == "reply"]
check(out and out[0][1] == 0xFFFF and out[0][2] == 2, "overlong line BAD_FORMAT 0xFFFF")
bd.stdin.feed(b"14 ping*00000000\n")
app.service()
out = [f for f in decoded(bd.stdout) if f[0] == "reply"]
check(out == [("reply", 14, 1, "crc does not match the line")], "bad crc BAD_CRC with seq")

# every command vector gets the expected status from the whole firmware
V = load_vectors()
bd2 = Board()
app2 = appmod.App(bd2)
app2.sampler.start(200, bd2.timer_init)
for c in V["commands"]:
    bd2.stdin.feed(c["line"].encode())
    for _ in range(4):
        app2.service()
    replies = [f for f in decoded(bd2.stdout) if f[0] in ("reply", "meta")]
    if c["line"].strip() == "" :
        continue
    if not replies:
        check(c.get("status") is None, "no answer to %r" % c["line"])
        continue
    r = replies[0]
    st = 0 if r[0] == "meta" else r[2]
    check(st == c["status"] and r[1] == c["seq"], "vector %r: got %r" % (c["line"], r))
    cmd(app2, bd2, "60000 rate 200")
    cmd(app2, bd2, "60001 limit all 0")

# hard limit: LIMIT event with channel and counts
cmd(app, bd, "20 limit 5 3000")
bd.adc.values[5] = 3500
bd.timer.fire(1)
app.service()
out = decoded(bd.stdout)
check(not [f for f in out if f[0] == "event" and f[1] == 3], "one raw sample over: no LIMIT event")
bd.timer.fire(1)
app.service()
out += decoded(bd.stdout)
ev = [f for f in out if f[0] == "event" and f[1] == 3]
check(len(ev) == 1 and ev[0][2] == 5 and ev[0][5] == 3500, "LIMIT event for channel 5")
check(any(f[0] == "data" and f[3] & 4 for f in out), "LIMIT flag in data")
bd.adc.values[5] = 0
# PROTOCOL.md LIMIT: at most one event per sample (the lowest channel tripping in it);
# a limit set again re-arms a channel that stays over, which sends a new event
cmd(app, bd, "22 limit all 3000")
bd.adc.values[3] = 3600
bd.adc.values[9] = 3700
bd.timer.fire(2)
app.service()
out = decoded(bd.stdout)
ev = [f for f in out if f[0] == "event" and f[1] == 3]
check(len(ev) == 1 and ev[0][2] == 3, "two channels tripping in one sample: one LIMIT event, channel 3: %r" % ev)
bd.timer.fire(2)
app.service()
out = decoded(bd.stdout)
check(not [f for f in out if f[0] == "event" and f[1] == 3], "channels staying over: no new event")
cmd(app, bd, "23 limit 9 3000")
bd.timer.fire(1)
app.service()
out = decoded(bd.stdout)
ev = [f for f in out if f[0] == "event" and f[1] == 3]
check(len(ev) == 1 and ev[0][2] == 9, "limit set again while over: re-armed, a new event: %r" % ev)
bd.adc.values[3] = 0
bd.adc.values[9] = 0
bd.adc.values[5] = 0
cmd(app, bd, "21 limit all 0")

# overflow: the host stops reading; DROP event reports how many and from which seq
bd.timer.fire(config.RING_SLOTS + 50)
while app.service():
    pass
out = decoded(bd.stdout)
data = [f for f in out if f[0] == "data"]
drops = [f for f in out if f[0] == "event" and f[1] == 2]
check(len(drops) == 1 and drops[0][5] == 51, "one DROP event for 51 samples, got %r" % (drops,))
check(len(data) == config.RING_SLOTS - 1, "the ring's samples all sent")
if drops:
    check(drops[0][3] == (data[-1][1] + 1) & 0xFFFF, "DROP names the first dropped seq")

# buzz
cmd(app, bd, "22 buzz 100 left")
bd.timer.fire(2)
check(bd.buzzer_pins[1].v == 1 and bd.buzzer_pins[0].v == 0, "left motor buzzing")
bd.timer.fire(200)
check(bd.buzzer_pins[1].v == 0, "left motor stops")
decoded(bd.stdout)

# ping returns the device clock
out = cmd(app, bd, "23 ping")
check(out[0][0] == "reply" and out[0][3].isdigit(), "ping returns t_us")

# an exception in the loop becomes a FAULT event and the loop goes on
orig = app.send_data
def boom():
    raise ValueError("test fault")
app.send_data = boom
try:
    app.service()
    check(False, "service should raise")
except ValueError:
    pass
app.send_data = orig

# reset replies first
out = cmd(app, bd, "24 reset")
check(out and out[0][:3] == ("reply", 24, 0) and bd.resets == 1, "reset after reply")

done("test_app")
