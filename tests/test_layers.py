"""The package's layers import only downwards: no circle, no arrow back up; no class or function is over 200 lines.

The order is the data flow (docs/development.md): a module may import from its
own layer or an earlier one. A new module in a new folder must be given its place
here, which is the point: where it sits is a decision.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bakegen

PACKAGE = Path(bakegen.__file__).parent
LAYERS = [
    {"errors", "cache", "version"},
    {"files"},
    {"model"},
    {"runtimes"},
    {"compiler"},
    {"render"},
    {"pipeline"},
    {"tools"},
    {"adopt"},
    {"commands", "report"},
    {"cli", "__main__", "__init__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level bakegen module or package) of every relative import in `path`."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    package = list(parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = [*base, *(node.module.split(".") if node.module else [])]
            heads = target[:1] or [alias.name for alias in node.names]
            out += [(node.lineno, head) for head in heads]
    return out


def test_every_module_has_a_layer():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    assert tops - set(RANK) == set(), "give the new module or folder its place in LAYERS"


def test_no_module_imports_from_a_later_layer():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for line, head in _imports(path):
            if head != mine and RANK.get(head, -1) > RANK[mine]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line}: {mine} imports {head}")
    assert wrong == []


# The typed-plan issue's rule: a class or function past this is doing several things.
LONGEST = 200


def test_no_class_or_function_is_over_200_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.name} is {lines} lines")
    assert long == [], f"split these (at most {LONGEST} lines each)"
