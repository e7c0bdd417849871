"""Prompts like a CPR coach, against the force model's truth: the heavy simulated trainee on
the demo routine gets one alert episode per push over the region's limit (the pushes counted
in the TRUE force of the script, independently of the chain), within 10 %."""
from __future__ import annotations

from collections import Counter

import pytest

from replay import replay, truth_pushes

pytest.importorskip("massage_glove.sim.scripts")

PRESSURE = ("too_much", "over_limit", "over_limit_hand")


@pytest.fixture(scope="module")
def heavy():
    return replay("heavy", seed=3)


def test_heavy_trainee_alert_episodes_match_the_pushes_over_the_limit(heavy):
    alerts, gt, ps = heavy
    rearm_s = ps.rules["over_limit"].clear_ms / 1000.0
    pushes = truth_pushes(gt, ps, rearm_s)
    episodes = Counter(a.hand for a in {(a.hand, a.episode): a for a in alerts
                                        if a.rule in PRESSURE}.values())
    for hand, p in pushes.items():
        assert len(p) >= 20, "the heavy trainee pushes over the limit on many strokes"
        assert abs(episodes[hand] - len(p)) <= 0.10 * len(p), (hand, episodes[hand], len(p))
        # and each push is told near its start: within 30 ms of the true crossing (filter
        # delay), or it is a push the chain merged with its neighbour
        starts = sorted(a.t_s for a in alerts if a.hand == hand and a.rule in PRESSURE
                        and not a.repeat)
        told = sum(any(0.0 <= s - t0 <= 0.030 for s in starts) for t0, _ in p)
        assert told >= 0.9 * len(p), (hand, told, len(p))


def test_one_press_is_one_alert(heavy):
    alerts, _, _ = heavy
    per = Counter((a.hand, a.episode, a.rule) for a in alerts if a.rule in PRESSURE
                  and not a.repeat)
    assert max(per.values()) == 1
    # a press over the limit that goes on to too much is told once for each, never more
    per_press = Counter((a.hand, a.episode) for a in alerts if a.rule in PRESSURE and not a.repeat)
    assert max(per_press.values()) <= 2


def test_warm_up_is_told_only_after_several_misses(heavy):
    alerts, _, ps = heavy
    misses = ps.rules["too_deep_too_fast"].misses
    assert misses == 4
    warm = [a for a in alerts if a.rule == "too_deep_too_fast" and not a.repeat]
    assert warm
    for hand in {a.hand for a in warm}:
        first = min((a for a in warm if a.hand == hand), key=lambda a: a.t_s)
        assert first.episode >= misses      # the 4th firm press before the warm-up, not the 1st
        # and not nagging: prompts of one hand at least holdoff_s apart, across presses
        ts = sorted(a.t_s for a in warm if a.hand == hand)
        assert all(b - a >= ps.rules["too_deep_too_fast"].holdoff_s for a, b in zip(ts, ts[1:]))
