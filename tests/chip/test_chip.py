"""The glove firmware on its own chip: the official MicroPython rp2 port on an emulated
RP2040 (the chip bench), deployed as a littlefs image of the mpy-cross -march=armv6m build
(what `massage-glove flash --compile` copies), talked to through its USB serial port.

One chip for the module, tests in order (the later ones reconfigure it). Times are the
chip's own (emulated) time; the host side only waits.
"""
import re
import subprocess
import sys
import time

import pytest

import chipbench as cb
from conftest import boot
from massage_glove import protocol as P
from massage_glove.link import GloveLink
from massage_glove.portable import fsr
from massage_glove.sim import scripts

N_CH = 16
MAX_RATE_16 = 1000          # what the firmware promises for 16 channels (PROTOCOL.md 4)
LIMIT_BUZZ_MS = 300         # firmware/glove/config.py
RIGHT_BUZZER_GPIO = 15      # firmware/glove/config.py BUZZER_PINS
LEFT_BUZZER_GPIO = 14
# distinct, known counts per multiplexer input (below every limit used here)
QUIET = [150 + 61 * m for m in range(16)]


@pytest.fixture(scope="module")
def glove(bench, mpy_firmware, tmp_path_factory):
    img = bench.fs_image(tmp_path_factory.mktemp("img") / "fs.img", mpy_firmware)
    chip = bench.start("main", img, pace=False)
    try:
        chip.set_inputs(QUIET)
        ser = boot(chip)
        yield chip, ser
        ser.close()
    finally:
        chip.stop()


def stream(chip, ser, device_s):
    """Frames read while the chip runs device_s more seconds of its own time."""
    n0 = len(ser.frames)
    t_end = chip.now_s() + device_s
    while chip.now_s() < t_end:
        ser.pump(0.1)
    ser.pump(0.3)
    return ser.frames[n0:]


def check_stream(frames, rate_hz, n_ch, min_samples):
    """Zero lost samples, zero late ticks, no FAULT: returns the DATA frames."""
    data = [f for f in frames if isinstance(f, P.Data)]
    faults = [f for f in frames if isinstance(f, P.Event) and f.kind in (P.EV_FAULT, P.EV_DROP)]
    assert not faults, f"at {rate_hz} Hz: {faults[:5]}"
    assert len(data) >= min_samples, f"{len(data)} samples at {rate_hz} Hz, expected >= {min_samples}"
    lost = sum(((b.seq - a.seq) & 0xFFFF) - 1 for a, b in zip(data, data[1:]))
    assert lost == 0, f"{lost} samples lost at {rate_hz} Hz x {n_ch} ch"
    period = 1e6 / rate_hz
    steps = [((b.t_us - a.t_us) & 0x3FFFFFFF) for a, b in zip(data, data[1:])]
    late = [d for d in steps if d > 1.5 * period]   # the firmware's own definition
    assert not late, f"{len(late)} late ticks at {rate_hz} Hz (longest {max(late)} us)"
    mean = sum(steps) / len(steps)
    assert abs(mean - period) < 0.01 * period, f"mean sample period {mean:.1f} us at {rate_hz} Hz"
    assert all(len(f.counts) == n_ch for f in data)
    return data


def ev(ser, kind, since=0):
    return [f for f in ser.frames[since:] if isinstance(f, P.Event) and f.kind == kind]


def test_handshake_and_meta(glove):
    chip, ser = glove
    ser.close()                      # the host's own link, exclusive, does the handshake
    with GloveLink.open(chip.port, reconnect=False, handshake_timeout=15) as link:
        info = link.info
        assert len(info.channels) == N_CH
        assert info.raw["platform"] == "rp2"
        assert info.raw["adc_bits"] == 12
        assert info.raw["max_rate_hz"] == MAX_RATE_16
        assert info.raw["rate_hz"] == 200
        link.stop()
    ser.__init__(chip.port)


def test_every_command(glove):
    chip, ser = glove
    r = ser.command("ping")
    assert r.ok and r.text.isdigit()
    assert abs(int(r.text) / 1e6 - chip.now_s()) < 0.5
    m = ser.command("id")
    assert isinstance(m, P.Meta) and m.info["channels"][7]["name"] == "R_palm_heel"
    assert ser.command("rate", 500).ok
    i0 = len(ser.frames)
    assert ser.command("start").ok
    ser.wait_for(lambda f: isinstance(f, P.Event) and f.kind == P.EV_RATE and f.value == 500, 30)
    ser.wait_for(lambda f: isinstance(f, P.Data), 30)
    assert ser.command("stop").ok
    ser.pump(0.3)
    n = len(ser.data())
    ser.pump(0.5)
    assert len(ser.data()) == n, "DATA after stop"
    # refused: over the sustained maximum, zero, junk; unknown verb; bad CRC
    for args in ((MAX_RATE_16 + 1,), (0,), ("fast",)):
        r = ser.command("rate", *args)
        assert r.status == P.ST_BAD_ARGUMENT, (args, r)
    assert "1000" in ser.command("rate", 5000).text
    assert ser.command("frobnicate").status == P.ST_UNKNOWN_COMMAND
    ser.write(b"77 ping*00000000\n")
    f = ser.wait_for(lambda f: isinstance(f, P.Reply) and f.cmd_seq == 77, 30)
    assert f.status == P.ST_BAD_CRC
    assert ser.command("limit", 16, 100).status == P.ST_BAD_ARGUMENT
    assert ser.command("limit", "all", 0).ok
    # buzz: the right motor's pin is high for the time asked (chip time), the left stays low
    assert ser.command("rate", 200).ok
    chip.pins()
    assert ser.command("buzz", 60, "right").ok
    chip.wait_until(chip.now_s() + 0.3)
    p = chip.pins()
    assert [v for _, v in p[RIGHT_BUZZER_GPIO]] == [1, 0], p
    on = p[RIGHT_BUZZER_GPIO][1][0] - p[RIGHT_BUZZER_GPIO][0][0]
    assert 0.050 <= on <= 0.065, f"buzz 60 ms lasted {on * 1e3:.1f} ms"
    assert p[LEFT_BUZZER_GPIO] == []
    assert ser.command("buzz", 5000, "nose").status == P.ST_BAD_ARGUMENT
    del i0


def test_stream_200hz_16ch_no_loss_no_late_tick(glove):
    chip, ser = glove
    assert ser.command("rate", 200).ok
    assert ser.command("start").ok
    ser.wait_for(lambda f: isinstance(f, P.Data), 30)
    data = check_stream(stream(chip, ser, 3.0), 200, N_CH, 570)
    # every channel reads its own multiplexer input (channel i is mux input i)
    for f in data[-50:]:
        assert list(f.counts) == QUIET, f.counts
    assert ser.command("stop").ok


@pytest.mark.parametrize("rate", [500, MAX_RATE_16])
def test_stream_16ch_high_rates(glove, rate):
    chip, ser = glove
    assert ser.command("rate", rate).ok
    assert ser.command("start").ok
    ser.wait_for(lambda f: isinstance(f, P.Data), 30)
    check_stream(stream(chip, ser, 2.0), rate, N_CH, int(1.9 * rate))
    assert ser.command("stop").ok


def _press_table(info, limit_force_n, peak_n, rate_hz):
    """A quiet hand, a one-sample glitch on the palm heel, then a press of it from the
    project's force model: (rows at 1 ms, truth per row for the palm heel, limit counts)."""
    chans = [(c["index"], c["name"], c["hand"], c["site"], c["class"], c["r_divider_ohm"],
              c["r_bleed_ohm"]) for c in info["channels"]]
    script = scripts.held_forces_script([{"R_palm_heel": peak_n}], chans, hold_s=1.0, gap_s=0.6,
                                        ramp_s=0.2)
    n = int((0.6 + 1.0 + 0.6) * 1000)
    gt = scripts.ground_truth(script, chans, 1000.0, n)
    ch = 7
    c = info["channels"][ch]
    limit = int(round(fsr.counts_from_force(limit_force_n, c["class"], c["r_divider_ohm"],
                                            c["r_bleed_ohm"], 4095)))
    rows = [list(map(int, r)) for r in gt["counts"]]
    # a glitch shorter than one sample period: at most one sample can see it
    glitch_at = 200
    for k in range(glitch_at, glitch_at + int(0.6 * 1000 / rate_hz)):
        rows[k][ch] = 4095
    return rows, gt["force_n"][:, ch], limit, glitch_at


def test_hard_limit_buzzes_with_the_host_stalled(glove):
    chip, ser = glove
    rate = 200
    info = ser.command("id").info
    limit_n, peak_n = 15.0, 30.0
    rows, truth, limit, glitch_at = _press_table(info, limit_n, peak_n, rate)
    assert ser.command("rate", rate).ok
    assert ser.command("limit", 7, limit).ok
    assert ser.command("start").ok
    ser.wait_for(lambda f: isinstance(f, P.Data), 30)
    chip.pins()
    i0 = len(ser.frames)
    t0 = chip.play(rows, 1000)
    # the host stalls: it neither reads nor writes while the press plays
    chip.wait_until(t0 + len(rows) / 1000 + 0.2)
    p = chip.pins()
    chip.set_inputs(QUIET)
    cross = next(k for k, f in enumerate(truth) if f >= limit_n) / 1000
    uncross = max(k for k, f in enumerate(truth) if f >= limit_n) / 1000
    right = p[RIGHT_BUZZER_GPIO]
    assert [v for _, v in right] == [1, 0], f"right buzzer: {right} (glitch at {glitch_at} ms)"
    rise, fall = right[0][0] - t0, right[1][0] - t0
    period = 1 / rate
    # on at the second sample over the limit: within two sample periods (+ the 1 ms row
    # step and the tick) of the true crossing, never for the glitch before it
    assert cross < rise <= cross + 2 * period + 0.002, (cross, rise)
    # off LIMIT_BUZZ_MS after the last sample over the limit (that sample's tick counts as
    # the first of the buzz, and it came up to one period before the true uncrossing)
    buzz = LIMIT_BUZZ_MS / 1e3
    assert uncross + buzz - 2 * period <= fall <= uncross + buzz + 0.002, (uncross, fall)
    assert p[LEFT_BUZZER_GPIO] == []
    # once the host reads again: one LIMIT event, palm heel, counts over the limit
    ser.pump(1.0)
    lim = ev(ser, P.EV_LIMIT, i0)
    assert len(lim) == 1 and lim[0].channel == 7 and lim[0].value >= limit, lim
    flagged = [f for f in ser.frames[i0:] if isinstance(f, P.Data) and f.flags & 0x04]
    assert flagged and flagged[0].seq == lim[0].seq
    assert ser.command("stop").ok
    assert ser.command("limit", "all", 0).ok


def test_live_session_tares_and_bands_a_scripted_press(glove, tmp_path):
    """`massage-glove live` on the chip while the project's force model presses both palm
    heels, first in the firm band, then too much, for paraspinals: the session tares, and
    its band seconds (chip time) match the script's plateaus."""
    import json as _json
    import signal
    chip, ser = glove
    info = ser.command("id").info
    assert ser.command("stop").ok
    ser.close()
    chans = [(c["index"], c["name"], c["hand"], c["site"], c["class"], c["r_divider_ohm"],
              c["r_bleed_ohm"]) for c in info["channels"]]
    firm = scripts.band_force("firm", "fsr406")
    too = scripts.band_force("too_much", "fsr406")
    hold, ramp, gap = 4.0, 0.3, 2.0
    script = scripts.held_forces_script([{"fsr406": firm}, {"fsr406": too}], chans,
                                        hold_s=hold, gap_s=gap, ramp_s=ramp)
    n = int((3 * gap + 2 * hold) * 1000)
    gt = scripts.ground_truth(script, chans, 1000.0, n)
    rows = [list(map(int, r)) for r in gt["counts"]]
    # the truth: seconds the palm heel's true force spends in each band (edges of fsr406)
    e = scripts.band_edges()["fsr406"]
    f = gt["force_n"][:, 7]
    truth = {"firm": float(((f >= e[1]) & (f < e[2])).sum()) / 1000,
             "too_much": float((f >= e[2]).sum()) / 1000}
    chip.play(rows[:1], 1000)                # the hand at rest while the session starts
    exe = [sys.executable, "-m", "massage_glove.cli"]
    proc = subprocess.Popen(exe + ["live", "--port", chip.port, "--headless", "--json", "--no-log",
                                   "--region", "paraspinals", "--duration", "600",
                                   "--calibration-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t = chip.now_s()
        deadline = time.monotonic() + 120
        # the session has started (and tared) once it streams: the chip's ADC runs fast
        while chip.now_s() < t + 3.0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        t0 = chip.play(rows, 1000)
        chip.wait_until(t0 + n / 1000 + 0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 130), err[-2000:]     # 130: ended by SIGINT, like Ctrl-C
    summary = _json.loads(out)
    assert summary["gloves"][0]["tared"], err[-1000:]
    for hand in ("right", "left"):
        b = summary["bands"]["paraspinals"][hand]["bands_s"]
        # within 0.25 s of the truth: the live filter (25 Hz) and the one-sample dwell move
        # each of the four band edges by a few tens of ms
        for band in ("firm", "too_much"):
            assert abs(b[band] - truth[band]) <= 0.25, (hand, band, b, truth)
    assert summary["alerts"], "no alert for a too-much press"
    ser.__init__(chip.port)
    chip.set_inputs(QUIET)


RESTART = b"import glove.app;glove.app.main()\r"


def _restart(chip, ser):
    n = len(ser.frames)
    ser.write(RESTART)
    ser.wait_for(lambda f: isinstance(f, P.Event) and f.kind == P.EV_BOOT and f in ser.frames[n:], 60)


def _interrupt(ser):
    got = cb.interrupt_to_repl(ser, wall_timeout=30)
    text = got.decode("latin1")
    assert "IRQ" not in text and "Uncaught" not in text, text[-500:]
    return text


def test_ctrl_c_and_mpremote_take_over_every_time_at_the_highest_rate(glove):
    chip, ser = glove
    tries = 20
    for k in range(tries):
        assert ser.command("rate", MAX_RATE_16).ok
        assert ser.command("start").ok
        n = len(ser.data())
        end = time.monotonic() + 30
        while len(ser.data()) < n + 100 and time.monotonic() < end:
            ser.pump(0.05)
        assert len(ser.data()) >= n + 100, f"try {k}: not streaming"
        if k % 4 == 3:
            # mpremote takes the port over from a streaming glove
            ser.close()
            r = subprocess.run([str(cb.mpremote()), "connect", chip.port, "resume", "exec",
                                "print('took', 6 * 7)"], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and "took 42" in r.stdout, f"try {k}: {r.stdout}{r.stderr}"
            ser.__init__(chip.port)
            cb.interrupt_to_repl(ser)
        else:
            _interrupt(ser)
        _restart(chip, ser)


HEAP_SCRIPT = """
import gc, time
from glove.app import App
from glove.board import Board
app = App(Board())
s = app.sampler
app.streaming = True
s.start(%(rate)d, app.b.timer_init)
app.loop(time.ticks_add(time.ticks_ms(), 2500))     # warm-up
# the collection and gc.mem_free() (a scan of the heap's table) hold the timer up for a
# few ms: a late tick, whose FAULT event allocates its text. The streams test late ticks;
# here late-tick counting is off so that the measurement does not measure itself.
s.period_us = 0
gc.collect()
app.loop(time.ticks_add(time.ticks_ms(), 200))
gc.disable()
until = time.ticks_add(time.ticks_ms(), 500)
f = gc.mem_free()
app.loop(until)
first = f - gc.mem_free()
seq0 = s.seq
until = time.ticks_add(time.ticks_ms(), %(ms)d)
f0 = gc.mem_free()
app.loop(until)
f1 = gc.mem_free()
seq1 = s.seq
s.stop()
gc.enable()
print('#HEAP', f0, f1, (seq1 - seq0) & 0xFFFF, s.drop_total, first, '#')
"""


def test_heap_flat_main_loop_allocates_nothing_in_the_steady_state(glove):
    """The real main loop (App.loop) streaming 16 channels at 200 Hz to the host with the
    collector off: the free heap after 3 s of chip time is what it was before."""
    chip, ser = glove
    _interrupt(ser)
    out = cb.exec_raw_marked(ser, HEAP_SCRIPT % {"rate": 200, "ms": 3000}, rb"#HEAP ([-\d ]+) #")
    f0, f1, samples, drops, first = map(int, out.split())
    print(f"first 0.5 s with the collector off: {first} B; then {f0 - f1} B in {samples} samples")
    assert samples >= 590 and drops == 0, out
    assert f0 - f1 == 0, f"{f0 - f1} bytes allocated over {samples} samples"
    _restart(chip, ser)


def _reconfigure(chip, ser, text):
    """Write glove_local.py (config overrides) and soft-reboot into the firmware."""
    _interrupt(ser)
    cb.exec_raw(ser, "f = open('glove_local.py', 'w')\nf.write(%r)\nf.close()\n" % text)
    n = len(ser.frames)
    ser.write(b"\x04")           # soft reboot: main.py starts the firmware again
    ser.wait_for(lambda f: isinstance(f, P.Event) and f.kind == P.EV_BOOT and f in ser.frames[n:], 60)


def test_overload_is_reported_as_drop_events_with_the_exact_count(glove):
    chip, ser = glove
    # a ring of 8 samples: 8 ms at 1 kHz, less than the main loop needs for a META
    _reconfigure(chip, ser, "RING_SLOTS = 8\n")
    assert ser.command("rate", MAX_RATE_16).ok
    assert ser.command("start").ok
    ser.wait_for(lambda f: isinstance(f, P.Data), 30)
    i0 = len(ser.frames)
    for _ in range(5):
        ser.write(b"".join(P.command_line(900 + k, "id") for k in range(3)))
        stream(chip, ser, 0.3)
    assert ser.command("stop").ok
    ser.pump(0.5)
    frames = ser.frames[i0:]
    data = [f for f in frames if isinstance(f, P.Data)]
    drops = [f for f in frames if isinstance(f, P.Event) and f.kind == P.EV_DROP]
    gaps = [(a.seq + 1) & 0xFFFF for a, b in zip(data, data[1:]) if ((b.seq - a.seq) & 0xFFFF) > 1]
    missing = sum(((b.seq - a.seq) & 0xFFFF) - 1 for a, b in zip(data, data[1:]))
    assert missing > 0, "no overload happened"
    assert drops, f"{missing} samples lost and no DROP event"
    assert sum(d.value for d in drops) == missing, (missing, [(d.seq, d.value) for d in drops])
    assert all(d.seq in gaps for d in drops), (gaps, [(d.seq, d.value) for d in drops])


def test_8_channels(glove):
    chip, ser = glove
    _reconfigure(chip, ser, "HANDS = ('right',)\n")
    info = ser.command("id").info
    assert len(info["channels"]) == 8
    top = info["max_rate_hz"]
    assert top == 1000
    for rate in (top,):
        assert ser.command("rate", rate).ok
        assert ser.command("start").ok
        ser.wait_for(lambda f: isinstance(f, P.Data), 30)
        check_stream(stream(chip, ser, 2.0), rate, 8, int(1.9 * rate))
        assert ser.command("stop").ok
    assert ser.command("rate", top + 1).status == P.ST_BAD_ARGUMENT
    _reconfigure(chip, ser, "")
