"""Command line: `python run_backtest.py [run options]`, `... sweep --spec FILE`, `... data status|fetch`,
`... report RUN_DIR`.

A user mistake (bad file, bad setting) ends with one line on stderr and exit status 2;
never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fedcut.errors import FedcutError
from fedcut.params import param

STRATEGY_NAMES = param("run.strategy").choices


def _data_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_backtest.py data", description="Inspect or refresh the data.")
    p.add_argument("action", choices=("status", "fetch"))
    p.add_argument("series", nargs="*", help="with fetch: only these tickers / FRED ids")
    p.add_argument("--data-dir", type=Path, help="folder of yfinance/FRED CSVs (default: $FEDCUT_DATA_DIR)")
    p.add_argument("--offline", action="store_true", help="never download")
    return p


def _report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_backtest.py report",
                                description="Re-render report.html, plots, claims and attribution of a saved run.")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--data-dir", type=Path, help="folder of yfinance/FRED CSVs (default: $FEDCUT_DATA_DIR)")
    p.add_argument("--offline", action="store_true", help="never download")
    return p


def _sweep_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_backtest.py sweep",
                                description="Run every configuration of a sweep spec; rank in-sample, "
                                            "report out-of-sample beside it (see examples/sweep.toml).")
    p.add_argument("--spec", type=Path, required=True, help="sweep spec TOML")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (default 1: in this process; at most the CPU count unless --force-workers)")
    p.add_argument("--force-workers", action="store_true", help="allow --workers above the CPU count")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out, skipping stored configurations")
    p.add_argument("--out", type=Path, help="sweep folder (default results/sweep-<name>-<spec digest>)")
    p.add_argument("--train-end", help="last in-sample day, YYYY-MM-DD (overrides the spec's validation.train_end)")
    p.add_argument("--top", type=int, help="full runs with report of the best N configurations (overrides the spec)")
    p.add_argument("--executor", default="local", help="local (processes here) or dask")
    p.add_argument("--scheduler", help="with --executor dask: the scheduler address, e.g. tcp://host:8786")
    p.add_argument("--data-dir", type=Path, help="folder of yfinance/FRED CSVs (default: $FEDCUT_DATA_DIR)")
    p.add_argument("--offline", action="store_true", help="never download")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _sweep(argv: list[str]) -> int:
    from fedcut.sweeps.runner import run_sweep
    from fedcut.sweeps.spec import load_spec
    args = _sweep_parser().parse_args(argv)
    spec = load_spec(args.spec, train_end=args.train_end, top=args.top)
    out = args.out or Path("results") / f"sweep-{spec.name}-{spec.digest()}"
    try:
        run_sweep(spec, out, workers=args.workers, resume=args.resume, executor=args.executor,
                  scheduler=args.scheduler, data_dir=args.data_dir, offline=True if args.offline else None,
                  progress=not args.no_progress, force_workers=args.force_workers)
    except KeyboardInterrupt:
        return 130  # the runner said what is stored and how to resume
    print(f"sweep folder: {out} (summary.csv, sweep.html)")
    return 0


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_backtest.py",
                                description="Backtest the fedcut strategy against buy-and-hold IWM. "
                                            "Other commands: `sweep --spec FILE`, `data status|fetch`, `report RUN_DIR`.")
    p.add_argument("--config", type=Path, help="TOML file of parameters (see config/default.toml)")
    p.add_argument("--start", help="first day, YYYY-MM-DD (default: IWM's first day)")
    p.add_argument("--end", help="last day, YYYY-MM-DD (default: the last day every series covers)")
    p.add_argument("--extended", action="store_true", help="from 1995, IWM proxied by the Russell 2000 index")
    p.add_argument("--oracle", action="store_true", help="use the actual cut calendar (future information; labelled)")
    p.add_argument("--strategy", choices=STRATEGY_NAMES,
                   help="the rules to run: fedcut (default) or a baseline (buy_and_hold, spy, sixty_forty, "
                        "static_mix, credit_rule, trend_200d, vix_rule); every run also runs the others")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override one parameter, e.g. --set hedge.moneyness=0.85 (repeatable)")
    p.add_argument("--data-dir", type=Path, help="folder of yfinance/FRED CSVs (default: $FEDCUT_DATA_DIR)")
    p.add_argument("--out", type=Path, help="write the run folder exactly here (must not exist; "
                                            "default results/run-<first day>-<last day>-<config hash>[-N])")
    p.add_argument("--offline", action="store_true", help="never download")
    return p


def _run(argv: list[str]) -> int:
    from fedcut import config, report_text
    from fedcut.data.sources import offline_from_env
    from fedcut.files import check_can_create_in, check_new_folder
    from fedcut.run import run, write_run
    args = _run_parser().parse_args(argv)
    offline = args.offline or offline_from_env()
    results = Path("results")
    if args.out is not None:  # where the run goes is checked before any work
        check_new_folder(args.out, "a run never overwrites another", label="--out")
    else:
        check_can_create_in(results, f"so no run folder can be written in {results}")
    extra = {k: v for k, v in (("run.start", args.start), ("run.end", args.end)) if v}
    if args.extended:
        extra["run.extended"] = True
    if args.oracle:
        extra["run.oracle"] = True
    if args.strategy:
        extra["run.strategy"] = args.strategy
    cfg = config.load(args.config, args.sets, extra)
    result = run(cfg, args.data_dir, offline)
    if args.out is not None:
        out = write_run(result, args.out)
    else:  # the default name, with -2, -3, ... when a run of the same configuration is there
        run_info = result.metrics["run"]
        out = write_run(result, results / f"run-{run_info['start']}-{run_info['end']}-{cfg.digest()}", unique=True)
    print(report_text.summary(result.metrics))
    print(f"\nrun folder: {out}")
    return 0


def _source(args):
    from fedcut.data.sources import DataSource, default_data_dir, offline_from_env
    return DataSource(data_dir=args.data_dir or default_data_dir(),
                      offline=args.offline or offline_from_env())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["report"]:
            from fedcut.analyzers.report import render
            args = _report_parser().parse_args(argv[1:])
            print(render(args.run_dir, _source(args)))
            return 0
        if argv[:1] == ["sweep"]:
            return _sweep(argv[1:])
        if argv[:1] == ["data"]:
            from fedcut import datacli
            args = _data_parser().parse_intermixed_args(argv[1:])
            source = _source(args)
            if args.action == "status":
                return datacli.status(source)
            return datacli.fetch_all(source, args.series)
        return _run(argv)
    except FedcutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {f'{exc.filename}: ' if exc.filename else ''}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
