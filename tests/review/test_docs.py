"""docs/REVIEW.md shows the corpus's current ranking and measured errors (tests/review/ranking.py)."""
from __future__ import annotations

import os

import pytest

from .ranking import DOC, MARKS, render


@pytest.mark.skipif(bool(os.environ.get("MG_CORPUS_ONLY")), reason="needs the whole corpus")
def test_review_doc_holds_the_current_ranking_and_errors(corpus):
    text = DOC.read_text()
    parts = render(corpus)
    for key, body in parts.items():
        a, b = MARKS[key]
        assert a in text and b in text, f"docs/REVIEW.md lacks the {key} markers"
        got = text[text.index(a) + len(a):text.index(b)].strip()
        assert got == body.strip(), (f"docs/REVIEW.md's {key} table is out of date: "
                                     f"run `.venv/bin/python -m tests.review.ranking --write`")
