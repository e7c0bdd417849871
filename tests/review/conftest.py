"""The corpus, written once per test session (or kept in $MG_CORPUS_DIR between runs)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from massage_glove.review.report import load_settings, review_log

from .corpus import write_log
from .scenarios import scenarios


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """{name: (scenario, log path, truth, review)} for every scenario of the corpus."""
    d = os.environ.get("MG_CORPUS_DIR")
    directory = Path(d) if d else tmp_path_factory.mktemp("corpus")
    directory.mkdir(parents=True, exist_ok=True)
    only = os.environ.get("MG_CORPUS_ONLY")
    keep = set(only.split(",")) if only else None
    cfg = load_settings()
    out = {}
    for sc in scenarios():
        if keep is not None and sc.name not in keep:
            continue
        path, truth = write_log(sc, directory)
        out[sc.name] = (sc, path, truth, review_log(path, cfg=cfg))
    return out
