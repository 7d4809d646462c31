"""Generate the sample PDFs in sample_docs/ from their Markdown sources in sample_docs/src/.

Run from the repository root:  .venv/bin/python scripts/make_sample_pdfs.py
Check only (exit 1 if a committed PDF is stale):  ... make_sample_pdfs.py --check

The sources use a small Markdown subset: "# " title (first line), "## " and "### "
headings, paragraphs, "- " bullets, "|" tables and an optional "<!-- pagebreak -->".
Output is deterministic (fixed creation date, so re-runs are byte-identical), which
keeps the page numbers quoted in sample_docs/eval/qrels.tsv valid. Edit a source?
Re-run this script, then re-check the page numbers in qrels.tsv.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample_docs"
SRC_DIR = SAMPLE_DIR / "src"
# Fixed so the bytes (and the /ID hash fpdf2 derives from them) never change between runs.
CREATION_DATE = datetime(2026, 3, 15, 9, 0, 0, tzinfo=timezone.utc)
PAGE_BREAK = "<!-- pagebreak -->"
FONT = "Helvetica"  # a PDF core font: latin-1 only, which covers "£"
LINE_H = 5.2


@dataclass(frozen=True)
class Block:
    """One piece of the source: kind is title | h2 | h3 | para | bullets | table | pagebreak."""

    kind: str
    lines: tuple[str, ...]


def parse_blocks(source: str) -> list[Block]:
    """Split Markdown-subset source text into blocks (blank lines separate paragraphs)."""
    blocks: list[Block] = []
    buf: list[str] = []
    buf_kind = ""

    def flush() -> None:
        nonlocal buf, buf_kind
        if buf:
            text = (" ".join(buf),) if buf_kind == "para" else tuple(buf)
            blocks.append(Block(buf_kind, text))
        buf, buf_kind = [], ""

    for raw in source.splitlines():
        line = raw.strip()
        kind, text = _classify(line)
        if kind in ("title", "h2", "h3", "pagebreak", "blank"):
            flush()
            if kind != "blank":
                blocks.append(Block(kind, (text,)))
            continue
        if kind != buf_kind:
            flush()
            buf_kind = kind
        buf.append(text)
    flush()
    return blocks


def _classify(line: str) -> tuple[str, str]:
    """Return (kind, text) for one source line."""
    if not line:
        return "blank", ""
    if line == PAGE_BREAK:
        return "pagebreak", ""
    for prefix, kind in (("### ", "h3"), ("## ", "h2"), ("# ", "title")):
        if line.startswith(prefix):
            return kind, line[len(prefix) :]
    if line.startswith("- "):
        return "bullets", line[2:]
    if line.startswith("|"):
        return "table", line
    return "para", line


def table_rows(lines: tuple[str, ...]) -> list[list[str]]:
    """Cells of a pipe table, without the |---| separator row."""
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    return [r for r in rows if not all(set(c) <= set("-: ") for c in r)]


class SamplePDF(FPDF):
    """A4 document with the title in the header and "Page N of M" in the footer."""

    def __init__(self, title: str):
        super().__init__(format="A4")
        self.doc_title = title
        self.set_margins(20, 22, 20)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_creation_date(CREATION_DATE)
        self.set_title(title)
        self.set_author("Orbit Bank (fictional sample for RAG Lab)")
        self.set_creator("RAG Lab scripts/make_sample_pdfs.py")

    def header(self) -> None:
        self.set_font(FONT, "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"Orbit Bank | {self.doc_title}", align="L")
        self.ln(8)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{self.doc_title} - Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0, 0, 0)


def _heading(pdf: SamplePDF, text: str, size: float, space: float) -> None:
    """A bold heading; start a new page rather than leave it alone at the bottom."""
    if pdf.get_y() > pdf.h - pdf.b_margin - 30:
        pdf.add_page()
    pdf.ln(space)
    pdf.set_font(FONT, "B", size)
    pdf.multi_cell(0, size * 0.5, text)
    pdf.ln(1.5)
    pdf.set_font(FONT, "", 10)


def _bullets(pdf: SamplePDF, items: tuple[str, ...]) -> None:
    """A dash-bulleted list (a dash because core fonts have no bullet glyph in latin-1)."""
    for item in items:
        pdf.set_x(pdf.l_margin + 2)
        pdf.cell(5, LINE_H, "-")
        pdf.multi_cell(0, LINE_H, item)
        pdf.ln(0.8)
    pdf.ln(1.5)


def _table(pdf: SamplePDF, lines: tuple[str, ...]) -> None:
    """A bordered table whose column widths follow the longest cell of each column."""
    rows = table_rows(lines)
    widths = [min(max(len(r[i]) for r in rows), 60) + 8 for i in range(len(rows[0]))]
    pdf.set_font(FONT, "", 9)
    heading = FontFace(emphasis="BOLD", fill_color=(225, 230, 240))
    with pdf.table(
        col_widths=widths, text_align="LEFT", line_height=4.6, headings_style=heading
    ) as table:
        for row in rows:
            cells = table.row()
            for text in row:
                cells.cell(text)
    pdf.ln(3)
    pdf.set_font(FONT, "", 10)


def render(source: str) -> bytes:
    """Turn Markdown-subset source into PDF bytes."""
    blocks = parse_blocks(source)
    if not blocks or blocks[0].kind != "title":
        raise ValueError("a source must start with a '# ' title line")
    pdf = SamplePDF(blocks[0].lines[0])
    pdf.add_page()
    pdf.set_font(FONT, "B", 17)
    pdf.multi_cell(0, 8, blocks[0].lines[0])
    pdf.ln(3)
    pdf.set_font(FONT, "", 10)
    for block in blocks[1:]:
        if block.kind == "pagebreak":
            pdf.add_page()
        elif block.kind == "h2":
            _heading(pdf, block.lines[0], 13, 3)
        elif block.kind == "h3":
            _heading(pdf, block.lines[0], 11, 1.5)
        elif block.kind == "bullets":
            _bullets(pdf, block.lines)
        elif block.kind == "table":
            _table(pdf, block.lines)
        else:
            pdf.multi_cell(0, LINE_H, block.lines[0])
            pdf.ln(2.5)
    return bytes(pdf.output())


def build_all() -> dict[Path, bytes]:
    """Render every sample_docs/src/<name>.md to the bytes of sample_docs/<name>.pdf."""
    return {
        SAMPLE_DIR / f"{src.stem}.pdf": render(src.read_text(encoding="utf-8"))
        for src in sorted(SRC_DIR.glob("*.md"))
    }


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the generated PDFs; print one line per file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed PDF differs")
    args = parser.parse_args(argv)
    stale = []
    for path, data in build_all().items():
        if args.check:
            same = path.is_file() and path.read_bytes() == data
            print(f"{'ok   ' if same else 'STALE'} {path.relative_to(ROOT)}")
            stale += [] if same else [path]
        else:
            tmp = path.with_suffix(".pdf.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # atomic: a crash never leaves half a PDF behind
            print(f"wrote {path.relative_to(ROOT)} ({len(data):,} bytes)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
