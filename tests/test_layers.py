"""The package's layers import only downwards, and no module imports another that imports it back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rag"

# Lowest first. A module may import its own layer's modules and any lower layer's, never a higher one.
# The news room (rag/news/) is one folder whose modules sit at three levels: read at ingestion, used by
# retrieval, used after answering. The longest matching prefix names a module's layer.
LAYERS = [
    ("leaves", {"rag.errors", "rag.config", "rag.types", "rag.text", "rag.modelfiles"}),
    ("language", {"rag.language"}),  # spaCy: sentences, entities, the doer of a verb; below news and answering
    ("guard", {"rag.guard"}),  # text written to steer the assistant: found at ingestion, kept out of answers
    ("ingest", {"rag.ingest", "rag.news", "rag.news.dates", "rag.news.outlets", "rag.news.sidecar"}),
    ("index", {"rag.index"}),  # the two backends in index/embedded/ and index/milvus/, reached via backend.py
    ("judge", {"rag.judge"}),  # the trained cross-encoder: scores pairs; searching and answering both use it
    ("search", {"rag.search", "rag.news.timewords", "rag.news.timescope"}),
    ("llm", {"rag.llm"}),
    ("checks", {"rag.checks"}),  # everything that judges an answer: gate, quotes, claims, receipts
    ("news answers", {"rag.news.annotate", "rag.news.disagree", "rag.news.disagree_names"}),
    ("answer", {"rag.answer"}),  # writing the answer: prompts, follow-ups, the assistant's steps
    ("faces", {"rag.cli", "rag.cli_options", "rag.cli_servers", "rag.__main__", "rag.terminal", "rag.chat", "rag.service", "rag.ui", "rag.api", "rag.eval"}),
]

def module_name(path: Path) -> str:
    """rag/checks/reply.py -> rag.checks.reply (packages by their __init__)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every rag module a file imports, anywhere in it (top level, in functions, under TYPE_CHECKING)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # "from . import render" names a module
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules and m != name}


def layer_of(module: str) -> int | None:
    """Index in LAYERS of the layer holding `module`: the one with the longest prefix that matches it (None for
    the package's front door, rag/__init__)."""
    matches = [(len(p), i) for i, (_, prefixes) in enumerate(LAYERS) for p in prefixes
               if module == p or module.startswith(p + ".")]
    return max(matches)[1] if matches else None

def import_graph() -> dict[str, set[str]]:
    """module -> rag modules it imports."""
    return {module_name(p): imported_modules(p) for p in PACKAGE.rglob("*.py")}


def test_every_module_belongs_to_a_layer() -> None:
    assert [m for m in import_graph() if layer_of(m) is None] == ["rag"]


@pytest.mark.parametrize("module", sorted(import_graph()))
def test_imports_only_go_down(module: str) -> None:
    own = layer_of(module)
    if own is None:
        return  # rag/__init__ re-exports the public API lazily
    upward = {m for m in import_graph()[module] if (layer_of(m) or 0) > own}
    assert not upward, f"{module} ({LAYERS[own][0]}) imports higher layers: {sorted(upward)}"


def test_no_import_cycles() -> None:
    graph = import_graph()
    graph.pop("rag")
    # a package's __init__ is imported by its own modules' imports; count only module -> module edges
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend(path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, path + [node]):
                return True
        state[node] = 2
        return False

    assert not any(visit(m, []) for m in sorted(graph) if m not in state), f"import cycle: {' -> '.join(cycle)}"


def test_the_contract_catches_an_upward_import(tmp_path: Path) -> None:
    bad = PACKAGE / "index" / "_layer_probe.py"
    bad.write_text("from ..checks.reply import parse_reply\n", encoding="utf-8")
    try:
        graph = import_graph()
        assert layer_of("rag.checks.reply") > layer_of("rag.index._layer_probe")
        assert "rag.checks.reply" in graph["rag.index._layer_probe"]
    finally:
        bad.unlink()


def readme_rooms() -> dict[str, set[str]]:
    """The README's Layout table: room folder -> the module files its row names."""
    text = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = text.split("## Layout", 1)[1].split("\n### ", 1)[0]
    rooms: dict[str, set[str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`rag/"):
            folder = cells[0].split("`")[1]
            rooms.setdefault(folder, set()).update(re.findall(r"`([\w/]+\.py)`", cells[1]))
    return rooms


def test_the_readme_layout_names_every_room_and_module() -> None:
    rooms = readme_rooms()
    actual: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py":
            folder = path.parent.relative_to(PACKAGE.parent).as_posix() + "/"
            actual.setdefault(folder, set()).add(path.name)
    assert set(rooms) == set(actual), "rooms in README's Layout differ from rag/'s folders"
    missing = {room: sorted(actual[room] - named) for room, named in rooms.items() if actual[room] - named}
    stale = {room: sorted(named - actual[room]) for room, named in rooms.items() if named - actual[room]}
    assert not missing and not stale, f"README Layout out of step with the tree: missing {missing}, stale {stale}"
