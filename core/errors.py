"""User-facing errors: each carries one line that names the file or setting and the problem."""

from __future__ import annotations

import re

MAX_MESSAGE = 1000  # characters of an error line; a longer one keeps its start and end
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(message: str) -> str:
    """`message` as one short printable line: control characters (newlines, terminal escapes)
    spelled out, and an over-long middle, which is always an echoed value, cut with a count.

    This is the one place that bounds what an error echoes: a 200 MB value in a config file
    must not become a 200 MB line on the terminal.
    """
    if len(message) > MAX_MESSAGE:
        head, tail = MAX_MESSAGE * 2 // 3, MAX_MESSAGE // 4
        message = f"{message[:head]}... [{len(message) - head - tail:,} characters cut] ...{message[-tail:]}"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", message)


class FedcutError(Exception):
    """A user mistake or bad input; the CLI prints it as one line and exits non-zero."""

    def __init__(self, message: str = ""):
        super().__init__(one_line(str(message)))


class DataError(FedcutError):
    """A data file or series is missing, malformed or does not cover what a run needs."""


class ConfigError(FedcutError):
    """A configuration key, value or sweep spec is unknown, mistyped or out of range."""


class PricingInputError(FedcutError):
    """An option pricing input is invalid (non-positive spot or volatility, NaN, expired contract)."""


class UserCodeError(FedcutError):
    """A user rule or baseline (`package.module:function`) raised, returned a bad decision or looked ahead."""
