"""RAG Lab's domain core. Never imports streamlit (a test enforces it)."""

import os

# onnxruntime 1.32 on Linux writes a device id and tries to reach its telemetry
# host unless this is set *before* it is imported; the hub flags keep any
# Hugging Face code from reaching out. Everything here must work offline.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
