"""parse_document on real files: PDFs written by fpdf2, text in real encodings, bad input."""

from __future__ import annotations

import codecs
import hashlib
import random

import pytest
from fpdf.enums import EncryptionMethod

from lib.ingest.documents import SUPPORTED_EXTENSIONS, normalize_text, parse_document
from lib.types import DocumentError
from tests.pdf_factory import make_blank_pdf, make_encrypted_pdf, make_pdf

METHODS = [EncryptionMethod.RC4, EncryptionMethod.AES_128, EncryptionMethod.AES_256]


def refusal(name: str, data: bytes, max_bytes: int = 50 * 1024 * 1024) -> str:
    """The reason parse_document gives; fails the test if it parses instead."""
    with pytest.raises(DocumentError) as info:
        parse_document(name, data, max_bytes=max_bytes)
    reason = info.value.reason
    assert reason == str(info.value) and "\n" not in reason
    return reason


# ---------------------------------------------------------------- PDF


def test_multi_page_pdf_keeps_page_numbers_and_text():
    pages = ["Orbit Metal card OB-7731 costs 15 GBP a month.", "Orbit Saver OB-2204 pays interest.",
             "Orbit FX OB-4410 sends money abroad."]
    data = make_pdf(pages)
    doc = parse_document("products.pdf", data)
    assert doc.kind == "pdf" and doc.name == "products.pdf"
    assert doc.sha256 == hashlib.sha256(data).hexdigest() and doc.size == len(data)
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert [p.text for p in doc.pages] == pages
    assert all(p.section is None for p in doc.pages)


def test_blank_page_is_kept_with_empty_text():
    doc = parse_document("a.pdf", make_pdf(["First page.", "", "Third page."]))
    pages = [(p.number, p.text) for p in doc.pages]
    assert pages == [(1, "First page."), (2, ""), (3, "Third page.")]


def test_pdf_outline_gives_each_page_its_section():
    data = make_pdf(["Intro.", "More intro.", "Fee table."], sections=["Overview", None, "Fees"])
    doc = parse_document("guide.pdf", data)
    assert [p.section for p in doc.pages] == ["Overview", "Overview", "Fees"]


def test_latin1_pdf_text_survives():
    doc = parse_document("fees.pdf", make_pdf(["Café fee: £5 – naïve façade."]))
    assert doc.pages[0].text == "Café fee: £5 - naïve façade."  # the factory draws '–' as '-'


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_password_protected_pdf_is_refused(method):
    reason = refusal("locked.pdf", make_encrypted_pdf("secret text", "pw", method))
    assert reason.startswith("locked.pdf:") and "password" in reason


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_pdf_encrypted_with_empty_password_parses(method):
    doc = parse_document("nocopy.pdf", make_encrypted_pdf("Open to all readers.", "", method))
    assert [p.text for p in doc.pages] == ["Open to all readers."]


def test_pdf_without_text_looks_scanned():
    reason = refusal("scan.pdf", make_blank_pdf(3))
    assert reason.startswith("scan.pdf:") and "scanned" in reason and "OCR" in reason


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7 garbage",
        make_pdf(["Some text that will be cut off."])[:300],
        b"%PDF-1.4\n" + random.Random(1).randbytes(5000),
        b"\x89PNG\r\n\x1a\n" + bytes(100),
    ],
    ids=["header-only", "truncated", "garbage-body", "png-named-pdf"],
)
def test_corrupt_pdf_is_refused(data, capsys):
    reason = refusal("broken.pdf", data)
    assert reason.startswith("broken.pdf:")
    assert capsys.readouterr().out == ""  # pypdf's complaints never reach stdout


def test_no_pypdf_exception_escapes_damaged_files():
    good = make_pdf(["Orbit Everyday OB-1001 has no monthly fee.", "Second page."])
    rng = random.Random(7)
    for _ in range(40):
        data = bytearray(good)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            parse_document("fuzzed.pdf", bytes(data))
        except DocumentError as exc:
            assert exc.reason.startswith("fuzzed.pdf:")


# ---------------------------------------------------------------- refusals for any type


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.pdf"])
@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n  "], ids=["zero-bytes", "whitespace"])
def test_empty_files_are_refused(name, data):
    assert "empty" in refusal(name, data)


def test_bom_and_whitespace_only_text_is_empty():
    assert "empty" in refusal("bom.txt", codecs.BOM_UTF8 + b" \n \n")


@pytest.mark.parametrize(
    "data",
    [
        random.Random(3).randbytes(4096),
        make_pdf(["A real PDF, renamed."]),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    ],
    ids=["random-bytes", "pdf-renamed", "png-renamed"],
)
def test_binary_content_posing_as_text_is_refused(data):
    assert "binary" in refusal("notes.txt", data)


def test_many_control_characters_count_as_binary():
    assert "binary" in refusal("log.txt", b"ab\x01\x02\x03\x04cd\x05\x06\x07\x08" * 200)


@pytest.mark.parametrize("name", ["report.docx", "photo.PNG", "archive.tar.gz", "README"])
def test_unsupported_types_are_refused_with_the_supported_list(name):
    reason = refusal(name, b"some content")
    assert reason.startswith(f"{name}:") and "not supported" in reason
    assert all(ext in reason for ext in SUPPORTED_EXTENSIONS)


def test_extension_is_case_insensitive():
    assert parse_document("NOTES.TXT", b"Hello.").kind == "txt"
    assert parse_document("Guide.Markdown", b"# A\nbody").kind == "md"


def test_oversize_file_is_refused_with_size_and_limit_in_mb():
    reason = refusal("big.txt", b"a" * (3 * 1024 * 1024), max_bytes=2 * 1024 * 1024)
    assert reason == "big.txt: the file is 3 MB, over the 2 MB limit"


def test_file_exactly_at_the_limit_is_accepted():
    assert parse_document("ok.txt", b"x" * 1000, max_bytes=1000).pages[0].text == "x" * 1000


def test_size_is_checked_before_parsing():
    # A huge corrupt PDF is refused for its size, without pypdf reading it.
    assert "limit" in refusal("huge.pdf", b"%PDF-1.7" + b"x" * 5000, max_bytes=4096)


def test_name_is_only_a_label():
    doc = parse_document("/etc/passwd.txt", b"Label only.")
    assert doc.name == "/etc/passwd.txt" and doc.pages[0].text == "Label only."
    reason = refusal("evil\nname.exe", b"x")
    assert reason.startswith("evil name.exe:")


# ---------------------------------------------------------------- encodings


def test_cp1252_bytes_decode_without_mojibake():
    doc = parse_document("fees.txt", "café – £5 “quoted” … €3".encode("cp1252"))
    assert doc.pages[0].text == "café – £5 “quoted” … €3"


def test_bytes_undefined_in_cp1252_fall_back_to_latin1_and_are_dropped():
    assert parse_document("odd.txt", b"caf\xe9 \x81ok \x9d").pages[0].text == "café ok"


def test_latin1_bytes_decode():
    doc = parse_document("old.txt", "naïve façade, 10 °C, £5".encode("latin-1"))
    assert doc.pages[0].text == "naïve façade, 10 °C, £5"


def test_mostly_utf8_with_stray_cp1252_bytes():
    data = "Déjà vu in UTF-8. ".encode() + "Then café – £5 in CP-1252.".encode("cp1252")
    expected = "Déjà vu in UTF-8. Then café – £5 in CP-1252."
    assert parse_document("mixed.txt", data).pages[0].text == expected


def test_utf8_bom_is_stripped():
    doc = parse_document("bom.txt", codecs.BOM_UTF8 + "Orbit Saver – £1".encode())
    assert doc.pages[0].text == "Orbit Saver – £1"


def test_utf8_bom_does_not_hide_the_first_markdown_heading():
    doc = parse_document("bom.md", codecs.BOM_UTF8 + b"# Title\nBody.")
    assert [(p.section, p.text) for p in doc.pages] == [("Title", "# Title\nBody.")]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_decodes(codec):
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    doc = parse_document("win.txt", bom + "Notepad “Unicode” – £5".encode(codec))
    assert doc.pages[0].text == "Notepad “Unicode” – £5"


# ---------------------------------------------------------------- text and Markdown


def test_text_file_is_one_page_with_normalised_whitespace():
    data = b"Title   line\r\n\r\n\r\n\r\nPara  one\twith\ttabs.   \r\nNext line.\r\n"
    doc = parse_document("notes.txt", data)
    assert doc.kind == "txt" and len(doc.pages) == 1
    page = doc.pages[0]
    assert (page.number, page.section) == (None, None)
    assert page.text == "Title line\n\nPara one with tabs.\nNext line."


def test_normalize_text_removes_invisible_characters_and_keeps_paragraphs():
    assert normalize_text("a\x00b\u200bc \xa0 d\u00ade e\n \n\n\nf\x0cg") == "abc de e\n\nf\n\ng"
    assert normalize_text("ﬁle e\u0301") == "file é"  # ligature expanded, NFC composed


MARKDOWN = """Intro before any heading.

# Orbit Saver
Easy-access savings, OB-2204.

```bash
# not a heading: a shell comment
echo hi
```

## Fees ##
No monthly fee.

~~~
# also code
~~~
### Empty section
#### Deep
Body of deep.
#hashtag is not a heading
"""


def test_markdown_splits_on_headings_outside_fences():
    doc = parse_document("saver.md", MARKDOWN.encode())
    assert doc.kind == "md"
    assert [p.section for p in doc.pages] == [None, "Orbit Saver", "Fees", "Deep"]
    assert all(p.number is None for p in doc.pages)
    assert doc.pages[0].text == "Intro before any heading."
    saver = doc.pages[1].text
    assert saver.startswith("# Orbit Saver\nEasy-access")
    assert "# not a heading: a shell comment" in saver
    assert "# also code" in doc.pages[2].text
    assert doc.pages[3].text == "#### Deep\nBody of deep.\n#hashtag is not a heading"


def test_markdown_without_headings_is_one_section():
    doc = parse_document("plain.md", b"Just text.\n\nMore text.")
    assert [(p.section, p.text) for p in doc.pages] == [(None, "Just text.\n\nMore text.")]


def test_markdown_unclosed_fence_swallows_later_headings():
    doc = parse_document("code.md", b"# Real\ntext\n```\n# inside\n")
    assert [p.section for p in doc.pages] == ["Real"]
