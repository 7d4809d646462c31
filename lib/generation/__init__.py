"""Answers from a model: model specs and the one registry of models (local, OpenAI, `ft:`,
OpenAI-compatible URLs), one `ChatModel` connection per model (client, request extras,
cached readiness), one openai-error mapper, the grounded RAG prompt with citations and
abstention, and the local llama.cpp server (its manager, its process entry point, model files).

`python -m lib.generation.server` starts the local server by hand (`make serve-llm`);
`python -m lib.generation.model_files` builds the Q8_0 model copy at install time."""
