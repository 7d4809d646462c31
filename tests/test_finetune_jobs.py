"""OpenAI fine-tuning job flow with the real `openai` client against a local fake server."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.config import load_settings
from lib.finetune import openai_jobs as jobs
from lib.finetune.dataset import load_bundled
from lib.finetune.registry import list_records
from lib.generation.models import list_models
from lib.types import ProviderError
from tests.conftest import APP_PATH
from tests.fake_openai_ft import KEY, FakeOpenAIFineTuning


@pytest.fixture(scope="module")
def fake():
    server = FakeOpenAIFineTuning().start()
    yield server
    server.stop()


@pytest.fixture
def client(fake):
    return jobs.ft_client(KEY, fake.url)


def test_upload_create_poll_succeed_and_register(client, fake, isolated_data_dir: Path):
    examples = load_bundled()[:12]
    file_id = jobs.upload_training_file(client, examples, "orbit.jsonl")
    job = jobs.create_job(client, file_id, "gpt-4o-mini-2024-07-18", epochs=2, suffix="Orbit tone!")
    assert job.status == "validating_files" and not job.done
    seen: list[str] = []
    final = jobs.wait_for(
        client, job.id, interval=0.0, timeout=10, on_update=lambda j: seen.append(j.status)
    )
    assert final.status == "succeeded"
    assert seen[-1] == "succeeded" and "running" in seen
    assert final.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:")
    assert ":orbit-tone:" in final.fine_tuned_model  # the suffix was slugified and sent
    assert final.n_epochs == "2"
    events = jobs.job_events(client, job.id)
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    assert events[0].message.startswith("Created") and "completed" in events[-1].message
    record = jobs.register_job(isolated_data_dir, final, examples, label="Orbit on OpenAI")
    assert record.kind == "openai" and record.model_id == final.fine_tuned_model
    assert record.n_examples == 12 and record.dataset_hash.startswith("sha256:")
    names = [r.name for _, r in list_records(isolated_data_dir, include_shipped=False)]
    assert names == [record.name]
    again = jobs.register_job(isolated_data_dir, final, examples, label="Orbit on OpenAI")
    assert again.name == record.name  # registering twice does not duplicate


def test_failed_job_reports_the_reason(client):
    file_id = jobs.upload_training_file(client, load_bundled()[:5])
    job = jobs.create_job(client, file_id, "gpt-4o-mini-2024-07-18")
    final = jobs.wait_for(client, job.id, interval=0.0, timeout=10)
    assert final.status == "failed" and final.done
    assert "fewer than 10 examples" in final.error
    assert any(e.level == "error" for e in jobs.job_events(client, job.id))
    with pytest.raises(ProviderError, match="no fine-tuned model"):
        jobs.register_job(Path("unused"), final)


def test_cancel_and_list(client):
    file_id = jobs.upload_training_file(client, load_bundled()[:20])
    job = jobs.create_job(client, file_id, "gpt-4o-mini-2024-07-18")
    cancelled = jobs.cancel_job(client, job.id)
    assert cancelled.status == "cancelled"
    assert jobs.get_job(client, job.id).status == "cancelled"  # polling does not revive it
    listed = jobs.list_jobs(client, limit=50)
    assert job.id in [j.id for j in listed]
    assert listed == sorted(listed, key=lambda j: j.id, reverse=True)
    with pytest.raises(ProviderError):
        jobs.cancel_job(client, job.id)  # already cancelled: HTTP 400, one line


def test_errors_are_one_line(fake):
    with pytest.raises(ProviderError, match="API key"):
        jobs.ft_client("", fake.url)
    bad = jobs.ft_client("sk-wrong", fake.url)
    with pytest.raises(ProviderError, match="401") as err:
        jobs.list_jobs(bad)
    assert "sk-wrong" not in err.value.reason
    good = jobs.ft_client(KEY, fake.url)
    file_id = jobs.upload_training_file(good, load_bundled()[:10])
    with pytest.raises(ProviderError, match="not available for fine-tuning"):
        jobs.create_job(good, file_id, "gpt-9-ultra")
    unreachable = jobs.ft_client(KEY, "http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(ProviderError, match="Cannot reach"):
        jobs.list_jobs(unreachable)


def test_a_succeeded_job_is_in_the_model_switch_and_answers_in_chat(
    client, fake, isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    """Job succeeds -> its ft: model is listed -> the sidebar offers it -> Chat uses it."""
    examples = load_bundled()[:12]
    job = jobs.create_job(client, jobs.upload_training_file(client, examples),
                          "gpt-4o-mini-2024-07-18", suffix="house")
    final = jobs.wait_for(client, job.id, interval=0.0, timeout=10)
    jobs.register_job(isolated_data_dir, final, examples, label="House style")
    ft_model = final.fine_tuned_model
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    (locked,) = [o for o in list_models(load_settings()) if o.spec.model == ft_model]
    assert locked.spec.label == "OpenAI: House style" and locked.unavailable == "no OpenAI key"

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    (option,) = [o for o in list_models(load_settings()) if o.spec.model == ft_model]
    assert option.available and option.spec.provider == "openai"
    assert option.spec.base_url == fake.url and option.spec.key_source == "openai"

    at = AppTest.from_file(APP_PATH, default_timeout=60).run()
    at.switch_page("pages/chat.py").run()
    switch = at.sidebar.selectbox(key="_model")
    assert "OpenAI: House style" in switch.options
    switch.select("OpenAI: House style").run()
    at.toggle(key="_chat_rag").set_value(False).run()  # no index needed
    at.chat_input(key="chat_input").set_value("Say hello.").run()
    assert not at.exception, at.exception
    assert fake.state.chats and fake.state.chats[-1]["model"] == ft_model
    assert fake.state.chats[-1]["stream"] is True
    answer = at.chat_message[-1].markdown[0].value
    assert answer.startswith("Hello from the fine-tuned model")
    assert "OpenAI: House style" in " ".join(c.value for c in at.caption)


def test_submit_uploads_train_and_validation_then_starts_the_job(client, fake):
    examples = load_bundled()
    job = jobs.submit(client, examples[:12], examples[12:15], "gpt-4o-mini-2024-07-18", 3, "tone")
    raw = fake.state.jobs[job.id]
    train, val = fake.state.files[raw["training_file"]], fake.state.files[raw["validation_file"]]
    names = (train["meta"]["filename"], val["meta"]["filename"])
    assert names == ("train.jsonl", "validation.jsonl")
    assert len(train["data"].splitlines()) == 12 and len(val["data"].splitlines()) == 3
    assert raw["hyperparameters"]["n_epochs"] == 3 and raw["suffix"] == "tone"
    alone = jobs.submit(client, examples[:12])  # no validation split: no second upload
    assert fake.state.jobs[alone.id]["validation_file"] is None
