"""Command line: `python run_backtest.py [run options] | data status|fetch`.

A user mistake (bad file, bad setting) ends with one line on stderr and exit status 2;
never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fedcut.errors import FedcutError


def _data_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_backtest.py data", description="Inspect or refresh the data.")
    p.add_argument("action", choices=("status", "fetch"))
    p.add_argument("series", nargs="*", help="with fetch: only these tickers / FRED ids")
    p.add_argument("--data-dir", type=Path, help="folder of yfinance/FRED CSVs (default: $FEDCUT_DATA_DIR)")
    p.add_argument("--offline", action="store_true", help="never download")
    return p


def _source(args):
    from data.sources import DataSource, default_data_dir, offline_from_env
    return DataSource(data_dir=args.data_dir or default_data_dir(),
                      offline=args.offline or offline_from_env())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["data"]:
            from fedcut import datacli
            args = _data_parser().parse_args(argv[1:])
            source = _source(args)
            if args.action == "status":
                return datacli.status(source)
            source.offline = False
            return datacli.fetch_all(source, args.series)
        print("usage: run_backtest.py data status|fetch", file=sys.stderr)
        return 2
    except FedcutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
