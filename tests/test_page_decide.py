"""The Decision guide through AppTest: answers kept on disk, measured evidence, cost, reports."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.decision.answers import load_answers
from lib.decision.cost import PRICES, CostInputs, calculate
from lib.decision.evidence import prompt_tokens
from tests.conftest import APP_PATH
from tests.decision_fixtures import save_batch, save_evaluation


def open_guide() -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=60)
    at.run()
    at.switch_page("pages/decide.py").run()
    assert not at.exception, at.exception
    return at


def verdict(at: AppTest) -> str:
    boxes = [*at.success, *at.warning]
    return next(b.value for b in boxes if b.icon == "🧭")


def test_empty_app_says_not_yet_and_points_to_the_pages(isolated_data_dir: Path):
    at = open_guide()
    assert at.title[0].value == "🧭 Decision guide"
    assert verdict(at).startswith("**Not yet: collect")
    texts = " ".join(m.value for m in at.markdown)
    assert "Run an evaluation to measure retrieval per method" in texts
    assert "Load your documents" in texts
    links = [(p.proto.label, p.proto.page) for p in at.main.get("page_link")]
    assert ("Open Evaluate", "evaluate") in links and ("Open Compare", "compare") in links
    assert ("Open Documents", "documents") in links
    assert len(links) == len(set(links))  # each missing piece linked once
    assert load_answers(isolated_data_dir) is None  # nothing answered: nothing saved
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["⬇️ Download the HTML report", "⬇️ Download the Markdown report"]


def answer_facts_and_tone(at: AppTest) -> None:
    at.checkbox(key="decide_p_unknown_docs").check().run()
    at.checkbox(key="decide_p_wrong_tone").check().run()
    at.radio(key="decide_facts").set_value("yes").run()
    at.number_input(key="decide_examples").set_value(800).run()
    at.radio(key="decide_time").set_value("weeks").run()
    assert not at.exception, at.exception


def test_answers_survive_a_page_switch_and_a_restart(isolated_data_dir: Path):
    at = open_guide()
    answer_facts_and_tone(at)
    assert verdict(at) == "**Both: RAG for facts, fine-tuning on top**"
    saved, _ = load_answers(isolated_data_dir)
    assert saved.problems == {"unknown_docs", "wrong_tone"} and saved.labelled_examples == 800
    at.switch_page("pages/documents.py").run()
    at.switch_page("pages/decide.py").run()
    assert at.checkbox(key="decide_p_wrong_tone").value is True
    assert at.number_input(key="decide_examples").value == 800
    restarted = open_guide()  # a new session on the same data dir: read from disk
    assert restarted.checkbox(key="decide_p_unknown_docs").value is True
    assert restarted.radio(key="decide_time").value == "weeks"
    assert restarted.radio(key="decide_facts").value == "yes"
    assert verdict(restarted) == verdict(at)


def test_measured_evidence_is_shown_with_its_numbers(isolated_data_dir: Path):
    save_evaluation(isolated_data_dir)
    save_batch(isolated_data_dir, facts_on=0.7, facts_off=0.2)
    at = open_guide()
    at.radio(key="decide_facts").set_value("yes").run()
    tables = " ".join(str(t.value) for t in at.table)
    assert "0.73" in tables and "hybrid" in tables  # the saved run's hybrid nDCG@10
    assert "70%" in tables and "20%" in tables  # the batch's expected-fact rates
    reasons = " ".join(m.value for m in at.markdown)
    assert "RAG fixed facts here: the expected fact in 70% of answers with RAG on vs 20%" in reasons
    assert "Keyword search wins 1 of 1 exact-ID queries" in reasons


def test_cost_calculator_matches_the_pure_function(isolated_data_dir: Path):
    at = open_guide()
    at.number_input(key="decide_requests").set_value(5000).run()
    at.selectbox(key="decide_today").set_value("gpt-4o").run()
    at.selectbox(key="decide_tuned").set_value("gpt-4o-mini").run()
    assert not at.exception, at.exception
    p = prompt_tokens(chunk_size=128)
    price = {x.model: x for x in PRICES}
    expected = calculate(
        CostInputs(
            5000,
            p.rag_request,
            p.style_rules,
            price["gpt-4o"].base_per_m,
            price["gpt-4o-mini"].fine_tuned_per_m,
            1.0,
        )
    )
    metrics = {m.label: m.value for m in at.main.metric}
    assert metrics["Monthly saving"] == f"${expected.monthly_saving_usd:,.2f}"
    # same model before and after: the fine-tuned price is higher, so it never pays back
    at.selectbox(key="decide_today").set_value("gpt-4o-mini").run()
    assert {m.label: m.value for m in at.main.metric}["Pays back in"] == "never"
