"""Chat: grounded answers that cite their sources, abstain when unsure, and take feedback."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import streamlit as st

from ui.frame import frame

frame("Chat")

from lib.chat.feedback import FeedbackRecord, new_record, save_feedback  # noqa: E402
from lib.chat.history import ChatMessage, load_history, save_history  # noqa: E402
from lib.generation.rag import RagSettings, ask, split_sources  # noqa: E402
from lib.retrieval.search import Method  # noqa: E402
from lib.tuning import apply_tuned  # noqa: E402  (fusion and threshold chosen on Evaluate)
from lib.types import Answer, Hit, RagLabError  # noqa: E402
from ui import search_lab_html as search_lab  # noqa: E402  (after frame: page config first)
from ui.browser_session import browser_session_id  # noqa: E402
from ui.grounding import render_grounding  # noqa: E402
from ui.model_status import render_timings  # noqa: E402
from ui.model_switch import current_model, ensure_ready  # noqa: E402
from ui.resources import get_settings, get_store  # noqa: E402
from ui.walkthrough import mark  # noqa: E402

log = logging.getLogger(__name__)
METHODS = [m.value for m in Method]
# plain session keys (survive page switches) -> defaults; widgets sync into them
DEFAULTS: dict[str, Any] = {"chat_rag": True, "chat_method": "hybrid",
                            "chat_k": RagSettings.k}
SESSION = browser_session_id()  # this browser's transcript (the id is in the URL)
if "chat_history" not in st.session_state:  # a new session continues the saved conversation
    st.session_state.chat_history = load_history(get_settings().data_dir, SESSION)
for _key, _default in DEFAULTS.items():
    st.session_state.setdefault(_key, _default)


def _sync(widget_key: str) -> None:
    st.session_state[widget_key.removeprefix("_")] = st.session_state[widget_key]


st.title("💬 Chat")
settings = get_settings()
model = current_model()  # one connection for this run's question
try:
    store = get_store()
except RagLabError as err:
    st.error(err.reason)
    store = None

# --- Controls ----------------------------------------------------------------
c_rag, c_method, c_k, c_new = st.columns([1, 2, 2, 1], vertical_alignment="bottom")
c_rag.toggle("RAG", value=st.session_state.chat_rag, key="_chat_rag", on_change=_sync,
             args=("_chat_rag",), help="Off: the model answers from what it knows, no documents.")
c_method.radio("Retrieval", METHODS, index=METHODS.index(st.session_state.chat_method),
               key="_chat_method", on_change=_sync, args=("_chat_method",), horizontal=True,
               disabled=not st.session_state.chat_rag)
c_k.slider("Chunks (k)", 1, 8, value=st.session_state.chat_k, key="_chat_k", on_change=_sync,
           args=("_chat_k",), disabled=not st.session_state.chat_rag)
if c_new.button("🧹 New chat", key="chat_new", width="stretch"):
    st.session_state.chat_history = []
    save_history(settings.data_dir, [], SESSION)
rag_note = "grounded in your documents" if st.session_state.chat_rag else "RAG off: no documents"
st.caption(f"Model: **{model.label}** ({model.spec.model}) · {rag_note}")
if st.session_state.chat_rag and store is not None and store.n_chunks == 0:
    st.info("The index is empty: add documents on the Documents page (or turn RAG off).")
    st.page_link("pages/documents.py", label="Go to Documents", icon="📄")


# --- Rendering -----------------------------------------------------------------
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def plain(text: str) -> str:
    """Document text shown as typed: no headings, tables or LaTeX from its symbols."""
    return _MARKDOWN.sub(r"\\\1", text)


def no_latex(text: str) -> str:
    """Model text keeps its markdown, but "$5 or $10" must not turn into LaTeX."""
    return text.replace("$", "\\$")


def where(hit: Hit) -> str:
    """`fee_schedule.pdf · page 2 · Card fees`: where a source is, as plain text."""
    c = hit.chunk
    return " · ".join(x for x in (c.doc_name, f"page {c.page}" if c.page else "", c.section or "")
                      if x)


def render_source(n: int, hit: Hit, key: str, question: str) -> None:
    """One source: where it is, its score, the part matching the question, the whole chunk on demand."""
    c = hit.chunk
    c_where, c_view = st.columns([6, 1], vertical_alignment="center")
    c_where.markdown(f"**\\[{n}\\]** {plain(where(hit))} · {hit.method} score "
                     f"`{hit.score:.3f}`")
    with c_view.popover("View chunk", key=f"{key}_chunk", width="stretch"):
        st.caption(f"{plain(c.doc_name)} · chunk `{c.id}` · characters {c.start}–{c.end}")
        st.text(c.text)
    # the window around the question's words, marked (HTML-escaped by highlight)
    snippet = search_lab.highlight(" ".join(c.text.split()), question, max_chars=280)
    st.markdown(f'<div style="font-size:0.875rem;opacity:0.75;margin-bottom:0.75rem">{snippet}</div>', unsafe_allow_html=True)


_CITED = re.compile(r"\[(\d+)\]")


def with_badges(text: str, answer: Answer) -> str:
    """`[1]` in a finished answer -> a badge naming the document and page it points to."""
    def badge(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if not 1 <= n <= len(answer.sources):
            return match.group(0)
        c = answer.sources[n - 1].chunk
        page = f", p. {c.page}" if c.page else ""
        return f" :blue-badge[{n} · {plain(c.doc_name)}{page}]"
    return _CITED.sub(badge, text)


def render_sources(answer: Answer, key: str, question: str) -> None:
    """Cited sources first, then the retrieved-but-not-cited ones."""
    if not answer.sources:
        return
    cited, uncited = split_sources(answer)
    title = "Closest sources" if answer.abstained else f"Sources: {len(cited)} cited"
    with st.expander(f"📚 {title}, {len(uncited)} retrieved, not cited"
                     if not answer.abstained else f"📚 {title}"):
        for n, hit in cited:
            render_source(n, hit, f"{key}_{n}", question)
        if uncited and not answer.abstained:
            st.markdown("*Retrieved, not cited:*")
        for n, hit in uncited:
            render_source(n, hit, f"{key}_{n}", question)


def store_feedback(i: int, rating: str | None = None, correction: str | None = None) -> None:
    history = st.session_state.chat_history
    try:
        stored = save_feedback(settings.data_dir, history[i].feedback, rating, correction)
        history[i] = replace(history[i], feedback=stored)
        save_history(settings.data_dir, st.session_state.chat_history, SESSION)
    except RagLabError as err:
        st.session_state[f"chat_fb_error_{i}"] = err.reason


def on_thumbs(i: int) -> None:
    value = st.session_state.get(f"chat_thumbs_{i}")
    if value is not None:
        store_feedback(i, rating="up" if value == 1 else "down")


def render_feedback(i: int, record: FeedbackRecord) -> None:
    """Thumbs up/down and an optional corrected answer, stored with question and context."""
    default = {"up": 1, "down": 0}.get(record.rating or "")
    row = st.container(horizontal=True, vertical_alignment="center", gap="medium")
    with row:
        st.feedback("thumbs", key=f"chat_thumbs_{i}", default=default, on_change=on_thumbs,
                    args=(i,))
    with row.popover("✏️ Correct this answer", key=f"chat_fix_{i}"):
        text = st.text_area("A better answer", value=record.correction or "",
                            key=f"chat_fix_text_{i}")
        if st.button("Save correction", key=f"chat_fix_save_{i}"):
            store_feedback(i, correction=text)
            if not st.session_state.get(f"chat_fb_error_{i}"):
                st.success("Saved: the Fine-tune page can use it.")
    error = st.session_state.pop(f"chat_fb_error_{i}", None)
    if error:
        st.error(error)


def render_assistant(i: int, msg: ChatMessage) -> None:
    """What goes under an answer: error, sources, timings, feedback."""
    if msg.error:
        st.error(msg.error)
    if msg.answer is None:
        return
    render_grounding(msg.answer)  # every figure, date and ID checked against the cited sources
    render_sources(msg.answer, f"chat_src_{i}", msg.question)
    render_timings(msg.answer)
    if msg.feedback is not None:
        render_feedback(i, msg.feedback)


if not st.session_state.chat_history:
    st.caption("Ask below. Answers cite their sources, e.g. :blue-badge[1 · fees.pdf, p. 2], "
               "listed under each answer; when the documents do not cover a question, the "
               "assistant says so instead of guessing.")
for i, msg in enumerate(st.session_state.chat_history):
    with st.chat_message(msg.role):
        if msg.content:
            text = no_latex(msg.content)
            st.markdown(with_badges(text, msg.answer) if msg.answer and msg.answer.citations
                        else text)
        if msg.role == "assistant":
            render_assistant(i, msg)


# --- A new question -------------------------------------------------------------
def answer_question(question: str) -> ChatMessage:
    """Retrieve, stream and cite; every failure becomes one line in the message."""
    rag = st.session_state.chat_rag
    msg = ChatMessage("assistant", "", question=question, rag=rag)
    rs = apply_tuned(settings.data_dir, RagSettings(rag=rag, method=st.session_state.chat_method, k=st.session_state.chat_k))
    stream = None
    try:
        ensure_ready(model)
        stream = ask(question, store, model, rs)
        st.write_stream(no_latex(delta) for delta in stream)
    except RagLabError as err:
        log.warning("chat answer failed (%s): %s", model.label, err.reason)
        msg = replace(msg, error=err.reason)
    except Exception:  # noqa: BLE001 (never a traceback in the UI; the log keeps it)
        log.exception("unexpected chat failure (%s)", model.label)
        msg = replace(msg, error="Something went wrong while answering: see the app log, "
                                 "then ask again.")
    if stream is not None and stream.answer is not None:
        answer: Answer = stream.answer
        msg = replace(msg, content=answer.text, answer=answer,
                      feedback=new_record(question, answer, rag))
    elif stream is not None and stream.partial_text:
        msg = replace(msg, content=stream.partial_text + " …")
    return msg


if question := st.chat_input("Ask about your documents", key="chat_input"):
    st.session_state.chat_history.append(ChatMessage("user", question))
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        st.session_state.chat_history.append(answer_question(question))
    save_history(settings.data_dir, st.session_state.chat_history, SESSION)
    mark("chat")
    st.rerun()  # redraw through the history loop: sources, timings and feedback widgets
