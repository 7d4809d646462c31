"""ChatModel: one connection per question, on the real sample index and real local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.config import SAMPLE_DOCS_DIR
from lib.generation.chat_model import ChatModel
from lib.generation.local_server import LocalServer
from lib.generation.models import ModelSpec
from lib.generation.rag import RagSettings, ask
from tests.fake_openai import FakeOpenAI
from tests.llm_fixtures import adopt_into

BASE = ModelSpec("Local base", "local", "SmolLM2-135M-Instruct")
QUESTION = json.loads((SAMPLE_DOCS_DIR / "eval" / "grounded_questions.jsonl")
                      .read_text().splitlines()[0])["question"]


class CountingServer(LocalServer):
    """The real manager, counting its health checks (GET /health on the live server)."""

    def __init__(self, data_dir: Path):
        super().__init__(data_dir)
        self.health_checks = 0

    def is_healthy(self, info=None) -> bool:
        self.health_checks += 1
        return super().is_healthy(info)


@pytest.fixture
def counting(tmp_path: Path) -> CountingServer:
    adopt_into(tmp_path)  # the shared real server, recorded as a restarted app would find it
    return CountingServer(tmp_path)


@pytest.mark.slow
def test_a_local_question_checks_the_server_once(sample_store, counting):
    """The Chat page's path: ready() (status if not), then ask(): tokens, answer, citation."""
    model = ChatModel(BASE, server=counting, data_dir=counting.run_dir.parent)
    if not model.ready():
        model.ensure()
    stream = ask(QUESTION, sample_store, model, RagSettings(max_answer_tokens=40))
    text = "".join(stream)
    assert stream.cite is not None and stream.answer.citations, text  # the citation step ran
    assert counting.health_checks == 1


@pytest.mark.slow
def test_a_failed_local_request_checks_again(sample_store, counting):
    model = ChatModel(BASE, server=counting, data_dir=counting.run_dir.parent)
    assert model.ready() and model.ready() and counting.health_checks == 1
    model.forget()  # what a failed request does
    model.ensure()
    assert counting.health_checks == 2


def test_remote_ready_sends_no_request():
    with FakeOpenAI(api_key="sk-1", models={"m"}) as fake:
        model = ChatModel(ModelSpec("O", "openai", "m", fake.url, "openai"),
                          secrets={"openai": "sk-1"})
        assert model.ready() and model.ensure() is None and fake.requests == []
        assert model.count_tokens("abcd" * 10) == 11 and fake.requests == []
