"""Answers from a model: model specs and the providers (local, OpenAI, OpenAI-compatible URLs),
one OpenAI-compatible client with one-line errors, the grounded RAG prompt with citations and
abstention, and the local llama.cpp server (its manager, its process entry point, model files).

`python -m lib.generation.server` starts the local server by hand (`make serve-llm`);
`python -m lib.generation.model_files` builds the Q8_0 model copy at install time."""
