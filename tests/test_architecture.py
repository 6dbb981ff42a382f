"""The package map in docs/architecture.md is complete, modules stay small, and no module
of the library imports quantmarl inside a function (a hidden import cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p for d in ("quantmarl", "experiments", "benchmarks")
                 for p in (ROOT / d).rglob("*.py"))
MAX_LINES = 420
SHIMS = {"quantmarl/train.py", "quantmarl/evaluate.py", "quantmarl/demo.py"}  # python -m ...


def _rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def test_the_package_map_lists_every_module():
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [_rel(p) for p in MODULES if f"`{_rel(p)}`" not in text]
    assert not missing, f"docs/architecture.md does not list {missing}"


def test_no_module_is_over_the_size_limit():
    big = {_rel(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, big


def _function_level_imports(tree: ast.Module) -> list[int]:
    lines = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "quantmarl"):
                    lines.append(node.lineno)
                if isinstance(node, ast.Import) and any(
                        a.name.startswith("quantmarl") for a in node.names):
                    lines.append(node.lineno)
    return lines


def test_library_modules_import_quantmarl_at_the_top_only():
    found = {_rel(p): lines for p in MODULES if p.parts[-2:][0] != "benchmarks"
             and _rel(p).startswith("quantmarl/") and _rel(p) not in SHIMS
             and (lines := _function_level_imports(ast.parse(p.read_text())))}
    assert not found, f"function-level quantmarl imports: {found}"
