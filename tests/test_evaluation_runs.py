"""Saved runs: round-trip, older files still read, run comparison, and the CLI gate's exit code."""

from __future__ import annotations

import json
import re

import pytest

from lib.evaluation.api import save_result
from lib.evaluation.beir import DatasetError
from lib.evaluation.runs import compare_runs, fingerprint, list_runs, load_run, run_path, save_run
from tests.test_evaluation_cli import make_folder, run_cli
from tests.test_evaluation_diff import RUNS, report


def test_run_round_trip_keeps_per_query_detail_and_fingerprint(tmp_path):
    saved = save_run(report().__class__(**{**report().__dict__, "fingerprint": "abc"}), tmp_path)
    assert re.fullmatch(r"\d{8}-\d{6}-tiny-[0-9a-f]{4}", saved.run_id)
    again = load_run(tmp_path, saved.run_id)
    assert again == saved
    assert [r.run_id for r in list_runs(tmp_path)] == [saved.run_id]


def test_save_result_also_saves_a_run_and_old_files_still_read(tmp_path):
    save_result(report(), tmp_path)
    save_result(report(), tmp_path)
    assert len(list(run_path(tmp_path, "x").parent.glob("*.json"))) == 2
    assert len(list_runs(tmp_path)) == 2  # the latest file repeats a run: listed once
    old = report().to_json(per_query=True)
    del old["version"]  # written before versioning and before runs
    (tmp_path / "results" / "evaluation-old.json").write_text(json.dumps(old))
    runs = list_runs(tmp_path)
    assert "evaluation-old" in [r.run_id for r in runs] and len(runs) == 3
    assert load_run(tmp_path, "evaluation-old").queries == report().queries


def test_missing_or_unsafe_run_ids_are_one_line_errors(tmp_path):
    with pytest.raises(DatasetError, match="no saved run"):
        load_run(tmp_path, "nope")
    with pytest.raises(DatasetError, match="not a run id"):
        run_path(tmp_path, "../etc/passwd")


def test_fingerprint_changes_with_any_judgment():
    qrels = {"q1": {"d1": 1}}
    base = fingerprint({"q1": "a"}, qrels, ["d1", "d2"])
    assert base == fingerprint({"q1": "a"}, qrels, ["d2", "d1"])
    assert base != fingerprint({"q1": "a"}, {"q1": {"d1": 2}}, ["d1", "d2"])
    assert base != fingerprint({"q1": "b"}, qrels, ["d1", "d2"])
    assert base != fingerprint({"q1": "a"}, qrels, ["d1"])


def test_compare_runs_names_the_regressions_and_gates_on_the_margin():
    better = {q: ("d1", "d2", "d9") if q == "q1" else d for q, d in RUNS["hybrid"].items()}
    worse = {q: ("d7", "d8", "d3") if q == "q1" else d for q, d in RUNS["hybrid"].items()}
    base = report({"hybrid": better})
    c = compare_runs(base, report({"hybrid": worse}))
    assert [r.id for r in c.regressed] == ["q1"]
    assert c.drop == pytest.approx(1 / 3)  # q1 fell from 1.0 to 0.0; three queries
    assert c.fails(0.1) and not c.fails(0.5)
    assert "1 regressed" in c.summary() and "q1" in c.summary()
    same = compare_runs(base, base)
    assert same.drop == 0 and not same.fails(0.0) and same.test.p == 1.0
    with pytest.raises(DatasetError, match="no 'vector'"):
        compare_runs(base, base, "vector")


def test_cli_gate_exit_codes(tmp_path):
    folder, data_dir = make_folder(tmp_path), tmp_path / "data"
    first = run_cli(str(folder), "--methods", "keyword,hybrid", data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    run_id = re.search(r"saved run (\S+)", first.stdout).group(1)
    # a doctored base run scoring hybrid above what any real run can reach (1.5 > 1.0):
    # whatever the new run scores, every query regresses
    doctored = json.loads(run_path(data_dir, run_id).read_text())
    for row in doctored["per_query"]:
        row["metrics"]["hybrid"]["ndcg@10"] = 1.5
    doctored["run_id"] = "perfect"
    run_path(data_dir, "perfect").write_text(json.dumps(doctored))
    lowered = json.loads(run_path(data_dir, run_id).read_text())
    for row in lowered["per_query"]:
        row["metrics"]["hybrid"]["ndcg@10"] = 0.0
    lowered["run_id"] = "poor"
    run_path(data_dir, "poor").write_text(json.dumps(lowered))

    same = run_cli(str(folder), "--methods", "hybrid", "--compare", run_id, data_dir=data_dir)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "0 regressed" in same.stdout and "OK:" in same.stdout
    assert "ndcg@10" in same.stdout.splitlines()[1]  # the table keeps its place and shape

    fail = run_cli(str(folder), "--methods", "hybrid", "--compare", "perfect", data_dir=data_dir)
    assert fail.returncode == 1 and "FAIL" in fail.stdout and "6 regressed" in fail.stdout
    assert "▼" in fail.stdout
    margin = run_cli(str(folder), "--methods", "hybrid", "--compare", "perfect",
                     "--max-drop", "1.5", data_dir=data_dir)
    assert margin.returncode == 0
    up = run_cli(str(folder), "--methods", "hybrid", "--compare", "poor", "--gate-metric", "ndcg",
                 data_dir=data_dir)
    assert up.returncode == 0 and "0 regressed" in up.stdout

    missing = run_cli(str(folder), "--compare", "nope", data_dir=data_dir)
    assert missing.returncode == 2 and "no saved run" in missing.stderr


def test_cli_gain_flag_changes_graded_ndcg(tmp_path):
    folder, data_dir = make_folder(tmp_path), tmp_path / "data"
    qrels = folder / "qrels" / "test.tsv"
    # make the collection graded: query 1 has a grade-3 and a grade-1 document
    qrels.write_text(qrels.read_text().replace("1\td1\t1", "1\td1\t1\n1\td2\t3"))
    figures = {}
    for gain in ("exponential", "linear"):
        out = tmp_path / f"{gain}.json"
        proc = run_cli(str(folder), "--methods", "keyword", "--gain", gain, "--json", str(out),
                       "--no-save", "--per-query", data_dir=data_dir)
        assert proc.returncode == 0, proc.stderr
        row = next(q for q in json.loads(out.read_text())["per_query"] if q["id"] == "1")
        figures[gain] = row["metrics"]["keyword"]["ndcg@10"]
    assert figures["exponential"] != pytest.approx(figures["linear"], abs=1e-4)
    assert not list((data_dir / "results").glob("runs/*.json"))  # --no-save
