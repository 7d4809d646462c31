"""Dataset validation, statistics, cost, builder from feedback, rows, split and the bundled set."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lib.chat.feedback import load_feedback, new_record, save_feedback
from lib.finetune import builder, dataset
from lib.finetune.dataset import BUNDLED_DATASET, DatasetError, validate_jsonl
from lib.compare.style import score
from lib.generation.rag import PLAIN_SYSTEM_PROMPT, SYSTEM_PROMPT
from lib.types import Answer, Chunk, Hit

ROOT = Path(__file__).resolve().parent.parent


def words(text: str) -> int:
    return len(text.split())  # a deterministic counter keeps the figures exact


def chat(user: str, answer: str, system: str | None = None) -> str:
    msgs = [{"role": "system", "content": system}] if system else []
    msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return json.dumps({"messages": msgs})


GOOD = (
    "\n".join(
        [
            chat("Hi", "Thanks for your question. Hello."),
            chat("How do I freeze my card?", "Use the app.", "Be brief."),
            chat("Bye", "Goodbye."),
        ]
    )
    + "\n"
)


def test_good_file_validates_with_size_warning():
    result = validate_jsonl(GOOD, count=words)
    assert result.ok and len(result.examples) == 3 and result.errors == ()
    assert len(result.warnings) == 1 and "fewer than 10" in str(result.warnings[0])


def test_broken_file_gets_one_numbered_error_per_bad_line():
    lines = [
        chat("Hi", "Hello."),  # 1 ok
        '{"messages": [{"role": "user", "content": "Hi"}',  # 2 bad JSON
        json.dumps({"messages": [{"role": "robot", "content": "x"}]}),  # 3 unknown role
        json.dumps({"messages": [{"content": "x"}]}),  # 4 no role
        json.dumps(
            {"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "x"}]}
        ),  # 5 empty
        json.dumps({"messages": [{"role": "user", "content": "only a question"}]}),  # 6 no answer
        chat("Hi", "Hello."),  # 7 duplicate of 1
        "",  # 8 blank: skipped
        chat("long " * 50, "x"),  # 9 too long
        json.dumps(["not", "an", "object"]),  # 10
        json.dumps({"prompt": "old format", "completion": "x"}),  # 11
    ]
    result = validate_jsonl("\n".join(lines), count=words, max_tokens=40)
    got = {i.line: i.message for i in result.errors}
    assert sorted(got) == [2, 3, 4, 5, 6, 7, 9, 10, 11]
    assert got[2].startswith("bad JSON")
    assert "unknown role 'robot'" in got[3]
    assert "no role" in got[4]
    assert "user message is empty" in got[5]
    assert "no assistant message" in got[6]
    assert got[7] == "duplicate of line 1"
    assert "over the 40-token limit" in got[9]
    assert got[10] == "not a JSON object" and got[11] == 'no "messages" list'
    assert all(str(i).startswith(f"line {i.line}: ") for i in result.errors)
    assert len(result.examples) == 1 and not result.ok


def test_empty_file_is_an_error():
    result = validate_jsonl("\n\n", count=words)
    assert not result.ok and "no examples" in str(result.errors[0])


def test_statistics_and_cost():
    examples = list(validate_jsonl(GOOD, count=words).examples)
    stats = dataset.statistics(examples, epochs=4, count=words)
    per = dataset.PER_MESSAGE_TOKENS
    sizes = [1 + 5 + 2 * per, 2 + 6 + 3 + 3 * per, 1 + 1 + 2 * per]
    assert (stats.n_examples, stats.min_tokens, stats.max_tokens) == (3, min(sizes), max(sizes))
    assert stats.total_tokens == sum(sizes) and stats.mean_tokens == pytest.approx(sum(sizes) / 3)
    assert stats.billed_tokens == 4 * sum(sizes)
    assert dataset.estimate_cost(stats, 3.0) == pytest.approx(4 * sum(sizes) * 3.0 / 1e6)
    assert dataset.default_epochs(3) == 25 and dataset.default_epochs(50) == 3
    assert dataset.default_epochs(10_000) == 2
    assert dataset.statistics(examples, count=words).epochs == 25  # "auto" for a tiny set
    assert dataset.PRICES_DATE and all(p > 0 for p in dataset.PRICES_USD_PER_M.values())


@pytest.mark.parametrize(
    "n, expected",
    [(5, "refuses fewer than 10"), (60, "rarely helps"), (300, "500–2,000"), (800, None)],
)
def test_size_warnings_follow_openai_guidance(n, expected):
    warnings = dataset.size_warnings(n)
    assert (expected is None and warnings == []) or expected in str(warnings[0])


def test_jsonl_round_trip_hash_and_atomic_save(tmp_path: Path):
    examples = list(validate_jsonl(GOOD, count=words).examples)
    path = dataset.save_jsonl(tmp_path / "d" / "x.jsonl", examples)
    assert dataset.load_jsonl(path) == examples
    assert dataset.dataset_hash(examples) == dataset.dataset_hash(dataset.load_jsonl(path))
    assert dataset.dataset_hash(examples) != dataset.dataset_hash(examples[:2])
    assert [p.name for p in path.parent.iterdir()] == ["x.jsonl"]  # no temp file left
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    with pytest.raises(DatasetError, match="line 1: bad JSON"):
        dataset.load_jsonl(tmp_path / "bad.jsonl")


def _answer(text: str, hits: tuple[Hit, ...] = ()) -> Answer:
    return Answer(text=text, citations=(1,) if hits else (), sources=hits, model_label="Local base")


def test_builder_from_stored_feedback(isolated_data_dir: Path):
    chunk = Chunk(
        "d-00001", "d", "fee_schedule.pdf", 2, "Cards", 0, 30, "Orbit Metal costs £12.99 a month."
    )
    hits = (Hit(chunk, 0.9, 1, "hybrid"),)
    q1, q2, q3, q4 = "How much is Metal?", "How do I freeze my card?", "Bad one", "Corrected one"
    save_feedback(
        isolated_data_dir, new_record(q1, _answer("It is £12.99 [1].", hits), True), rating="up"
    )
    save_feedback(isolated_data_dir, new_record(q2, _answer("In the app."), False), rating="up")
    save_feedback(isolated_data_dir, new_record(q3, _answer("No idea."), False), rating="down")
    save_feedback(
        isolated_data_dir,
        new_record(q4, _answer("Wrong.", hits), True),
        rating="down",
        correction="Thanks for your question. It is £12.99 [1].",
    )
    harvest = builder.from_feedback(load_feedback(isolated_data_dir))
    assert (harvest.from_thumbs_up, harvest.from_corrections, harvest.skipped_down) == (2, 1, 1)
    by_question = {e["messages"][1]["content"].split("Question: ")[-1]: e for e in harvest.examples}
    grounded = by_question[q1]["messages"]
    assert grounded[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert '[1] fee_schedule.pdf, page 2, section "Cards"' in grounded[1]["content"]
    assert grounded[2] == {"role": "assistant", "content": "It is £12.99 [1]."}
    assert by_question[q2]["messages"][0]["content"] == PLAIN_SYSTEM_PROMPT
    assert by_question[q4]["messages"][-1]["content"].startswith("Thanks for your question.")
    assert validate_jsonl(dataset.to_jsonl(harvest.examples)).ok


def test_rows_round_trip_and_edits_are_validated():
    examples = [
        json.loads(chat("Hi", "Hello.", "Sys")),
        json.loads(chat("Q", "A")),
        {
            "messages": [
                {"role": "user", "content": "1"},
                {"role": "assistant", "content": "2"},
                {"role": "user", "content": "3"},
                {"role": "assistant", "content": "4"},
            ]
        },
    ]
    rows = builder.to_rows(examples)
    assert rows[0] == {"system": "Sys", "user": "Hi", "assistant": "Hello.", "earlier_turns": ""}
    assert json.loads(rows[2]["earlier_turns"])[0]["content"] == "1"
    assert builder.from_rows(rows) == examples
    rows[1]["assistant"] = ""
    rows.append({"system": None, "user": None, "assistant": None, "earlier_turns": None})
    result = dataset.validate_examples(list(enumerate(builder.from_rows(rows), 1)), count=words)
    assert [i.line for i in result.errors] == [2] and "assistant message is empty" in result.errors[
        0
    ].message


def test_split_is_seeded_and_complete():
    examples = [json.loads(chat(f"q{i}", f"a{i}")) for i in range(20)]
    train, val = builder.split(examples, 0.2, seed=1)
    assert len(val) == 4 and len(train) == 16
    assert sorted(map(json.dumps, train + val)) == sorted(map(json.dumps, examples))
    assert builder.split(examples, 0.2, seed=1) == (train, val)
    assert builder.split(examples, 0.2, seed=2) != (train, val)
    assert builder.split(examples[:10], 0.05)[1]  # a small set still gets one validation example
    assert builder.split(examples[:3], 0.1) == (examples[:3], [])  # a tiny one trains on all


# ---- the bundled dataset


def test_bundled_dataset_is_valid_and_teaches_behaviour_not_facts():
    text = BUNDLED_DATASET.read_text(encoding="utf-8")
    result = validate_jsonl(text)
    assert result.ok and 60 <= len(result.examples) <= 250
    assert "£" not in text and "%" not in text  # no prices, no rates: behaviour only
    assert not re.search(r"\bper ?cent\b", text, re.IGNORECASE)


def test_bundled_answers_follow_the_style_rules():
    grounded = 0
    for example in dataset.load_bundled():
        msgs = example["messages"]
        user = next(m["content"] for m in msgs if m["role"] == "user")
        answer = msgs[-1]["content"]
        with_docs = user.startswith("Documentation:")
        body = user.split("\n\nAnswer using only")[0]
        blocks = re.split(r"\n\n(?=\[\d+\] )", body)  # one block per numbered source
        # numbered as the app numbers them: sentence-context examples show [6], [2], [7]...
        numbered = {int(m.group(1)): b.split("\n", 1)[1] for b in blocks
                    if (m := re.match(r"\[(\d+)\] ", b))}
        chunks = [numbered.get(n, "") for n in range(1, max(numbered, default=0) + 1)]
        card = score(answer, chunks if with_docs else [], user.split("Question: ")[-1], with_docs)
        failed = [r for r in card.rules if r.passed is False]
        assert failed == [], (answer, failed)
        if with_docs and card.cites_source:
            grounded += 1
            assert not card.facts_unsupported, answer  # every number is copied from a source
    assert grounded >= 40  # RAG-shaped examples: quote the context and cite it


def test_bundled_prompts_match_the_chat_prompts():
    systems = {
        m["content"] for e in dataset.load_bundled() for m in e["messages"] if m["role"] == "system"
    }
    assert systems == {SYSTEM_PROMPT, PLAIN_SYSTEM_PROMPT}


def test_bundled_file_is_what_the_generator_makes():
    code = (
        "import sys; sys.path.insert(0, 'sample_docs/finetune'); "
        "import make_dataset as m; sys.stdout.write(m.render(m.build()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout == BUNDLED_DATASET.read_text(encoding="utf-8")
