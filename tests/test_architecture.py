"""Layering rules that keep the domain core free of UI."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_lib_never_imports_streamlit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "lib").rglob("*.py")
        if re.search(r"^\s*(import streamlit|from streamlit)", path.read_text(), re.M)
    ]
    assert offenders == []


def test_every_page_starts_with_the_frame():
    for page in sorted((ROOT / "pages").glob("*.py")):
        code = [
            line for line in page.read_text().splitlines()
            if line.strip() and not line.startswith(("#", "import", "from", '"""')) and not line.startswith(" ")
        ]
        assert code and code[0].startswith("frame("), f"{page.name} must call frame(title) first"
