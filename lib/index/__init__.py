"""The document index: one `Store` that keeps Chroma vectors, the BM25 index and the document
catalog (registry.json) consistent, atomic per document, plus re-indexing and repair, and an
in-memory index for evaluation corpora that never touch the data directory."""
