"""lib.generation.client against a real HTTP server speaking OpenAI's API, with the real `openai` client."""

from __future__ import annotations

import socket

import pytest

from lib.generation.chat_model import ChatModel
from lib.generation.client import MAX_ATTEMPTS, ChatOptions
from lib.generation.models import ModelSpec
from lib.types import ProviderError
from tests.fake_openai import FakeOpenAI

KEY = "sk-test-0123456789"
QUESTION = [{"role": "user", "content": "How much is a replacement card?"}]


@pytest.fixture
def fake():
    reply = "A replacement card costs £5 [1]."
    with FakeOpenAI(api_key=KEY, models={"gpt-test"}, reply=reply) as f:
        yield f


def openai_spec(fake: FakeOpenAI, model: str = "gpt-test") -> ModelSpec:
    return ModelSpec("OpenAI", "openai", model, fake.url, key_source="openai")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streams_deltas_and_reports_usage(fake):
    stream = ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(QUESTION)
    deltas = list(stream)
    assert len(deltas) > 1  # really streamed, not one blob
    assert "".join(deltas) == stream.text == "A replacement card costs £5 [1]."
    assert stream.finish_reason == "stop"
    assert stream.timings.prompt_tokens > 0 and stream.timings.completion_tokens > 0
    assert stream.timings.ttft_s > 0
    body = fake.requests[-1]
    assert body["stream"] is True and body["model"] == "gpt-test"
    assert body["stream_options"] == {"include_usage": True}
    assert fake.auth_headers[-1] == f"Bearer {KEY}"


def test_wrong_key_is_one_line_without_the_key(fake):
    with pytest.raises(ProviderError) as err:
        ChatModel(openai_spec(fake), secrets={"openai": "sk-wrong-secret"}).stream(QUESTION)
    assert "401" in err.value.reason and "key" in err.value.reason
    assert "sk-wrong-secret" not in err.value.reason and "\n" not in err.value.reason


def test_unknown_model(fake):
    with pytest.raises(ProviderError, match="Unknown model 'gpt-nope'.*404"):
        ChatModel(openai_spec(fake, "gpt-nope"), secrets={"openai": KEY}).stream(QUESTION)


def test_rate_limit_is_retried_then_succeeds(fake):
    fake.fail_next(429, 429)
    text, _ = ChatModel(openai_spec(fake), secrets={"openai": KEY}).complete(QUESTION)
    assert text == fake.reply
    assert len(fake.requests) == 3  # two 429s, then the answer


def test_rate_limit_gives_up_after_retries(fake):
    fake.fail_next(*[429] * (MAX_ATTEMPTS + 1))
    with pytest.raises(ProviderError, match="rate limiting.*429"):
        ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(QUESTION)
    assert len(fake.requests) == MAX_ATTEMPTS


def test_quota_429_is_not_retried(fake):
    fake.quota_exceeded = True
    fake.fail_next(429)
    with pytest.raises(ProviderError, match="quota"):
        ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(QUESTION)
    assert len(fake.requests) == 1


def test_context_too_long(fake):
    fake.max_prompt_chars = 10
    with pytest.raises(ProviderError, match="too long for the model's context"):
        ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(QUESTION)


def test_timeout(fake):
    fake.delay_s = 2.0
    with pytest.raises(ProviderError, match="did not answer in time"):
        ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(QUESTION,
                    options=ChatOptions(timeout_s=0.5))


def test_unreachable_server():
    spec = ModelSpec("OpenAI-compatible", "openai-compatible", "llama3",
                     f"http://127.0.0.1:{free_port()}", key_source="compatible")
    with pytest.raises(ProviderError, match="Cannot reach 127.0.0.1"):
        ChatModel(spec, secrets={}).stream(QUESTION)


def test_connection_lost_mid_answer(fake):
    fake.drop_after_chunks = 2
    stream = ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(QUESTION)
    got = []
    with pytest.raises(ProviderError, match="stopped while answering"):
        for delta in stream:
            got.append(delta)
    assert got  # the first words arrived before the break


def test_missing_key_is_refused_before_any_request(fake):
    with pytest.raises(ProviderError, match="No OpenAI API key"):
        ChatModel(openai_spec(fake), secrets={"openai": ""}).stream(QUESTION)
    assert fake.requests == []


def test_compatible_provider_with_bare_host_url(fake):
    """People paste http://host:port (Ollama style); /v1 is added for them."""
    spec = ModelSpec("OpenAI-compatible", "openai-compatible", "gpt-test",
                     fake.url.removesuffix("/v1"), key_source="compatible")
    text, timings = ChatModel(spec, secrets={"compatible": KEY}).complete(QUESTION)
    assert text == fake.reply and timings.completion_tokens > 0


def test_prefix_is_sent_as_assistant_prefill_and_yielded_first(fake):
    stream = ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(QUESTION,
                         options=ChatOptions(prefix="According to [", stop=("\nQuestion:",)))
    assert next(iter(stream)) == "According to ["
    body = fake.requests[-1]
    assert body["messages"][-1] == {"role": "assistant", "content": "According to ["}
    assert body["stop"] == ["\nQuestion:"]


def test_check_connection_is_one_line(fake):
    line = ChatModel(openai_spec(fake), secrets={"openai": KEY}).check_connection()
    assert line.startswith("Connected to OpenAI") and "\n" not in line
    with pytest.raises(ProviderError, match="401"):
        ChatModel(openai_spec(fake), secrets={"openai": "sk-bad"}).check_connection()


def test_answer_cut_by_the_token_limit_is_recorded(fake):
    fake.finish_reason = "length"
    stream = ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(QUESTION)
    assert "".join(stream) == fake.reply  # the text that came is kept
    assert stream.finish_reason == "length" and stream.timings.finish_reason == "length"


def test_a_server_gone_silent_mid_answer_times_out(fake):
    fake.chunk_delay_s = 3.0  # first word, then nothing for longer than the read timeout
    stream = ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(
        QUESTION, options=ChatOptions(timeout_s=0.5))
    got = []
    with pytest.raises(ProviderError, match="went silent while answering") as err:
        for delta in stream:
            got.append(delta)
    assert got and "\n" not in err.value.reason


def test_a_trickling_answer_is_stopped_at_its_deadline(fake):
    """Each word comes within the read timeout, yet the whole answer has a deadline."""
    fake.reply = " ".join(["word"] * 40)
    fake.chunk_delay_s = 0.1  # 4 s for the whole answer
    stream = ChatModel(openai_spec(fake), secrets={"openai": KEY}).stream(
        QUESTION, options=ChatOptions(timeout_s=1.0))
    got = []
    with pytest.raises(ProviderError, match="took longer than 1 s"):
        for delta in stream:
            got.append(delta)
    assert 0 < len(got) < 40


def test_a_host_that_never_accepts_fails_at_the_connect_deadline():
    """A blackholed URL (SYNs dropped) says so within the connect timeout, not timeout_s."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)  # accept queue of one, never accepted: further SYNs are dropped
        port = full.getsockname()[1]
        queued = []
        for _ in range(8):  # fill the queue until a connect hangs (Linux: after one or two)
            try:
                queued.append(socket.create_connection(("127.0.0.1", port), timeout=0.3))
            except TimeoutError:
                break
        else:
            pytest.skip("this kernel never drops SYNs to a full accept queue")
        spec = ModelSpec("OpenAI-compatible", "openai-compatible", "llama3",
                         f"http://127.0.0.1:{port}", key_source="compatible")
        try:
            with pytest.raises(ProviderError) as err:
                ChatModel(spec, secrets={}).stream(
                    QUESTION, options=ChatOptions(timeout_s=60, connect_timeout_s=0.5))
        finally:
            for s in queued:
                s.close()
    assert err.value.reason.startswith("Cannot reach 127.0.0.1") and "time limit" in err.value.reason


def test_local_connection_errors_say_it_restarts():
    import openai

    from lib.generation.errors import map_error

    client = openai.OpenAI(api_key="x", base_url=f"http://127.0.0.1:{free_port()}/v1",
                           max_retries=0)
    with pytest.raises(openai.APIConnectionError) as caught:
        client.models.list()  # a real refused connection
    refused = caught.value
    assert "restarts by itself" in map_error(refused, "127.0.0.1:1", local=True).reason
    assert "Cannot reach" in map_error(refused, "127.0.0.1:1").reason
    line = map_error(refused, "127.0.0.1:1", local=True, mid_stream=True).reason
    assert line.startswith("The local model server stopped while answering")
