"""Evidence read from a data dir: measured figures when files exist, next steps when they don't."""

from __future__ import annotations

import pytest

from lib.decision.answers import Answers, load_answers, save_answers
from lib.decision.evidence import gather, latest_evaluation, prompt_tokens
from lib.decision.walkthrough import load_progress, record
from lib.finetune.dataset import load_bundled
from tests.decision_fixtures import save_batch, save_evaluation


def words(text: str) -> int:
    return len(text.split())


def test_empty_data_dir_makes_next_steps_with_pages(isolated_data_dir):
    ev = gather(isolated_data_dir, indexed_chunks=0, count=words)
    assert ev.retrieval is None and ev.grid is None
    pages = {s.page for s in ev.missing}
    assert {"pages/documents.py", "pages/evaluate.py", "pages/compare.py"} <= pages
    # the bundled dataset and the shipped adapter's record are real, measured inputs
    assert ev.dataset.source == "bundled sample dataset"
    assert ev.dataset.n_examples == len(load_bundled())
    assert ev.training is None or ev.training.shipped


def test_saved_runs_become_evidence(isolated_data_dir):
    save_evaluation(isolated_data_dir)
    save_batch(isolated_data_dir, facts_on=0.7, facts_off=0.2)
    ev = gather(isolated_data_dir, indexed_chunks=42, count=words)
    r = ev.retrieval
    assert r.dataset == "samples" and r.k == 10 and r.saved_at
    assert r.score("hybrid").ndcg == 0.73 and r.best.method == "hybrid"
    assert r.hybrid_beats_single is True
    assert (r.hybrid_wins, r.hybrid_ties, r.hybrid_losses) == (1, 0, 1)  # +0.05 vs -0.1
    assert (r.id_queries, r.keyword_wins_ids, r.vector_wins_ids) == (1, 1, 0)  # q01 is exact_id
    assert ev.grid.mean("facts", ("base_rag_on", "ft_rag_on")) == 0.7
    assert ev.grid.cell("ft_rag_on").style == 0.9
    assert {s.page for s in ev.missing} <= {"pages/finetune.py"}


def test_latest_run_wins(isolated_data_dir):
    from lib.evaluation.api import result_path
    from lib.io import atomic_write_json

    for name, when in (
        ("old", "2026-01-01T00:00:00Z"),
        ("new", "2026-06-01T00:00:00Z"),
        ("older", "2025-01-01T00:00:00Z"),
    ):
        report = save_evaluation(isolated_data_dir, name).stamped(when)
        atomic_write_json(result_path(isolated_data_dir, name), report.to_json(per_query=True))
    assert latest_evaluation(isolated_data_dir).dataset == "new"


def test_foreign_dataset_exact_ids_by_pattern(isolated_data_dir):
    save_evaluation(isolated_data_dir, "mine")
    ev = gather(isolated_data_dir, count=words)
    assert ev.retrieval.id_queries == 1  # "ERR-4031" matches the ID pattern


def test_prompt_tokens_are_counted_from_the_real_prompts():
    from lib.generation.rag import SYSTEM_PROMPT

    p = prompt_tokens(count=words, chunk_size=100)
    assert p.rag_system == words(SYSTEM_PROMPT)
    assert 0 < p.style_rules < p.style_guide
    assert p.sources == 4 * 100
    assert p.rag_request == p.rag_system + p.style_rules + p.sources + p.question


def test_answers_round_trip_and_survive_a_restart(isolated_data_dir):
    assert load_answers(isolated_data_dir) is None
    a = Answers(frozenset({"wrong_tone"}), True, None, 300, True, "weeks", False, "rag")
    save_answers(isolated_data_dir, a, "2026-12-01T10:00:00Z")
    assert load_answers(isolated_data_dir) == (a, "2026-12-01T10:00:00Z")


def test_progress_facts_recorded_once(isolated_data_dir):
    assert load_progress(isolated_data_dir) == {}
    assert record(isolated_data_dir, "search", "t1") is True
    assert record(isolated_data_dir, "search", "t2") is False
    record(isolated_data_dir, "chat", "t3")
    assert load_progress(isolated_data_dir) == {"search": "t1", "chat": "t3"}
    with pytest.raises(ValueError, match="Supported"):
        record(isolated_data_dir, "dance", "t4")
