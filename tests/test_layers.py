"""The plan of the code: the folders are layers, and a layer imports only the layers below it.

data -> signals -> decisions -> execution -> analysis -> pictures -> report, with the ground floor
(`core/`) under everything and the backtest that joins them, the sweeps and the application
(`fedcut/`) on top. A private name (`_x`) is its module's own: no other module imports it.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = (
    "core",
    "data",
    "signals",
    "hedging",
    "strategies",
    "execution",
    "analyzers",
    "plots",
    "report",
    "run",
    "sweeps",
    "fedcut",
)
MAX_LINES = 600


def _modules() -> list[tuple[str, Path]]:
    return [(layer, path) for layer in LAYERS for path in sorted((ROOT / layer).glob("*.py"))]


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every `fedcut` import in the file, those inside functions included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "fedcut":
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.split(".")[0] == "fedcut"]
    return out


def _layer(module: str, names: list[str]) -> list[str]:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS[:-1]:
        return [parts[1]]
    if len(parts) == 1:  # `from fedcut import x`: x is a layer (a package) or an application module
        return [n if n in LAYERS[:-1] else "fedcut" for n in names] or ["fedcut"]
    return ["fedcut"]


def test_the_folders_are_the_packages_in_layer_order():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert packages == ["fedcut", *(f"fedcut.{layer}" for layer in LAYERS[:-1])]


@pytest.mark.parametrize(
    "layer,path", _modules(), ids=lambda x: str(x).rsplit("/", 2)[-2:][-1] if isinstance(x, Path) else x
)
def test_no_module_imports_a_higher_layer_or_a_private_name(layer, path):
    rank = LAYERS.index(layer)
    for module, names in _imports(path):
        for other in _layer(module, names):
            assert LAYERS.index(other) <= rank, f"{path.relative_to(ROOT)} ({layer}) imports {module} ({other})"
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, f"{path.relative_to(ROOT)} imports private {module}.{private[0]}"


def test_no_module_is_longer_than_the_limit():
    long = {str(p.relative_to(ROOT)): n for _, p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_checker_sees_a_planted_upward_import(tmp_path):
    planted = tmp_path / "x.py"
    planted.write_text("def f():\n    from fedcut.report.page import render\n    from fedcut.core.files import _x\n")
    found = _imports(planted)
    assert [_layer(m, n) for m, n in found] == [["report"], ["core"]]
    assert found[1][1] == ["_x"]
