"""Run configuration files: TOML in, TOML out, `--set key=value` overrides, all checked."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fedcut.core.errors import ConfigError
from fedcut.core.params import PARAMS, Config, check, params_for, resolve


def load(path: Path | str | None, sets: Sequence[str] = (), extra: dict[str, Any] | None = None) -> Config:
    """Defaults, then the file's values, then `extra` (command-line options), then `--set`s."""
    values: dict[str, Any] = {}
    if path is not None:
        values.update(read_toml(Path(path)))
        for key, value in values.items():  # a mistake in the file is blamed on the file
            check(key, value, where=str(path))
    values.update(extra or {})
    for item in sets:
        key, value = parse_set(item)
        values[key] = value
    return resolve(values, where=str(path) if path and not sets and not extra else "config")


def load_toml(path: Path, what: str = "config file") -> dict[str, Any]:
    """A TOML file as a dict, or one ConfigError naming the file (missing, unreadable, invalid)."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML (not UTF-8 text: {exc.reason} at byte {exc.start})") from None
    except ValueError:  # tomllib lets Python's int() refuse integers of more than 4300 digits
        raise ConfigError(f"{path}: not valid TOML (an integer of more than 4300 digits)") from None


def read_toml(path: Path) -> dict[str, Any]:
    """A config file's values as flat `section.name` keys."""
    doc = load_toml(path)
    for section, body in doc.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: key {section!r} must be inside a [section]")
    return flatten(doc)


def parse_set(item: str) -> tuple[str, Any]:
    """`section.name=value`; the value is read as TOML (numbers, true/false, lists), else as text."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value")
    key, text = (part.strip() for part in item.split("=", 1))
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except ValueError:  # not TOML (or an integer of more than 4300 digits): the text itself
        value = text
    return key, value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def to_toml(cfg: Config, header: str = "", comments: bool = True) -> str:
    """The resolved configuration as TOML, each value with its unit and why as a comment."""
    lines = [f"# {h}" for h in header.splitlines()] if header else []
    values = cfg.flat()
    section = None
    for p in params_for(values).values():  # the registry's order, then the user code's parameters
        if p.section != section:
            section = p.section
            lines += ["", f"[{section}]"]
        if comments:
            lines.append(f"# {p.why} ({p.unit})")
        lines.append(f"{p.name} = {_toml_value(values[p.key])}")
    return "\n".join(lines).lstrip("\n") + "\n"


def changed_parameters(values: dict[str, Any]) -> list[tuple[str, Any, Any, str]]:
    """(key, value, default, unit) of every parameter in `values` (flat `section.name` keys, e.g.
    `Config.flat()` or a saved config.toml read back) that differs from its default, in the
    registry's order; a key the registry does not know is listed with default None and unit
    "unknown parameter", so an old or edited file hides nothing."""
    out = []
    try:
        registry = params_for(values)
    except ConfigError:  # user code that cannot be loaded here: its keys are listed as unknown
        registry = {p.key: p for p in PARAMS}
    known = set(registry)
    for p in registry.values():
        if p.key in values and not _same(values[p.key], p.default):
            out.append((p.key, values[p.key], p.default, p.unit))
    out += [(key, values[key], None, "unknown parameter") for key in sorted(set(values) - known)]
    return out


def flatten(nested: dict[str, Any]) -> dict[str, Any]:
    """A TOML document's `[section] name = value` as flat `section.name` keys."""
    return {
        f"{section}.{name}": value
        for section, body in nested.items()
        if isinstance(body, dict)
        for name, value in body.items()
    }


def _same(value: Any, default: Any) -> bool:
    if isinstance(default, tuple):
        return isinstance(value, (list, tuple)) and tuple(value) == default
    if isinstance(default, bool) or isinstance(value, bool):
        return value is default
    return value == default
