"""The evaluation command line end to end on a tiny BEIR folder (real embedder, real BM25)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

DOCS = {
    "d1": (
        "Photosynthesis",
        "Plants turn sunlight, water and carbon dioxide into sugar and oxygen.",
    ),
    "d2": ("Volcanoes", "Magma rises through the crust and erupts as lava, ash and volcanic gas."),
    "d3": ("Honey bees", "Bees collect nectar from flowers and store it as honey in wax combs."),
    "d4": (
        "Black holes",
        "Gravity so strong that not even light escapes beyond the event horizon.",
    ),
    "d5": ("Sourdough", "A starter of wild yeast and lactic bacteria leavens the bread dough."),
    "d6": ("Tides", "The pull of the moon and the sun raises and lowers the sea twice a day."),
    "d7": ("", ""),  # an empty document must not break indexing
}
QUERIES = {
    "1": "how do plants make sugar from sunlight",
    "2": "lava eruption from magma",
    "3": "where does honey come from",
    "4": "why can light not escape a black hole",
    "5": "wild yeast bread",
    "6": "what causes ocean tides",
    "7": "an unjudged query about nothing",
}


def make_folder(root: Path) -> Path:
    folder = root / "tinybeir"
    (folder / "qrels").mkdir(parents=True)
    lines = [json.dumps({"_id": i, "title": t, "text": x}) for i, (t, x) in DOCS.items()]
    (folder / "corpus.jsonl.gz").write_bytes(gzip.compress(("\r\n".join(lines) + "\r\n").encode()))
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": int(q), "text": t}) + "\n" for q, t in QUERIES.items())
    )
    rows = ["query-id\tcorpus-id\tscore"] + [f"{q}\td{q}\t1" for q in "123456"] + ["6\td4\t0"]
    (folder / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n")
    return folder


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAGLAB_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "lib.evaluation", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One CLI run with the exact documented interface (and a sweep), shared by the checks."""
    root = tmp_path_factory.mktemp("cli")
    folder, out, data_dir = make_folder(root), root / "out.json", root / "data"
    proc = run_cli(
        str(folder),
        "--split",
        "test",
        "--methods",
        "keyword,vector,hybrid",
        "--k",
        "10",
        "--json",
        str(out),
        "--sweep",
        "alpha",
        data_dir=data_dir,
    )
    return proc, out, folder, data_dir


def test_json_shape_and_sane_values(first_run):
    proc, out, _, _ = first_run
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["dataset"] == "tinybeir" and report["queries"] == 6
    assert set(report["methods"]) == {"keyword", "vector", "hybrid"}
    for method, figures in report["methods"].items():
        assert set(figures) == {"ndcg@10", "recall@10", "mrr@10", "map"}, method
        assert all(0.0 <= v <= 1.0 for v in figures.values())
        # one relevant document per query, six distinct topics: every method finds them
        assert figures["recall@10"] == 1.0, method
        assert figures["ndcg@10"] > 0.8, method
    settings = report["settings"]
    assert settings["fusion"]["mode"] in {"rrf", "weighted"}
    assert "best chunk" in settings["aggregation"]
    assert settings["embedder"].startswith("minilm")
    assert settings["chunking"]["chunks"] == 6


def test_table_on_stdout_progress_on_stderr(first_run):
    proc, _, _, _ = first_run
    assert "ndcg@10" in proc.stdout and "hybrid" in proc.stdout
    assert "[" in proc.stderr and "%" in proc.stderr and "done in" in proc.stderr


def test_sweep_curve_in_json(first_run):
    _, out, _, _ = first_run
    curve = json.loads(out.read_text())["sweep"]
    assert curve["parameter"] == "alpha" and curve["metric"] == "ndcg@10"
    assert [p["alpha"] for p in curve["points"]] == [i / 10 for i in range(11)]
    assert set(curve["reference"]) == {"keyword", "vector"}


def test_second_run_reads_the_cache_and_flags_change_fusion(first_run, tmp_path):
    _, _, folder, data_dir = first_run
    cache = data_dir / "cache" / "embeddings"
    shards = sorted(p.name for p in cache.rglob("*.npy"))
    assert shards, "the first run should have cached its embeddings"
    out = tmp_path / "w.json"
    proc = run_cli(
        str(folder),
        "--methods",
        "hybrid",
        "--k",
        "3",
        "--fusion",
        "weighted",
        "--alpha",
        "0.3",
        "--norm",
        "zscore",
        "--json",
        str(out),
        data_dir=data_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in cache.rglob("*.npy")) == shards  # nothing new embedded
    report = json.loads(out.read_text())
    assert set(report["methods"]["hybrid"]) == {"ndcg@3", "recall@3", "mrr@3", "map"}
    assert report["settings"]["fusion"] == {
        "mode": "weighted",
        "rrf_k": 60,
        "alpha": 0.3,
        "normalization": "zscore",
        "depth": 50,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "dev"], "no qrels/dev.tsv"),
        (["--methods", "keyword,magic"], "magic"),
        (["--fusion", "average"], "average"),
    ],
)
def test_bad_input_is_one_line(first_run, tmp_path, args, message):
    _, _, folder, data_dir = first_run
    proc = run_cli(str(folder), *args, data_dir=data_dir)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_not_a_beir_folder(tmp_path):
    proc = run_cli(str(tmp_path), data_dir=tmp_path / "data")
    assert (
        proc.returncode == 2
        and "not a BEIR folder" in proc.stderr
        and "Traceback" not in proc.stderr
    )
