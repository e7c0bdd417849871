"""Every check on a freshly made review of each scenario, one test per scenario.

The other corpus tests share one review per scenario; mutation testing (`make mutation`)
picks the tests that run a mutated function, so it runs these, which each make their own
review. Run them with MG_FRESH=1 (the mutation run sets it); otherwise they would repeat
the corpus tests' work."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from massage_glove.review.report import load_settings, review_log

from .checks import CHECKS
from .corpus import write_log
from .scenarios import GOOD, SINGLE_FAULTS, scenarios

# short sessions first: a mutant that breaks a metric is caught in a second or two
_ONLY = os.environ.get("MG_CORPUS_ONLY")
ORDER = sorted((sc for sc in scenarios() if not _ONLY or sc.name in _ONLY.split(",")),
               key=lambda sc: sum(s.duration_s for s in sc.stages))


@pytest.mark.skipif(not os.environ.get("MG_FRESH"), reason="set MG_FRESH=1 (make mutation does)")
@pytest.mark.parametrize("sc", ORDER, ids=[sc.name for sc in ORDER])
def test_fresh_review_against_truth(sc, tmp_path_factory):
    d = os.environ.get("MG_CORPUS_DIR") or str(tmp_path_factory.mktemp("fresh"))
    Path(d).mkdir(parents=True, exist_ok=True)
    path, truth = write_log(sc, d)
    r = review_log(path, cfg=load_settings())
    for name in sorted(CHECKS):
        CHECKS[name](sc, truth, r)
    items = r["advice_items"]
    assert len(items) == 3 and all(x["text"] for x in items)
    if sc.fault is None:
        assert [x["fault"] for x in items] == [None] * 3, items
        assert r["score"]["total"] >= 90
    else:
        assert items[0]["fault"] == sc.fault, items
        assert r["score"]["total"] < 100.0
    if sc.name in SINGLE_FAULTS:
        assert r["score"]["total"] >= 60.0, r["score"]
    if sc.name == "heavy":
        assert r["score"]["total"] < 70.0 and r["score"]["breakdown"]["in_band"]["fraction"] < 0.5
    assert GOOD and SINGLE_FAULTS
