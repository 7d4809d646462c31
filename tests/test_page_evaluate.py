"""The Evaluate page: sample queries on the sample index, saved results, BEIR zip upload."""

from __future__ import annotations

import io
import json
import zipfile

from streamlit.testing.v1 import AppTest

from tests.conftest import APP_PATH
from tests.test_evaluation_cli import make_folder

PAGE = "pages/evaluate.py"


def open_page() -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=300).run()
    return at.switch_page(PAGE).run()


def test_sample_queries_on_the_sample_index(sample_data_dir):
    at = open_page()
    assert not at.exception
    at.button(key="eval_run").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table.index) == ["keyword", "vector", "hybrid"]
    assert list(table.columns) == ["ndcg@10", "recall@10", "mrr@10", "map"]
    assert ((table >= 0) & (table <= 1)).all().all()
    assert table.loc["hybrid", "recall@10"] > 0.5  # the sample queries are answerable
    saved = json.loads((sample_data_dir / "results" / "evaluation-samples.json").read_text())
    assert saved["methods"]["hybrid"]["ndcg@10"] == round(table.loc["hybrid", "ndcg@10"], 4)
    assert saved["sweep"]["points"] and saved["per_query"]
    # the drill-down lists the three rankings of the chosen query
    assert at.selectbox(key="eval_query").options
    # paired tests for every method pair, in the documented shape
    sentences = [m.value for m in at.markdown if " − " in m.value and "p " in m.value]
    assert len(sentences) == 3 and all("[" in s and "]" in s for s in sentences)
    # the per-query diff: regressions filter shows only rows with a negative delta
    at.radio(key="eval_query_filter").set_value("Regressed").run()
    assert not at.exception
    regressed = _diff_table(at)
    assert (regressed["Δ"] < 0).all()
    at.radio(key="eval_query_filter").set_value("All").run()
    assert len(_diff_table(at)) == saved["queries"]
    # reopening the page shows the saved result without running anything
    again = open_page()
    assert not again.exception and again.dataframe[0].value.equals(table)
    # a second run: the runs table lists both, and the two compare query by query
    again.button(key="eval_run").click().run()
    assert not again.exception, again.exception
    runs = next(d.value for d in again.dataframe if "run" in d.value.columns)
    assert len(runs) == 2 and set(runs["dataset"]) == {"samples"}
    assert again.selectbox(key="eval_run_base").value != again.selectbox(key="eval_run_new").value
    assert any("No query regressed" in s.value for s in again.success)  # same index, same data
    assert again.selectbox(key="eval_runs_query").options


def _diff_table(at: AppTest):
    """The per-query diff table (the one with a delta column)."""
    return next(d.value for d in at.dataframe if "Δ" in d.value.columns)


def test_empty_index_offers_the_samples():
    at = open_page()
    assert not at.exception
    assert at.button(key="eval_load_samples")
    assert not [b for b in at.button if b.key == "eval_run"]


def _zip_folder(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.rglob("*"):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def test_uploaded_zip_is_validated_then_evaluated(tmp_path, isolated_data_dir):
    at = open_page()
    at.radio(key="eval_source").set_value(at.radio(key="eval_source").options[2]).run()
    at.file_uploader(key="eval_upload").set_value(
        ("bad.zip", b"not a zip", "application/zip")
    ).run()
    assert not at.exception
    assert any("not a zip" in e.value for e in at.error)
    data = _zip_folder(make_folder(tmp_path))
    at.file_uploader(key="eval_upload").set_value(("tiny.zip", data, "application/zip")).run()
    assert not at.exception and not at.error
    at.button(key="eval_run").click().run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value.loc["hybrid", "recall@10"] == 1.0
    assert (isolated_data_dir / "results" / "evaluation-tiny.json").is_file()
    assert (isolated_data_dir / "datasets" / "beir" / "tiny" / "corpus.jsonl.gz").is_file()


def test_two_saved_runs_state_which_queries_regressed(isolated_data_dir):
    from dataclasses import replace

    from lib.evaluation.runs import save_run
    from tests.test_evaluation_diff import RUNS, report

    worse = {q: ("d7", "d8", "d3") if q == "q1" else d for q, d in RUNS["hybrid"].items()}
    save_run(replace(report(RUNS), saved_at="2026-01-01T00:00:00Z"), isolated_data_dir)
    save_run(replace(report({**RUNS, "hybrid": worse}), saved_at="2026-01-02T00:00:00Z"),
             isolated_data_dir)
    at = open_page()
    assert not at.exception
    assert any("1 queries regressed" in w.value and "first" in w.value for w in at.warning)
    at.radio(key="eval_runs_query_filter").set_value("Regressed").run()
    options = at.selectbox(key="eval_runs_query").options
    assert len(options) == 1 and options[0].startswith("▼") and "first" in options[0]
    listing = "\n".join(m.value for m in at.markdown)
    assert "`d1`" in listing and "✅ rel 2" in listing  # the base list, judged from the qrels


def test_abstention_curve_picks_and_saves_chats_threshold(sample_data_dir):
    from lib.tuning import app_min_confidence

    at = open_page()
    at.button(key="eval_scope_run").click().run()
    assert not at.exception, at.exception
    assert any("of in-scope questions" in m.value for m in at.markdown)
    at.slider(key="eval_scope_threshold").set_value(0.5).run()
    assert any("threshold of **0.50**" in m.value for m in at.markdown)
    at.button(key="eval_scope_save").click().run()
    assert not at.exception
    assert app_min_confidence(sample_data_dir) == 0.5
