"""The chat transcript on disk: round trip, size cap, unreadable files."""

from __future__ import annotations

from lib.chat.history import MAX_MESSAGES, history_path, load_history, save_history
from lib.types import Answer, Chunk, Hit, Timings


def answer() -> Answer:
    chunk = Chunk(id="d1-00000", doc_id="d1", doc_name="fees.pdf", page=2, section=None,
                  start=0, end=20, text="The fee is £12.99.")
    return Answer(text="It is £12.99 [1].", citations=(1,), sources=(Hit(chunk, 0.8, 1, "hybrid"),),
                  timings=Timings(retrieval_ms=12.0, ttft_s=0.9), model_label="Local base")


def test_messages_round_trip_with_their_answers(tmp_path):
    messages = [{"role": "user", "content": "Fee?"},
                {"role": "assistant", "content": "It is £12.99 [1].", "answer": answer(),
                 "feedback": {"id": "x", "rating": "up"}}]
    save_history(tmp_path, messages)
    assert load_history(tmp_path) == messages


def test_only_the_newest_messages_are_kept(tmp_path):
    messages = [{"role": "user", "content": str(i)} for i in range(MAX_MESSAGES + 5)]
    save_history(tmp_path, messages)
    loaded = load_history(tmp_path)
    assert len(loaded) == MAX_MESSAGES and loaded[-1]["content"] == str(MAX_MESSAGES + 4)


def test_a_missing_or_unreadable_file_is_an_empty_history(tmp_path):
    assert load_history(tmp_path) == []
    history_path(tmp_path).parent.mkdir(parents=True)
    history_path(tmp_path).write_text("{broken", encoding="utf-8")
    assert load_history(tmp_path) == []


def test_the_grounding_check_round_trips(tmp_path):
    from lib.generation.grounding import check_grounding
    plain = answer()
    checked = Answer(**{**plain.__dict__,
                        "grounding": check_grounding("It is £12.99 or £14 [1].", plain.sources, (1,))})
    save_history(tmp_path, [{"role": "assistant", "content": checked.text, "answer": checked}])
    loaded = load_history(tmp_path)[0]["answer"]
    assert loaded == checked
    assert [f.text for f in loaded.grounding.unsupported] == ["£14"]


def test_a_file_saved_before_the_grounding_check_still_loads(tmp_path):
    import json
    save_history(tmp_path, [{"role": "assistant", "content": "x", "answer": answer()}])
    raw = json.loads(history_path(tmp_path).read_text(encoding="utf-8"))
    del raw[0]["answer"]["grounding"]  # what older versions wrote
    history_path(tmp_path).write_text(json.dumps(raw), encoding="utf-8")
    loaded = load_history(tmp_path)
    assert loaded[0]["answer"] == answer() and loaded[0]["answer"].grounding is None
