"""The chat transcript on disk: round trip, size cap, unreadable files."""

from __future__ import annotations

from lib.chat.feedback import FeedbackRecord
from lib.chat.history import MAX_MESSAGES, ChatMessage, history_path, load_history, save_history
import json

from lib.types import Answer, Chunk, Hit, Timings


def answer() -> Answer:
    chunk = Chunk(id="d1-00000", doc_id="d1", doc_name="fees.pdf", page=2, section=None,
                  start=0, end=20, text="The fee is £12.99.")
    return Answer(text="It is £12.99 [1].", citations=(1,), sources=(Hit(chunk, 0.8, 1, "hybrid"),),
                  timings=Timings(retrieval_ms=12.0, ttft_s=0.9), model_label="Local base")


def test_messages_round_trip_with_their_answers(tmp_path):
    messages = [ChatMessage("user", "Fee?"),
                ChatMessage("assistant", "It is £12.99 [1].", question="Fee?", answer=answer(),
                            feedback=FeedbackRecord("x", "Fee?", "It is £12.99 [1].",
                                                    rating="up"))]
    save_history(tmp_path, messages)
    assert load_history(tmp_path) == messages


def test_only_the_newest_messages_are_kept(tmp_path):
    messages = [ChatMessage("user", str(i)) for i in range(MAX_MESSAGES + 5)]
    save_history(tmp_path, messages)
    loaded = load_history(tmp_path)
    assert len(loaded) == MAX_MESSAGES and loaded[-1].content == str(MAX_MESSAGES + 4)


def test_a_missing_or_unreadable_file_is_an_empty_history(tmp_path):
    assert load_history(tmp_path) == []
    history_path(tmp_path).parent.mkdir(parents=True)
    history_path(tmp_path).write_text("{broken", encoding="utf-8")
    assert load_history(tmp_path) == []


def test_a_transcript_saved_before_the_version_field_still_reads(tmp_path):
    """The old file was a bare list of the page's dicts, answers as plain JSON."""
    old = [{"role": "user", "content": "Fee?"},
           {"role": "assistant", "content": "It is £12.99 [1].", "question": "Fee?", "rag": True,
            "citations": [1], "answer": {"text": "It is £12.99 [1].", "citations": [1],
                                         "sources": [], "timings": {}, "model_label": "Local base",
                                         "abstained": False},
            "feedback": {"id": "x", "question": "Fee?", "answer": "It is £12.99 [1].",
                         "rating": None, "correction": None, "context": []}}]
    history_path(tmp_path).parent.mkdir(parents=True)
    history_path(tmp_path).write_text(json.dumps(old), encoding="utf-8")
    user, assistant = load_history(tmp_path)
    assert user == ChatMessage("user", "Fee?")
    assert assistant.answer is not None and assistant.answer.citations == (1,)
    assert assistant.feedback is not None and assistant.feedback.id == "x"
    save_history(tmp_path, [user, assistant])
    assert json.loads(history_path(tmp_path).read_text(encoding="utf-8"))["version"] == 1
    assert load_history(tmp_path) == [user, assistant]


# ---------------------------------------------------------------- one transcript per session

import pytest  # noqa: E402

from lib.chat.history import DEFAULT_SESSION, is_session_id, new_session_id  # noqa: E402


def test_each_session_has_its_own_transcript(tmp_path):
    a, b = new_session_id(), new_session_id()
    assert a != b and is_session_id(a) and is_session_id(b)
    save_history(tmp_path, [ChatMessage("user", "from A")], a)
    save_history(tmp_path, [ChatMessage("user", "from B")], b)
    assert load_history(tmp_path, a) == [ChatMessage("user", "from A")]
    assert load_history(tmp_path, b) == [ChatMessage("user", "from B")]
    assert load_history(tmp_path) == [] and load_history(tmp_path, new_session_id()) == []
    save_history(tmp_path, [], a)  # "New chat" in A leaves B alone
    assert load_history(tmp_path, a) == [] and len(load_history(tmp_path, b)) == 1


def test_the_single_transcript_of_older_data_dirs_is_the_default_sessions(tmp_path):
    legacy = tmp_path / "chat" / "history.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({"version": 1, "messages": [{"role": "user", "content": "old"}]}))
    assert history_path(tmp_path, DEFAULT_SESSION) == legacy == history_path(tmp_path)
    assert load_history(tmp_path, DEFAULT_SESSION) == [ChatMessage("user", "old")]
    assert load_history(tmp_path, new_session_id()) == []


@pytest.mark.parametrize("bad", ["", "../../etc/passwd", "a/b", "x" * 65, "ok\n", "é", None])
def test_an_id_from_the_url_never_becomes_a_path_outside_the_sessions_folder(tmp_path, bad):
    assert not is_session_id(bad)
    with pytest.raises(ValueError):
        history_path(tmp_path, bad)  # type: ignore[arg-type]


def test_the_grounding_check_round_trips(tmp_path):
    from lib.generation.grounding import check_grounding
    plain = answer()
    checked = Answer(**{**plain.__dict__,
                        "grounding": check_grounding("It is £12.99 or £14 [1].", plain.sources, (1,))})
    save_history(tmp_path, [ChatMessage("assistant", checked.text, answer=checked)])
    loaded = load_history(tmp_path)[0].answer
    assert loaded == checked
    assert [f.text for f in loaded.grounding.unsupported] == ["£14"]


def test_a_file_saved_before_the_grounding_check_still_loads(tmp_path):
    save_history(tmp_path, [ChatMessage("assistant", "x", answer=answer())])
    raw = json.loads(history_path(tmp_path).read_text(encoding="utf-8"))
    del raw["messages"][0]["answer"]["grounding"]  # what older versions wrote
    history_path(tmp_path).write_text(json.dumps(raw), encoding="utf-8")
    loaded = load_history(tmp_path)
    assert loaded[0].answer == answer() and loaded[0].answer.grounding is None


def test_a_missing_figure_warning_survives_a_restart(tmp_path):
    from dataclasses import replace

    from lib.types import Grounding
    plain = answer()
    checked = replace(plain, grounding=Grounding(
        missing="the question asks for a figure and the answer gives none",
        action="quoted", repaired="it gave a figure the cited sources do not hold"))
    save_history(tmp_path, [ChatMessage("assistant", checked.text, answer=checked)])
    loaded = load_history(tmp_path)[0].answer
    assert loaded == checked and not loaded.grounding.passed
