"""The server manager: a real llama.cpp process started, reused, restarted and stopped."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from lib.generation.chat_model import ChatModel
from lib.generation.client import ChatOptions
from lib.generation.local_server import INFO_FILE, LocalServer, _get_json, pid_alive
from lib.generation.models import ModelSpec
from lib.types import ProviderError
from tests.llm_fixtures import adopt_into, make_lora, shared_server

pytestmark = pytest.mark.slow  # every test here runs the real local model or builds one

BASE = ModelSpec("Local base", "local", "SmolLM2-135M-Instruct")
SHORT = ChatOptions(max_tokens=12)


def test_a_second_manager_reuses_a_recorded_live_server(tmp_path):
    """A restarted app process finds the running server instead of starting another."""
    server = adopt_into(tmp_path)
    other = LocalServer(tmp_path)
    started = time.perf_counter()
    assert other.ensure(server.adapters) == server.base_url
    assert other.pid == server.pid
    assert time.perf_counter() - started < 5  # no model load happened


def test_dead_recorded_server_is_not_reused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / INFO_FILE).write_text(json.dumps({"pid": 2 ** 22 + 17, "base_url": "http://127.0.0.1:9",
                                             "adapters": []}))
    manager = LocalServer(tmp_path, watch_parent=True)
    try:
        manager.ensure()
        assert manager.pid != 2 ** 22 + 17 and manager.is_healthy()
    finally:
        manager.stop()


def test_restarts_after_a_crash_and_stops_cleanly(tmp_path):
    manager = LocalServer(tmp_path, watch_parent=True)
    try:
        manager.ensure()
        first = manager.pid
        os.kill(first, signal.SIGKILL)
        assert not manager.is_healthy()
        manager.ensure()  # notices the death, starts a new one
        assert manager.pid != first and manager.is_healthy()
        text, _ = ChatModel(BASE, server=manager).complete(
            [{"role": "user", "content": "Say hi."}], SHORT)
        assert text.strip()
        pid = manager.pid
    finally:
        manager.stop()
    assert not pid_alive(pid)
    assert not manager.info_path.exists() and manager.base_url is None


def test_a_broken_adapter_fails_start_up_with_one_line(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    manager = LocalServer(tmp_path, watch_parent=True, startup_timeout=60)
    with pytest.raises(ProviderError, match="exited during start-up"):
        manager.ensure([bad])
    assert manager.base_url is None


def test_adapters_load_at_start_and_are_applied_per_request(tmp_path):
    """A new adapter restarts the server; every request sends every adapter's scale."""
    one = make_lora(tmp_path / "one.gguf", seed=1)
    two = make_lora(tmp_path / "two.gguf", seed=2)
    manager = LocalServer(tmp_path, watch_parent=True)
    try:
        manager.ensure([one])
        pid = manager.pid
        manager.ensure([one])
        assert manager.pid == pid  # same set: reused
        manager.ensure([two])
        assert manager.pid != pid  # a new adapter needs a restart; old ids stay first
        assert manager.adapters == (str(one.resolve()), str(two.resolve()))
        loaded = _get_json(f"{manager.base_url}/lora-adapters")
        assert [a["scale"] for a in loaded] == [0.0, 0.0]  # loaded off: base by default

        opts = manager.request_options(two, 0.5)
        assert opts["lora"] == [{"id": 0, "scale": 0.0}, {"id": 1, "scale": 0.5}]
        assert manager.request_options(two, 0.5)["cache_prompt"] is True  # same adapter
        assert manager.request_options(None)["cache_prompt"] is False  # switch: no stale KV
        assert manager.request_options(None)["lora"] == [{"id": 0, "scale": 0.0},
                                                         {"id": 1, "scale": 0.0}]
    finally:
        manager.stop()


def test_adapter_changes_the_answer_and_base_stays_clean(tmp_path):
    """base -> adapter -> base: the adapter answers differently, base answers as before."""
    lora = make_lora(tmp_path / "style.gguf", seed=3)
    manager = LocalServer(tmp_path, watch_parent=True)
    tuned = ModelSpec("Tuned", "local", BASE.model, adapter=str(lora), adapter_scale=1.0)
    question = [{"role": "user", "content": "Write one sentence about the sea."}]
    opts = ChatOptions(max_tokens=20)
    try:
        base, styled_model = (ChatModel(s, server=manager, data_dir=tmp_path) for s in (BASE, tuned))
        before, _ = base.complete(question, opts)
        styled, _ = styled_model.complete(question, opts)
        after, _ = base.complete(question, opts)
    finally:
        manager.stop()
    assert styled != before
    assert after == before


def test_unknown_adapter_is_refused(tmp_path):
    server = shared_server()
    with pytest.raises(ProviderError, match="not loaded"):
        server.request_options(tmp_path / "nope.gguf")


LONG = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def _first_delta_then(manager: LocalServer, signum: int, options: ChatOptions) -> ProviderError:
    """Stream an answer, send `signum` to the server after the first delta; the error raised."""
    stream = ChatModel(BASE, server=manager).stream(LONG, options)
    it = iter(stream)
    assert next(it)
    os.kill(manager.pid, signum)
    with pytest.raises(ProviderError) as err:
        for _ in it:
            pass
    assert "\n" not in err.value.reason
    return err.value


def test_killed_mid_answer_is_one_line_and_the_next_question_restarts_it(tmp_path):
    manager = LocalServer(tmp_path, watch_parent=True)
    try:
        manager.ensure()
        first = manager.pid
        assert manager.status().state == "running" and manager.status().restarts == 0
        err = _first_delta_then(manager, signal.SIGKILL, ChatOptions(max_tokens=300))
        assert err.reason.startswith("The local model server stopped while answering")
        deadline = time.monotonic() + 5  # the socket closes a moment before the pid is gone
        while manager.status().state == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert manager.status().state == "stopped"  # seen without a request
        text, _ = ChatModel(BASE, server=manager).complete(
            [{"role": "user", "content": "Say hi."}], SHORT)
        assert text.strip()
        status = manager.status()
        assert status.state == "running" and status.pid != first
        assert status.restarts == 1 and status.last_restart
    finally:
        manager.stop()


def test_a_hung_server_times_out_and_is_replaced(tmp_path):
    """SIGSTOP: the socket stays open but nothing comes; the deadline ends the wait."""
    manager = LocalServer(tmp_path, watch_parent=True)
    try:
        manager.ensure()
        hung = manager.pid
        # 15 s: the first token must still come on a busy machine; then nothing comes
        err = _first_delta_then(manager, signal.SIGSTOP, ChatOptions(max_tokens=300,
                                                                     timeout_s=15.0))
        assert "went silent while answering (timeout)" in err.reason
        manager.ensure()  # the health check fails: the frozen one is killed, a new one starts
        assert manager.pid != hung and manager.status().restarts == 1
        assert not pid_alive(hung)
    finally:
        manager.stop()


def test_an_answer_cut_by_the_token_limit_says_length(tmp_path):
    adopt_into(tmp_path)
    stream = ChatModel(BASE, server=LocalServer(tmp_path)).stream(LONG, ChatOptions(max_tokens=4))
    assert "".join(stream).strip()
    assert stream.timings.finish_reason == "length"


def test_a_prompt_longer_than_the_context_is_one_line(tmp_path):
    adopt_into(tmp_path)
    huge = [{"role": "user", "content": "lighthouse keeper " * 3000}]  # > 2048 tokens
    with pytest.raises(ProviderError, match="too long for the model's context"):
        ChatModel(BASE, server=LocalServer(tmp_path)).stream(huge, SHORT)
