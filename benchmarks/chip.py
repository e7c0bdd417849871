"""The firmware on its own chip: the official MicroPython rp2 port on an emulated RP2040
(the chip bench, tests/chip/chipbench.py), this firmware beside a baseline firmware (the
same code before it was fitted to the chip: git ref --baseline-ref), both deployed as the
mpy-cross -march=armv6m build in a littlefs image.

    python -m benchmarks.chip [--baseline-ref REF] [--seconds S] [--json]

* cost per frame, in emulated microseconds (cycles of a 125 MHz Cortex-M0+), from a script
  run in the board's REPL with the firmware's own Board and App: the timer callback
  (mux walk, ADC reads, limits, ring), the encoding of a DATA frame (send_data of 16
  frames to a sink), one 47-byte write to the USB serial port, an idle main-loop pass,
  and the bytes an idle pass allocates;
* core busy at 200, 500 and 1000 Hz x 16 channels while streaming to the host (the
  emulator's busy cycles over elapsed cycles), with the lost samples (sequence gaps) and
  late ticks (a sample more than 1.5 periods after the previous one, and the firmware's
  own FAULT events) of each run;
* the highest rate without a lost or late sample, for 16 and for 8 channels (the
  firmware's rate ceiling lifted by a glove_local.py for the probe);
* bytes allocated per second by the main loop streaming 16 x 200 Hz (gc.mem_free() with
  the collector off).

Caveat (the bench's): rp2040js charges flash like RAM (no XIP cache misses), so the cycle
counts are optimistic against a real Pico; it completes device-to-host USB transfers at
once, so the write cost excludes a host that is slow to read.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "chip"))

import chipbench as cb  # noqa: E402

BASELINE_REF = "3536156"      # the firmware as it was before it was fitted to the RP2040
TARGET_BUSY_200 = 0.25        # issue: 16 ch at 200 Hz within a quarter of the core

COST_SCRIPT = """
import time, gc
from glove.board import Board
from glove.app import App, BATCH
class Sink:
    def write(self, b, n=None):
        return len(b) if n is None else n
bd = Board()
real = bd.stdout
bd.stdout = Sink()
app = App(bd)
s = app.sampler
s.rate_hz = 200
cb = getattr(s, 'callback', s.tick)
N = 200
t0 = time.ticks_us()
for _ in range(N):
    cb(None)
    s.discard()
tick = time.ticks_diff(time.ticks_us(), t0) / N
app.streaming = True
enc = 0
for r in range(N // BATCH):
    for _ in range(BATCH):
        cb(None)
    t0 = time.ticks_us()
    app.send_data()
    enc += time.ticks_diff(time.ticks_us(), t0)
enc = enc / (N // BATCH * BATCH)
line = b'x' * 46 + b'\\n'
t0 = time.ticks_us()
for _ in range(N):
    real.write(line)
wr = time.ticks_diff(time.ticks_us(), t0) / N
app.streaming = False
loop = getattr(app, 'loop', None)
t0 = time.ticks_us()
for _ in range(N):
    app.service()
idle = time.ticks_diff(time.ticks_us(), t0) / N
gc.collect()
f0 = gc.mem_free()
for _ in range(N):
    app.service()
alloc = (f0 - gc.mem_free()) / N
print('#COST', tick, enc, wr, idle, alloc, '#')
"""

ALLOC_SCRIPT = """
import gc, time
from glove.app import App
from glove.board import Board
app = App(Board())
s = app.sampler
app.streaming = True
s.start(200, app.b.timer_init)
def run_until(end):
    if hasattr(app, 'loop'):
        app.loop(end)
        return
    while time.ticks_diff(time.ticks_ms(), end) < 0:
        if not app.service():
            app.b.idle()
run_until(time.ticks_add(time.ticks_ms(), 2500))
s.period_us = 0   # (the collection and mem_free's heap scan make late ticks, whose FAULT
gc.collect()      #  events would allocate: the measurement would measure itself)
run_until(time.ticks_add(time.ticks_ms(), 200))
gc.disable()
t0 = time.ticks_ms()
end = time.ticks_add(t0, %(ms)d)
f0 = gc.mem_free()
run_until(end)
f1 = gc.mem_free()
dt = time.ticks_diff(time.ticks_ms(), t0)
s.stop()
gc.enable()
print('#ALLOC', f0 - f1, dt, '#')
"""


def _firmware_tree(ref: str | None, out: Path) -> Path:
    """The firmware folder at git ref (None: this checkout), compiled with mpy-cross."""
    from massage_glove.flash import compile_mpy
    src = ROOT / "firmware"
    if ref is not None:
        raw = out / "src"
        raw.mkdir(parents=True)
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "firmware"],
                             capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(raw)], input=tar, check=True)
        src = raw / "firmware"
    mpy = out / "mpy"
    compile_mpy(src, mpy)
    return mpy


def _to_repl(chip, ser):
    cb.interrupt_to_repl(ser)


def _window(chip, ser, seconds: float, rate: int) -> dict:
    """Stream `seconds` of chip time at `rate` (after 0.5 s to settle): busy, lost, late."""
    from massage_glove import protocol as P
    assert ser.command("rate", rate).ok
    assert ser.command("start").ok
    ser.wait_for(lambda f: isinstance(f, P.Data), 60)
    t = chip.now_s()
    while chip.now_s() < t + 0.5:
        ser.pump(0.1)
    n0 = len(ser.frames)
    s0 = len(chip.stats())
    t0 = chip.now_s()
    while chip.now_s() < t0 + seconds:
        ser.pump(0.1)
    t1 = chip.now_s()
    ser.pump(0.3)
    frames = ser.frames[n0:]
    assert ser.command("stop").ok
    stats = [s for s in chip.stats()[s0:] if s.get("cpu_busy") is not None]
    # each stats line covers the emulated time since the previous one
    busy = num = 0.0
    prev = None
    for s in chip.stats():
        if prev is not None and t0 <= s["emu_s"] and prev["emu_s"] <= t1 and s in stats:
            d = s["emu_s"] - prev["emu_s"]
            busy += s["cpu_busy"] * d
            num += d
        prev = s
    data = [f for f in frames if isinstance(f, P.Data)]
    lost = sum(((b.seq - a.seq) & 0xFFFF) - 1 for a, b in zip(data, data[1:]))
    period = 1e6 / rate
    late_steps = sum(1 for a, b in zip(data, data[1:]) if ((b.t_us - a.t_us) & 0x3FFFFFFF) > 1.5 * period)
    late_events = sum(f.value == 2 for f in frames if isinstance(f, P.Event) and f.kind == P.EV_FAULT)
    drops = sum(f.value for f in frames if isinstance(f, P.Event) and f.kind == P.EV_DROP)
    return {"rate_hz": rate, "samples": len(data), "lost": lost, "late_ticks": late_steps,
            "late_fault_events": late_events, "drop_reported": drops,
            "cpu_busy": busy / num if num else None}


def measure(bench, fw: Path, name: str, seconds: float, probe: bool, log=print) -> dict:
    from chipbench import boot
    out: dict = {}
    img = bench.fs_image(bench.path / f"{name}.img", fw)
    chip = bench.start(name, img, pace=False)
    try:
        ser = boot(chip)
        out["stream_16"] = []
        for rate in (200, 500, 1000):
            r = _window(chip, ser, seconds, rate)
            log(f"[chip] {name}: 16 ch {rate} Hz {r}")
            out["stream_16"].append(r)
        _to_repl(chip, ser)
        text = cb.exec_raw_marked(ser, COST_SCRIPT, rb"#COST ([-\d. ]+) #")
        tick, enc, wr, idle, alloc = map(float, text.split())
        out["cost_us"] = {"tick": tick, "encode": enc, "write_47B": wr, "idle_pass": idle,
                          "idle_pass_alloc_B": alloc}
        log(f"[chip] {name}: cost {out['cost_us']}")
        text = cb.exec_raw_marked(ser, ALLOC_SCRIPT % {"ms": 3000}, rb"#ALLOC ([-\d ]+) #")
        b, ms = map(int, text.split())
        out["alloc_B_per_s"] = b / (ms / 1000)
        log(f"[chip] {name}: allocation {out['alloc_B_per_s']:.0f} B/s")
        if probe:
            out["highest"] = {}
            for hands, n_ch, ladder in ((("right", "left"), 16, (1000, 1250, 1500, 2000)),
                                        (("right",), 8, (1000, 2000, 3000))):
                cb.exec_raw(ser, "f = open('glove_local.py', 'w')\nf.write(%r)\nf.close()\n"
                            % ("HANDS = %r\nMAX_RATE_HZ = 4000\nMAX_CHANNEL_SAMPLES_PER_S = 64000\n" % (hands,)))
                ser.write(b"\x04")
                ser.wait_for(lambda f, n=len(ser.frames): f in ser.frames[n:] and getattr(f, "kind", 0) == 1, 60)
                best = None
                runs = []
                for rate in ladder:
                    r = _window(chip, ser, seconds, rate)
                    runs.append(r)
                    log(f"[chip] {name}: {n_ch} ch {rate} Hz {r}")
                    if r["lost"] or r["late_ticks"] or r["late_fault_events"]:
                        break
                    best = rate
                out["highest"][str(n_ch)] = {"rate_hz": best, "runs": runs}
                _to_repl(chip, ser)
            cb.exec_raw(ser, "import os\nos.remove('glove_local.py')\n")
        ser.close()
    finally:
        chip.stop()
    return out


def run(seconds: float = 2.0, baseline_ref: str = BASELINE_REF, log=print) -> dict:
    src, why = cb.find_bench()
    if src is None:
        raise RuntimeError("no chip bench: " + why)
    with tempfile.TemporaryDirectory(prefix="bench-chip-") as d:
        bench = cb.Bench.prepare(src, Path(d) / "bench")
        res = {"baseline_ref": baseline_ref, "seconds": seconds}
        res["firmware"] = measure(bench, _firmware_tree(None, Path(d) / "fw"), "fw", seconds, True, log)
        res["baseline"] = measure(bench, _firmware_tree(baseline_ref, Path(d) / "base"), "base",
                                  seconds, False, log)
    res["target_busy_200"] = TARGET_BUSY_200
    return res


def table(r: dict) -> str:
    f, b = r["firmware"], r["baseline"]
    rows = ["| figure (emulated RP2040, 16 ch unless said) | this firmware | baseline | target |",
            "|---|---|---|---|"]
    for k, label in (("tick", "timer callback, µs"), ("encode", "encode one DATA frame, µs"),
                     ("write_47B", "write 47 B to USB, µs"), ("idle_pass", "idle service() pass, µs"),
                     ("idle_pass_alloc_B", "allocated per idle pass, B")):
        rows.append(f"| {label} | {f['cost_us'][k]:.1f} | {b['cost_us'][k]:.1f} | |")
    for a, c in zip(f["stream_16"], b["stream_16"]):
        tgt = "<= 25 %" if a["rate_hz"] == 200 else "no loss, no late tick"
        rows.append(f"| core busy at {a['rate_hz']} Hz (lost / late) | {100 * a['cpu_busy']:.1f} % "
                    f"({a['lost']} / {a['late_ticks'] + a['late_fault_events']}) | "
                    f"{100 * c['cpu_busy']:.1f} % ({c['lost']} / {c['late_ticks'] + c['late_fault_events']}) | {tgt} |")
    for n in ("16", "8"):
        h = f.get("highest", {}).get(n, {})
        rows.append(f"| highest rate without loss or late tick, {n} ch | {h.get('rate_hz')} Hz | | >= 500 (16), >= 1000 (8) |")
    rows.append(f"| main loop allocation, 16 ch x 200 Hz | {f['alloc_B_per_s']:.0f} B/s | "
                f"{b['alloc_B_per_s']:.0f} B/s | 0 |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="chip seconds per stream window")
    ap.add_argument("--baseline-ref", default=BASELINE_REF)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = run(a.seconds, a.baseline_ref, log=lambda *x: print(*x, file=sys.stderr, flush=True))
    print(table(r), file=sys.stderr)
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
