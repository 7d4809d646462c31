"""Real PDFs for tests, written with fpdf2 (no fixtures on disk, no fakes)."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import EncryptionMethod

# A core PDF font only covers Latin-1 and fpdf2 refuses anything else: typographic
# characters are mapped to ASCII look-alikes and the rest become "?" (see `_latin1`).
# (A Unicode TTF would need a system font file; these helpers must work anywhere.)
_FONT = "Helvetica"
_REPLACEMENTS = {
    "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
    "…": "...", "€": "EUR",
}


def _latin1(text: str) -> str:
    """Map text to what the core fonts can draw (lossy outside Latin-1)."""
    for src, dst in _REPLACEMENTS.items():
        text = text.replace(src, dst)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def _new_pdf() -> FPDF:
    pdf = FPDF()
    pdf.set_font(_FONT, size=11)
    pdf.set_auto_page_break(auto=True, margin=15)
    return pdf


def _write(pdf: FPDF, text: str) -> None:
    """Write one page's text; blank text leaves the page empty (like a scan)."""
    pdf.add_page()
    if text.strip():
        pdf.multi_cell(0, 6, _latin1(text))


def make_pdf(pages: list[str], sections: list[str | None] | None = None) -> bytes:
    """A PDF with one page per string (a long string may flow onto more pages).

    `sections`, if given, adds an outline (bookmark) entry titled sections[i] at page i.
    """
    pdf = _new_pdf()
    for i, text in enumerate(pages):
        pdf.add_page()
        if sections and i < len(sections) and sections[i]:
            pdf.start_section(_latin1(sections[i] or ""))
        if text.strip():
            pdf.multi_cell(0, 6, _latin1(text))
    return bytes(pdf.output())


def make_encrypted_pdf(
    text: str,
    user_password: str,
    method: EncryptionMethod = EncryptionMethod.AES_256,
) -> bytes:
    """A one-page PDF encrypted with `user_password` ("" = opens without a password)."""
    pdf = _new_pdf()
    pdf.set_encryption(
        owner_password="owner-secret", user_password=user_password, encryption_method=method
    )
    _write(pdf, text)
    return bytes(pdf.output())


def make_blank_pdf(n_pages: int) -> bytes:
    """A PDF whose pages carry no text layer, like a scan without OCR."""
    pdf = _new_pdf()
    for _ in range(n_pages):
        pdf.add_page()
        # A drawn shape stands in for the scanned image: content, but no text.
        pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def make_image_pdf(n_pages: int = 1) -> bytes:
    """A PDF of embedded raster images only (a real scan's shape): no text layer at all."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(image).rectangle((20, 20, 380, 180), outline="black", width=4)
    pdf = _new_pdf()
    for _ in range(n_pages):
        pdf.add_page()
        pdf.image(image, x=20, y=20, w=160)
    return bytes(pdf.output())
