"""The abstention curve on a hand-made set, labelled files, and the sample set on the real index."""

from __future__ import annotations

import pytest

from lib.config import SAMPLE_DOCS_DIR
from lib.evaluation.abstention import (
    AbstentionPoint,
    abstention_curve,
    read_scoped,
    score_questions,
)
from lib.evaluation.beir import DatasetError
from lib.generation.rag import DEFAULT_MIN_CONFIDENCE


def test_points_on_a_hand_made_set():
    curve = abstention_curve([0.5, 0.6, 0.7, 0.3], [0.1, 0.2, 0.55])
    assert curve.points[0] == AbstentionPoint(0.0, 1.0, 1.0)  # answer everything
    assert curve.points[-1].answered == 0.0 and curve.points[-1].false_answers == 0.0
    by_t = {p.threshold: p for p in curve.points}
    assert by_t[0.3] == AbstentionPoint(0.3, 1.0, 1 / 3)  # only 0.55 gets through
    assert by_t[0.55] == AbstentionPoint(0.55, 0.5, 1 / 3)
    assert by_t[0.6] == AbstentionPoint(0.6, 0.5, 0.0)
    # moving the threshold up never answers more
    assert all(a.answered >= b.answered and a.false_answers >= b.false_answers
               for a, b in zip(curve.points, curve.points[1:]))
    assert curve.at(0.25) == AbstentionPoint(0.25, 1.0, 1 / 3)
    assert curve.best() == pytest.approx(0.25)  # calibrate's midpoint of the winning gap


def test_labelled_file_with_an_in_scope_column():
    rows = [
        '{"_id": "a", "text": "fee for cards", "in_scope": true}',
        '{"_id": "b", "text": "capital of Peru", "in_scope": false}',
        '{"id": "c", "text": "lounge access", "in_scope": "no"}',
        '{"_id": "d", "text": "rate limits", "type": "out_of_scope"}',
        '{"_id": "e", "text": "late payment"}',
    ]
    text = "\n".join(rows)
    scoped = {q.id: q.in_scope for q in read_scoped(text)}
    assert scoped == {"a": True, "b": False, "c": False, "d": False, "e": True}
    with pytest.raises(DatasetError, match="both in-scope and out-of-scope"):
        read_scoped('{"_id": "a", "text": "x"}')
    with pytest.raises(DatasetError, match="line 2"):
        read_scoped('{"_id": "a", "text": "x"}\nnot json')


def test_sample_set_on_the_sample_index(sample_store):
    questions = read_scoped((SAMPLE_DOCS_DIR / "eval" / "queries.jsonl").read_text())
    curve = score_questions(sample_store, questions)
    assert len(curve.out_of_scope) == sum(not q.in_scope for q in questions) >= 5
    at_default = curve.at(DEFAULT_MIN_CONFIDENCE)
    # the app's threshold keeps (nearly) every in-scope question and stops some out-of-scope ones
    assert at_default.answered >= 0.95 and at_default.false_answers < 1.0
