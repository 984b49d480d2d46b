"""User code: a rule or baseline written outside fedcut, named `package.module:function`.

A reference is imported from `sys.path` with the current directory in it (as `python -m` does),
so a module beside the command's working directory is found, and a sweep's spawned workers,
which inherit the parent's `sys.path`, find it too. A function declares its own parameters with
`rule(name=setting(...))`: each becomes a registry parameter `user.<name>` (default, unit, range,
why) that `--set`, config files and sweep specs set like any other. The configuration hash
includes each reference and a hash of its source file, so results of edited code never mix.
What a rule receives and must return is `strategies.user`'s contract.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fedcut.core.errors import ConfigError

SECTION = "user"
BASELINES = "user.baselines"  # the user baselines a run adds to its comparison
_REF = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
ATTRIBUTE = "fedcut_params"  # where `rule` keeps a function's declared parameters
_CALLABLES: dict[str, Callable] = {}  # functions handed over as objects (fedcut.backtest(strategy=f))
_LOADED: dict[str, UserFunction] = {}  # what each reference last loaded, with its source's hash


def setting(
    default: Any,
    unit: str,
    why: str,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """A user rule's parameter: default, unit, why and its range (`lo`..`hi`) or `choices`; the
    registry's `Param` fields but its key, which `rule` gives it (`user.<name>`)."""
    return {
        "default": default,
        "unit": unit,
        "why": why,
        "lo": lo,
        "hi": hi,
        "choices": None if choices is None else tuple(choices),
    }


def rule(**settings: dict[str, Any]) -> Callable[[Callable], Callable]:
    """Declare a user rule's parameters: `@rule(level=setting(7.0, "%", "why", 2.0, 25.0))`.
    The function is returned unchanged; its parameters are `user.<name>` in every configuration
    that names it, and reach it as `params.<name>`."""
    for name, value in settings.items():
        if not _NAME.fullmatch(name) or name == "baselines":
            raise ConfigError(
                f"rule: parameter name {name!r} must be lower_case letters, digits and _ (and not 'baselines')"
            )
        if not isinstance(value, dict) or set(value) != set(setting(None, "", "")):
            raise ConfigError(f"rule: parameter {name} must be declared with setting(default, unit, why, lo, hi)")

    def mark(func: Callable) -> Callable:
        setattr(func, ATTRIBUTE, dict(settings))
        return func

    return mark


@dataclass(frozen=True)
class UserFunction:
    ref: str  # package.module:function
    func: Callable
    settings: dict[str, dict[str, Any]]  # name -> `setting(...)`
    source_hash: str  # the first 12 hex digits of the SHA-256 of its source file


def is_ref(value: Any) -> bool:
    """A text that names user code (`module:function`) rather than a built-in name."""
    return isinstance(value, str) and ":" in value


def register(func: Callable, where: str) -> str:
    """A function handed over as an object: its reference, by which configurations name it."""
    module, name = getattr(func, "__module__", None), getattr(func, "__qualname__", "")
    if not callable(func) or not module or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ConfigError(f"{where}: strategy must be a function defined at a module's top level, got {func!r}")
    ref = f"{module}:{name}"
    _CALLABLES[ref] = func
    _LOADED.pop(ref, None)
    return ref


def load(ref: str) -> UserFunction:
    """Import `package.module:function`; a ConfigError (without where: the caller adds it) if it cannot be.
    A module whose file changed since it was imported is imported again, so the code that runs is always
    the code whose hash names the results."""
    if not _REF.fullmatch(ref):
        raise ConfigError(f"{ref!r} is not package.module:function")
    known = _LOADED.get(ref)
    if known is not None and _file_hash(known.func) in (known.source_hash, None):
        return known
    module_name, name = ref.split(":")
    func = _CALLABLES.get(ref)
    if func is None:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
            if known is not None:
                module = importlib.reload(module)
        except Exception as exc:  # noqa: BLE001 - any failure of the user's import is one line
            raise ConfigError(f"{ref}: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
        func = getattr(module, name, None)
    if not callable(func):
        raise ConfigError(f"{ref}: {module_name} has no function {name}")
    found = UserFunction(ref, func, dict(getattr(func, ATTRIBUTE, {})), _source_hash(ref, func))
    _LOADED[ref] = found
    return found


def _file_hash(func: Callable) -> str | None:
    """The hash of the file that defines `func` as it is now, or None without one."""
    try:
        path = inspect.getsourcefile(func)
    except TypeError:
        return None
    if not path or not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def _source_hash(ref: str, func: Callable) -> str:
    """The hash of its source file, or of its own source (a notebook cell), or a ConfigError."""
    found = _file_hash(func)
    if found is not None:
        return found
    try:
        return hashlib.sha256(inspect.getsource(func).encode()).hexdigest()[:12]
    except (OSError, TypeError):
        raise ConfigError(
            f"{ref}: its source cannot be read, so results could not be told apart from an "
            "edited version: define it in a .py file"
        ) from None


def refs_in(values: dict[str, Any], strategy_key: str) -> tuple[str, ...]:
    """The user code a configuration's flat values name: its strategy, then its user baselines."""
    own = values.get(strategy_key)
    baselines = values.get(BASELINES, ())
    if isinstance(baselines, str):
        baselines = tuple(b.strip() for b in baselines.split(",") if b.strip())
    named: list[str] = ([own] if isinstance(own, str) and is_ref(own) else []) + [
        b for b in baselines if isinstance(b, str)
    ]
    return tuple(dict.fromkeys(named))
