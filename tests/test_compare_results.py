"""compare.json as frozen records: summaries, rows, a versioned round trip, old files still read."""

from __future__ import annotations

import json
from pathlib import Path

from lib.compare.grid import PRESETS, CellResult, cells, finish_cell
from lib.compare.results import (
    RESULTS_VERSION,
    BatchResults,
    BatchSettings,
    CellRow,
    QuestionResult,
    load_results,
    save_results,
    summarise,
)
from lib.compare.style import RULE_IDS
from lib.generation.models import ModelSpec
from lib.generation.rag import Retrieval
from lib.types import Chunk, Hit

REPLY = (
    "Thanks for your question. The Orbit Metal monthly plan fee is £12.99 [1]. "
    "This is general information, not financial advice."
)
CHUNK = Chunk("d-00001", "d", "fee_schedule.pdf", 1, "Cards", 0, 40,
              "Orbit Metal plan fee: £12.99.")
RETRIEVAL = Retrieval((Hit(CHUNK, 0.8, 1, "hybrid"),), 0.8, 3.0)
GRID = cells(ModelSpec("B", "openai", "b"), ModelSpec("T", "openai", "t"))

# A compare.json as the app wrote it before the "version" field (trimmed to two cells).
OLD_FILE = {
    "created_at": "2026-11-20T10:00:00Z",
    "base": "Local base",
    "fine_tuned": "Local fine-tuned",
    "n_questions": 1,
    "settings": {"method": "hybrid", "k": 5, "max_tokens": 200},
    "cells": {
        "base_rag_off": {"n": 1, "style_score": 0.2, "grounded": 0.0, "facts_ok": 1.0,
                         "cites_source": 0.0, "words": 12.0, "R1": 0.0, "R2": 1.0, "R3": 1.0,
                         "R4": None, "R5": 0.0, "R6": None, "seconds": 1.5,
                         "expected_fact": 1.0, "errors": 0, "label": "Local base · RAG off"},
        "ft_rag_on": {"n": 1, "style_score": 1.0, "grounded": 1.0, "facts_ok": 1.0,
                      "cites_source": 1.0, "words": 20.0, "R1": 1.0, "R2": 1.0, "R3": 1.0,
                      "R4": None, "R5": 1.0, "R6": 1.0, "seconds": 2.25,
                      "expected_fact": None, "errors": 0, "label": "Local fine-tuned · RAG on"},
    },
    "questions": [{
        "id": "q1", "text": PRESETS[0].question, "expected": "£12.99",
        "cells": {
            "base_rag_off": {"cell": "Local base · RAG off", "seconds": 1.5, "expected_fact": True,
                             "abstained": False, "error": "", "R1": False, "R2": True,
                             "R3": True, "R4": None, "R5": False, "R6": None,
                             "style_score": 0.5, "grounded": False, "cites_source": False,
                             "facts_ok": True, "facts": ["£12.99"], "wrong_facts": [],
                             "words": 12, "sentences": 1, "answer": "It is £12.99."},
            "ft_rag_on": {"cell": "Local fine-tuned · RAG on", "seconds": 0.3,
                          "expected_fact": None, "abstained": False, "error": "HTTP 401",
                          "answer": ""},
        },
    }],
}


def batch() -> BatchResults:
    q = PRESETS[0].question
    rows = [
        [finish_cell(c, q, RETRIEVAL, REPLY, 2.0, expected="£12.99") for c in GRID],
        [CellResult(c.key, c.label, error="boom") if c.key == "base_rag_off"
         else finish_cell(c, q, RETRIEVAL, "No idea.", 4.0) for c in GRID],
    ]
    questions = tuple(
        QuestionResult(f"q{i}", q, "£12.99", {r.key: CellRow.of(r) for r in row})
        for i, row in enumerate(rows)
    )
    return BatchResults("2026-12-01T00:00:00Z", "B", "T", BatchSettings("hybrid", 5, 200),
                        summarise(rows, GRID), questions)


def test_files_carry_a_version_and_round_trip(tmp_path: Path):
    results = batch()
    path = save_results(tmp_path, results)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["version"] == RESULTS_VERSION and raw["n_questions"] == 2
    # flat on disk, as the decision guide reads it: rule ids are keys beside the rates
    assert set(RULE_IDS) <= set(raw["cells"]["ft_rag_on"])
    assert raw["questions"][0]["cells"]["ft_rag_on"]["R1"] is True
    assert load_results(tmp_path) == results


def test_rows_and_averages_from_cell_results():
    results = batch()
    first = results.questions[0].cells["ft_rag_on"]
    assert first.rules == {r: first.rules[r] for r in RULE_IDS} and first.rules["R1"] is True
    assert first.answer == REPLY and first.facts == ("£12.99",) and first.expected_fact is True
    failed = results.questions[1].cells["base_rag_off"]
    assert failed.error == "boom" and failed.rules == {} and failed.style_score is None
    base_off = results.summary.cell("base_rag_off")
    assert base_off.errors == 1 and base_off.style.n == 1 and base_off.seconds == 2.0
    assert results.summary.cell("ft_rag_off").style.rules["R1"] == 0.5


def test_an_old_file_without_version_still_reads(tmp_path: Path):
    path = tmp_path / "results" / "compare.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(OLD_FILE), encoding="utf-8")
    saved = load_results(tmp_path)
    assert saved is not None and saved.n_questions == 1 and saved.base == "Local base"
    assert saved.settings == BatchSettings("hybrid", 5, 200)
    assert saved.summary.keys == ["base_rag_off", "ft_rag_on"]
    tuned = saved.summary.cell("ft_rag_on")
    assert tuned.label == "Local fine-tuned · RAG on" and tuned.seconds == 2.25
    assert tuned.style.rules == {"R1": 1.0, "R2": 1.0, "R3": 1.0, "R4": None, "R5": 1.0,
                                 "R6": 1.0}
    assert tuned.expected_fact is None and saved.summary.cell("base_rag_off").expected_fact == 1.0
    q = saved.questions[0]
    assert q.id == "q1" and q.cells["base_rag_off"].facts == ("£12.99",)
    assert q.cells["base_rag_off"].rules["R1"] is False
    assert q.cells["ft_rag_on"].error == "HTTP 401" and q.cells["ft_rag_on"].rules == {}


def test_unreadable_or_newer_files_read_as_none(tmp_path: Path):
    path = tmp_path / "results" / "compare.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert load_results(tmp_path) is None
    path.write_text(json.dumps({**OLD_FILE, "version": RESULTS_VERSION + 1}), encoding="utf-8")
    assert load_results(tmp_path) is None
    assert load_results(tmp_path / "nowhere") is None


def test_the_grounding_check_rate_is_averaged_over_checked_answers(tmp_path: Path):
    from lib.generation.grounding import check_grounding

    q = PRESETS[0].question
    hits = RETRIEVAL.hits
    supported, invented = REPLY, REPLY.replace("£12.99", "£15.00")
    rows = []
    for text in (supported, invented):
        row = [finish_cell(c, q, RETRIEVAL, text, 2.0) for c in GRID]
        for r in row:  # as rag.ask sets it: RAG-on answers only
            r.grounding = check_grounding(text, hits, (1,)) if r.key.endswith("rag_on") else None
        rows.append(row)
    summary = summarise(rows, GRID)
    assert summary.cell("base_rag_on").grounding_check == 0.5
    assert summary.cell("base_rag_off").grounding_check is None
    restored = type(summary).from_json(json.loads(json.dumps(summary.to_json())))
    assert restored == summary
