"""Grounded answers: retrieve, abstain when unsure, build the prompt, stream, cite.

The prompt keeps a fixed system message (llama.cpp caches that prefix across questions)
and puts the numbered sources in the *user* turn, which the 135M local model answers
better from (measured: ../shared/OFFLINE_MODELS.md), with the question last.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lib.generation.chat_model import ChatModel
from lib.generation.client import ChatOptions, ChatStream
from lib.generation.context import (
    CLAUSE_NUMBER,
    Excerpt,
    asked_kinds,
    running_headers,
    score_units,
    select,
    units_of,
    without_headers,
)
from lib.generation.grounding import (
    check_grounding,
    citations_to_add,
    copied_sources,
    declines,
    figure_free_ends,
    mentions,
    missing_ids,
)
from lib.generation.conditions import broken_condition, condition_reason
from lib.generation.definitions import definition, misses_definition
from lib.generation.lines import better_line, check_lines, gives_figure
from lib.generation.names import index_search, missing_names
from lib.generation.qualifiers import with_qualifiers
from lib.generation.local_server import N_CTX
from lib.generation.unseen import index_knows, unseen_words
from lib.generation.models import ModelSpec
from lib.retrieval.search import FusionSettings, Method, search
from lib.types import Answer, Grounding, Hit, ProviderError, Timings

INSTRUCTION = ("Answer using only the provided documentation; "
               "if the answer is not in the documentation, say so.")
SYSTEM_PROMPT = (
    "You answer questions using documentation excerpts. Each excerpt starts with its "
    "number in square brackets. Answer in one to three short sentences and put the "
    "number of the excerpt you used in square brackets after the fact, like [2]. "
    "If the excerpts do not answer the question, say that the documentation does not say."
)
# The 135M model almost never writes [n] on its own (measured on the 10 grounded sample
# questions: 0/10 with this prompt; a few-shot example in the system prompt got copied
# verbatim). What works: prefill the answer with ANSWER_PREFIX (clean, on-topic
# answers), then ask, in a second tiny request whose
# output a grammar restricts to "<n>]", which excerpt supports the answer. llama.cpp reuses
# the cached prompt + answer, so this costs ~30 prompt tokens and 2 generated ones.
# Measured: the right document cited on 9/10 (vs 8/10 prefilling "According to [", which
# mostly picks [1]), the expected fact in 5/10 answers (vs 4/10).
# Local base model only: OpenAI-style APIs cite by themselves and do not continue an
# assistant message, and a fine-tuned adapter has its own house style (greeting, closing).
ANSWER_PREFIX = "According to the documentation,"
CITE_QUESTION = "Which excerpt number supports your answer?"
CITE_PREFILL = "Excerpt ["
# The small model sometimes invents a follow-up "Question: ..." after its answer.
# A paragraph opening with "[n]" is the model copying the prompt's next source header
# ("[1] security_fraud_guide.txt"), then the excerpt, again and again: no answer does that.
STOP = ("\nQuestion:", "\n\nQuestion", "\n\n[")
PLAIN_SYSTEM_PROMPT = "You are a helpful assistant. Answer in one to three short sentences."
# Calibrated with `calibrate` on sample_docs/eval/queries.jsonl, top-chunk cosine (MiniLM,
# 128-token chunks): the 39 in-scope queries score 0.29-0.81, the 6 out-of-scope ones
# 0.15, 0.16, 0.47, 0.58, 0.64, 0.67 (in-domain ones like "mortgage rates" look like bank
# questions). Best accuracy is 41/45 (91%, never abstaining: 87%) for any threshold in
# (0.164, 0.290), keeping 100% of in-scope queries: 0.23 is the midpoint.
# tests/test_rag.py recomputes this on every run.
DEFAULT_MIN_CONFIDENCE = 0.23
TEMPLATE_TOKENS_PER_MESSAGE = 8  # ChatML's <|im_start|>role\n ... <|im_end|>\n, with margin
_CITATION = re.compile(
    r"\[\s*(?:sources?|excerpts?)?\s*(\d+(?:\s*(?:,|;|and|&|-|–)\s*\d+)*)\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class RagSettings:
    """The knobs of one grounded answer (the Chat page sets them)."""

    rag: bool = True
    method: str = "hybrid"
    # 8 chunks searched for the best sentences: 4 missed the answering chunk of bundled
    # questions (g05, g07) that 8 found (bench/citations.py, interleaved).
    k: int = 8
    fusion: FusionSettings = FusionSettings()
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    max_answer_tokens: int = 256
    n_ctx: int = N_CTX
    prefill: bool = True  # local base: ANSWER_PREFIX + a constrained citation step
    # "chunks": the k chunks whole; "sentences": only the best `max_units` sentences /
    # table rows of the k chunks (lib/generation/context.py), best source last, each under
    # its own source number. `candidates` > k retrieves that many chunks instead.
    # Measured on the 10 bundled questions, base: fact 5/10 -> 8/10 with the post-check,
    # prompts ~60% shorter (bench/citations.py, bench/llm.py --context). Local models only
    # (see `selects`).
    context: str = "sentences"
    candidates: int = 0
    max_units: int = 4
    old_values: str = "mark"  # "previously" values: "mark" them as old, or "drop" them
    # After the answer, the grounding check; when a figure is not in a cited source, one
    # retry on the best excerpt alone, then a quote of the best sentence (see _repair).
    post_check: bool = True
    # The check also judges each figure's line against the question (lib.generation.lines):
    # another row's figure or an old value fails it too, and the retry reads that line.
    line_check: bool = True
    # What a LoRA adapter reads: "sentences" (as the base model) or "chunks" (whole). The
    # shipped adapter, retrained with sentence-context examples, states the expected fact
    # on 7/10 bundled and 15/22 held-out questions this way vs 5/10 and 8/22 reading whole
    # chunks (bench/citations.py --only-fine-tuned --variants ft-chunks,ft-sentences).
    adapter_context: str = "sentences"
    # Models that read whole chunks (see `selects`) get the best `whole_chunks` of the k:
    # 8 whole chunks would double their prompt and TTFT (bench/llm.py).
    whole_chunks: int = 4


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found, and how sure it is (top cosine similarity)."""

    hits: tuple[Hit, ...]
    confidence: float
    ms: float
    vector: Any = field(default=None, compare=False, repr=False)  # the question's embedding


def retrieval_confidence(index: Any, question: str,
                         query_vector: np.ndarray | None = None) -> float:
    """Cosine similarity of the best chunk: comparable across questions, unlike BM25 or RRF."""
    vector = index.embedder.embed_query(question) if query_vector is None else query_vector
    top = index.vector_query(vector, 1)
    return float(top[0][1]) if top else 0.0


def retrieve(index: Any, question: str, settings: RagSettings) -> Retrieval:
    """Search with the chosen method and measure confidence; times both.

    The question is embedded once, here: search and the confidence share the vector.
    """
    started = time.perf_counter()
    vector = index.embedder.embed_query(question)
    k = max(settings.k, settings.candidates) if settings.context == "sentences" else settings.k
    hits = search(index, question, Method.from_str(settings.method), k,
                  fusion=settings.fusion, query_vector=vector)
    conf = retrieval_confidence(index, question, vector) if hits else 0.0
    return Retrieval(tuple(hits), conf, (time.perf_counter() - started) * 1000, vector)


def select_context(index: Any, question: str, retrieval: Retrieval,
                   settings: RagSettings) -> list[Excerpt]:
    """The best sentences of the retrieved chunks, grouped by source, best source last."""
    vector = retrieval.vector if retrieval.vector is not None \
        else index.embedder.embed_query(question)
    units = units_of(retrieval.hits, settings.old_values)
    scored = score_units(question, units, vector, index.embedder.embed,
                         ranks=list(range(len(retrieval.hits))))
    return select(scored, retrieval.hits, max_units=settings.max_units)


# The sources block runs from its first line, SOURCES_START, to INSTRUCTION, which only
# the prompt writes: document text that quotes it gets a placeholder (`_quote_markers`),
# and a file name or section stays on its header line. So text that says "ignore previous
# instructions" (or fakes a "Question:") stays inside the block, read as documentation,
# and the prompt of every ordinary document is byte for byte what it was before (the
# bundled fine-tuning set and the shipped adapter were made with it).
SOURCES_START = "Documentation:"
_QUOTED_INSTRUCTION = "(the document quotes the assistant's instruction here)"
_INSTRUCTION_TEXT = re.compile(r"\s+".join(map(re.escape, INSTRUCTION.split())), re.IGNORECASE)
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


def _quote_markers(text: str) -> str:
    """Document text with any copy of the prompt's instruction replaced by a placeholder."""
    return _INSTRUCTION_TEXT.sub(_QUOTED_INSTRUCTION, text)


def _one_line(text: str) -> str:
    """A file name or section without line breaks: an uploaded name cannot start a line."""
    return _quote_markers(_LINE_BREAKS.sub(" ", text).strip())


def source_header(n: int, hit: Hit) -> str:
    """`[1] fees.pdf, page 3, section "Card fees"` — what the model and the user see."""
    chunk = hit.chunk
    parts = [f"[{n}] {_one_line(chunk.doc_name)}"]
    if chunk.page is not None:
        parts.append(f"page {chunk.page}")
    # Kept even when a Markdown chunk starts with its own heading: dropping the repeat saved
    # ~7% of prompt tokens but cost one right-document citation of 10 (9/10 -> 8/10).
    if chunk.section:
        parts.append(f'section "{_one_line(chunk.section)}"')
    return ", ".join(parts)


# What the model is shown: (source number, text) in prompt order; None: every hit whole.
Shown = Sequence[tuple[int, str]]


def format_sources(hits: Sequence[Hit], shown: Shown | None = None) -> str:
    """Numbered excerpts, one block each, in `shown` order (default: every chunk whole)."""
    blocks = shown if shown is not None else [(i, h.chunk.text) for i, h in enumerate(hits, 1)]
    return "\n\n".join(f"{source_header(n, hits[n - 1])}\n{_quote_markers(t.strip())}"
                       for n, t in blocks)


def user_turn(question: str, hits: Sequence[Hit], shown: Shown | None = None) -> str:
    """Sources, then the instruction, then the question (last, where small models look).

    Tried for TTFT (bench/llm.py prompts, interleaved, one server each): the instruction in
    the cached prefix (in the system prompt, or before the sources: ~20 fewer cold tokens)
    cut TTFT by 6% and 10%, but right-document citations fell 9/10 -> 8/10 in both
    (bench/citations.py), so it stays here.
    """
    sources = format_sources(hits, shown)
    return f"{SOURCES_START}\n\n{sources}\n\n{INSTRUCTION}\n\nQuestion: {question.strip()}"


def fit_hits(question: str, hits: Sequence[Hit], budget: int,
             count_tokens: Callable[[str], int]) -> list[Hit]:
    """The best-ranked hits whose prompt fits `budget` tokens (sources dropped from the end)."""
    fixed = (count_tokens(SYSTEM_PROMPT) + count_tokens(user_turn(question, []))
             + 2 * TEMPLATE_TOKENS_PER_MESSAGE)
    if fixed > budget:
        raise ProviderError("The question is too long for the model's context: shorten it.")
    kept: list[Hit] = []
    used = fixed
    for n, hit in enumerate(hits, 1):
        cost = count_tokens(f"{source_header(n, hit)}\n{hit.chunk.text.strip()}\n\n")
        if used + cost > budget:
            break
        kept.append(hit)
        used += cost
    return kept


def build_messages(question: str, hits: Sequence[Hit],
                   shown: Shown | None = None) -> list[dict[str, str]]:
    """Chat messages: grounded when there are hits, plain otherwise (RAG off)."""
    if not hits:
        return [{"role": "system", "content": PLAIN_SYSTEM_PROMPT},
                {"role": "user", "content": question.strip()}]
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user_turn(question, hits, shown)}]


def parse_citations(text: str, n_sources: int) -> tuple[int, ...]:
    """Source numbers cited as [1], [1, 3], [2-3] or [Source 2], in order, valid ones only."""
    found: list[int] = []
    for match in _CITATION.finditer(text):
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1))]
        if re.search(r"[-–]", match.group(1)) and len(numbers) == 2 and numbers[0] < numbers[1]:
            numbers = list(range(numbers[0], numbers[1] + 1))
        found += [x for x in numbers if 1 <= x <= n_sources and x not in found]
    return tuple(found)


def split_sources(answer: Answer) -> tuple[list[tuple[int, Hit]], list[tuple[int, Hit]]]:
    """(cited, retrieved-not-cited) sources, each as (source number, hit)."""
    numbered = list(enumerate(answer.sources, 1))
    cited = [(n, h) for n, h in numbered if n in answer.citations]
    return cited, [(n, h) for n, h in numbered if n not in answer.citations]


def abstention_text(retrieval: Retrieval | None, threshold: float) -> str:
    """What the assistant says instead of calling the model."""
    if retrieval is None or not retrieval.hits:
        return ("No documents are indexed yet, so there is nothing to answer from: add documents "
                "on the Documents page, or turn RAG off.")
    return (f"The documents do not seem to contain the answer to this question (best match "
            f"similarity {retrieval.confidence:.2f}, below the {threshold:.2f} threshold). "
            f"The closest sources are listed below.")


def unknown_id_text(ids: Sequence[str], what: str = "code") -> str:
    """The abstention when the question names a code (or a product name) no retrieved
    passage holds."""
    named = ", ".join(ids)
    return (f"None of the passages found for this question mention {named}, so the documents "
            f"do not seem to answer it. Check the {what}, or add the document that covers it. "
            f"The closest sources are listed below.")


@dataclass(frozen=True)
class Calibration:
    """The abstention threshold that maximises accuracy on labelled queries."""

    threshold: float
    accuracy: float
    in_scope_kept: float  # share of answerable queries still answered
    out_of_scope_abstained: float
    baseline_accuracy: float  # never abstaining


def calibrate(in_scope: Sequence[float], out_of_scope: Sequence[float]) -> Calibration:
    """Pick the confidence threshold (abstain below it) with the best accuracy.

    Candidates are midpoints between neighbouring scores, so the threshold sits in the
    middle of the winning gap; ties go to the threshold keeping more in-scope queries.
    """
    scores = sorted(set(in_scope) | set(out_of_scope))
    gaps = [(a + b) / 2 for a, b in zip(scores, scores[1:], strict=False)]
    candidates = [scores[0] - 1e-6, *gaps]
    total = len(in_scope) + len(out_of_scope)

    def rates(t: float) -> tuple[float, float, float]:
        kept = sum(s >= t for s in in_scope) / max(1, len(in_scope))
        abstained = sum(s < t for s in out_of_scope) / max(1, len(out_of_scope))
        acc = (kept * len(in_scope) + abstained * len(out_of_scope)) / max(1, total)
        return acc, kept, abstained

    best = max(candidates, key=lambda t: rates(t)[:2])
    acc, kept, abstained = rates(best)
    return Calibration(best, acc, kept, abstained, len(in_scope) / max(1, total))


class AnswerStream:
    """Iterate for the answer text (st.write_stream accepts it); then read `.answer`."""

    def __init__(self, spec: ModelSpec, retrieval: Retrieval | None,
                 chat: ChatStream | None = None, fixed_text: str = ""):
        self.spec = spec
        self.retrieval = retrieval
        self.messages: list[dict[str, str]] = []
        self._chat = chat
        self._fixed = fixed_text
        self.answer: Answer | None = None
        # answer text -> " [n]": asks the model for its source when it cited none
        self.cite: Callable[[str], str] | None = None
        # (answer text, its failed check) -> (better text, what was done) or None
        self.repair: Callable[[str, Grounding], tuple[str, str] | None] | None = None
        self.question = ""  # the wrong-line check reads it (lib.generation.lines)
        self.unseen: tuple[str, ...] = ()  # question words no document uses

    @property
    def abstained(self) -> bool:
        return self._chat is None

    @property
    def partial_text(self) -> str:
        """What was streamed so far (shown when the model fails mid-answer)."""
        return self._fixed if self._chat is None else self._chat.text

    def __iter__(self) -> Iterator[str]:
        hits = self.retrieval.hits if self.retrieval else ()
        ms = self.retrieval.ms if self.retrieval else 0.0
        if self._chat is None:
            yield self._fixed
            self.answer = Answer(self._fixed, (), hits, Timings(retrieval_ms=ms),
                                 self.spec.label, abstained=True)
            return
        yield from self._chat
        text = self._chat.text
        if self.cite is not None and not parse_citations(text, len(hits)):
            suffix = self.cite(text)
            text += suffix
            yield suffix
        # The answer copies a sentence from a source it did not cite: cite that one too.
        if copied := copied_sources(text, hits, parse_citations(text, len(hits)), self.question):
            suffix = "".join(f" [{n}]" for n in copied)
            text = cite_before_closing(text, suffix)
            yield suffix
        total = time.perf_counter() - self._chat.started  # includes the citation step
        timings = replace(self._chat.timings, retrieval_ms=ms, total_s=total)
        citations = parse_citations(text, len(hits))
        grounding = check(self.question, text, hits, citations) if hits else None
        if grounding is not None and not grounding.passed and self.repair is not None:
            if cite := citations_to_add(grounding):  # right figure, wrong [n]: cite its source
                suffix = "".join(f" [{n}]" for n in cite)
                text = cite_before_closing(text, suffix)
                yield suffix
                citations = parse_citations(text, len(hits))
                grounding = replace(check(self.question, text, hits, citations), action="cited")
            fixed = None if grounding.passed else self.repair(text, grounding)
            if fixed is not None:
                text, action = fixed
                yield f"\n\n{REPAIR_NOTE}\n\n{text}"  # the page redraws `text` alone after
                citations = parse_citations(text, len(hits))
                grounding = replace(check(self.question, text, hits, citations), action=action,
                                    repaired=repair_reason(grounding))
                timings = replace(timings, total_s=time.perf_counter() - self._chat.started)
        if grounding is not None and self.repair is not None:
            # "£2.00" -> "£2.00 per payment", as the cited source writes it (the page redraws).
            if (completed := with_qualifiers(text, grounding, hits, self.question)) != text:
                text = completed
                grounding = replace(check(self.question, text, hits, citations),
                                    action=grounding.action, repaired=grounding.repaired)
        self.answer = Answer(text, citations, hits, timings, self.spec.label,
                             grounding=grounding, unseen=self.unseen)


def repair_reason(failed: Grounding) -> str:
    """What was wrong with an answer the post-check answered again, as one phrase: the
    first check it failed (a missing figure or meaning, then an invented figure, then one
    from the wrong line)."""
    if failed.missing:
        return failed.missing
    if failed.unsupported:
        return "it gave a figure the cited sources do not hold"
    wrong = next((f for f in failed.flagged if f.better), None)
    return (f"its figure {wrong.text} was not the answer ({wrong.better})"
            if wrong else "it did not pass the grounding check")


def cite_before_closing(text: str, suffix: str) -> str:
    """`text` with citations `suffix` (" [3]") added before its figure-free closing sentences
    (an adapter's "This is general information, not financial advice." stays last)."""
    _, closing = figure_free_ends(text)
    if not closing or not text.rstrip().endswith(closing):
        return text + suffix
    body = text.rstrip()[:-len(closing)].rstrip()
    return f"{body}{suffix} {closing}"


def check(question: str, text: str, hits: Sequence[Hit], citations: Sequence[int]) -> Grounding:
    """The grounding check shown under an answer: each figure in a cited source, from a line
    that answers the question (not another row's figure, not an old value), for a
    question about a code, the meaning its defining line gives, and no "yes" past a limit
    the source sets on the question's own age or amount (conditions.broken_condition)."""
    grounding = check_lines(question, text, check_grounding(text, hits, citations), hits)
    if question and not grounding.missing and \
            (why := misses_definition(question, text, hits)):
        grounding = replace(grounding, missing=why)
    if question and not grounding.missing and \
            (broken := broken_condition(question, text, hits)):
        grounding = replace(grounding, missing=condition_reason(broken))
    return grounding


def selects(spec: ModelSpec, settings: RagSettings) -> bool:
    """True when the model sees selected sentences instead of whole chunks (local models).

    Measured on the 135M local base model and the shipped adapter (bench/citations.py): an
    adapter trained on whole-chunk examples only got worse with them, so the bundled
    dataset holds both shapes and `adapter_context` can send an adapter whole chunks.
    Remote models (OpenAI, compatible servers) read whole chunks and cite by themselves.
    The grounding check itself runs and is shown for every provider.
    """
    return (settings.context == "sentences" and spec.is_local
            and (not spec.adapter or settings.adapter_context == "sentences"))


def checks(spec: ModelSpec, settings: RagSettings) -> bool:
    """True when a failed grounding check gets one retry, then a quote (local models).

    The local base model and its adapters: measured on both (bench/citations.py). Remote
    models are shown the check but not re-asked: they cost money per call.
    """
    return settings.post_check and spec.is_local


def guided(spec: ModelSpec, settings: RagSettings, grounded: bool) -> bool:
    """True when the answer is prefilled and its citation asked for (local base model)."""
    return settings.prefill and grounded and spec.is_local and not spec.adapter


def citation_grammar(n_sources: int | Sequence[int]) -> str:
    """GBNF: one source number (1..n, or one of those given), then the closing bracket."""
    allowed = range(1, n_sources + 1) if isinstance(n_sources, int) else n_sources
    numbers = " | ".join(f'"{i}"' for i in allowed)
    return f'root ::= ({numbers}) "]"'


def citation_messages(messages: Sequence[Mapping[str, str]], answer: str) -> list[dict[str, str]]:
    """The follow-up turn asking which excerpt supports `answer`."""
    return [*map(dict, messages), {"role": "assistant", "content": answer},
            {"role": "user", "content": CITE_QUESTION}]


def ask(question: str, index: Any, model: ChatModel,
        settings: RagSettings = RagSettings()) -> AnswerStream:
    """Answer `question` with `model` (grounded when settings.rag); abstains before any model call.

    Raises ProviderError (one line) when the model cannot be reached; errors during
    streaming raise ProviderError from the iteration.
    """
    spec = model.spec
    if not question.strip():
        raise ProviderError("Type a question first.")
    retrieval = None
    if settings.rag:
        if index is None or getattr(index, "n_chunks", 1) == 0:
            text = abstention_text(None, settings.min_confidence)
            return AnswerStream(spec, None, fixed_text=text)
        retrieval = retrieve(index, question, settings)
        if not retrieval.hits or retrieval.confidence < settings.min_confidence:
            text = abstention_text(retrieval, settings.min_confidence)
            return AnswerStream(spec, retrieval, fixed_text=text)
        texts = [h.chunk.text for h in retrieval.hits]
        if missing := missing_ids(question, texts):
            return AnswerStream(spec, retrieval, fixed_text=unknown_id_text(missing))
        if missing := missing_names(question, texts, index_search(index)):
            return AnswerStream(spec, retrieval, fixed_text=unknown_id_text(missing, "name"))
    unseen = unseen_words(question, index_knows(index)) if retrieval else ()
    model.ensure()  # local: start the server before counting tokens with its tokenizer
    hits: Sequence[Hit] = retrieval.hits if retrieval else ()
    if hits:
        budget = settings.n_ctx - settings.max_answer_tokens
        hits = fit_hits(question, hits, budget, model.count_tokens)
        retrieval = replace(retrieval, hits=tuple(hits))  # type: ignore[arg-type]
    if hits and not selects(spec, settings):
        hits = hits[:settings.whole_chunks]
        retrieval = replace(retrieval, hits=tuple(hits))  # type: ignore[arg-type]
    shown: list[tuple[int, str]] | None = None
    excerpts: list[Excerpt] = []
    if hits and selects(spec, settings):
        started = time.perf_counter()
        excerpts = select_context(index, question, retrieval, settings)  # type: ignore[arg-type]
        shown = _shown(excerpts)
        ms = retrieval.ms + (time.perf_counter() - started) * 1000  # type: ignore[union-attr]
        retrieval = replace(retrieval, ms=ms)  # type: ignore[arg-type]
    messages = build_messages(question, hits, shown)
    numbers = [n for n, _ in shown] if shown else list(range(1, len(hits) + 1))
    guide = guided(spec, settings, bool(hits))
    options = ChatOptions(max_tokens=settings.max_answer_tokens, stop=STOP,
                          prefix=ANSWER_PREFIX if guide else "")
    stream = AnswerStream(spec, retrieval, model.stream(messages, options))
    stream.messages = messages
    stream.unseen = unseen
    stream.question = question if settings.line_check else ""
    if guide:
        stream.cite = lambda text: _ask_citation(model, messages, text, numbers)
    if hits and checks(spec, settings):
        def repair(text: str, grounding: Grounding) -> tuple[str, str]:
            # A figure from the wrong line: answer again from the line that matches the
            # question. Not when the answer lacks the kind of figure asked (a rate question
            # answered with an amount): a line holding that kind is found below instead.
            line = None
            if settings.line_check and misses_definition(question, text, hits):
                line = definition(question, hits)  # a code's meaning: answer from its line
            elif settings.line_check and (broken := broken_condition(question, text, hits)):
                line = broken.line  # a "yes" past the source's limit: answer from its line
            elif settings.line_check and not grounding.missing:
                line = better_line(question, text, grounding, hits)
            if line is not None:
                plain = CLAUSE_NUMBER.sub("", line.text, count=1)  # "4.1 An arranged ..."
                best = Passage(line.source, f"{line.heading}: {plain}" if line.heading
                               else plain, plain)
                return _repair(question, model, settings, hits, best, guide, text)
            # The best sentence is found only when needed: a model that read whole chunks
            # (an adapter with adapter_context="chunks") pays for scoring them only on a failure.
            found = excerpts or select_context(index, question, retrieval, settings)
            # An answer that missed or invented the figure asked for: quote a line holding one.
            wants_figure = bool(grounding.missing) or bool(asked_kinds(question))
            best = _best_passage(hits, shown or _shown(found), found,
                                 question if wants_figure else "")
            return _repair(question, model, settings, hits, best, guide, text)
        stream.repair = repair
    return stream


def _shown(excerpts: Sequence[Excerpt]) -> list[tuple[int, str]]:
    """(source number, text) of selected excerpts, as the prompt would show them."""
    return [(e.units[0].hit_index + 1, e.text) for e in excerpts]


# Shown while the post-check answers again; the saved answer keeps only the new text.
REPAIR_NOTE = "*A figure above was not in the cited sources: answering again from the best excerpt.*"
RETRY_INSTRUCTION = ("Answer in one sentence, copying the figure exactly as the excerpt "
                     "writes it.")


@dataclass(frozen=True)
class Passage:
    """The single best piece of context: its source number, the excerpt, its best sentence."""

    n: int
    excerpt: str
    sentence: str


def _best_passage(hits: Sequence[Hit], shown: Shown | None,
                  excerpts: Sequence[Excerpt], question: str = "") -> Passage:
    """The last excerpt (the best: context.select puts it last; else retrieval's top hit).

    With `question` (its answer gave no figure, or one no source holds): the best unit
    holding a figure of a kind it asks for, from whichever excerpt has it; a PDF's running title is no answer to "how much".
    """
    if excerpts and shown:
        pairs = list(zip(shown, excerpts, strict=False))
        if question and (picked := _best_with_figure(question, pairs)):
            return picked
        top = max(excerpts[-1].units, key=lambda u: u.score)
        return Passage(shown[-1][0], excerpts[-1].text, top.original or top.text)
    first = without_headers(hits[0].chunk.text, running_headers(hits)).strip()
    return Passage(1, first, re.split(r"(?<=[.!?])\s+|\n", first)[0])


def _best_with_figure(question: str, pairs: Sequence[tuple[tuple[int, str], Excerpt]]
                      ) -> Passage | None:
    """The best-scored selected unit with a figure the question asks for, as a Passage."""
    units = [(u, n, e) for (n, _), e in pairs for u in e.units
             if gives_figure(question, u.plain or u.text)]
    if not units:
        return None
    u, n, e = max(units, key=lambda r: r[0].score)
    return Passage(n, e.text, u.original or u.text)


def _repair(question: str, model: ChatModel, settings: RagSettings, hits: Sequence[Hit],
            best: Passage, guide: bool, failed: str = "") -> tuple[str, str]:
    """One retry on the best excerpt alone; when its figures still fail, quote the sentence.

    The retry keeps the source's number (the excerpt is shown as [n]) so citations stay valid.
    The quote keeps the `failed` answer's figure-free opening and closing sentences (the
    retry's, when the failed one has none).
    """
    header = source_header(best.n, hits[best.n - 1])
    user = (f"Documentation:\n\n{header}\n{best.excerpt}\n\n{INSTRUCTION} "
            f"{RETRY_INSTRUCTION}\n\nQuestion: {question.strip()}")
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
    options = ChatOptions(max_tokens=min(96, settings.max_answer_tokens), stop=STOP,
                          prefix=ANSWER_PREFIX if guide else "")
    try:
        text, _ = model.complete(messages, options)
    except ProviderError:
        text = ""
    text = text.strip()
    if text and not parse_citations(text, len(hits)):
        text = cite_before_closing(text, f" [{best.n}]")
    # A retry that gives up ("the documentation does not say") or drops the figure the
    # failed answer gave passes the check vacuously; the best excerpt is in front of it,
    # so the quote is the better answer.
    retried = check(question if settings.line_check else "", text, hits,
                    parse_citations(text, len(hits)))
    if text and not declines(text) and retried.passed and \
            (retried.figures or not mentions(failed)):
        return text, "retried"
    lead = ANSWER_PREFIX if guide else "The documentation says:"
    # The model's own voice (a fine-tuned greeting, a closing line) from whichever of its
    # two answers has it: the first may have opened straight with the wrong figure.
    opening, closing = figure_free_ends(failed)
    if not guide:  # guided answers start with the prefill; others keep what either has
        retry_opening, retry_closing = figure_free_ends(text)
        opening, closing = opening or retry_opening, closing or retry_closing
    quote = f'{lead} "{best.sentence}" [{best.n}]'
    return " ".join(x for x in (opening, quote, closing) if x), "quoted"


def _ask_citation(model: ChatModel, messages: Sequence[Mapping[str, str]], answer: str,
                  n_sources: int | Sequence[int]) -> str:
    """The model's own pick of the supporting excerpt, as " [n]" (grammar-constrained)."""
    opts = ChatOptions(max_tokens=4, prefix=CITE_PREFILL, grammar=citation_grammar(n_sources))
    text, _ = model.complete(citation_messages(messages, answer), opts)
    number = text.removeprefix(CITE_PREFILL).rstrip("]").strip()
    return f" [{number}]" if number.isdigit() else ""
