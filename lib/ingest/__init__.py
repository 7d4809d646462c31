"""From an uploaded file to chunks: parse PDF / TXT / Markdown into pages (one-line
`DocumentError` reasons for bad files), tokenize with the embedder's WordPiece vocabulary,
split into sentence-aware chunks with stable ids, and the ingest pipeline that runs them."""
