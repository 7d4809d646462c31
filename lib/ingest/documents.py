"""Uploaded bytes -> ParsedDocument (PDF, plain text, Markdown), or a one-line DocumentError.

`name` is only a label for messages and the registry: this module never opens a path.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import os
import re
import unicodedata
from typing import Literal

from pypdf import PdfReader
from pypdf.errors import DependencyError

from lib.types import DocumentError, Page, ParsedDocument

SUPPORTED_EXTENSIONS = {".pdf", ".txt", ".md", ".markdown"}
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

_KINDS: dict[str, Literal["pdf", "txt", "md"]] = {
    ".pdf": "pdf", ".txt": "txt", ".md": "md", ".markdown": "md",
}

log = logging.getLogger(__name__)
# pypdf logs a warning for every odd-but-readable PDF and an "error" for problems it
# works around; users only need our refusal reasons. Drop the warnings, and with no
# logging configured keep its errors off the console (Python's last-resort handler).
_pypdf_log = logging.getLogger("pypdf")
_pypdf_log.setLevel(logging.ERROR)
_pypdf_log.addHandler(logging.NullHandler())


def parse_document(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Parse one uploaded file into pages.

    Args:
        name: the file's name, used for its type (extension) and in messages only.
        data: the raw bytes.
        max_bytes: refuse files larger than this.
    Returns:
        A ParsedDocument; PDFs keep one Page per page (blank ones with empty text),
        Markdown has one Page per heading section, plain text a single Page.
    Raises:
        DocumentError: with a one-line reason naming the file, for every refusal.
    """
    label = display_name(name)
    kind = _kind_of(name, label)
    if len(data) > max_bytes:
        raise DocumentError(
            f"{label}: the file is {_mb(len(data))} MB, over the {_mb(max_bytes)} MB limit"
        )
    if not data.strip():
        raise DocumentError(f"{label}: the file is empty")
    if kind == "pdf":
        pages = _parse_pdf(label, data)
    else:
        text = _decode_text(label, data)
        pages = _markdown_pages(text) if kind == "md" else _text_pages(text)
        if not pages:
            only = "whitespace and headings" if kind == "md" else "whitespace"
            raise DocumentError(f"{label}: the file is empty (only {only})")
    sha256 = hashlib.sha256(data).hexdigest()
    return ParsedDocument(name=name, kind=kind, sha256=sha256, size=len(data), pages=tuple(pages))


# ---------------------------------------------------------------- naming and limits


def display_name(name: str) -> str:
    """The name as it may appear in a one-line message (no control characters, bounded)."""
    clean = re.sub(r"[\x00-\x1f\x7f]+", " ", name).strip() or "(unnamed file)"
    return clean if len(clean) <= 120 else clean[:117] + "..."


def _kind_of(name: str, label: str) -> Literal["pdf", "txt", "md"]:
    """The document kind from the extension, or a refusal listing the supported ones."""
    ext = os.path.splitext(name)[1].lower()  # string operation only: no filesystem access
    if ext not in _KINDS:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        what = f"'{ext}' files are" if ext else "files without an extension are"
        raise DocumentError(f"{label}: {what} not supported (supported: {supported})")
    return _KINDS[ext]


def _mb(n_bytes: int) -> str:
    """Megabytes for a message: '50', '12.34', or two significant digits when tiny."""
    mb = n_bytes / (1024 * 1024)
    if mb >= 0.01:
        return f"{mb:.2f}".rstrip("0").rstrip(".")
    return f"{mb:.2g}"


# ---------------------------------------------------------------- text normalisation

_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
              "\ufb05": "st", "\ufb06": "st"}
_BREAKS = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n\n", "\u2028": "\n",
                         "\u2029": "\n\n", "\u0085": "\n", **_LIGATURES})
# NUL and the other C0/C1 controls, soft hyphen, zero-width characters and stray BOMs.
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\xad\u200b-\u200d\u2060\ufeff]+")
_SPACES = re.compile(r"[ \t\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_LINE_EDGES = re.compile(r" ?\n ?")
_MANY_BREAKS = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Collapse runs of spaces, trim lines, keep paragraph breaks (max one blank line)."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").translate(_BREAKS))
    text = _SPACES.sub(" ", _INVISIBLE.sub("", text))
    text = _LINE_EDGES.sub("\n", text)
    return _MANY_BREAKS.sub("\n\n", text).strip()


# ---------------------------------------------------------------- plain text and Markdown

# Windows-1252 for the bytes that are not valid UTF-8, Latin-1 for the five it leaves undefined.
_CP1252 = tuple(
    bytes([b]).decode("cp1252", errors="ignore") or bytes([b]).decode("latin-1") for b in range(256)
)


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    """Codec error handler: decode each undecodable byte as Windows-1252 (else Latin-1)."""
    assert isinstance(err, UnicodeDecodeError)
    bad = err.object[err.start : err.end]
    return "".join(_CP1252[b] for b in bad), err.end


codecs.register_error("raglab-cp1252", _cp1252_fallback)

_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def _decode_text(label: str, data: bytes) -> str:
    """Bytes -> str: UTF-16 with a BOM, else UTF-8 (BOM stripped) with a CP-1252 fallback.

    The fallback works byte by byte, so a mostly-UTF-8 file with a few Windows
    bytes decodes correctly too (whole-file CP-1252 would turn its UTF-8 into mojibake).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise DocumentError(f"{label}: the file starts like UTF-16 text but is not") from None
    if _looks_binary(data):
        raise DocumentError(
            f"{label}: this looks like binary data, not text (a different format renamed?)"
        )
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(data) is None:  # no UTF-8 at all: one fast CP-1252 pass
        return data.decode("cp1252", errors="raglab-cp1252")
    return data.decode("utf-8", errors="raglab-cp1252")


def _looks_binary(data: bytes) -> bool:
    """git's test (a NUL in the first 8 KB) or more than 5% control bytes overall."""
    if b"\x00" in data[:8192]:
        return True
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    return controls > 0.05 * len(data)


def _text_pages(text: str) -> list[Page]:
    """A plain-text file is one Page (none when it holds only whitespace)."""
    text = normalize_text(text)
    return [Page(number=None, section=None, text=text)] if text else []


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")


def _markdown_pages(text: str) -> list[Page]:
    """One Page per ATX-heading section (heading line included); '#' inside fences is code."""
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    fence: str | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and opened and _closes(fence, line):
            fence = None
        elif fence is None and (heading := _heading(line)):
            sections.append((heading, []))
        sections[-1][1].append(line)
    pages = []
    for section, lines in sections:
        body = lines[1:] if section is not None else lines
        if normalize_text("\n".join(body)):  # a heading with no body adds nothing to search
            pages.append(Page(number=None, section=section, text=normalize_text("\n".join(lines))))
    return pages


def _closes(fence: str, line: str) -> bool:
    """CommonMark: a fence closes with the same character, at least as long, nothing after."""
    stripped = line.strip()
    return set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def _heading(line: str) -> str | None:
    """The text of an ATX heading line ('## Fees ##' -> 'Fees'), or None."""
    match = _ATX.match(line)
    if not match or not match.group(2):
        return None
    return normalize_text(match.group(2)) or None


# ---------------------------------------------------------------- PDF


def _parse_pdf(label: str, data: bytes) -> list[Page]:
    """Text per PDF page; refuses corrupt, locked and text-less (scanned) files."""
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"{label}: this is not a PDF file (no PDF header); it may be damaged")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        _unlock(label, reader)
        texts = _page_texts(label, reader)
        sections = _outline_sections(reader, len(texts))
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types (and plain ones) on broken files
        log.info("could not read PDF %s: %s: %r", label, type(exc).__name__, str(exc)[:200])
        raise DocumentError(f"{label}: the PDF is damaged and could not be read") from None
    if not any(any(ch.isalnum() for ch in text) for text in texts):
        raise DocumentError(
            f"{label}: the PDF has no extractable text (it looks scanned; OCR is not supported)"
        )
    return [Page(number=i + 1, section=sections[i], text=t) for i, t in enumerate(texts)]


def _unlock(label: str, reader: PdfReader) -> None:
    """Open an encrypted PDF with the empty password (how 'no-copy' PDFs ship), else refuse."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except DependencyError:
        raise DocumentError(
            f"{label}: the PDF uses AES encryption, which needs the 'cryptography' package"
        ) from None
    if not opened:  # PasswordType.NOT_DECRYPTED == 0
        raise DocumentError(
            f"{label}: the PDF is password-protected; remove the password and upload it again"
        )


def _page_texts(label: str, reader: PdfReader) -> list[str]:
    """Normalised text of every page; a page that fails to extract counts as blank."""
    texts, failed = [], 0
    for page in reader.pages:
        try:
            texts.append(normalize_text(page.extract_text() or ""))
        except Exception as exc:  # one bad content stream should not sink the whole file
            failed += 1
            texts.append("")
            log.warning("PDF %s: a page could not be read, kept as blank: %s: %r",
                        label, type(exc).__name__, str(exc)[:200])
    if not texts or failed == len(texts):
        raise DocumentError(f"{label}: the PDF is damaged and could not be read")
    return texts


def _outline_sections(reader: PdfReader, n_pages: int) -> list[str | None]:
    """Each page's nearest preceding bookmark title (None without an outline)."""
    starts: dict[int, str] = {}
    try:
        for item in reader.outline:  # top level only: chapters, not every sub-heading
            if isinstance(item, list):
                continue
            page = reader.get_destination_page_number(item)
            title = normalize_text(str(item.title or ""))
            if title and 0 <= page < n_pages:
                starts.setdefault(page, title)
    except Exception as exc:  # a broken outline is cosmetic: keep the text
        log.info("ignoring unreadable PDF outline: %s", exc)
        return [None] * n_pages
    sections: list[str | None] = []
    current: str | None = None
    for i in range(n_pages):
        current = starts.get(i, current)
        sections.append(current)
    return sections
