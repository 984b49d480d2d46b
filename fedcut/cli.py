"""Command line: `fedcut [-q|-v] [COMMAND] [options]`, the same as `python run_backtest.py ...`.

Commands: `run` (the default when none is given), `sweep`, `report`, `data status|fetch`, `now`,
`calibrate`. Each
is a parser (`_<command>_parser`), a handler (`_<command>(argv) -> exit status`) and one line
in `COMMANDS`. Results go to stdout; notes and progress to stderr through `logging` (`-q`:
warnings only and no progress bars, `-v`: debug detail). A user mistake (bad file, bad
setting) ends with one line on stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from fedcut import __version__
from fedcut.core.errors import FedcutError
from fedcut.core.params import param
from fedcut.streams import (
    READER_GONE,
    log_to_stderr,
    point_output_at_devnull,
    progress_bars,
    reader_gone,
    tell_warnings,
)

HISTORY_NAMES = param("run.history").choices
HISTORY_HELP = (
    "the history to run: iwm (default: from IWM's first day, 2000-05-26), extended (from 1990, IWM "
    "proxied by the Russell 2000 index) or long (from 1954, small caps from Ken French's size portfolios "
    "and the Russell 2000 total-return index, each regime input's declared fallback before its series "
    "existed); before 2000 is history the rules were not designed on"
)

EXAMPLES = {
    "run": (
        "fedcut",
        "fedcut run --start 2007-01-01 --end 2012-12-31 --set hedge.moneyness=0.85",
        "fedcut run --history long",
        "fedcut run --config my.toml --out results/my-run --oracle",
        "fedcut run --strategy examples.user_rules:credit_rule --baseline examples.user_rules:sell_in_may",
    ),
    "sweep": ("fedcut sweep --spec examples/sweep.toml --workers 2",),
    "report": ("fedcut report results/run-2000-05-26-2025-09-26-0123456789ab",),
    "data": ("fedcut data status", "fedcut -q data fetch IWM VIX"),
    "now": (
        "fedcut now",
        "fedcut now --as-of 2020-03-16 --json",
        "fedcut now --history long --as-of 1974-09-13",
        "fedcut now --fetch",
    ),
    "calibrate": (
        "fedcut calibrate",
        "fedcut calibrate --out results/my-calibration",
        "fedcut calibrate --check other_spy_puts.csv --json",
    ),
}


def _prog(command: str = "") -> str:
    """What the user typed: `fedcut <command>`, or `run_backtest.py <command>` from a checkout."""
    script = "run_backtest.py" if Path(sys.argv[0]).name == "run_backtest.py" else "fedcut"
    return f"{script} {command}".rstrip()


def _examples(command: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[command])


def _data_options(p: argparse.ArgumentParser) -> None:
    """`--data-dir` and `--offline`, the same in every command that reads data."""
    p.add_argument("--data-dir", type=Path, help="folder of yfinance/FRED CSVs (default: $FEDCUT_DATA_DIR)")
    p.add_argument("--offline", action="store_true", help="never download")


def _engine_option(p: argparse.ArgumentParser, text: str) -> None:
    """`--engine` of `run` and `sweep`: one of the names of `execution.engines.ENGINES`."""
    from fedcut.execution.engines import ARRAY, ENGINES

    p.add_argument("--engine", choices=tuple(ENGINES), default=ARRAY.name, help=text)


def _engine(args: argparse.Namespace):
    """The engine `--engine` names."""
    from fedcut.execution.engines import engine_named

    return engine_named(args.engine, "--engine")


def _set_option(p: argparse.ArgumentParser, example: str = "") -> None:
    """`--set KEY=VALUE`, repeatable, in every command that reads a configuration."""
    example = f", e.g. --set {example}" if example else ""
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override one parameter{example} (repeatable)",
    )


def _history_options(p: argparse.ArgumentParser) -> None:
    """`--history` and `--extended` (the same as `--history extended`), in `run` and `now`."""
    p.add_argument("--history", choices=HISTORY_NAMES, help=HISTORY_HELP)
    p.add_argument("--extended", action="store_true", help="the same as --history extended")


def _history(args) -> dict:
    """The `run.history` the options ask for ({} when neither is given)."""
    from fedcut.core.errors import ConfigError

    if args.extended and args.history not in (None, "extended"):
        raise ConfigError(f"--extended and --history {args.history}: choose one history")
    history = "extended" if args.extended else args.history
    return {"run.history": history} if history else {}


def _data_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog("data"),
        description="Inspect or refresh the data.",
        epilog=_examples("data"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=("status", "fetch"))
    p.add_argument("series", nargs="*", help="with fetch: only these tickers / FRED ids")
    _data_options(p)
    return p


def _report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog("report"),
        description="Re-render report.html, plots, claims and attribution of a saved run.",
        epilog=_examples("report"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", type=Path)
    _data_options(p)
    return p


def _sweep_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog("sweep"),
        description="Run every configuration of a sweep spec; rank in-sample,\n"
        "report out-of-sample beside it (see examples/sweep.toml).",
        epilog=_examples("sweep"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--spec", type=Path, required=True, help="sweep spec TOML")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1: in this process; at most the CPU count unless --force-workers)",
    )
    p.add_argument("--force-workers", action="store_true", help="allow --workers above the CPU count")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out, skipping stored configurations")
    p.add_argument("--out", type=Path, help="sweep folder (default results/sweep-<name>-<spec digest>)")
    p.add_argument("--train-end", help="last in-sample day, YYYY-MM-DD (overrides the spec's validation.train_end)")
    p.add_argument("--top", type=int, help="full runs with report of the best N configurations (overrides the spec)")
    p.add_argument("--executor", default="local", help="local (processes here) or dask")
    p.add_argument("--scheduler", help="with --executor dask: the scheduler address, e.g. tcp://host:8786")
    from fedcut.sweeps.runner import WORKER_WAIT

    p.add_argument(
        "--worker-wait",
        type=float,
        default=WORKER_WAIT,
        metavar="SECONDS",
        help="with --executor dask: stop (keeping what is stored) when the scheduler has had no worker "
        "and nothing finished for this long (default %(default)g)",
    )
    _data_options(p)
    _engine_option(
        p,
        "fast (default): the compiled array engine, audited in backtrader; backtrader: every "
        "configuration in the reference engine (no audit needed)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _sweep(argv: list[str]) -> int:
    from fedcut.sweeps.runner import default_folder, run_sweep
    from fedcut.sweeps.spec import load_spec

    args = _sweep_parser().parse_args(argv)
    spec = load_spec(args.spec, train_end=args.train_end, top=args.top)
    out = args.out or default_folder(spec)
    try:
        run_sweep(
            spec,
            out,
            workers=args.workers,
            resume=args.resume,
            executor=args.executor,
            scheduler=args.scheduler,
            data_dir=args.data_dir,
            offline=True if args.offline else None,
            progress=not args.no_progress and progress_bars(),
            force_workers=args.force_workers,
            engine=_engine(args),
            worker_wait=args.worker_wait,
        )
    except KeyboardInterrupt as exc:
        if not getattr(exc, "reported", False):  # else the runner said what is stored and how to resume
            print("interrupted", file=sys.stderr)
        return 130
    import pandas as pd

    from fedcut.report.sweep_facts import overfitting_facts, top_table, top_table_columns
    from fedcut.sweeps.report import read_overfitting
    from fedcut.sweeps.selection import yardstick

    summary = pd.read_csv(Path(out) / "summary.csv", usecols=top_table_columns(list(spec.swept)))
    print("\n".join(top_table(summary, list(spec.swept), spec.objective)))
    overfit = read_overfitting(out)
    for label, text in overfitting_facts(overfit, yardstick(spec, overfit.get("selection"))) if overfit else ():
        print(f"{label}: {text}")
    print(f"sweep folder: {out} (summary.csv, overfitting.json, sweep.html)")
    return 0


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog("run"),
        description="Backtest the fedcut strategy against buy-and-hold IWM and SPY and write\n"
        "a run folder. `run` is the default command: `fedcut --start ...` is\n"
        "`fedcut run --start ...`.",
        epilog=_examples("run"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, help="TOML file of parameters (see config/default.toml)")
    p.add_argument("--start", help="first day, YYYY-MM-DD (default: IWM's first day)")
    p.add_argument("--end", help="last day, YYYY-MM-DD (default: the last day every series covers)")
    _history_options(p)
    p.add_argument("--oracle", action="store_true", help="use the actual cut calendar (future information; labelled)")
    p.add_argument(
        "--strategy",
        metavar="NAME",
        help="the rules to run: fedcut (default), a baseline (buy_and_hold, spy, sixty_forty, "
        "static_mix, credit_rule, trend_200d, vix_rule) or your own, package.module:function "
        "(docs: own rules); every run also runs the others",
    )
    p.add_argument(
        "--baseline",
        dest="baselines",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="add your own baseline (package.module:function) to the comparison and the verdict (repeatable)",
    )
    _set_option(p, "hedge.moneyness=0.85")
    p.add_argument(
        "--out",
        type=Path,
        help="write the run folder exactly here (must not exist; "
        "default results/run-<first day>-<last day>-<config hash>[-N])",
    )
    _data_options(p)
    _engine_option(
        p,
        "fast (default): the compiled array engine; backtrader: the reference engine, the same "
        "numbers (tests/test_engine.py), several times slower",
    )
    return p


def _run(argv: list[str]) -> int:
    from fedcut.core import config
    from fedcut.core.files import check_can_create_in, check_new_folder
    from fedcut.data.sources import offline_from_env
    from fedcut.report import console
    from fedcut.run.backtest import run
    from fedcut.run.folder import write_run

    args = _run_parser().parse_args(argv)
    offline = args.offline or offline_from_env()
    results = Path("results")
    if args.out is not None:  # where the run goes is checked before any work
        check_new_folder(args.out, "a run never overwrites another", label="--out")
    else:
        check_can_create_in(results, f"so no run folder can be written in {results}")
    extra = {k: v for k, v in (("run.start", args.start), ("run.end", args.end)) if v} | _history(args)
    if args.oracle:
        extra["run.oracle"] = True
    if args.strategy:
        extra["run.strategy"] = args.strategy
    if args.baselines:
        extra["user.baselines"] = tuple(args.baselines)
    cfg = config.load(args.config, args.sets, extra)
    result = run(cfg, args.data_dir, offline, engine=_engine(args))
    if args.out is not None:
        out = write_run(result, args.out)
    else:  # the default name, with -2, -3, ... when a run of the same configuration is there
        run_info = result.metrics["run"]
        out = write_run(result, results / f"run-{run_info['start']}-{run_info['end']}-{cfg.digest()}", unique=True)
    print(console.summary(result.metrics, result.episodes, config.changed_parameters(cfg.flat())))
    print(f"\nrun folder: {out}")
    return 0


def _now_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog("now"),
        description="Today's call: the regime the rules give on the last trading day the data\n"
        "covers (or --as-of), the action, target weights and puts, the reason, each\n"
        "indicator against its threshold, and the age of every input.",
        epilog=_examples("now"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--as-of", help="the call of this day, YYYY-MM-DD, from data published by then (default: the data's last day)"
    )
    p.add_argument("--json", action="store_true", help="write the call as JSON")
    p.add_argument("--fetch", action="store_true", help="refresh the download cache first (online)")
    _history_options(p)
    p.add_argument("--config", type=Path, help="TOML file of parameters (as for run; run.end is ignored)")
    _set_option(p)
    _data_options(p)
    return p


def _now(argv: list[str]) -> int:
    from fedcut import now_text
    from fedcut.core import config
    from fedcut.core.errors import ConfigError
    from fedcut.data.sources import DataSource, default_data_dir, offline_from_env
    from fedcut.now import shadowed, todays_call

    args = _now_parser().parse_args(argv)
    offline = args.offline or offline_from_env()
    data_dir = args.data_dir or default_data_dir()
    log = logging.getLogger("fedcut.now")
    if args.fetch and not offline:
        held = shadowed(data_dir) if data_dir is not None else []
        if held:
            raise ConfigError(
                f"--fetch: the data directory {data_dir} (--data-dir or FEDCUT_DATA_DIR) holds {len(held)} "
                f"of the series ({', '.join(held[:3])}, ...) and is read before the download cache, so "
                "their refresh would not be used: unset it, or keep only calendar/FOMC.csv there"
            )
        from fedcut import datacli

        if datacli.fetch_all(DataSource(data_dir=data_dir, offline=False), None, out=log.info):
            log.warning("some series could not be refreshed (above); the call uses what the cache holds")
    cfg = config.load(args.config, args.sets, _history(args) or None)
    call = todays_call(cfg, args.as_of, data_dir, offline)
    if args.fetch and offline:
        stale = [s.series for s in call.inputs if s.stale]
        log.warning(
            "offline (--offline or FEDCUT_OFFLINE): nothing was refreshed; "
            + (
                f"stale: {', '.join(stale)}; `fedcut data fetch` online would refresh them"
                if stale
                else "no input is stale"
            )
        )
    if args.json:
        for warning in call.warnings:
            log.warning(warning)
    print(now_text.to_json(call) if args.json else now_text.render(call))
    return 0


def _calibrate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog("calibrate"),
        description="Fit the SPY put surface (at-the-money level against VIX, skew by moneyness\n"
        "and days to expiry, half-spread) on the quotes before --split\n"
        "and print its errors on the later quotes; write calibration.json, .txt and\n"
        "a picture. --check FILE prices another SPY quotes file with the surface the\n"
        "defaults hold, fitting nothing.",
        epilog=_examples("calibrate"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "quotes",
        nargs="?",
        type=Path,
        help="quotes file (default: options/SPY_puts_2010_2019.csv in the data directory)",
    )
    p.add_argument("--check", type=Path, metavar="FILE", help="price FILE with the defaults' SPY surface; fit nothing")
    p.add_argument("--json", action="store_true", help="with --check: print one JSON object")
    p.add_argument("--config", type=Path, help="TOML file of parameters (as for run)")
    _set_option(p, "hedge.skew_slope=1.2")
    p.add_argument(
        "--split",
        default=None,
        metavar="DATE",
        help="fit on the quotes before DATE, judge on the rest (default 2016-01-01: six years to fit, four to judge)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="write the calibration folder exactly here (must not exist; default "
        "results/calibration-<split>-<hash of the file and split>[-N])",
    )
    _data_options(p)
    return p


def _calibrate(argv: list[str]) -> int:
    import json

    from fedcut import calibrate
    from fedcut.core import config
    from fedcut.core.errors import ConfigError
    from fedcut.core.files import check_can_create_in, check_new_folder
    from fedcut.report.calibration import calibration_text, check_text

    args = _calibrate_parser().parse_args(argv)
    if args.json and args.check is None:
        raise ConfigError("--json: only with --check FILE")
    if args.check is not None and (args.quotes is not None or args.out is not None):
        raise ConfigError("--check: prices FILE and writes nothing; give no other quotes file and no --out")
    from fedcut.core.params import iso_date
    from fedcut.hedging.calibration import SPLIT

    split = args.split or SPLIT
    iso_date(split, "--split")
    source = _source(args)
    cfg = config.load(args.config, args.sets, None)
    if args.check is not None:
        result = calibrate.check(args.check, source, cfg.hedge)
        print(json.dumps(result, indent=1, sort_keys=True) if args.json else check_text(result))
        return 0
    quotes = args.quotes or calibrate.default_quotes(source)
    if args.out is not None:
        check_new_folder(args.out, "a calibration never overwrites another", label="--out")
    else:
        check_can_create_in(Path("results"), "so no calibration folder can be written in results")
    result, priced = calibrate.calibrate(quotes, source, cfg.hedge, split)
    out = calibrate.write(result, priced, args.out or calibrate.default_out(quotes, split), args.out is None)
    print(calibration_text(result))
    print(f"\ncalibration folder: {out}")
    return 0


def _report(argv: list[str]) -> int:
    from fedcut.report.page import render
    from fedcut.report.schema import read

    args = _report_parser().parse_args(argv)
    print(render(args.run_dir, read(args.run_dir), _source(args)))
    return 0


def _data(argv: list[str]) -> int:
    from fedcut import datacli

    args = _data_parser().parse_intermixed_args(argv)
    source = _source(args)
    if args.action == "status":
        return datacli.status(source)
    return datacli.fetch_all(source, args.series)


def _source(args):
    from fedcut.data.sources import DataSource, default_data_dir, offline_from_env

    return DataSource(data_dir=args.data_dir or default_data_dir(), offline=args.offline or offline_from_env())


class Command(NamedTuple):
    handler: Callable[[list[str]], int]
    summary: str


DRAWING = ("run", "sweep", "report", "calibrate")  # the commands that draw pictures
COMMANDS = {
    "run": Command(_run, "backtest one configuration against buy-and-hold IWM and SPY (the default)"),
    "sweep": Command(_sweep, "run every configuration of a sweep spec, ranked in-sample, judged out-of-sample"),
    "report": Command(_report, "re-render the report, plots, claims and attribution of a saved run folder"),
    "data": Command(_data, "status: what each series covers and where it is read from; fetch: refresh the cache"),
    "now": Command(_now, "today's call: regime, action, weights and puts, what would change it, each input's age"),
    "calibrate": Command(_calibrate, "fit the put surface to real SPY quotes, out-of-sample errors; --check FILE"),
}


def _verbosity_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=_prog(), add_help=False, allow_abbrev=False)
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="only results and errors (and warnings): no notes, no progress bars"
    )
    group.add_argument("-v", "--verbose", action="store_true", help="debug detail on stderr: files read and written")
    return p


def _main_parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<8}{command.summary}" for name, command in COMMANDS.items())
    examples = "\n".join(f"  {line}" for lines in EXAMPLES.values() for line in lines)
    p = argparse.ArgumentParser(
        prog=_prog(),
        parents=[_verbosity_parser()],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [-h] [--version] [-q | -v] [COMMAND] [options]",
        description="Backtest a risk-aware small-cap (IWM) strategy around Fed rate-cut cycles.\n\n"
        f"commands (`%(prog)s COMMAND --help` lists each one's options):\n{commands}\n\n"
        "Without a command, `run` is meant: `%(prog)s --start 2019-01-01` is\n"
        "`%(prog)s run --start 2019-01-01`. -q and -v may come before or after the command.\n"
        "`fedcut` and `python run_backtest.py` (from a checkout) are the same command.",
        epilog=f"examples:\n{examples}",
    )
    p.add_argument("--version", action="version", version=f"fedcut {__version__}")
    return p


def _split(argv: list[str]) -> tuple[argparse.Namespace, str, list[str]]:
    """-q/-v (wherever they are), the command (`run` if none is named) and its arguments.
    A top-level --help or --version prints and exits."""
    verbosity, rest = _verbosity_parser().parse_known_args(argv)
    if rest[:1] in (["-h"], ["--help"], ["--version"]):
        _main_parser().parse_args(rest[:1])
    if rest[:1] and rest[0] in COMMANDS:
        return verbosity, rest[0], rest[1:]
    return verbosity, "run", rest


def entry() -> None:
    """The `fedcut` command and `run_backtest.py`: `main`, then the process ends. Every object
    still alive is frozen first, so the interpreter's shutdown skips the garbage collector's passes
    over them (about 0.4 s after a run, a seventh of it); files are closed and output flushed as usual.

    When the reader of the output has gone (`fedcut now | head -1`), the process ends quietly with
    `READER_GONE`, as `cat` or `seq` would, the output left pointing at /dev/null so that the
    interpreter's last flush has nowhere to fail."""
    try:
        code = main()
        sys.stdout.flush()  # here, not at shutdown, where a failure is printed as "Exception ignored"
    except BrokenPipeError:
        code = READER_GONE
    if code == READER_GONE:
        point_output_at_devnull()
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings(record=True) as caught:  # the filters stay the user's; only the showing is ours
        code, failed = _main(argv)
    tell_warnings(caught, failed)
    return code


def _main(argv: list[str]) -> tuple[int, bool]:
    """The command's exit status, and whether it ended in an error (then its one line is all there is to say)."""
    try:
        verbosity, command, args = _split(argv)
        log_to_stderr(verbosity.quiet, verbosity.verbose)
        if command in DRAWING:
            from fedcut.plots.backend import check_backend

            check_backend()
        return COMMANDS[command].handler(args), False
    except FedcutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2, True
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) and reader_gone():  # `| head -1` stopped reading: no one to tell
            return READER_GONE, True
        print(f"error: {f'{exc.filename}: ' if exc.filename else ''}{exc.strerror or exc}", file=sys.stderr)
        return 2, True
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130, True
