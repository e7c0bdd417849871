"""Alert detection delay: from the force model's true crossing of a region limit to the host's alert.

The simulated glove (the real firmware in the MicroPython unix port, real-time mode) plays
a script of single-sensor holds over the region's limit: steps and ramps, at random times,
on random sensors, at random levels between LEVEL_RANGE times the limit. The host reads it
the way the live session does: GloveLink on the pty, `link.read(timeout=0.05)`, then the
chain's process() on every block (tared on the first second of rest, region set). Two
chains see every block in the same run (benchmarks.common.make_chain): the new one
(`Pipeline`, with the fast alert path when the package has it) and the baseline (today's
chain: `ReferencePipeline` with fast_alert_samples=0).

Ground truth is the force model's true force (ForceModel.truth_us, the model the glove's
ADC runs), searched at TRUTH_STEP_US resolution for the first instant each event's force
reaches the limit edge (the edge above the region's allowed band). Per event and chain:

* signal delay: device time of the sample whose alert fired minus the true crossing time
  (both on the glove's clock: what the chain itself adds, plus sampling);
* host delay: host clock when the chain's process() returned the alert minus the true
  crossing time mapped to the host clock (the device clock's offset is taken from `ping` replies, the one with the
  shortest round trip; its uncertainty is half that round trip);
* receive delay: host clock when the alerting sample was decoded, same mapping;
* transport: host clock when the alerting sample was decoded minus its own device time
  mapped to the host clock: what the pty, the simulated glove's relay thread and the
  link's reader add (a real glove has USB there instead).

Physical floor: one sample period (a crossing just after a sample waits for the next)
plus one USB frame (1 ms): USB CDC ignores the baud rate, and a 47-byte DATA frame fits one
64-byte full-speed bulk packet, collected by the host controller within a 1 ms frame.

    python -m benchmarks.alert_delay [--seconds 45] [--rate 200]
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time

import numpy as np

from massage_glove.link import GloveLink
from massage_glove.portable import fsr
from massage_glove.portable.forcemodel import ForceModel
from massage_glove.samples import SampleBlock
from massage_glove.signal import default_profile_set
from massage_glove.sim.glove import SimGlove

from . import common

REGION = "lower_back"            # allowed band medium: the limit is the medium|firm edge
ALERT_RULES = ("over_limit", "too_much")
# Host clock, p99, per rate: one sample period + one USB frame + what the chain and the
# host add (docs/BENCHMARKS.md section 1).
TARGETS_P99_MS = {200: 13.0, 1000: 7.0}
LEVEL_RANGE = (1.15, 1.6)        # event force as a multiple of the limit
RAMP_RANGE_S = (0.05, 0.3)       # a ramp's rise time; a step rises at once
HOLD_RANGE_S = (0.2, 0.4)        # time at the level
GAP_RANGE_S = (0.15, 0.5)        # off the body between events
REUSE_S = 3.0                    # a hand rests this long (> contact_gap_s, clear_ms) between events
LEAD_IN_S = 3.0                  # off the body at the start (the tare takes the first second)
TARE_S = 1.0
TRUTH_STEP_US = 20
# The floor's transport: USB CDC ignores the baud rate; a DATA frame (47 bytes at 16
# channels) fits one 64-byte full-speed bulk packet, which the host controller collects
# within one 1 ms USB frame. A UART at the nominal 115200 baud (8N1) would take 4.1 ms.
USB_FRAME_MS = 1.0
USB_FS_PACKET_BYTES = 64
BAUD = 115200                    # link.open_port opens every port at this nominal rate
BITS_PER_BYTE = 10               # 8N1


def data_frame_bytes(n_channels: int) -> int:
    """Bytes of one DATA frame on the wire (PROTOCOL.md: 9-byte header, counts, CRC, COBS, 0x00)."""
    payload = 9 + 2 * n_channels + 4
    return payload + payload // 254 + 1 + 1


def make_script(seconds: float, hands, region: str = REGION, seed: int = 1):
    """A force-model script of limit crossings and the list of planned events."""
    rng = random.Random(seed)
    table = common.channel_table(hands)
    dev = common.device_info(hands=hands)
    prof = default_profile_set().resolve(region, "trained", "normal", dev.channels)
    allowed = int(prof.allowed_band)
    edges = np.asarray(prof.edges_n, np.float64)

    def off(d):
        return {"duration_s": float(d), "region": "off", "technique": "off", "stage": "off",
                "ramp_s": 0.0}

    segments = [off(LEAD_IN_S)]
    t = LEAD_IN_S
    last_end = {h: -math.inf for h in hands}
    events = []
    while True:
        gap = rng.uniform(*GAP_RANGE_S)
        kind = "step" if rng.random() < 0.5 else "ramp"
        ramp = 0.0 if kind == "step" else rng.uniform(*RAMP_RANGE_S)
        hold = 2 * ramp + rng.uniform(*HOLD_RANGE_S)
        if t + gap + hold + 1.0 > seconds:
            break
        segments.append(off(gap))
        t += gap
        # a hand rests REUSE_S between its events: the rules tell one alert per press
        # episode of a hand, and an episode lasts while the hand keeps contact within
        # contact_gap_s (2 s), so an event sooner on the same hand would be no new alert
        free = [j for j in range(len(table)) if t - last_end[table[j][2]] >= REUSE_S]
        if not free:
            continue
        j = rng.choice(free)
        name, cls = table[j][1], table[j][4]
        limit = float(edges[j, allowed])
        level = min(limit * rng.uniform(*LEVEL_RANGE), 0.95 * fsr.NOMINAL[cls]["f_max_n"])
        segments.append({"duration_s": hold, "region": region, "technique": "hold",
                         "stage": f"event_{len(events)}", "force_by_channel": {name: level},
                         "peak_spread": 0.0, "ramp_s": ramp, "tremor_scale": 0.0})
        events.append({"channel": j, "name": name, "kind": kind, "start_s": t, "end_s": t + hold,
                       "rise_s": ramp, "level_n": level, "limit_n": limit})
        t += hold
        last_end[table[j][2]] = t
    segments.append(off(2.0))
    script = {"seed": seed, "segments": segments, "tremor": {"amp_n": 0.0, "hz": 9.0},
              "noise_counts": 2.0, "creep": {"fraction": 0.04, "tau_s": 8.0}, "faults": []}
    return script, events, table


def true_crossings(script: dict, table, events) -> None:
    """Set each event's "t_true_s": the first instant its true force reaches the limit."""
    model = ForceModel(script, table, 4095)
    for ev in events:
        j, lim = ev["channel"], ev["limit_n"]
        t0 = int(ev["start_s"] * 1e6)
        t1 = int((ev["start_s"] + ev["rise_s"] + 0.05) * 1e6)
        coarse = 500
        t = t0
        while t <= t1 and model.truth_us(t)[j] < lim:
            t += coarse
        lo = max(t0, t - coarse)
        while lo < t and model.truth_us(lo)[j] < lim:
            lo += TRUTH_STEP_US
        ev["t_true_s"] = lo / 1e6 if lo <= t1 else math.nan


def clock_offset(link, n: int = 12) -> tuple[float, float]:
    """(device seconds - host seconds, round trip s) from the ping with the shortest round trip."""
    best = (math.inf, 0.0)
    for _ in range(n):
        t0 = time.time()
        f = link.command("ping")
        t1 = time.time()
        dev = int(f.text) * 1e-6
        if t1 - t0 < best[0]:
            best = (t1 - t0, dev - 0.5 * (t0 + t1))
    return best[1], best[0]


def _match(events, alerts, t0_model, offset_s):
    """Per event, the first alert on its sensor: (signal, host, receive, transport) ms lists."""
    sig, host, recv, trans, missed, kinds = [], [], [], [], [], {"step": [], "ramp": []}
    for ev in events:
        if not math.isfinite(ev.get("t_true_s", math.nan)):
            continue
        hit = None
        for a, ready, got in alerts:
            t_a = a.t_s + t0_model
            if (a.sensor == ev["name"] and a.rule in ALERT_RULES
                    and ev["start_s"] - 0.05 <= t_a <= ev["end_s"] + 0.5):
                hit = (t_a, ready, got)
                break
        if hit is None:
            near = [(round(a.t_s + t0_model, 3), a.sensor, a.rule, a.repeat) for a, _, _ in alerts
                    if ev["start_s"] - 1.0 <= a.t_s + t0_model <= ev["end_s"] + 0.5]
            missed.append({"name": ev["name"], "t_true_s": ev["t_true_s"], "kind": ev["kind"],
                           "alerts_near": near[:6]})
            continue
        d = (hit[0] - ev["t_true_s"]) * 1e3
        sig.append(d)
        kinds[ev["kind"]].append(d)
        t_true_host = ev["t_true_s"] - offset_s
        host.append((hit[1] - t_true_host) * 1e3)
        recv.append((hit[2] - t_true_host) * 1e3)
        trans.append((hit[2] - (hit[0] - offset_s)) * 1e3)
    return {"matched": len(sig), "missed": len(missed), "missed_events": missed[:10], "signal_ms": common.summary(sig),
            "host_ms": common.summary(host), "receive_ms": common.summary(recv),
            "transport_ms": common.summary(trans),
            "step_signal_ms": common.summary(kinds["step"]),
            "ramp_signal_ms": common.summary(kinds["ramp"])}


def measure(rate_hz: int = 200, seconds: float = 45.0, hands=("right", "left"),
            region: str = REGION, seed: int = 1) -> dict:
    """Both chains at rate_hz, one glove session each on the same script (same seed): the
    new chain first, then the baseline. Separate sessions, because a slow chain in the same
    read loop delays the next read, and the queue it leaves would be charged to the fast one.
    Delays in ms; see the module docstring."""
    out = _session(rate_hz, seconds, hands, region, seed, "new")
    base = _session(rate_hz, seconds, hands, region, seed, "baseline")
    out["baseline"] = base["baseline"]
    out["baseline_session"] = {k: base[k] for k in ("block_samples", "lost_samples", "device_drops",
                                                    "clock_offset_rtt_ms", "wall_s")}
    out["wall_s"] += base["wall_s"]
    return out


def _session(rate_hz: int, seconds: float, hands, region: str, seed: int, chain: str) -> dict:
    """One simulated-glove session read by one chain (common.make_chain(chain))."""
    script, events, table = make_script(seconds, hands, region, seed)
    true_crossings(script, table, events)
    which = (chain,)
    alerts = {w: [] for w in which}    # (alert, host time ready, host time the sample was decoded)
    sizes = []
    t_wall0 = time.perf_counter()
    with SimGlove(script, hands=hands, mode="realtime") as sim:
        link = GloveLink.open(sim.port, reconnect=False)
        try:
            n_ch = len(link.info.channels)
            if [c.name for c in link.info.channels] != [c[1] for c in table]:
                raise RuntimeError("the simulated glove's channels differ from the script's table")
            if rate_hz != int(link.info.rate_hz):
                link.set_rate(rate_hz)
            offset_s, rtt_s = clock_offset(link)
            pipes = {w: common.make_chain(w, link.info, rate_hz, region) for w in which}
            link.start()
            pending: list[SampleBlock] = []
            tared = False
            end_model_s = sum(s["duration_s"] for s in script["segments"])
            while True:
                block, _ = link.read(timeout=0.05)
                if not len(block):
                    if time.perf_counter() - t_wall0 > end_model_s + 30:
                        raise RuntimeError("the simulated glove stopped sending")
                    continue
                t0_model = link.device_t0_us * 1e-6
                if not tared:
                    pending.append(block)
                    if sum(len(b) for b in pending) >= TARE_S * rate_hz:
                        whole = SampleBlock.concat(pending, n_ch)
                        for p in pipes.values():
                            p.tare(whole)
                        tared = True
                    continue
                sizes.append(len(block))
                for w in which:
                    res = pipes[w].process(block)
                    ready = time.time()
                    for a in res.alerts:
                        i = min(int(np.searchsorted(block.t_device_s, a.t_s)), len(block) - 1)
                        alerts[w].append((a, ready, float(block.t_host_s[i])))
                if block.t_device_s[-1] + t0_model > end_model_s:
                    break
            stats = link.stats
            lost, drops = stats.lost_samples, stats.device_drops
        finally:
            link.close()

    period_ms = 1e3 / rate_hz
    frame = data_frame_bytes(n_ch)
    out = {
        "rate_hz": rate_hz, "channels": n_ch, "region": region, "rules": list(ALERT_RULES),
        "events": len(events), "target_p99_ms": TARGETS_P99_MS.get(rate_hz),
        "floor_ms": period_ms + USB_FRAME_MS, "period_ms": period_ms, "usb_frame_ms": USB_FRAME_MS,
        "frame_bytes": frame, "usb_packet_bytes": USB_FS_PACKET_BYTES,
        "uart_wire_ms": frame * BITS_PER_BYTE / BAUD * 1e3, "baud": BAUD,
        "clock_offset_rtt_ms": rtt_s * 1e3,
        "block_samples": common.summary(sizes), "lost_samples": lost, "device_drops": drops,
        "stated_filter_delay_ms": common.make_chain("baseline", common.device_info(rate_hz, hands),
                                                    rate_hz).delay_ms,
        "chains": common.chains(), "wall_s": time.perf_counter() - t_wall0,
    }
    for w in which:
        out[w] = _match(events, alerts[w], t0_model, offset_s)
    # the first chain's figures also at the top level (the class view and older readers use them)
    out.update({k: out[chain][k] for k in ("matched", "missed", "signal_ms", "host_ms",
                                           "receive_ms", "step_signal_ms", "ramp_signal_ms")})
    return out


def run(seconds_200: float = 60.0, seconds_1k: float = 30.0, seed: int = 1) -> dict:
    """200 Hz with 16 channels; 1 kHz with 16 channels, or 8 if 16 lose samples on the sim."""
    out = {"r200": measure(200, seconds_200, seed=seed), "targets_p99_ms": dict(TARGETS_P99_MS)}
    r1k = measure(1000, seconds_1k, seed=seed + 1)
    out["r1k_16ch_lost"] = r1k["lost_samples"] + r1k["device_drops"]
    if out["r1k_16ch_lost"]:
        r1k = measure(1000, seconds_1k, hands=("right",), seed=seed + 1)
    out["r1k"] = r1k
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=45.0)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--hands", default="right,left")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = measure(a.rate, a.seconds, tuple(a.hands.split(",")))
    for w in ("new", "baseline"):
        m = r[w]
        print(f"{w:>8}: host p50/p99 {m['host_ms']['p50']:.1f}/{m['host_ms']['p99']:.1f} ms, device "
              f"{m['signal_ms']['p50']:.1f}/{m['signal_ms']['p99']:.1f} ms, transport p50/p99 "
              f"{m['transport_ms']['p50']:.2f}/{m['transport_ms']['p99']:.2f} ms "
              f"({m['matched']} of {r['events']}, missed {m['missed']})", file=sys.stderr)
    print(f"floor {r['floor_ms']:.1f} ms, target p99 {r['target_p99_ms']} ms, {r['chains']['baseline']}",
          file=sys.stderr)
    print(json.dumps(r, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
