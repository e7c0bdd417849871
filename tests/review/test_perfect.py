"""Proof that the truth tests can fail: force one metric to 'perfect' in every review of the
corpus and expect its truth check to fail on at least one scenario (the one with that fault).

Each entry changes only what the metric reports, the way a metric that always says "fine"
would; if its check still passed on the whole corpus, the check would be testing nothing.
"""
from __future__ import annotations

import copy
import os

import pytest

from .checks import CHECKS


def _strokes(r):
    for s in r["strokes"]["segments"]:
        s.update(rhythm_cv=0.0, peak_cv=0.0, pauses=0, lifts=0, pace="ok")


def _holds(r):
    for h in r["holds"]:
        h.update(too_long=False, too_short=False)


def _hands_on(r):
    r["hands_on"]["fraction"] = 1.0


def _regions(r):
    for d in r["regions"].values():
        d["pct_in_allowed"] = 100.0


def _warm_up(r):
    w = r["warm_up"]
    w.update(ok=True, done_s=max(w["done_s"], w["needed_s"]))


def _coverage(r):
    c = r["coverage"]
    c.update(covered=list(c["targets"]), missed=[], lopsided=False)


def _fatigue(r):
    r["fatigue"].update(late_to_early_peak_ratio=1.0, tiring=False)


def _cool_down(r):
    if r["cool_down"]["verdict"] is not None:
        r["cool_down"].update(verdict="ok", ok=True)


def _receiver(r):
    for x in r["receiver"]["feedback"]:
        x["eased"] = True


def _episodes(r):
    r["episodes"]["count"] = 0


def _presses(r):
    r["episodes"]["presses"] = 0
    for e in r["episodes"]["list"]:
        e["presses"] = 0


def _rules(r):
    r["rules"]["violations"] = []


def _contact(r):
    r["contact"]["too_light"] = False


def _length(r):
    r["session_length"].update(verdict="as_routine", kind="quick")


def _balance(r):
    r["balance"]["ratio"] = 1.0


PERFECT = {"strokes": _strokes, "holds": _holds, "hands_on": _hands_on, "regions": _regions,
           "warm_up": _warm_up, "coverage": _coverage, "fatigue": _fatigue, "cool_down": _cool_down,
           "receiver": _receiver, "episodes": _episodes, "presses": _presses, "rules": _rules, "contact": _contact,
           "session_length": _length, "balance": _balance}


def test_every_check_has_a_perfect_version():
    assert set(PERFECT) == set(CHECKS)


@pytest.mark.skipif(bool(os.environ.get("MG_CORPUS_ONLY")), reason="needs the whole corpus")
@pytest.mark.parametrize("metric", sorted(PERFECT))
def test_a_metric_forced_to_perfect_fails_its_truth_check(corpus, metric):
    failed = []
    for name, (sc, path, truth, review) in corpus.items():
        r = copy.deepcopy(review)
        PERFECT[metric](r)
        try:
            CHECKS[metric](sc, truth, r)
        except AssertionError:
            failed.append(name)
    assert failed, f"{metric} forced to perfect still passes its check on every scenario"
