"""The BEIR folder loader and the zip upload, on tiny folders written in each test."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest

from lib.evaluation.archive import dataset_name, extract_beir_zip
from lib.evaluation.beir import (
    DatasetError,
    Judgment,
    available_splits,
    load_beir,
    load_qrels,
    read_judgments,
)
from lib.types import RagLabError

CORPUS = [
    {"_id": 1, "title": "Cats", "text": "Cats purr and sleep."},
    {"_id": "2", "title": "Dogs", "text": "Dogs bark at night."},
    {"_id": 3, "title": "Empty", "text": ""},
    {"_id": "4", "text": None},
]
QUERIES = [
    {"_id": "q1", "text": "which animal purrs"},
    {"_id": 7, "text": "barking at night"},
    {"_id": "q3", "text": "nobody judged this query"},
]


def write_beir(
    folder: Path, *, gz: bool = False, crlf: bool = False, qrels: str | None = None
) -> Path:
    """A tiny BEIR folder: numeric and string ids, empty texts, an unjudged query."""
    nl = "\r\n" if crlf else "\n"
    folder.mkdir(parents=True, exist_ok=True)
    corpus = nl.join(json.dumps(d) for d in CORPUS) + nl
    if gz:
        (folder / "corpus.jsonl.gz").write_bytes(gzip.compress(corpus.encode()))
    else:
        (folder / "corpus.jsonl").write_bytes(corpus.encode())
    (folder / "queries.jsonl").write_bytes((nl.join(json.dumps(q) for q in QUERIES) + nl).encode())
    (folder / "qrels").mkdir(exist_ok=True)
    rows = qrels or f"query-id\tcorpus-id\tscore{nl}q1\t1\t1{nl}7\t2\t2{nl}7\t3\t0{nl}"
    (folder / "qrels" / "test.tsv").write_bytes(rows.encode())
    return folder


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
def test_loads_plain_and_gz_with_crlf(tmp_path, gz, crlf):
    data = load_beir(write_beir(tmp_path / "tiny", gz=gz, crlf=crlf), "test")
    assert data.name == "tiny" and data.split == "test"
    assert set(data.corpus) == {"1", "2", "3", "4"}  # int ids became strings
    assert data.corpus["1"].title == "Cats"
    assert data.corpus["3"].text == "" and data.corpus["4"].text == ""  # empty text kept
    assert data.queries["7"] == "barking at night"
    assert data.qrels == {"q1": {"1": 1}, "7": {"2": 2, "3": 0}}
    assert all(not q.endswith("\r") for q in data.queries.values())
    # the unjudged query q3 is loaded but not evaluated
    assert "q3" in data.queries and data.judged_query_ids() == ["q1", "7"]


def test_qrels_extra_columns_spaces_and_no_header(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text("q1\tfee schedule.md\t2\tpage 3\nq2\tfaq.md\t1\n\n", encoding="utf-8")
    assert load_qrels(path) == {"q1": {"fee schedule.md": 2}, "q2": {"faq.md": 1}}


def test_judgments_keep_grades_and_the_location_column(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text(
        "query-id\tcorpus-id\tscore\tlocation\nq1\tfaq.md\t2\tLost card; Freeze\nq1\tx.md\t0\n",
        encoding="utf-8",
    )
    assert read_judgments(path) == [
        Judgment("q1", "faq.md", 2, "Lost card; Freeze"),
        Judgment("q1", "x.md", 0, ""),
    ]
    assert load_qrels(path) == {"q1": {"faq.md": 2, "x.md": 0}}


def test_queries_judged_only_at_grade_zero_are_not_evaluated(tmp_path):
    rows = "query-id\tcorpus-id\tscore\nq1\t1\t1\nq3\t2\t0\n"
    data = load_beir(write_beir(tmp_path / "t", qrels=rows), "test")
    assert data.judged_query_ids() == ["q1"]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda f: (f / "corpus.jsonl").unlink(), "no corpus.jsonl"),
        (lambda f: (f / "queries.jsonl").unlink(), "no queries.jsonl"),
        (lambda f: (f / "qrels" / "test.tsv").rename(f / "qrels" / "dev.tsv"), "splits found: dev"),
        (lambda f: (f / "corpus.jsonl").write_text('{"_id": "1"}\n{oops\n'), "corpus.jsonl line 2"),
        (lambda f: (f / "corpus.jsonl").write_text('{"title": "x"}\n'), 'no "_id"'),
        (lambda f: (f / "corpus.jsonl").write_text("\n\n"), "has no documents"),
        (lambda f: (f / "qrels" / "test.tsv").write_text("q1\t1\tmaybe\n"), "line 1: score"),
        (lambda f: (f / "qrels" / "test.tsv").write_text("q1 1\n"), "expected query-id"),
        (lambda f: (f / "qrels" / "test.tsv").write_text("zz\t1\t1\n"), "judges none"),
    ],
)
def test_malformed_folder_is_one_line_error(tmp_path, breakage, message):
    folder = write_beir(tmp_path / "bad")
    breakage(folder)
    with pytest.raises(DatasetError) as err:
        load_beir(folder, "test")
    assert isinstance(err.value, RagLabError)
    assert message in err.value.reason and "\n" not in err.value.reason


def test_missing_folder_and_corrupt_gzip(tmp_path):
    with pytest.raises(DatasetError, match="is not a folder"):
        load_beir(tmp_path / "nope")
    folder = write_beir(tmp_path / "gz", gz=True)
    (folder / "corpus.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="cannot read corpus.jsonl.gz"):
        load_beir(folder)


def test_available_splits(tmp_path):
    folder = write_beir(tmp_path / "s")
    (folder / "qrels" / "train.tsv").write_text("q1\t1\t1\n")
    assert available_splits(folder) == ["test", "train"]


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _folder_files(folder: Path, prefix: str = "") -> dict[str, bytes]:
    return {
        prefix + p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("prefix", ["", "mini/", "outer/mini/"])
def test_zip_is_extracted_and_loadable(tmp_path, prefix):
    files = _folder_files(write_beir(tmp_path / "src", gz=True), prefix)
    files[prefix + "README.md"] = b"ignored"
    target = extract_beir_zip(_zip(files), tmp_path / "datasets", "my set.zip")
    assert target == tmp_path / "datasets" / "my-set"
    assert not (target / "README.md").exists()
    assert len(load_beir(target).corpus) == 4
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == ["my-set"]  # no staging left


@pytest.mark.parametrize(
    "evil", ["../evil.txt", "/abs/corpus.jsonl", "a/../../corpus.jsonl", "C:/x", "a\\..\\b"]
)
def test_zip_path_traversal_is_refused(tmp_path, evil):
    files = _folder_files(write_beir(tmp_path / "src"))
    files[evil] = b"x"
    with pytest.raises(DatasetError, match="path"):
        extract_beir_zip(_zip(files), tmp_path / "datasets", "evil")
    assert not (tmp_path / "evil.txt").exists()


def test_zip_errors_are_clear(tmp_path):
    with pytest.raises(DatasetError, match="not a zip"):
        extract_beir_zip(b"hello", tmp_path, "x")
    with pytest.raises(DatasetError, match="no corpus"):
        extract_beir_zip(_zip({"a.txt": b"x"}), tmp_path, "x")
    files = _folder_files(write_beir(tmp_path / "src"))
    del files["queries.jsonl"]
    with pytest.raises(DatasetError, match="the zip is not a BEIR folder: no queries.jsonl"):
        extract_beir_zip(_zip(files), tmp_path / "d", "x")
    assert list((tmp_path / "d").iterdir()) == []


def test_zip_bomb_is_refused(tmp_path):
    files = _folder_files(write_beir(tmp_path / "src"))
    files["qrels/huge.tsv"] = b"0" * (50 * 1024 * 1024)
    with pytest.raises(DatasetError, match="zip bomb"):
        extract_beir_zip(_zip(files), tmp_path / "d", "x")


def test_dataset_name_is_folder_safe():
    assert dataset_name("../../etc/passwd.zip") == "passwd"
    assert dataset_name("...") == "uploaded"


def test_zip_without_any_qrels_is_refused(tmp_path):
    files = _folder_files(write_beir(tmp_path / "src"))
    del files["qrels/test.tsv"]
    with pytest.raises(DatasetError, match="no qrels"):
        extract_beir_zip(_zip(files), tmp_path / "d", "x")


SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.mark.parametrize("name", ["scifact", "cranfield", "npl"])
def test_shared_beir_qrels_keep_every_row_and_grade(name):
    path = SHARED / name / "qrels" / "test.tsv"
    if not path.is_file():
        pytest.skip(f"{name} is not in {SHARED}")
    raw = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    rows = read_judgments(path)
    assert len(rows) == len(raw)
    assert sorted({r.grade for r in rows}) == sorted({int(cols[2]) for cols in raw})
    qrels = load_qrels(path)
    assert sum(len(docs) for docs in qrels.values()) == len({(c[0], c[1]) for c in raw})
