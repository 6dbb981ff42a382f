"""quant is pure array math: no imports of market/env/rl; public re-exports exist."""

from __future__ import annotations

import ast
from pathlib import Path

import quantmarl.quant as quant

FORBIDDEN = ("quantmarl.market", "quantmarl.env", "quantmarl.rl", "quantmarl.book",
             "quantmarl.agents", "quantmarl.events")


def test_no_upward_imports():
    root = Path(quant.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def test_reexports():
    for sub in ("indicators", "risk", "stylized", "herding", "market_quality", "stats", "plots"):
        assert hasattr(quant, sub)
    for name in quant.__all__:
        assert getattr(quant, name) is not None
    assert quant.sma is quant.indicators.sma
