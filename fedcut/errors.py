"""User-facing errors: each carries one line that names the file or setting and the problem."""


class FedcutError(Exception):
    """A user mistake or bad input; the CLI prints it as one line and exits non-zero."""


class DataError(FedcutError):
    """A data file or series is missing, malformed or does not cover what a run needs."""


class ConfigError(FedcutError):
    """A configuration key, value or sweep spec is unknown, mistyped or out of range."""


class PricingInputError(FedcutError):
    """An option pricing input is invalid (non-positive spot or volatility, NaN, expired contract)."""
