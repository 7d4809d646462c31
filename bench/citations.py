"""Grounded-answer accuracy of the local model, bundled and held-out questions reported apart.

    .venv/bin/python bench/citations.py                  # Local base, both parts
    .venv/bin/python bench/citations.py --fine-tuned     # also the shipped adapter
    .venv/bin/python bench/citations.py --variants today,default,k4   # compare, interleaved

Asks the questions of sample_docs/eval/grounded_questions.jsonl ("bundled", 10) and
sample_docs/eval/grounded_heldout.jsonl ("held-out": written from the documents, never
used to tune prompts; some are unanswerable), and held-out-2 to held-out-7 (PARTS: later
sets, each written before the rules it tests) through the app's own
`lib.generation.rag.ask` (hybrid retrieval, k=4, temperature 0) over the sample documents,
on a real local server. Per part, model and pipeline variant:

- right_doc: a cited source is one of the question's labelled documents (answerable ones);
- fact: the expected fact appears in the answer (case, spacing and "1,200"/"1200" folded);
- in_scope: answerable questions that got an answer (no abstention, no "does not say");
- abstain: unanswerable questions where the assistant abstained or said the documents
  do not say;
- grounded: answers (not abstentions) whose every figure the grounding check found in a
  cited source;
- style: the house-style rule share (lib.compare.style, as in the 2×2 grid) averaged over
  the answers the model gave;
- ttft_p50: median time to first token over the answers the model gave. Only valid for
  a variant whose prompt differs from the one asked just before it: llama.cpp reuses the
  cached prompt ("check" after "today" shows ~0.05 s). Measure speed with bench/llm.py.

Variants are asked question by question, interleaved, so a noisy shared machine hits them
alike. Deterministic at temperature 0 on one machine; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lib  # noqa: E402,F401  (offline env first)
from lib.config import SAMPLE_DOCS_DIR, load_settings  # noqa: E402
from lib.compare.style import score as style_score  # noqa: E402
from lib.generation.chat_model import ChatModel  # noqa: E402
from lib.generation.grounding import declines  # noqa: E402
from lib.generation.local_server import LocalServer  # noqa: E402
from lib.generation.models import LOCAL_BASE, LOCAL_FINE_TUNED, list_models  # noqa: E402
from lib.generation.rag import RagSettings, ask  # noqa: E402
from lib.index.store import Store  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.samples import sample_files  # noqa: E402
from lib.types import Answer  # noqa: E402

PARTS = {"bundled": "grounded_questions.jsonl", "held-out": "grounded_heldout.jsonl",
         "held-out-2": "grounded_heldout2.jsonl", "held-out-3": "grounded_heldout3.jsonl",
         "held-out-4": "grounded_heldout4.jsonl", "held-out-5": "grounded_heldout5.jsonl",
         "held-out-6": "grounded_heldout6.jsonl", "held-out-7": "grounded_heldout7.jsonl"}
# Pipeline variants to compare (names -> settings); "today" is the app's default.
VARIANTS: dict[str, RagSettings] = {
    # the pipeline before issue 13: 4 whole chunks, no post-check
    "today": RagSettings(k=4, context="chunks", post_check=False),
    "default": RagSettings(),  # the app's pipeline now
    "no-check": RagSettings(post_check=False),  # sentences without the post-check
    "k4": RagSettings(k=4),  # sentences from 4 chunks instead of 8
    "drop": RagSettings(old_values="drop"),  # old values cut out instead of marked
    "chunks+check": RagSettings(k=4, context="chunks"),  # whole chunks with the post-check
    "ft-sentences": RagSettings(adapter_context="sentences"),  # adapters read sentences too
    "ft-chunks": RagSettings(adapter_context="chunks"),
    "no-lines": RagSettings(line_check=False),  # the post-check without the wrong-line check
}


def questions(part: str) -> list[dict]:
    """One part's questions; bundled ones are all answerable."""
    lines = (SAMPLE_DOCS_DIR / "eval" / PARTS[part]).read_text().splitlines()
    return [{"answerable": True, **json.loads(x)} for x in lines if x.strip()]


def fold(text: str) -> str:
    """Case, whitespace, thousands separators, '2.5 %' and curly quotes folded for matching."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"(?<=\d)\s+%", "%", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Outcome:
    """One question's result for one model and variant."""

    answerable: bool
    answered: bool  # neither abstained before the model nor said the documents do not say
    doc_ok: bool
    fact_ok: bool
    grounded: bool | None  # None when there was nothing to check (abstained)
    ttft_s: float | None
    style: float | None  # share of applicable house-style rules passed (None: abstained)
    hinted: bool = False  # the answer names question words no document uses (unseen)


def judge(q: dict, answer: Answer) -> Outcome:
    """Score one answer against its question's labels."""
    said_no = answer.abstained or declines(answer.text)
    cited = {answer.sources[n - 1].chunk.doc_name for n in answer.citations}
    labelled = {s["doc"] for s in q["sources"]}
    fact = q.get("expected_fact")
    grounded = answer.grounding.passed if answer.grounding is not None else None
    style = None if answer.abstained else style_score(
        answer.text, [h.chunk.text for h in answer.sources], q["question"]).style_score
    return Outcome(q["answerable"], not said_no, bool(cited & labelled),
                   bool(fact) and fold(fact) in fold(answer.text), grounded,
                   None if answer.abstained else answer.timings.ttft_s, style,
                   bool(answer.unseen))


def summary(outcomes: list[Outcome]) -> dict:
    """Counts per metric (numerator and denominator), and TTFT p50."""
    ans = [o for o in outcomes if o.answerable]
    unans = [o for o in outcomes if not o.answerable]
    checked = [o for o in outcomes if o.grounded is not None and o.answered]
    ttfts = [o.ttft_s for o in outcomes if o.ttft_s is not None]
    styles = [o.style for o in outcomes if o.style is not None]
    return {
        "n": len(ans), "right_doc": sum(o.doc_ok for o in ans), "fact": sum(o.fact_ok for o in ans),
        "in_scope": sum(o.answered for o in ans),
        "n_unanswerable": len(unans), "abstain": sum(not o.answered for o in unans),
        "n_checked": len(checked), "grounded": sum(bool(o.grounded) for o in checked),
        "ttft_p50": round(statistics.median(ttfts), 3) if ttfts else None,
        "style": round(statistics.mean(styles), 3) if styles else None,
        "hinted": sum(o.hinted for o in ans), "hinted_unanswerable": sum(o.hinted for o in unans),
    }


def line(label: str, s: dict) -> str:
    """A human summary of one part/model/variant."""
    text = (f"{label}: right doc {s['right_doc']}/{s['n']}, fact {s['fact']}/{s['n']}, "
            f"in-scope answered {s['in_scope']}/{s['n']}, "
            f"grounding pass {s['grounded']}/{s['n_checked']}, style {s['style']}, "
            f"TTFT p50 {s['ttft_p50']} s")
    if s["n_unanswerable"]:
        text += (f", abstained on unanswerable {s['abstain']}/{s['n_unanswerable']}, "
                 f"unseen-word hint on {s['hinted_unanswerable']}/{s['n_unanswerable']} "
                 f"unanswerable vs {s['hinted']}/{s['n']} answerable")
    return text


def run(store: Store, models: dict[str, ChatModel], variants: list[str],
        parts: list[str], answers: Path | None = None) -> dict:
    """Every question through every model and variant, interleaved; results by part.

    `answers`: a JSONL file that gets every answer in full (text, citations, check).
    """
    results: dict = {}
    dump = answers.open("w", encoding="utf-8") if answers else None
    for part in parts:
        got: dict[tuple[str, str], list[Outcome]] = {}
        print(f"== {part}", flush=True)
        for q in questions(part):
            for label, model in models.items():
                for name in variants:
                    stream = ask(q["question"], store, model, VARIANTS[name])
                    for _ in stream:
                        pass
                    o = judge(q, stream.answer)
                    got.setdefault((label, name), []).append(o)
                    if dump:
                        dump.write(json.dumps(answer_record(q, label, name, stream.answer, o)) + "\n")
                        dump.flush()
                    marks = (f"doc {'✓' if o.doc_ok else '✗'} fact {'✓' if o.fact_ok else '✗'}"
                             if q["answerable"] else f"abstain {'✓' if not o.answered else '✗'}")
                    check = {None: "-", True: "✓", False: "✗"}[o.grounded]
                    print(f"  {q['_id']} {label[6:]:<10} {name:<10} {marks} check {check}  "
                          f"{' '.join(stream.answer.text.split())[:100]}", flush=True)
        for (label, name), outcomes in got.items():
            results.setdefault(part, {}).setdefault(label, {})[name] = summary(outcomes)
    if dump:
        dump.close()
    return results


def answer_record(q: dict, label: str, variant: str, answer: Answer, o: Outcome) -> dict:
    """One answer in full, for reading failures after a run (--answers)."""
    g = answer.grounding
    return {"id": q["_id"], "model": label, "variant": variant, "question": q["question"],
            "text": answer.text, "citations": list(answer.citations),
            "cited_docs": [answer.sources[n - 1].chunk.doc_name for n in answer.citations],
            "abstained": answer.abstained, "action": g.action if g else None,
            "check": None if g is None else {"passed": g.passed, "missing": g.missing,
                                             "flagged": [f.text for f in g.flagged]},
            **asdict(o)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fine-tuned", action="store_true", help="also score the shipped adapter")
    ap.add_argument("--only-fine-tuned", action="store_true", help="score the adapter alone")
    ap.add_argument("--part", choices=[*PARTS, "all"], default="all")
    ap.add_argument("--answers", type=Path, help="write every answer in full to this JSONL")
    ap.add_argument("--variants", default="today,default",
                    help=f"comma-separated, from: {', '.join(VARIANTS)}")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {unknown}; known: {list(VARIANTS)}")
    parts = list(PARTS) if args.part == "all" else [args.part]
    labels = [LOCAL_BASE, LOCAL_FINE_TUNED] if args.fine_tuned else [LOCAL_BASE]
    labels = [LOCAL_FINE_TUNED] if args.only_fine_tuned else labels
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = load_settings(env={"RAGLAB_DATA_DIR": str(data_dir)})
        store = Store(data_dir, get_embedder(settings), chroma_server=settings.chroma_server)
        store.ingest(sample_files())
        specs = {o.spec.label: o.spec for o in list_models(settings) if o.available}
        server = LocalServer(data_dir, watch_parent=True)
        try:
            models = {label: ChatModel(specs[label], server=server, data_dir=data_dir)
                      for label in labels}
            results = run(store, models, variants, parts, args.answers)
        finally:
            server.stop()
    for part, by_model in results.items():
        for label, by_variant in by_model.items():
            for name, s in by_variant.items():
                print(line(f"{part} · {label} · {name}", s), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
