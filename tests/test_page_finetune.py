"""The Fine-tune page through AppTest: dataset sources, validation, stats, local training, OpenAI jobs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.chat.feedback import new_record, save_feedback
from lib.finetune.dataset import load_bundled, to_jsonl
from lib.finetune.lora import missing_modules
from lib.finetune.registry import list_records
from lib.types import Answer
from tests.conftest import APP_PATH
from tests.fake_openai_ft import KEY, FakeOpenAIFineTuning


def open_finetune() -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=120)
    at.run()
    at.switch_page("pages/finetune.py")
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_bundled_dataset_stats_split_and_downloads():
    at = open_finetune()
    assert at.radio(key="ft_source").value == "Bundled Orbit style set"
    m = metrics(at)
    assert m["Examples"] == str(len(load_bundled()))
    assert int(m["Billed tokens"].replace(",", "")) == 3 * int(
        m["Tokens in the file"].replace(",", "")
    )
    assert any("rarely helps" in str(w.value) for w in at.warning)  # < a few hundred examples
    assert not at.error
    n = len(load_bundled())
    assert any(
        f"{n - round(n * 0.1)} train · {round(n * 0.1)} validation" in c.value for c in at.caption
    )
    at.slider(key="ft_val_share").set_value(20).run()
    assert any(
        f"{n - round(n * 0.2)} train · {round(n * 0.2)} validation" in c.value for c in at.caption
    )
    assert any("Prices as of" in c.value for c in at.caption)
    assert not at.exception, at.exception


def test_feedback_source_builds_examples(isolated_data_dir: Path):
    for q in ("How do I freeze my card?", "How do I change my PIN?"):
        answer = Answer(
            text=f"Thanks for your question. {q} Use the app.", model_label="Local base"
        )
        save_feedback(isolated_data_dir, new_record(q, answer, False), rating="up")
    at = open_finetune()
    at.radio(key="ft_source").set_value("Chat feedback").run()
    assert not at.exception, at.exception
    assert metrics(at)["Examples"] == "2"
    assert any("2 👍 answers" in c.value for c in at.caption)


def test_feedback_source_when_empty_says_how_to_get_some():
    at = open_finetune()
    at.radio(key="ft_source").set_value("Chat feedback").run()
    assert any("No usable feedback yet" in str(i.value) for i in at.info)
    assert "Examples" not in metrics(at)


def test_broken_upload_shows_line_numbered_errors():
    at = open_finetune()
    at.radio(key="ft_source").set_value("Upload a JSONL file").run()
    good = to_jsonl(load_bundled()[:3]).splitlines()
    broken = "\n".join(
        [
            good[0],
            "{not json",
            good[1],
            json.dumps({"messages": [{"role": "user", "content": "q"}]}),
        ]
    )
    at.file_uploader(key="ft_upload").set_value(
        ("broken.jsonl", broken.encode(), "application/jsonl")
    ).run()
    assert not at.exception, at.exception
    errors = [str(e.value) for e in at.error]
    assert any(e.startswith("line 2: bad JSON") for e in errors), errors
    assert any(e.startswith("line 4: no assistant message") for e in errors), errors
    assert metrics(at)["Examples"] == "2"  # the two good lines are kept


def test_without_a_key_the_openai_tab_says_so():
    at = open_finetune()
    assert any("needs an API key" in str(i.value) for i in at.info)


def test_a_key_typed_in_the_sidebar_opens_the_openai_tab():
    at = open_finetune()
    at.session_state["openai_key"] = "sk-typed-in-the-sidebar"  # what Providers stores
    at.run()
    assert not at.exception, at.exception
    assert not any("needs an API key" in str(i.value) for i in at.info)
    assert "ft_oa_start" in [b.key for b in at.button]


@pytest.mark.slow
@pytest.mark.skipif(bool(missing_modules()), reason="training extra not installed")
def test_local_training_from_the_page_registers_a_model(isolated_data_dir: Path):
    at = open_finetune()
    at.radio(key="ft_source").set_value("Upload a JSONL file").run()
    short = sorted(load_bundled(), key=lambda e: len(json.dumps(e)))[:4]
    at.file_uploader(key="ft_upload").set_value(
        ("tiny.jsonl", to_jsonl(short).encode(), "application/jsonl")
    ).run()
    at.slider(key="ft_val_share").set_value(0).run()
    at.text_input(key="ft_name").set_value("Page tone").run()
    at.number_input(key="ft_steps").set_value(2).run()
    at.button(key="ft_train_start").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + 600
    while (
        not list_records(isolated_data_dir, include_shipped=False) and time.monotonic() < deadline
    ):
        time.sleep(1)
    time.sleep(1)
    at.run()
    assert not at.exception, at.exception
    records = [r for _, r in list_records(isolated_data_dir, include_shipped=False)]
    assert [(r.name, r.label, r.steps) for r in records] == [("page-tone", "Page tone", 2)]
    assert any("Registered **Page tone**" in str(s.value) for s in at.success)
    assert (isolated_data_dir / "adapters" / "page-tone.gguf").is_file()


def test_openai_job_flow_against_the_fake_server(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    fake = FakeOpenAIFineTuning().start()
    try:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        at = open_finetune()
        at.slider(key="ft_val_share").set_value(0).run()
        at.text_input(key="ft_oa_suffix").set_value("orbit").run()
        at.button(key="ft_oa_start").click().run()
        assert not at.exception, at.exception
        job_id = at.session_state["ft_oa_job"]
        for _ in range(6):  # each page run polls the job once; the fake advances per poll
            at.run()
            if any("Registered" in str(s.value) for s in at.success):
                break
        assert not at.exception, at.exception
        assert any(
            f"`ft:gpt-4o-mini-2024-07-18:org-test:orbit:{job_id[-6:]}`" in str(s.value)
            for s in at.success
        )
        records = [r for _, r in list_records(isolated_data_dir, include_shipped=False)]
        assert (
            len(records) == 1
            and records[0].kind == "openai"
            and records[0].n_examples == len(load_bundled())
        )
        assert "GET /v1/fine_tuning/jobs/" + job_id + "/events?limit=20" in fake.state.requests
        at.button(key="ft_oa_list").click().run()
        assert not at.exception, at.exception
    finally:
        fake.stop()
