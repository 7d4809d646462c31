"""Layering rules: lib is the domain core (no UI), pages are thin, lib has no import cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_PAGE_LINES = 250


def _py_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _module_name(path: Path) -> str:
    """`lib/index/store.py` -> `lib.index.store`; a package's `__init__` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """Every (module, imported names) an import statement in `path` names, nested ones too."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def _lib_imports(path: Path) -> set[str]:
    """lib modules `path` imports, at module level or inside functions (both couple modules)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("lib.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("lib"):
                out.add(node.module)
                # `from lib.pkg import module` imports the module too
                out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_lib_never_imports_streamlit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "lib").rglob("*.py")
        if re.search(r"^\s*(import streamlit|from streamlit)", path.read_text(), re.M)
    ]
    assert offenders == []


def test_lib_never_imports_ui():
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _py_files("lib")
        for module, _ in _imports(path)
        if module == "ui" or module.startswith(("ui.", "streamlit", "pages"))
    ]
    assert offenders == []


def test_pages_and_ui_use_only_public_names_of_lib():
    """No `_private` name of a lib module is imported or reached into from pages/ or ui/."""
    offenders = []
    for path in [*_py_files("pages"), *_py_files("ui"), ROOT / "streamlit_app.py"]:
        for module, names in _imports(path):
            if module.startswith("lib"):
                private = [n for n in names if n.startswith("_")]
                private += [p for p in module.split(".") if p.startswith("_")]
                offenders += [f"{path.relative_to(ROOT)}: {module}.{n}" for n in private]
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(ROOT)}: .{m}" for m in
                      re.findall(r"\b(?:store|server|index|model|job|run|batch)\.(_[a-z]\w*)", text)]
    assert offenders == []


def test_lib_modules_use_only_public_names_of_other_lib_modules():
    offenders = []
    for path in _py_files("lib"):
        for module, names in _imports(path):
            if module.startswith("lib") and module != _module_name(path):
                offenders += [f"{path.relative_to(ROOT)}: {module}.{n}"
                              for n in names if n.startswith("_") and n != "__version__"]
    assert offenders == []


def test_no_import_cycles_in_lib():
    modules = {_module_name(p): p for p in _py_files("lib")}
    graph = {name: {m for m in _lib_imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # a package importing its own submodules (its public face) is not a cycle
    real = [c for c in cycles if not all(c[0] == m or m.startswith(c[0] + ".") for m in c)]
    assert real == [], " ; ".join(" -> ".join(c) for c in real)


def test_every_lib_package_says_what_it_is_for():
    for init in (ROOT / "lib").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 12, f"{init.relative_to(ROOT)} needs a package docstring"


def test_pages_are_thin():
    long = {p.name: n for p in _py_files("pages")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_PAGE_LINES}
    assert long == {}, f"pages over {MAX_PAGE_LINES} lines: {long}"


def test_every_page_starts_with_the_frame():
    for page in sorted((ROOT / "pages").glob("*.py")):
        code = [
            line for line in page.read_text().splitlines()
            if line.strip() and not line.startswith(("#", "import", "from", '"""')) and not line.startswith(" ")
        ]
        assert code and code[0].startswith("frame("), f"{page.name} must call frame(title) first"
