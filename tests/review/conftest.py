"""The corpus, written once per test session (or kept in $MG_CORPUS_DIR between runs).

Each scenario is written and reviewed the first time a test asks for it, so a test that
fails early (a mutant killed) does not pay for the whole corpus."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from massage_glove.review.report import load_settings, review_log

from .corpus import write_log
from .scenarios import scenarios


class Corpus:
    """{name: (scenario, log path, truth, review)}, built on first access."""

    def __init__(self, directory: Path, keep: set | None):
        self.directory = directory
        self.scenarios = {sc.name: sc for sc in scenarios() if keep is None or sc.name in keep}
        self.cfg = load_settings()
        self._done: dict = {}

    def __contains__(self, name) -> bool:
        return name in self.scenarios

    def __getitem__(self, name):
        if name not in self._done:
            sc = self.scenarios[name]
            path, truth = write_log(sc, self.directory)
            self._done[name] = (sc, path, truth, review_log(path, cfg=self.cfg))
        return self._done[name]

    def __len__(self) -> int:
        return len(self.scenarios)

    def __iter__(self):
        return iter(self.scenarios)

    def items(self):
        return [(n, self[n]) for n in self.scenarios]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    d = os.environ.get("MG_CORPUS_DIR")
    directory = Path(d) if d else tmp_path_factory.mktemp("corpus")
    directory.mkdir(parents=True, exist_ok=True)
    only = os.environ.get("MG_CORPUS_ONLY")
    return Corpus(directory, set(only.split(",")) if only else None)
