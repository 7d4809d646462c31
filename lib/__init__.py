"""RAG Lab's domain core: everything but the UI, grouped by concern into packages.

Never imports streamlit or ui (tests/test_architecture.py enforces it). Shared pieces sit
at the top: `types` (frozen records and the error family), `config`, `io` (atomic writes),
`samples` (the bundled Orbit Bank documents and labelled queries).
"""

import os

# onnxruntime 1.32 on Linux writes a device id and tries to reach its telemetry
# host unless this is set *before* it is imported; the hub flags keep any
# Hugging Face code from reaching out. Everything here must work offline.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
