"""The one-way imports between the package's layers, checked on the source files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mlrsnet"

# Layer (folder or module under mlrsnet) -> layers of mlrsnet it must not import.
FORBIDDEN = {
    "core": {"data", "models", "tasks", "baselines", "runs", "experiments", "cli", "cli_tasks", "cli_benchmark"},
    "baselines": {"data", "models", "tasks", "runs", "experiments", "cli", "cli_tasks", "cli_benchmark"},
    "data": {"core", "baselines", "runs", "experiments", "cli", "cli_tasks", "cli_benchmark"},
    "models": {"core", "baselines", "runs", "experiments", "cli", "cli_tasks", "cli_benchmark"},
    "tasks": {"core", "baselines", "runs", "experiments", "cli", "cli_tasks", "cli_benchmark"},
    "runs": {"experiments", "cli", "cli_tasks", "cli_benchmark"},
    "experiments": {"cli", "cli_tasks", "cli_benchmark"},
}


def _imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            # A relative import inside a layer folder names a sibling, or a layer when level 2.
            if node.level >= 2 and node.module:
                names = [f"mlrsnet.{node.module}"]
            else:
                names = []
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "mlrsnet" and len(parts) > 1:
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_down(layer):
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files
    for path in files:
        wrong = _imported_layers(path) & FORBIDDEN[layer]
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"
