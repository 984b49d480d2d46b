"""mkdocs hook: lets mkdocstrings find the `fedcut.*` modules in their layer folders.

The package is one namespace over several top-level folders (`data/` installs as `fedcut.data`,
through `pyproject.toml`'s package-dir mapping), which griffe, reading the source without
importing it, cannot follow. This hook lays out the namespace as it is installed, in a temporary
folder of links to the real files, and points the Python handler there. The mapping is read from
`pyproject.toml`, so a new layer needs no change here.
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from pathlib import Path

from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parents[2]
_made: list[Path] = []


def namespace_tree(root: Path = ROOT) -> Path:
    """A folder holding `fedcut/` as installed: links to fedcut/'s modules and to each layer folder."""
    mapping = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    tree = Path(tempfile.mkdtemp(prefix="fedcut-docs-"))
    package = tree / "fedcut"
    package.mkdir()
    for module in (root / mapping["fedcut"]).glob("*.py"):
        (package / module.name).symlink_to(module)
    for name, folder in mapping.items():
        if name != "fedcut":
            (package / name.split(".", 1)[1]).symlink_to(root / folder, target_is_directory=True)
    _made.append(tree)
    return tree


@event_priority(100)  # before mkdocstrings reads its handler's configuration
def on_config(config, **kwargs):
    handlers = config.plugins["mkdocstrings"].config.handlers
    handlers.setdefault("python", {})["paths"] = [str(namespace_tree())]
    return config


def on_shutdown(**kwargs) -> None:
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)
