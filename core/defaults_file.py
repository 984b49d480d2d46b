"""`config/default.toml`: every parameter with its default, unit and why, generated from `fedcut.core.params`."""

from pathlib import Path

from fedcut.core.config import to_toml
from fedcut.core.params import defaults

DEFAULT_TOML = Path(__file__).resolve().parents[1] / "config" / "default.toml"
HEADER = (
    "Every parameter of fedcut with its default, unit and why (generated from core/params.py;\n"
    "regenerate with `python -m fedcut.core.defaults_file`). Copy, edit, and pass with --config FILE;\n"
    "a file may hold only the keys it changes."
)


def render() -> str:
    return to_toml(defaults(), header=HEADER)


if __name__ == "__main__":
    DEFAULT_TOML.write_text(render())
