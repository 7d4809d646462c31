"""Search lab: one query, three retrievers (vector | keyword | hybrid) side by side."""

from __future__ import annotations

import logging
import time

import streamlit as st

from lib.retrieval import search_lab as lab
from lib.retrieval.fusion import FusionMode, FusionSettings, Normalization
from lib.retrieval.rerank import RerankClient
from lib.retrieval.search import hybrid_search, keyword_search, vector_search
from lib.samples import labelled_queries
from lib.tuning import app_fusion
from lib.types import Hit, ProviderError, RagLabError
from ui import search_lab_html as lab_html
from ui.frame import frame
from ui.resources import get_settings, store_or_stop
from ui.walkthrough import mark

frame("Search lab")

log = logging.getLogger(__name__)

st.title("🔎 Search lab")
st.caption(
    "The same query through **vector** search (meaning), **keyword** search "
    "(BM25: exact words and IDs) "
    "and **hybrid** (both, fused). A 🟦 badge marks a chunk that several columns found."
)

store = store_or_stop()

if store.n_chunks == 0:
    st.info("The index is empty: add documents (or load the samples) on the Documents page first.")
    st.page_link("pages/documents.py", label="Go to Documents", icon="📄")
    st.stop()

settings = get_settings()
tuned = app_fusion(settings.data_dir)  # defaults: the fusion saved from an Evaluate sweep
labelled = labelled_queries()
st.session_state.setdefault("search_query", "")


def set_query(text: str) -> None:
    st.session_state.search_query = text


# --- Example queries (labelled showcase queries, read at run time) ---------
examples = [q for q in labelled if q.showcase]
if examples:
    st.caption("Try an example (each shows a different side of the story):")
    for col, q in zip(st.columns(len(examples)), examples):
        col.button(
            q.text,
            key=f"search_example_{q.id}",
            on_click=set_query,
            args=(q.text,),
            help=q.type.replace("_", " ") or None,
            width="stretch",
        )

query = st.text_input("Query", key="search_query", placeholder="e.g. OB-7731 lounge access")

# --- Controls ---------------------------------------------------------------
c_mode, c_param, c_depth, c_k, c_rerank = st.columns([1.2, 1.5, 1, 1, 1.3])
mode = c_mode.radio(
    "Fusion",
    ["Weighted", "RRF"],  # weighted z-score is the default: best on SciFact (README)
    index=0 if tuned.mode is FusionMode.WEIGHTED else 1,
    horizontal=True,
    key="search_mode",
    help="Weighted adds α·vector + (1−α)·keyword after normalising each retriever's scores, "
    "with every candidate scored by both retrievers; RRF adds 1/(k + rank) from each list.",
)
normalization = Normalization.ZSCORE
if mode == "RRF":
    rrf_k = c_param.slider(
        "RRF k",
        0,
        200,
        min(tuned.rrf_k, 200),
        key="search_rrf_k",
        help="60 is the constant from Cormack et al. (2009); larger k flattens ranks.",
    )
    alpha = 0.5
else:
    alpha = c_param.slider(
        "α (vector weight)",
        0.0,
        1.0,
        tuned.alpha,
        0.05,
        key="search_alpha",
        help="0 = keyword only, 1 = vector only; 0.4–0.6 is best on SciFact.",
    )
    normalization = c_mode.radio(
        "Normalise scores",
        [Normalization.ZSCORE, Normalization.MINMAX],
        index=0 if tuned.normalization is Normalization.ZSCORE else 1,
        format_func={Normalization.ZSCORE: "z-score", Normalization.MINMAX: "min-max"}.get,
        horizontal=True,
        key="search_normalization",
        help="z-score (the default) is steadier when one list has an outlier score.",
    )
    rrf_k = 60
depth = c_depth.number_input(
    "Depth",
    1,
    200,
    min(tuned.depth, 200),
    key="search_depth",
    help="Candidates each retriever contributes before fusing.",
)
top_k = c_k.number_input("Top-k", 1, 50, 5, key="search_top_k")
reranker = None
if settings.reranker_url:
    if c_rerank.toggle("Rerank hybrid", key="search_rerank", help=settings.reranker_url):
        reranker = RerankClient(settings.reranker_url, settings.reranker_model)
else:
    c_rerank.toggle("Rerank hybrid", key="search_rerank", disabled=True, value=False)
    c_rerank.caption("no reranker configured (set RAGLAB_RERANKER_URL)")

if not query.strip():
    st.info("Type a query (Enter to search) or click an example.")
    st.stop()
mark("search")

fusion = FusionSettings(
    mode=FusionMode.from_str(mode),
    rrf_k=rrf_k,
    alpha=alpha,
    normalization=normalization,
    depth=int(depth),
)


def timed(fn, *args) -> tuple[list[Hit], float]:
    """(hits, milliseconds); an index failure becomes a one-line error and no hits."""
    start = time.perf_counter()
    try:
        hits = fn(*args)
    except RagLabError as err:
        st.error(err.reason)
        hits = []
    return hits, (time.perf_counter() - start) * 1000


def hybrid(index, text: str, k: int) -> list[Hit]:
    """Hybrid search, reranked when switched on; a failing reranker falls back to plain fusion."""
    try:
        return hybrid_search(index, text, k, fusion, reranker)
    except ProviderError as err:
        if reranker is None:
            raise
        st.warning(f"{err.reason} Showing hybrid results without reranking.")
        return hybrid_search(index, text, k, fusion)


k = int(top_k)
columns = {
    "Vector": timed(vector_search, store, query, k),
    "Keyword": timed(keyword_search, store, query, k),
    "Hybrid": timed(hybrid, store, query, k),
}
hits_by_column = {name: hits for name, (hits, _) in columns.items()}
badges = lab.shared_badges(hits_by_column)
target = lab.match_labelled(query, labelled)

st.markdown("**" + lab.overlap_summary(*hits_by_column.values()) + "**")
passages: dict[str, tuple[str, ...]] = {}
if target is not None:
    passages = lab.labelled_passages().get(target.id, {})
    st.caption(
        f"Labelled query `{target.id}` ({target.type or 'untyped'}): relevant documents "
        + ", ".join(f"`{d}`" for d in sorted(target.relevant))
        + ". ✅ a hit from a relevant document"
        + ("; 🎯 inside the labelled passage." if passages else ".")
    )


def render_hit(hit: Hit, score: lab.QueryScore | None) -> None:
    """One result card: rank, badges, document, page/section, highlighted snippet, score."""
    marks = badges.get(hit.chunk.id, "")
    if score is not None and hit.chunk.id in score.relevant_ids:
        marks += " ✅" + (" 🎯" if hit.chunk.id in score.passage_ids else "")
    with st.container(border=True):
        # document text is escaped by hit_header/highlight; one HTML block, so no markdown runs
        st.markdown(lab_html.hit_header(hit, marks), unsafe_allow_html=True)
        st.markdown(
            f"<div>{lab_html.highlight(hit.chunk.text, query)}</div>", unsafe_allow_html=True
        )
        st.caption(f"{hit.method} score {hit.score:.4g}")


def quality_line(score: lab.QueryScore) -> str:
    """' · recall@5 1.00 · RR 0.50 · 🎯 #2' for a labelled query."""
    line = f" · recall@{k} {score.recall:.2f} · RR {score.reciprocal_rank:.2f}"
    if passages:
        line += f" · 🎯 #{score.passage_rank}" if score.passage_rank else " · 🎯 none"
    return line


for col, (name, (hits, ms)) in zip(st.columns(3), columns.items()):
    with col:
        st.subheader(name)
        score = lab.score_hits(hits, target.relevant, passages) if target else None
        st.caption(f"{ms:.1f} ms · {len(hits)} hits" + (quality_line(score) if score else ""))
        if not hits:
            st.write(
                "No results." if name != "Keyword" else "No chunk shares a word with the query."
            )
        for hit in hits:
            render_hit(hit, score)
