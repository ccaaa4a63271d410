"""No module reaches into another's private names: `x._name` only on self, cls, super() or the module's own
definitions, and no `from module import _name`. A module's underscore names may then change without a search."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rag"

# Offenders that stay for a stated reason: (path relative to rag/, private name) -> why. None remain; an entry
# added here must say why and must name a live offence.
ALLOWED: dict[tuple[str, str], str] = {}

def private(name: str) -> bool:
    """A single-underscore name (dunder names such as __name__ are public protocol)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def own_names(tree: ast.Module) -> set[str]:
    """Names the module itself defines at top level (functions, classes, assignments), not the ones it imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def owner_is_ours(value: ast.expr, own: set[str]) -> bool:
    """Whether `value` in `value._name` is self, cls, super() or a name this module defines."""
    if isinstance(value, ast.Name):
        return value.id in {"self", "cls"} | own
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super"


def offences(path: Path) -> list[tuple[str, int, str]]:
    """(relative path, line, private name) of every reach into another module's or object's private name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = own_names(tree)
    where = str(path.relative_to(PACKAGE))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr) and not owner_is_ours(node.value, own):
            found.append((where, node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom):
            found += [(where, node.lineno, a.name) for a in node.names if private(a.name)]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"getattr", "setattr"}
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and private(node.args[1].value) and not owner_is_ours(node.args[0], own)):
            found.append((where, node.lineno, node.args[1].value))
    return found


def test_no_module_reaches_into_private_names() -> None:
    found = [o for p in sorted(PACKAGE.rglob("*.py")) for o in offences(p)]
    unexpected = [f"{where}:{line}: {name}" for where, line, name in found if (where, name) not in ALLOWED]
    assert not unexpected, "private names reached across modules:\n" + "\n".join(unexpected)


def test_the_allow_list_names_only_live_offenders() -> None:
    live = {(where, name) for p in PACKAGE.rglob("*.py") for where, _, name in offences(p)}
    assert all(reason for reason in ALLOWED.values())
    assert not [key for key in ALLOWED if key not in live], "stale allow-list entries: drop them"


PROBE = """from .writer import _secret


def f(store):
    return store._query("x"), getattr(store, "_db")


class A:
    def g(self):
        return self._ok, A._also_ok, super()._fine
"""


def test_the_check_catches_a_private_reach() -> None:
    probe = PACKAGE / "index" / "_private_probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    try:
        assert sorted(name for _, _, name in offences(probe)) == ["_db", "_query", "_secret"]
    finally:
        probe.unlink()
