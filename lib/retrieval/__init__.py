"""Finding the chunks that answer a query: embedders (the offline MiniLM on onnxruntime, built
at install time, or OpenAI), BM25 keyword search, fusion (RRF or weighted), one `search()` that
returns `list[Hit]` for every method, optional reranking, and the Search lab's comparisons."""
