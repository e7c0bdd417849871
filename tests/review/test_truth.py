"""The review against the corpus's truth: every metric, the advice, and the score's ranking."""
from __future__ import annotations

import copy

import pytest

from .checks import CHECKS
from .scenarios import GOOD, SINGLE_FAULTS, scenarios

NAMES = [sc.name for sc in scenarios()]


def _get(corpus, name):
    if name not in corpus:
        pytest.skip(f"{name} not in this corpus selection")
    return corpus[name]


@pytest.mark.parametrize("metric", sorted(CHECKS))
@pytest.mark.parametrize("name", NAMES)
def test_metric_against_truth(corpus, name, metric):
    sc, path, truth, review = _get(corpus, name)
    CHECKS[metric](sc, truth, review)


@pytest.mark.parametrize("name", NAMES)
def test_advice_names_the_fault_first(corpus, name):
    sc, path, truth, review = _get(corpus, name)
    items = review["advice_items"]
    assert len(items) == 3 and all(x["text"] for x in items)
    if sc.fault is None:
        assert [x["fault"] for x in items] == [None] * 3, (name, items)
        assert not any(review["faults"].values()), (name, review["faults"])
    else:
        assert items[0]["fault"] == sc.fault, (name, items)
        assert "None" not in items[0]["text"] and "_" not in items[0]["text"], items[0]["text"]


def test_score_ranks_trainees(corpus):
    score = {n: corpus[n][3]["score"]["total"] for n in corpus}
    good = [score[n] for n in GOOD if n in score]
    single = {n: score[n] for n in SINGLE_FAULTS if n in score}
    assert good and min(good) >= 90, {n: score[n] for n in GOOD if n in score}
    for n, s in single.items():
        assert s < min(good), (n, s, min(good))
    if "heavy" in score:
        assert score["heavy"] < min(single.values()), (score["heavy"], single)
        # a miss counts by its distance: the heavy trainee loses most of the in-band part
        bd = corpus["heavy"][3]["score"]["breakdown"]["in_band"]
        assert bd["points"] < 0.5 * bd["max"], bd


def test_each_too_much_episode_costs(corpus):
    sc, path, truth, review = _get(corpus, "saturated")
    bd = review["score"]
    assert review["episodes"]["count"] == 2 and all(e["saturated"] for e in review["episodes"]["list"])
    one = copy.deepcopy(review)
    from massage_glove.review import report
    # one more or one fewer episode changes the score: none is free
    cfg = report.load_settings()
    g1 = 1.0 / (1.0 + cfg["episode_gate"] * 1)
    g2 = 1.0 / (1.0 + cfg["episode_gate"] * 2)
    assert bd["episode_gate"] == pytest.approx(g2, abs=1e-3) and g2 < g1 < 1.0
    del one
