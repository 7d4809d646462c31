"""Grounded-answer accuracy of the local model: does it cite the right document, state the fact?

    .venv/bin/python bench/citations.py              # Local base, the app's defaults
    .venv/bin/python bench/citations.py --fine-tuned  # also the shipped adapter

Asks the 10 questions of sample_docs/eval/grounded_questions.jsonl through the app's own
`lib.generation.rag.ask` (hybrid retrieval, k=4, temperature 0) over the sample documents, on a real
local server. "Right document": a cited source is one of the question's labelled
documents. "Fact": the expected fact (e.g. "£12.99") appears in the answer. Deterministic
at temperature 0 on one machine; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lib  # noqa: E402,F401  (offline env first)
from lib.config import SAMPLE_DOCS_DIR, load_settings  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.generation.chat_model import ChatModel  # noqa: E402
from lib.generation.local_server import LocalServer  # noqa: E402
from lib.generation.models import LOCAL_BASE, LOCAL_FINE_TUNED, list_models  # noqa: E402
from lib.generation.rag import ask  # noqa: E402
from lib.samples import sample_files  # noqa: E402
from lib.index.store import Store  # noqa: E402


def questions() -> list[dict]:
    lines = (SAMPLE_DOCS_DIR / "eval" / "grounded_questions.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines if x.strip()]


def score(store: Store, model: ChatModel) -> dict:
    """Right-document citations and facts stated, over the grounded questions."""
    right_doc = fact = 0
    items = questions()
    for q in items:
        stream = ask(q["question"], store, model)
        for _ in stream:
            pass
        answer = stream.answer
        cited = {answer.sources[n - 1].chunk.doc_name for n in answer.citations}
        doc_ok = bool(cited & {s["doc"] for s in q["sources"]})
        fact_ok = q["expected_fact"].lower() in answer.text.lower()
        right_doc += doc_ok
        fact += fact_ok
        print(f"  {q['_id']} doc {'✓' if doc_ok else '✗'} fact {'✓' if fact_ok else '✗'}  "
              f"{' '.join(answer.text.split())[:110]}", flush=True)
    return {"right_doc": right_doc, "fact": fact, "n": len(items)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fine-tuned", action="store_true", help="also score the shipped adapter")
    args = ap.parse_args()
    labels = [LOCAL_BASE, LOCAL_FINE_TUNED] if args.fine_tuned else [LOCAL_BASE]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = load_settings(env={"RAGLAB_DATA_DIR": str(data_dir)})
        store = Store(data_dir, get_embedder(settings))
        store.ingest(sample_files())
        specs = {o.spec.label: o.spec for o in list_models(settings) if o.available}
        server = LocalServer(data_dir, watch_parent=True)
        try:
            for label in labels:
                print(label, flush=True)
                model = ChatModel(specs[label], server=server, data_dir=data_dir)
                results[label] = score(store, model)
                r = results[label]
                print(f"{label}: right document {r['right_doc']}/{r['n']}, "
                      f"fact {r['fact']}/{r['n']}", flush=True)
        finally:
            server.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
