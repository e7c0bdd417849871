"""A long soak: an hour of signal from the free-running simulated glove (faster than real
time) through a logged live session, with cable and sensor faults sprinkled in. No crash,
memory flat, every injected fault in the log."""
from __future__ import annotations

import random

import numpy as np

from massage_glove.sim import scripts
from massage_glove.sim.glove import SimGlove

from faultkit import LiveRun, assert_log_is_whole, events, wait_until

SOAK_S = 3660.0                     # signal seconds, a little over an hour
WARM_UP_S = 600.0                   # RSS is compared from here on (imports, caches, arenas)
RSS_GROWTH_LIMIT_KB = 8 * 1024      # an hour of 200 Hz x 16 channels is 46 MB of counts
# sensor faults in script time (the glove's own clock since it booted)
SENSOR_FAULTS = [("saturated", "R_middle", 600.0, 640.0), ("open", "L_index", 1500.0, 1540.0),
                 ("noisy", "R_ring", 2400.0, 2440.0)]


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def test_an_hour_of_signal_with_faults(tmp_path):
    plan = scripts.DEFAULT_PLAN * 23                       # about 64 minutes of massage
    script = scripts.routine_script(plan, seed=11, lead_in_s=30.0, faults=[
        {"kind": k, "channel": ch, "start_s": t0, "end_s": t1} for k, ch, t0, t1 in SENSOR_FAULTS])
    rng = random.Random(5)
    garbage_n = corrupted = stalls = 0
    rss: list[tuple[float, int]] = []
    with SimGlove(script, mode="free") as sim:
        run = LiveRun(sim, tmp_path)
        session = run.session

        def corrupt():
            nonlocal corrupted
            sim.corrupt(3)
            corrupted += 3

        def garbage():
            nonlocal garbage_n
            sim.garbage(bytes(rng.randrange(256) for _ in range(2048)))
            garbage_n += 1

        def stall():
            nonlocal stalls
            sim.stall(1.0)
            stalls += 1

        def unplug_replug():
            sim.unplug()
            assert wait_until(lambda: run.link.stats.disconnects == 1)
            sim.replug()
            assert wait_until(lambda: run.link.stats.reconnects == 1)

        plan_faults = [(t, corrupt) for t in np.arange(300.0, 3300.0, 300.0)]
        plan_faults += [(t, garbage) for t in np.arange(450.0, 3400.0, 420.0)]
        plan_faults += [(1000.0, stall), (2800.0, stall), (3300.0, unplug_replug)]
        plan_faults += [(t, lambda: rss.append((session.session_time(), rss_kb())))
                        for t in np.arange(60.0, SOAK_S, 120.0)]
        try:
            for t, act in sorted(plan_faults, key=lambda x: x[0]):
                assert wait_until(lambda: session.session_time() >= t, timeout=600), \
                    f"the session stopped at {session.session_time():.0f} s of signal"
                act()
                assert session.running, session.problems()
            assert wait_until(lambda: session.session_time() >= SOAK_S, timeout=600)
            assert sim.wait_corruptions(timeout=60)
            alive = [t for t in session._threads if t.is_alive()]
            assert len(alive) == len(session._threads), "acquisition and command threads alive"
            rss.append((session.session_time(), rss_kb()))
        finally:
            summary = run.close()
    assert summary["problems"] == []

    # memory flat: after the warm-up, RSS does not climb with the hour
    after = [kb for t, kb in rss if t >= WARM_UP_S]
    print(f"soak RSS: start {rss[0][1]} kB, at {WARM_UP_S:.0f} s {after[0]} kB, "
          f"end {rss[-1][1]} kB, max {max(after)} kB over {rss[-1][0]:.0f} s of signal")
    assert max(after) - after[0] < RSS_GROWTH_LIMIT_KB, rss

    log = run.log()
    assert_log_is_whole(log, summary)
    assert log.samples.t_device_s[-1] - log.samples.t_device_s[0] >= SOAK_S - 60.0
    # every injected fault is in the log
    lost = sum(e.fields["missing"] for e in events(log, "gap"))
    assert lost == len(sim.corrupted_seqs) == corrupted > 0
    assert len(events(log, "corrupt")) >= len(sim.corrupted_seqs) + garbage_n
    assert len(events(log, "stall")) == stalls == 2 and len(events(log, "resume")) == 2
    assert len(events(log, "disconnect")) == 1 and len(events(log, "reconnect")) == 1
    alerts = {(e.fields["rule"], e.fields["channel"]) for e in events(log, "alert")}
    assert ("sensor_saturated", "R_middle") in alerts
    assert ("sensor_broken", "L_index") in alerts
    noisy = [e for e in events(log, "alert") if e.fields["channel"] == "R_ring"
             and e.fields["rule"] == "sensor_broken"]
    assert noisy and "jumps about" in noisy[0].fields["text"]
