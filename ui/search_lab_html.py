"""HTML for the Search lab's result cards and the chat's source snippets (escaped, one line)."""

from __future__ import annotations

import html

from lib.retrieval.search_lab import match_spans, snippet_window
from lib.types import Hit


def _safe(text: str) -> str:
    """Escaped text; "$" too, so st.markdown never starts LaTeX on a price."""
    return html.escape(text).replace("$", "&#36;")


def highlight(text: str, query: str, max_chars: int = 320) -> str:
    """An HTML-escaped snippet of `text` with the query's terms wrapped in <mark>.

    Which words match is lib.retrieval.search_lab.match_spans's call (analyzed terms).
    """
    spans = match_spans(text, query)
    start, end = snippet_window(text, spans, max_chars)
    out, pos = [], start
    for a, z in spans:
        if a < start or z > end:
            continue
        out.append(html.escape(text[pos:a]) + "<mark>" + html.escape(text[a:z]) + "</mark>")
        pos = z
    out.append(html.escape(text[pos:end]))
    # one line (a single HTML block for st.markdown), "$" escaped so it never starts LaTeX
    snippet = "".join(out).replace("\n", " ").replace("$", "&#36;")
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(text) else "")


def hit_header(hit: Hit, marks: str = "") -> str:
    """'<b>#1</b> 🟦 ✅ <code>doc.md</code> p. 2 · § Fees', every document-given part escaped."""
    where = [f"p. {hit.chunk.page}"] if hit.chunk.page else []
    where += [f"§ {hit.chunk.section}"] if hit.chunk.section else []
    parts = [
        f"<b>#{hit.rank}</b>",
        marks.strip(),
        f"<code>{html.escape(hit.chunk.doc_name)}</code>",
    ]
    text = " ".join(p for p in parts if p)
    return text + (" " + _safe(" · ".join(where)) if where else "")
