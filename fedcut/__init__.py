"""fedcut: backtest a risk-aware small-cap (IWM) strategy around Fed rate-cut cycles.

From Python (a notebook): `fedcut.backtest(...)` returns a `fedcut.Result` (frames, metrics,
figures, `.save(folder)`); `fedcut.sweep(spec_path, ...)` returns a sweep's summary table.
From a shell: the `fedcut` command (`fedcut --help`).

Nothing heavy is imported here (pandas, backtrader and matplotlib load on first use), so
`import fedcut` and the command line start fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Result", "__version__", "backtest", "sweep"]

_API = ("Result", "backtest", "sweep")


def entry() -> None:
    """The `fedcut` command and `run_backtest.py`: a Ctrl-C while the command line is still loading
    ends as one later does, with one line and status 130, not an import's traceback."""
    import sys

    try:
        from fedcut.cli import entry as command
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    command()


def __getattr__(name: str):
    if name in _API:
        from fedcut import api

        return getattr(api, name)
    raise AttributeError(f"module 'fedcut' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
