"""Home: the guided walkthrough — RAG, fine-tuning, or both?"""

import streamlit as st

from ui.frame import available_pages, frame

frame("Home")

st.title("RAG Lab")
st.markdown(
    "#### Do you need **RAG**, **fine-tuning**, or **both**?\n"
    "See the difference on your own documents, fully offline. "
    "*RAG changes what the model knows; fine-tuning changes how it behaves.*"
)

STEPS = {
    "pages/documents.py": "Upload PDFs, text and Markdown — or load the sample fintech documents.",
    "pages/search.py": "One query, three retrievers: vector vs keyword vs hybrid, side by side.",
    "pages/chat.py": "A grounded assistant that cites its sources and says when it doesn't know.",
    "pages/finetune.py": "Build a dataset from chat feedback and train a LoRA adapter on your CPU.",
    "pages/compare.py": "Base vs fine-tuned, each with RAG off and on: the 2×2 grid.",
    "pages/evaluate.py": "Measure recall@k, MRR and nDCG@10 per retrieval method.",
    "pages/decide.py": "The decision framework, backed by what the app measured.",
}

st.subheader("The walkthrough")
pages = [p for p in available_pages() if p[0] in STEPS]
for number, (path, label, icon) in enumerate(pages, start=1):
    left, right = st.columns([1, 3], vertical_alignment="center")
    with left:
        st.page_link(path, label=f"{number}. {label}", icon=icon)
    right.write(STEPS[path])

st.divider()
st.caption(
    "Everything runs locally: a MiniLM embedder and a SmolLM2-135M model from PyPI packages, "
    "Chroma for vectors and BM25 for keywords. OpenAI or any OpenAI-compatible server "
    "(Ollama, vLLM, LM Studio) can be added in the sidebar settings."
)
