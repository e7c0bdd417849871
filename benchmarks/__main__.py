"""Run every benchmark, print one table (figure, baseline, target, PASS/MISS), write results.md and results.json.

    python -m benchmarks [--quick] [--only alert,host,cpu,firmware,fps,memory,offline]
                         [--out DIR] [--readme README.md]

Every figure is measured in this run. A benchmark that fails, or whose subject is not
there yet, gives a row marked "not measured" with the reason; the others still run.
docs/BENCHMARKS.md says what each figure means and where its target comes from.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NAMES = ("alert", "false", "host", "cpu", "firmware", "fps", "memory", "offline", "class")
# on request only (--only chip): the firmware on the chip bench, several minutes
EXTRA = ("chip",)

FULL = {"alert": {"seconds_200": 60.0, "seconds_1k": 30.0},
        "false": {"scripts": "heavy,novice,tremor6,tremor9,tremor12,adc_noise,glitch1,glitch2",
                  "seconds": 60.0},
        "host": {"max_blocks": 1500},
        "cpu": {"seconds": 20.0}, "firmware": {"n_frames": 20000, "seconds": 4.0},
        "fps": {"seconds": 3.0}, "memory": {"minutes": 60.0},
        "offline": {"hours": 1.0, "unique_minutes": 5.0, "naive_s": 20.0},
        "class": {"trainees": "12,30", "seconds": 20.0}}
QUICK = {"alert": {"seconds_200": 12.0, "seconds_1k": 8.0},
         "false": {"scripts": "tremor9,adc_noise,glitch1,glitch2", "seconds": 15.0},
         "host": {"max_blocks": 100},
         "cpu": {"seconds": 3.0}, "firmware": {"n_frames": 2000, "seconds": 1.0},
         "fps": {"seconds": 0.5}, "memory": {"minutes": 3.0},
         "offline": {"hours": 0.05, "unique_minutes": 0.5, "naive_s": 2.0},
         "class": {"trainees": "4", "seconds": 4.0}}


# --- running ------------------------------------------------------------------------------
def _subprocess_json(module: str, args: list[str], timeout: float) -> dict:
    """Run `python -m benchmarks.<module> --json ARGS` in a fresh process; its last line is JSON."""
    r = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--json", *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"benchmarks.{module} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_all(cfg: dict, only=NAMES, log=print) -> dict:
    """Results of every benchmark in `only` ({name: dict or {"error": text}})."""
    out: dict = {}
    keep = tempfile.TemporaryDirectory(prefix="bench-logs-")

    def step(name, fn):
        if name not in only:
            return
        log(f"[bench] {name} ...")
        t0 = time.perf_counter()
        try:
            out[name] = fn()
        except Exception as e:            # one failure must not hide the other figures
            out[name] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        out[name]["bench_wall_s"] = time.perf_counter() - t0
        log(f"[bench] {name}: {out[name]['bench_wall_s']:.1f} s"
            + (f"  ERROR {out[name]['error']}" if "error" in out[name] else ""))

    def alert():
        from . import alert_delay
        c = cfg["alert"]
        return alert_delay.run(c["seconds_200"], c["seconds_1k"])

    def false_alarms():
        from . import false_alarms as fa
        c = cfg.get("false", QUICK["false"])
        return fa.run(tuple(x for x in c["scripts"].split(",") if x), c["seconds"])

    def host():
        from . import host_cost
        sizes = {1, 4, 16}
        a = out.get("alert", {})
        for k in ("r200", "r1k"):
            b = a.get(k, {}).get("block_samples", {}).get("p50")
            if b is not None and math.isfinite(b):
                sizes.add(max(1, int(round(b))))
        return host_cost.run(cfg["host"]["max_blocks"], tuple(sorted(sizes)))

    def cpu():
        # four cases, each with the new chain and today's: the budget lets each run its seconds
        budget = 8 * (cfg["cpu"]["seconds"] + 8.0)
        return _subprocess_json("cpu_share", ["--seconds", str(cfg["cpu"]["seconds"]), "--budget", str(budget)],
                                timeout=60 + budget)

    def firmware():
        from . import firmware as fw
        return fw.run(cfg["firmware"]["n_frames"], cfg["firmware"]["seconds"])

    def chip():
        from . import chip as ch
        return ch.run(cfg.get("chip", {}).get("seconds", 2.0), log=lambda *x: None)

    def fps():
        from . import live_fps
        return live_fps.run(seconds=cfg["fps"]["seconds"])

    def memory():
        return _subprocess_json("memory", ["--minutes", str(cfg["memory"]["minutes"]),
                                           "--log-dir", keep.name], timeout=900)

    def offline():
        from . import offline as off
        c = cfg["offline"]
        log_path = out.get("memory", {}).get("log_path")
        return off.run(c["hours"], c["unique_minutes"], c["naive_s"], review_log=log_path or "")

    def class_view():
        c = cfg.get("class", QUICK["class"])
        return _subprocess_json("class_view", ["--trainees", c["trainees"], "--seconds", str(c["seconds"]),
                                               "--own-seconds", str(max(8.0, c["seconds"]))], timeout=1500)

    try:
        for name, fn in (("alert", alert), ("false", false_alarms), ("host", host), ("cpu", cpu), ("firmware", firmware),
                         ("chip", chip), ("fps", fps), ("memory", memory), ("offline", offline),
                         ("class", class_view)):
            step(name, fn)
    finally:
        keep.cleanup()
    return out


# --- the table ----------------------------------------------------------------------------
def _f(x, nd=1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if abs(x) >= 1000 and nd <= 1:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def _row(measure, figure, value, baseline, target, ok) -> dict:
    verdict = "—" if ok is None else ("PASS" if ok else "MISS")
    return {"measure": measure, "figure": figure, "value": value, "baseline": baseline,
            "target": target, "verdict": verdict}


def _missing(measure, why) -> dict:
    return {"measure": measure, "figure": "not measured", "value": None,
            "baseline": str(why).splitlines()[0][:160], "target": "", "verdict": "not measured"}


def class_rows(cv) -> list[dict]:
    """The class view's rows (benchmarks/class_view.py)."""
    if cv is None:
        return []
    if "error" in cv:
        return [_missing("Class view", cv["error"])]
    own = cv["own_alert_delay"]["host_ms"]
    out = []
    for r in cv["rows"]:
        n = r["trainees"]
        d = r["alert_to_tile_ms"]
        out.append(_row(f"Class view, {n} simulated trainees on loopback LSL: CPU share of one core "
                        f"(discovery, inlets, tiles, terminal drawn at {r['fps']:.0f} fps)",
                        f"{_f(r['class_cpu_pct'])} %", r["class_cpu_pct"],
                        f"the {n} trainees' apps together {_f(r['publisher_cpu_pct'])} %", "none stated", None))
        out.append(_row(f"Class view, {n} trainees: alert to its tile drawn, p50 / p99 (n={d['n']})",
                        f"{_f(d['p50'])} / {_f(d['p99'])} ms", d["p99"],
                        f"the trainee's own alert delay, host clock, p50 / p99 {_f(own['p50'])} / "
                        f"{_f(own['p99'])} ms (n={own['n']})", "none stated", None))
    return out


def _chain_note(ch: dict | None) -> str:
    if not ch:
        return ""
    return "" if not ch.get("same_chain") else " (no ReferencePipeline: both are Pipeline)"


def _largest_stage(c: dict) -> str:
    """'rules 503 of 529 µs p50' for a host-cost chain entry with stages."""
    st = [(k, c[k]["p50"]) for k in ("calibrate", "filter", "classify", "rules") if c.get(k)]
    if not st:
        return f"one call of {_f(c['total']['p50'])} µs p50 with no stage split"
    k, v = max(st, key=lambda x: x[1])
    return f"{k} {_f(v)} of {_f(c['total']['p50'])} µs p50"


def alert_rows(a: dict) -> list[dict]:
    """Alert delay rows: the new chain's host clock against its target, device clock, floor."""
    rows = []
    for key, label in (("r200", "200 Hz"), ("r1k", "1 kHz")):
        r = a[key]
        new, base = r.get("new", r), r.get("baseline")
        ch = f"{r['channels']} ch" + (" (16 ch lost samples)" if key == "r1k" and r["channels"] < 16 else "")
        tgt = r.get("target_p99_ms")
        for kind, what in (("host_ms", "host clock, alert ready"), ("signal_ms", "device clock")):
            s = new[kind]
            bl = (f"today's chain {_f(base[kind]['p50'])} / {_f(base[kind]['p99'])} ms"
                  f"{_chain_note(r.get('chains'))}" if base else "n/a")
            ok = (s["p99"] <= tgt) if (kind == "host_ms" and tgt) else None
            row = _row(f"Alert delay {label}, {ch}, {what}: p50 / p99 (n={s['n']}, missed {new['missed']})",
                       f"{_f(s['p50'])} / {_f(s['p99'])} ms", s["p99"], bl,
                       f"p99 <= {tgt:g} ms" if ok is not None else "none stated", ok)
            if ok is False:
                chs = r.get("chains", {})
                if not chs.get("fast_alert_field"):
                    why = ("no fast alert path in the package (Settings has no fast_alert_samples): the alert "
                           f"waits for the spike median and the low-pass (stated delay {_f(r['stated_filter_delay_ms'])} ms)")
                else:
                    dev, tr = new["signal_ms"]["p99"], new["transport_ms"]["p99"]
                    rest = s["p99"] - dev - tr
                    part = max((("the chain and sampling (device clock)", dev),
                                ("the transport (pty, the simulated glove's relay, the link's reader)", tr),
                                ("the host after decoding (poll, queue, the other chain)", rest)),
                               key=lambda x: x[1])
                    why = (f"device clock p99 {_f(dev)} ms, transport p99 {_f(tr, 2)} ms, host p99 minus "
                           f"both {_f(rest)} ms (p99s do not add): the largest part is {part[0]}")
                row["cause"] = why
            rows.append(row)
        uart = r.get("uart_wire_ms")
        rows.append(_row(f"Alert delay {label}: physical floor (one sample period + one USB frame)",
                         f"{_f(r['floor_ms'])} ms", r["floor_ms"],
                         f"period {_f(r['period_ms'])} + USB frame {_f(r.get('usb_frame_ms'))} ms"
                         + (f"; a UART at {r['baud']} baud would take {_f(uart)} ms per frame" if uart else ""),
                         "", None))
    return rows


FALSE_LABELS = {"heavy": "heavy trainee's routine", "novice": "novice's routine (tremor 0.3 N)",
                "tremor6": "holds near the limit, tremor 6 Hz", "tremor9": "holds near the limit, tremor 9 Hz",
                "tremor12": "holds near the limit, tremor 12 Hz", "adc_noise": "holds, ADC noise 8 counts rms",
                "glitch1": "holds, 1-sample mux glitches", "glitch2": "holds, 2-sample mux glitches"}


def false_alarm_rows(fa: dict) -> list[dict]:
    rows = []
    note = _chain_note(fa.get("chains"))
    for s in fa["scripts"]:
        n, b = s["new"], s["baseline"]
        extra = f", {s['glitches']} glitches" if s.get("glitch_samples") else ""
        row = _row(f"False alarms, {FALSE_LABELS.get(s['script'], s['script'])} ({s['seconds']:.0f} s{extra}): "
                   "episodes with the true force under the limit",
                   f"{n['false']} of {n['episodes']}", n["false"],
                   f"today's chain {b['false']} of {b['episodes']}{note}", f"<= today's ({b['false']})",
                   n["false"] <= b["false"])
        if n["false"] > b["false"]:
            row["cause"] = (f"{n['false'] - b['false']} more false episodes than today's chain, first at "
                            + ", ".join(f"{x['sensor']} {x['t_s']:.2f} s ({x['rule']})" for x in n["false_at"][:3]))
        rows.append(row)
    return rows


def host_rows(h: dict, live: dict) -> list[dict]:
    rows = []
    tgt = h["target_frame_us"]
    note = _chain_note(h.get("chains"))
    for key, label in (("r200", "200 Hz"), ("r1k", "1 kHz")):
        s = next((x for x in h["sizes"] if x["block_samples"] == live[key]), None)
        if s is None or "new" not in s:
            continue
        n, b = s["new"], s["baseline"]
        at_target = s["block_samples"] == 1
        ok = n["cpu"]["p99"] <= tgt if at_target else None
        row = _row(f"Host chain per 16-ch frame, blocks of {s['block_samples']} (live at {label}): "
                   f"CPU p50 / p99 (wall p99 {_f(n['total']['p99'])})",
                   f"{_f(n['cpu']['p50'])} / {_f(n['cpu']['p99'])} µs", n["cpu"]["p99"],
                   f"today's chain {_f(b['cpu']['p50'])} / {_f(b['cpu']['p99'])} µs{note}",
                   f"p99 <= {tgt:g} µs" if at_target else "none stated", ok)
        if ok is False:
            row["cause"] = "the new chain's largest part: " + _largest_stage(n)
        rows.append(row)
    return rows


def offline_rows(off: dict) -> list[dict]:
    rows = []
    tx = off["target_x"]
    hrs = off["hours"]
    base = off.get("baseline_chain")
    note = _chain_note(off.get("chains"))
    bl = (f"today's chain {_f(base['x_realtime'])}x{note}" if base else
          f"naive loop {_f(off['naive']['x_realtime'])}x")
    ok = off["chain"]["x_realtime"] >= tx
    row = _row(f"Offline: {hrs:g} h of 16 ch x 200 Hz through the chain (1 s blocks)",
               f"{_f(off['chain']['x_realtime'])}x real time", off["chain"]["x_realtime"], bl,
               f">= {tx:.0f}x", ok)
    if not ok:
        row["cause"] = (f"the chain took {_f(off['chain']['wall_s'], 2)} s for {hrs:g} h of signal; where its "
                        "time goes: the host cost stages at blocks of 16 (details)")
    rows.append(row)
    bf = off["brainflow"]
    bft = (f"BrainFlow lowpass {_f(bf['x_realtime'])}x (filter alone)" if "error" not in bf
           else "BrainFlow: " + bf["error"])
    rows.append(_row("Offline: the chain's live filter alone, same data",
                     f"{_f(off['filter']['x_realtime'])}x real time", off["filter"]["x_realtime"],
                     bft, "none stated", None))
    rv = off["review"]
    if "error" in rv:
        rows.append(_missing("Offline: review of the hour's log", rv["error"]))
    else:
        rtx = off.get("target_review_x", tx)
        ok = rv["x_realtime"] >= rtx
        row = _row(f"Offline: review of a {rv['signal_s'] / 3600:.2g} h log ({rv['function']})",
                   f"{_f(rv['x_realtime'])}x real time", rv["x_realtime"],
                   f"today's chain alone {_f((base or off['chain'])['x_realtime'])}x",
                   f">= {rtx:.0f}x", ok)
        if not ok:
            row["cause"] = f"the review takes {_f(rv['wall_s'], 2)} s for the log (its own stages: review/*)"
        rows.append(row)
    return rows



def build_rows(res: dict) -> list[dict]:
    rows: list[dict] = []
    a = res.get("alert")
    if a is not None and "error" not in a:
        rows += alert_rows(a)
    elif a is not None:
        rows.append(_missing("Alert delay", a["error"]))
    fa = res.get("false")
    if fa is not None and "error" not in fa:
        rows += false_alarm_rows(fa)
    elif fa is not None:
        rows.append(_missing("False alarms", fa["error"]))

    rows += class_rows(res.get("class"))

    h = res.get("host")
    off = res.get("offline", {})
    live: dict = {}
    if h is not None and "error" not in h:
        for key in ("r200", "r1k"):
            b = (a or {}).get(key, {}).get("block_samples", {}).get("p50") if a and "error" not in a else None
            live[key] = max(1, int(round(b))) if b is not None and math.isfinite(b) else (1 if key == "r200" else 4)
        rows += host_rows(h, live)
    elif h is not None:
        rows.append(_missing("Host cost per frame", h["error"]))

    c = res.get("cpu")
    if c is not None and "error" not in c:
        chain = None
        if h is not None and "error" not in h:
            s1 = next((x for x in h["sizes"] if x["block_samples"] == live.get("r200", 1)), h["sizes"][0])
            chain = s1["total"]["mean"] * 200 / 1e4
        if c.get("rows"):
            # one row per case (one glove, two gloves, 1 kHz, the window), each beside today's chain
            runs = {(r.get("case"), r.get("chain")): r for r in c.get("runs", [])}
            from . import cpu_share
            for row, case in zip(c["rows"], [k for k in cpu_share.CASES if (k, "new") in runs]):
                if row["verdict"] == "MISS":
                    r = runs[(case, "new")]
                    top = sorted(r.get("by_thread_core_pct", {}).items(), key=lambda x: -x[1])[:2]
                    row["cause"] = (f"the simulated glove's pty relay is {_f(r['sim_relay_core_pct'])} % of it "
                                    f"(a real glove has none: without it {_f(r['process_core_pct'] - r['sim_relay_core_pct'])} %); "
                                    "busiest threads: " + ", ".join(f"{k} {_f(v)} %" for k, v in top))
                rows.append(row)
        else:
            rows.append(_row("CPU share of one core, live 16 ch x 200 Hz, no plot (whole process)",
                             f"{_f(c['process_core_pct'])} %", c["process_core_pct"],
                             f"chain alone {_f(chain)} %" if chain is not None else "n/a",
                             f"<= {c['target_core_pct']:.0f} %", c["process_core_pct"] <= c["target_core_pct"]))
            if rows[-1]["verdict"] == "MISS":
                top = sorted(c.get("by_thread_core_pct", {}).items(), key=lambda x: -x[1])[:2]
                rows[-1]["cause"] = ((f"the chain alone is {_f(chain)} % (host cost per frame x 200/s); " if chain is not None else "")
                                     + "busiest threads: " + ", ".join(f"{k} {_f(v)} %" for k, v in top))
        rows.append(_row("CPU share, simulated glove (MicroPython process)",
                         f"{_f(c['glove_core_pct'])} %", c["glove_core_pct"],
                         f"sim relay threads {_f(c['sim_relay_core_pct'])} % (in the row above)", "none stated", None))
    elif c is not None:
        rows.append(_missing("CPU share live", c["error"]))

    if off and "error" not in off:
        rows += offline_rows(off)
    elif off:
        rows.append(_missing("Offline throughput", off["error"]))

    v = res.get("fps")
    if v is not None and "error" not in v:
        for canvas in ("agg", "tkagg"):
            r = v.get(canvas)
            if r:
                rows.append(_row(f"Live view, 16 ch, {v['window_s']:.0f} s window, blit ({canvas})",
                                 f"{_f(r['blit_fps'])} fps", r["blit_fps"],
                                 f"naive full redraw {_f(r['naive_fps'])} fps; same figure redrawn {_f(r['full_fps'])} fps",
                                 f">= {v['target_fps']:.0f} fps", r["blit_fps"] >= v["target_fps"]))
        if not v.get("tkagg"):
            rows.append(_missing("Live view in a real window (TkAgg)",
                                 v.get("tkagg_error") or "no DISPLAY"))
    elif v is not None:
        rows.append(_missing("Live view fps (benchmarks/live_fps.py)", v["error"]))

    f = res.get("firmware")
    if f is not None and "error" not in f:
        k = f["cost"]
        rows.append(_row("Firmware per frame on the unix port: tick + encode (16 ch)",
                         f"{_f(k['frame_us'])} µs", k["frame_us"],
                         f"naive text line {_f(k['naive_us'])} µs",
                         f"<= {f['target_frame_us']:.0f} µs", k["frame_us"] <= f["target_frame_us"]))
        b, t = f["binary"], f["text"]
        rows.append(_row(f"Firmware free-running rate, no drops (lost {b['lost_samples']})",
                         f"{_f(b['samples_per_s'])} samples/s", b["samples_per_s"],
                         f"naive text {_f(t['samples_per_s'])} samples/s (lost {t['lost_samples']})",
                         f">= {f['target_rate_hz']:.0f} Hz",
                         b["samples_per_s"] >= f["target_rate_hz"] and b["lost_samples"] == 0))
        rows.append(_row("Wire bytes/s at 16 ch x 200 Hz",
                         f"{_f(b['bytes_per_s_at_200hz'])} B/s ({_f(b['bytes_per_sample'])} B/sample)",
                         b["bytes_per_s_at_200hz"],
                         f"naive text {_f(t['bytes_per_s_at_200hz'])} B/s ({_f(t['bytes_per_sample'])} B/sample)",
                         f"<= {f['target_bytes_per_s']:,.0f} B/s (115200 baud)",
                         b["bytes_per_s_at_200hz"] <= f["target_bytes_per_s"]))
    elif f is not None:
        rows.append(_missing("Firmware", f["error"]))

    ch = res.get("chip")
    if ch is not None and "error" not in ch:
        fw, base = ch["firmware"], ch["baseline"]
        k, kb = fw["cost_us"], base["cost_us"]
        rows.append(_row("Firmware on the RP2040 (chip bench): timer callback, 16 ch",
                         f"{_f(k['tick'])} µs", k["tick"], f"baseline firmware {_f(kb['tick'])} µs",
                         "none stated", None))
        rows.append(_row("Firmware on the RP2040: encode one DATA frame / write 47 B to USB",
                         f"{_f(k['encode'])} / {_f(k['write_47B'])} µs", k["encode"],
                         f"baseline {_f(kb['encode'])} / {_f(kb['write_47B'])} µs", "none stated", None))
        for a, b in zip(fw["stream_16"], base["stream_16"]):
            bad = a["lost"] + a["late_ticks"] + a["late_fault_events"]
            ok = (a["cpu_busy"] <= ch["target_busy_200"] and not bad) if a["rate_hz"] == 200 else not bad
            rows.append(_row(f"Firmware on the RP2040: core busy, 16 ch x {a['rate_hz']} Hz (lost {a['lost']}, late {a['late_ticks'] + a['late_fault_events']})",
                             f"{_f(100 * a['cpu_busy'])} %", a["cpu_busy"],
                             f"baseline {_f(100 * b['cpu_busy'])} % (lost {b['lost']}, late {b['late_ticks'] + b['late_fault_events']})",
                             "<= 25 %, no loss or late tick" if a["rate_hz"] == 200 else "no loss or late tick", ok))
        for n, need in (("16", 500), ("8", 1000)):
            h = fw.get("highest", {}).get(n, {}).get("rate_hz")
            rows.append(_row(f"Firmware on the RP2040: highest rate without loss or late tick, {n} ch",
                             f"{h} Hz", h, "probed up to " + str(max(r["rate_hz"] for r in fw["highest"][n]["runs"])) + " Hz",
                             f">= {need} Hz", h is not None and h >= need))
        rows.append(_row("Firmware on the RP2040: main loop allocation, 16 ch x 200 Hz",
                         f"{_f(fw['alloc_B_per_s'])} B/s", fw["alloc_B_per_s"],
                         f"baseline {_f(base['alloc_B_per_s'])} B/s", "0 B/s", fw["alloc_B_per_s"] == 0))
    elif ch is not None:
        rows.append(_missing("Firmware on the RP2040 (chip bench)", ch["error"]))

    m = res.get("memory")
    if m is not None and "error" not in m:
        mins = m["signal_s"] / 60
        rows.append(_row(f"RSS of a {mins:.0f}-min live session (free-running sim, {m['speed_x_realtime']:.0f}x real time): start / end",
                         f"{m['rss_start_kb'] / 1024:.1f} / {m['rss_end_kb'] / 1024:.1f} MB", m["rss_end_kb"],
                         f"after {m['warm_up_s'] / 60:.0f} min warm-up {m['rss_warm_kb'] / 1024:.1f} MB; "
                         f"growth since {m['growth_after_warm_up_kb'] / 1024:+.1f} MB",
                         f"growth <= {m['target_growth_kb'] / 1024:.0f} MB",
                         m["growth_after_warm_up_kb"] <= m["target_growth_kb"]))
        text_h = None
        if f is not None and "error" not in f:
            text_h = f["text"]["bytes_per_s_at_200hz"] * 3600
        rows.append(_row("Log bytes per hour (16 ch x 200 Hz)",
                         f"{m['log_bytes_per_hour'] / 1e6:.1f} MB/h", m["log_bytes_per_hour"],
                         (f"naive text stream {text_h / 1e6:.1f} MB/h" if text_h else "n/a"),
                         f"<= {m['raw_bytes_per_hour'] / 1e6:.1f} MB/h (bare counts)",
                         m["log_bytes_per_hour"] <= m["raw_bytes_per_hour"]))
    elif m is not None:
        rows.append(_missing("Memory of a long session", m["error"]))
    return rows


def table_md(rows: list[dict]) -> str:
    out = ["| measure | measured | baseline (same run) | target | |", "|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['measure']} | {r['figure']} | {r['baseline']} | {r['target']} | {r['verdict']} |")
    return "\n".join(out)


def machine_md(m: dict) -> str:
    return (f"Machine: {m.get('cpu')}, {m.get('cores')} cores; Python {m.get('python')}, "
            f"numpy {m.get('numpy')}, scipy {m.get('scipy')}, matplotlib {m.get('matplotlib')}, "
            f"brainflow {m.get('brainflow')}; MicroPython unix port {m.get('micropython')}; {m.get('platform')}; "
            f"load average at start {' '.join(m.get('loadavg', []))}; {m.get('date')}.")


def details_md(res: dict) -> str:
    lines = []
    h = res.get("host")
    if h and "error" not in h:
        from .host_cost import STAGES
        ch = h.get("chains", {})
        lines += ["", f"Host cost per 16-ch frame by stage, µs of wall time, p50 / p99 (cpu: the thread's CPU "
                  f"time); new = {ch.get('new', 'Pipeline')} (kernel: {ch.get('kernel')}), baseline = "
                  f"{ch.get('baseline', 'n/a')}. A stage the chain does not call is \"—\": a compiled "
                  "kernel doing several stages in one call has no split, its total is what counts; the "
                  "baseline's stages show where today's time goes:", "",
                  "| block | chain | " + " | ".join(STAGES + ("cpu",)) + " |",
                  "|---|---" + "|---" * (len(STAGES) + 1) + "|"]
        for s in h["sizes"]:
            for w in ("new", "baseline"):
                c = s.get(w)
                if not c:
                    continue
                lines.append(f"| {s['block_samples']} | {w} | " + " | ".join(
                    (f"{_f(c[k]['p50'])} / {_f(c[k]['p99'])}" if c.get(k) else "—")
                    for k in STAGES + ("cpu",)) + " |")
            lines.append(f"| {s['block_samples']} | decode | " + f"{_f(s['decode']['p50'])} / "
                         f"{_f(s['decode']['p99'])} |" + " |" * len(STAGES))
    a = res.get("alert")
    if a and "error" not in a:
        lines += ["", "Alert delay details (new chain; baseline in brackets):", ""]
        for key in ("r200", "r1k"):
            r = a[key]
            n = r.get("new", r)
            b = r.get("baseline", n)
            lines.append(
                f"- {r['rate_hz']} Hz, {r['channels']} ch, region {r['region']}: {r['events']} events, "
                f"{n['matched']} alerted, {n['missed']} missed ({b['missed']}); steps p50/p99 "
                f"{_f(n['step_signal_ms']['p50'])}/{_f(n['step_signal_ms']['p99'])} ms "
                f"({_f(b['step_signal_ms']['p50'])}/{_f(b['step_signal_ms']['p99'])}), ramps "
                f"{_f(n['ramp_signal_ms']['p50'])}/{_f(n['ramp_signal_ms']['p99'])} ms "
                f"({_f(b['ramp_signal_ms']['p50'])}/{_f(b['ramp_signal_ms']['p99'])}) (device clock); "
                f"sample decoded on the host p50/p99 {_f(n['receive_ms']['p50'])}/{_f(n['receive_ms']['p99'])} ms; "
                + (f"transport (device time of the sample to its decoding on the host: pty, the simulated "
                   f"glove's relay, the link's reader) p50/p99 {_f(n['transport_ms']['p50'], 2)}/"
                   f"{_f(n['transport_ms']['p99'], 2)} ms; " if "transport_ms" in n else "")
                + f"stated filter delay {_f(r['stated_filter_delay_ms'])} ms; clock offset from a "
                f"{_f(r['clock_offset_rtt_ms'], 2)} ms ping; samples per read p50 {_f(r['block_samples']['p50'])}, "
                f"max {_f(r['block_samples']['max'])}; lost {r['lost_samples']}, glove drops {r['device_drops']}.")
        if a.get("r1k_16ch_lost"):
            lines.append(f"- 1 kHz with 16 channels lost {a['r1k_16ch_lost']} samples on the simulated glove, so 1 kHz ran with 8.")
    fa = res.get("false")
    if fa and "error" not in fa:
        lines += ["", f"False alarms (offline, 200 Hz, blocks of 1; an episode is false when no sensor it names "
                  f"reached its limit from {fa['lookback_s']:g} s before it to {fa.get('lookahead_s', 0):g} s after; true / false episodes, new chain, "
                  "then today's chain; process time of each chain on the script):", ""]
        for s in fa["scripts"]:
            n, b = s["new"], s["baseline"]
            lines.append(f"- {s['script']}: new {n['true']} true / {n['false']} false ({_f(n['process_wall_s'])} s), "
                         f"today's {b['true']} / {b['false']} ({_f(b['process_wall_s'])} s)"
                         + (f"; {s['glitches']} glitches of {s['glitch_samples']} sample(s)" if s["glitch_samples"] else "")
                         + ".")
    c = res.get("cpu")
    if c and "error" not in c:
        lines += ["", "CPU share by thread (% of one core): " + ", ".join(
            f"{k} {_f(v)}" for k, v in sorted(c["by_thread_core_pct"].items(), key=lambda x: -x[1]))
            + f"; the process figure includes the simulated glove's relay threads; /proc tick {c['clock_tick_s']} s."]
    return "\n".join(lines)


def write_readme(path: Path, block: str) -> None:
    text = path.read_text()
    start, end = "<!-- BENCH -->", "<!-- /BENCH -->"
    if start not in text:
        raise SystemExit(f"{path} has no {start} marker")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1] if end in rest else rest
    path.write_text(f"{head}{start}\n{block}\n{end}{tail}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny configuration (seconds, for a smoke run)")
    ap.add_argument("--only", default=",".join(NAMES), help="comma-separated subset of " + ",".join(NAMES + EXTRA) + " (chip only on request)")
    ap.add_argument("--out", default=str(HERE), help="where results.md and results.json go")
    ap.add_argument("--readme", default=None, help="also put the table into this README (<!-- BENCH --> marker)")
    ap.add_argument("--from-json", default=None, help="rebuild the table, results.md and results.json from a "
                    "results.json of an earlier run (no benchmark is run)")
    a = ap.parse_args(argv)
    only = tuple(x.strip() for x in a.only.split(",") if x.strip())
    bad = set(only) - set(NAMES) - set(EXTRA)
    if bad:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(bad))}")
    cfg = QUICK if a.quick else FULL
    chip_note = ""
    if a.from_json:
        saved = json.loads(Path(a.from_json).read_text())
        mach, res, total, a.quick = saved["machine"], saved["results"], saved["run_time_s"], saved["quick"]
    else:
        t0 = time.perf_counter()
        mach = common.machine()
        log = lambda s: print(s, file=sys.stderr, flush=True)   # noqa: E731
        res = run_all(cfg, only, log)
        total = time.perf_counter() - t0
        saved_chip = HERE / "chip_results.json"
        if "chip" not in only and not a.quick and saved_chip.is_file():
            # the chip bench takes minutes and counts the chip's own cycles (the host's load
            # does not change them): its last run, as `python -m benchmarks.chip` saved it
            res["chip"] = json.loads(saved_chip.read_text())
            chip_note = (" The chip rows are its last run, benchmarks/chip_results.json (`python -m "
                         "benchmarks.chip`, in the emulated chip's own cycles, so the host's load does "
                         "not change them; flash is charged like RAM).")
    rows = build_rows(res)
    load = " ".join(mach.get("loadavg", []))
    for r in rows:
        if r["verdict"] == "MISS" and r.get("cause") and load:
            r["cause"] += f" (load average at the start {load})"
    table = table_md(rows)
    misses = [r["measure"] + (f" — cause: {r['cause']}" if r.get("cause") else "")
              for r in rows if r["verdict"] == "MISS"]
    head = (f"Measured by `python -m benchmarks{' --quick' if a.quick else ''}` in {total:.0f} s "
            f"of wall time. {machine_md(mach)}")
    if a.from_json and saved.get("note"):
        head += " " + saved["note"]
    head += chip_note
    print(table)
    print()
    print(f"run time {total:.0f} s; {len(misses)} miss(es)" + (":" if misses else ""))
    for m in misses:
        print(f"- MISS {m}")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    md = ["# Benchmark results", "", head, "", table, "",
          f"Misses: {len(misses)}" + (":" if misses else ".")] + [f"- {m}" for m in misses] + [
          "",
          details_md(res), "",
          "What each figure means, how it is measured and where each target comes from: "
          "[docs/BENCHMARKS.md](../docs/BENCHMARKS.md).", ""]
    (out / "results.md").write_text("\n".join(md))
    for r in res.values():
        r.pop("trace", None) if isinstance(r, dict) and "error" not in r else None
    (out / "results.json").write_text(json.dumps(
        {"machine": mach, "run_time_s": total, "quick": a.quick, "rows": rows, "results": res,
         **({"note": saved["note"]} if a.from_json and saved.get("note") else {})},
        indent=1, default=str))
    if a.readme:
        write_readme(Path(a.readme), f"{table}\n\n{head}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
