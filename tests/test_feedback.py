"""Chat feedback records: stored with question, context and answer; updated by id."""

from __future__ import annotations

import json

import pytest

from lib.chat.feedback import ContextSource, feedback_path, load_feedback, new_record, save_feedback
from lib.types import Answer, Chunk, Hit, RagLabError


def answer() -> Answer:
    chunk = Chunk("d1-00002", "d1", "fee_schedule.pdf", 2, "Cards", 0, 40,
                  "Replacement card (lost, stolen or damaged): £5 per card")
    return Answer("According to [1], a replacement card costs £5.", (1,),
                  (Hit(chunk, 0.8, 1, "hybrid"),), model_label="Local base")


def test_thumbs_and_correction_update_one_record(isolated_data_dir):
    record = new_record("How much is a replacement card?", answer(), rag=True)
    save_feedback(isolated_data_dir, record, rating="down")
    stored = save_feedback(isolated_data_dir, record, correction="It costs £5 per card [1].")
    records = load_feedback(isolated_data_dir)
    assert len(records) == 1
    got = records[0]
    assert got == stored and got.rating == "down"
    assert got.correction == "It costs £5 per card [1]."
    assert got.question == "How much is a replacement card?"
    assert got.answer.startswith("According to [1]") and got.citations == (1,)
    assert got.context == (ContextSource(n=1, chunk_id="d1-00002", doc_name="fee_schedule.pdf",
                                         page=2, section="Cards",
                                         text="Replacement card (lost, stolen or damaged): £5 per card"),)
    assert got.model_label == "Local base" and got.rag is True and got.created_at


def test_each_answer_is_its_own_line(isolated_data_dir):
    for rating in ("up", "down"):
        save_feedback(isolated_data_dir, new_record("q", answer(), rag=False), rating=rating)
    lines = feedback_path(isolated_data_dir).read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["rating"] for x in lines] == ["up", "down"]


def test_refusals_are_one_line(isolated_data_dir):
    record = new_record("q", answer(), rag=True)
    with pytest.raises(RagLabError, match="Unknown rating"):
        save_feedback(isolated_data_dir, record, rating="meh")
    with pytest.raises(RagLabError, match="Nothing to save"):
        save_feedback(isolated_data_dir, record, correction="   ")
    assert load_feedback(isolated_data_dir) == []


def test_unreadable_lines_are_skipped(isolated_data_dir):
    save_feedback(isolated_data_dir, new_record("q", answer(), rag=True), rating="up")
    with feedback_path(isolated_data_dir).open("a", encoding="utf-8") as fh:
        fh.write("{half a line\n")
    assert len(load_feedback(isolated_data_dir)) == 1


def test_lines_written_before_the_version_field_still_read(isolated_data_dir):
    old = {"id": "abc", "created_at": "2026-11-24T09:40:00+00:00", "question": "Fee?",
           "answer": "It is £5 [1].", "rating": "up", "correction": None,
           "model_label": "Local base", "rag": True, "abstained": False, "citations": [1],
           "context": [{"n": 1, "chunk_id": "d1-00002", "doc_name": "fees.pdf", "page": 2,
                        "section": None, "text": "£5 per card"}]}
    feedback_path(isolated_data_dir).parent.mkdir(parents=True, exist_ok=True)
    feedback_path(isolated_data_dir).write_text(json.dumps(old) + "\n", encoding="utf-8")
    (record,) = load_feedback(isolated_data_dir)
    assert record.id == "abc" and record.rating == "up" and record.citations == (1,)
    assert record.context[0].doc_name == "fees.pdf" and record.context[0].page == 2
    stored = json.loads(feedback_path(isolated_data_dir).read_text(encoding="utf-8"))
    assert record.to_json() == {"version": 1, **stored}
