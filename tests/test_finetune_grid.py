"""The 2×2 grid's plumbing on the real sample index, with the OpenAI cloud faked over HTTP.

The grid with the real local model server runs in tests/test_page_compare.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lib import jobs
from lib.compare.batch import BatchRun
from lib.compare.grid import (
    PRESETS,
    CellResult,
    GridContext,
    cells,
    expected_present,
    finish_cell,
    grounded_questions,
    run_grid,
)
from lib.compare.results import (
    CellRow,
    BatchResults,
    BatchSettings,
    load_results,
    save_results,
    summarise,
)
from lib.generation.chat_model import ChatModel
from lib.generation.models import ModelSpec
from lib.generation.rag import PLAIN_SYSTEM_PROMPT, SYSTEM_PROMPT, Retrieval
from lib.types import Chunk, Hit
from tests.fake_openai import FakeOpenAI

REPLY = (
    "Thanks for your question. The Orbit Metal monthly plan fee is £12.99 [1]. "
    "This is general information, not financial advice."
)
CHUNK = Chunk("d-00001", "d", "fee_schedule.pdf", 1, "Cards", 0, 40, "Orbit Metal plan fee: £12.99.")
RETRIEVAL = Retrieval((Hit(CHUNK, 0.8, 1, "hybrid"),), 0.8, 3.0)


@pytest.fixture
def fake():
    with FakeOpenAI(api_key="sk-test", models={"base-m", "tuned-m"}, reply=REPLY) as server:
        yield server


def remote_grid(fake: FakeOpenAI):
    base = ModelSpec("Base", "openai", "base-m", fake.url, key_source="openai")
    tuned = ModelSpec("Tuned", "openai", "tuned-m", fake.url, key_source="openai")
    secrets = {"openai": "sk-test"}
    return cells(ChatModel(base, secrets=secrets), ChatModel(tuned, secrets=secrets))


def test_four_cells_in_reading_order(fake):
    grid = remote_grid(fake)
    assert [(c.key, c.rag, c.spec.model) for c in grid] == [
        ("base_rag_off", False, "base-m"), ("base_rag_on", True, "base-m"),
        ("ft_rag_off", False, "tuned-m"), ("ft_rag_on", True, "tuned-m")]
    assert grid[3].label == "Tuned · RAG on"


def test_grid_answers_like_chat_and_scores_every_cell(fake, sample_store, isolated_data_dir: Path):
    ctx = GridContext(index=sample_store, data_dir=isolated_data_dir)
    results = run_grid(PRESETS[0].question, remote_grid(fake), ctx, expected=PRESETS[0].fact)
    assert [r.error for r in results] == ["", "", "", ""]
    prompts = [body["messages"] for body in fake.requests]
    # run order base off, tuned off, base on, tuned on: the adapter switches every request
    assert [b["model"] for b in fake.requests] == ["base-m", "tuned-m"] * 2
    assert [m[0]["content"] for m in prompts] == [PLAIN_SYSTEM_PROMPT] * 2 + [SYSTEM_PROMPT] * 2
    assert prompts[2][1]["content"].startswith("Documentation:\n\n[1] ")
    assert prompts[0][1]["content"] == PRESETS[0].question
    by_key = {r.key: r for r in results}
    on, off = by_key["ft_rag_on"].card, by_key["ft_rag_off"].card
    assert on.grounded and on.style_score == 1.0 and by_key["ft_rag_on"].expected_found
    assert off.rule("R6").passed is False  # a citation without documents is invented
    assert off.facts_ok and not off.grounded  # the right number, but nothing to cite
    assert all(r.card is not None and r.seconds > 0 for r in results)


def test_batch_runs_in_the_background_and_saves_averages(fake, sample_store, isolated_data_dir):
    ctx = GridContext(index=sample_store, data_dir=isolated_data_dir)
    questions = grounded_questions()[:2]
    run = jobs.start(BatchRun(questions, remote_grid(fake), ctx))
    assert jobs.current(BatchRun, isolated_data_dir) is run
    assert run.wait(timeout=120) == "done", run.error
    saved = load_results(isolated_data_dir)
    assert saved.n_questions == 2 and saved.base == "Base" and saved.fine_tuned == "Tuned"
    assert [q.id for q in saved.questions] == [q[0] for q in questions]
    assert saved.questions[0].expected == questions[0][2]
    assert set(saved.summary.keys) == {"base_rag_off", "base_rag_on", "ft_rag_off", "ft_rag_on"}
    ft_on = saved.summary.cell("ft_rag_on")
    assert ft_on.style.n == 2 and ft_on.style.rules["R1"] == 1.0
    assert len(fake.requests) == 8
    snap = run.snapshot()
    assert snap.done == snap.total == 2
    assert snap.detail.path == isolated_data_dir / "results" / "compare.json"
    assert snap.detail.summary == saved.summary


def test_a_failing_cell_keeps_its_error_line(fake, sample_store, isolated_data_dir):
    fake.fail_next(401)
    ctx = GridContext(index=sample_store, data_dir=isolated_data_dir)
    results = run_grid(PRESETS[0].question, remote_grid(fake), ctx)
    assert "401" in results[0].error and results[0].card is None
    assert all(r.card is not None for r in results[1:])


def test_expected_facts_and_stale_answers():
    grid = cells(ChatModel(ModelSpec("B", "openai", "b")), ChatModel(ModelSpec("T", "openai", "t")))
    stale = finish_cell(grid[0], PRESETS[0].question, RETRIEVAL, "It costs £14.99.", 1.0,
                        expected="£12.99")
    assert stale.card.facts_unsupported == ("£14.99",) and stale.expected_found is False
    assert expected_present("3.85% AER", "Orbit Saver pays 3.85% [2].")
    assert expected_present("over one of your limits", "It means you went over your limits.")
    assert not expected_present("up to five team members", "Up to 5 people.")


def test_summary_and_results_file(tmp_path: Path):
    grid = cells(ChatModel(ModelSpec("B", "openai", "b")), ChatModel(ModelSpec("T", "openai", "t")))
    q = PRESETS[0].question
    rows = [
        [finish_cell(c, q, RETRIEVAL, REPLY if c.rag else "No idea.", 2.0) for c in grid],
        [CellResult(c.key, c.label, error="boom") if c.key == "base_rag_off"
         else finish_cell(c, q, RETRIEVAL, REPLY, 4.0, expected="£12.99") for c in grid],
    ]
    summary = summarise(rows, grid)
    off, on = summary.cell("base_rag_off"), summary.cell("ft_rag_on")
    assert off.style.n == 1 and off.errors == 1
    assert on.style.grounded == 1.0 and on.seconds == 3.0
    assert on.expected_fact == 1.0
    tuned_off = summary.cell("ft_rag_off")
    assert tuned_off.style.rules["R1"] == 0.5 and tuned_off.label == "T · RAG off"
    results = BatchResults("2026-01-01T00:00:00Z", "B", "T", BatchSettings("hybrid", 5, 200),
                           summary)
    path = save_results(tmp_path, results)
    assert path == tmp_path / "results" / "compare.json"
    assert load_results(tmp_path).summary.cell("ft_rag_on").style.grounded == 1.0
    assert load_results(tmp_path) == results  # a round trip through JSON loses nothing
    assert load_results(tmp_path / "nowhere") is None


def test_rag_on_cells_carry_the_grounding_check(fake, sample_store, isolated_data_dir: Path):
    ctx = GridContext(index=sample_store, data_dir=isolated_data_dir)
    fake.replies.extend([REPLY, REPLY, REPLY, REPLY.replace("£12.99", "£13.49")])
    by_key = {r.key: r for r in run_grid(PRESETS[0].question, remote_grid(fake), ctx)}
    assert CellRow.of(by_key["base_rag_off"]).grounding_check is None  # nothing to check against
    assert CellRow.of(by_key["base_rag_on"]).grounding_check is True
    assert CellRow.of(by_key["ft_rag_on"]).grounding_check is False  # £13.49 is in no source
