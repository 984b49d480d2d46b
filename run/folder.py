"""A run's folder: every file of a `RunResult` (`fedcut.report.schema`) and its report, written atomically."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from fedcut.core.config import to_toml
from fedcut.core.errors import FedcutError
from fedcut.core.files import check_new_folder, free_name, replacing, temporary_folder, unmark, writing
from fedcut.data.catalog import BACKFILLED_LABEL
from fedcut.report import schema
from fedcut.report.findings import report_inputs
from fedcut.report.page import render as render_report
from fedcut.report.schema import CONFIG, METRICS
from fedcut.run.backtest import RunResult
from fedcut.run.inputs import source_for
from fedcut.signals.regime import ORACLE_LABEL

log = logging.getLogger(__name__)


HEADER = "fedcut run configuration (hash {digest}): reproduce with"  # config.toml's; marks a folder as a run's


def write_run(result: RunResult, out: Path, unique: bool = False, replace: bool = False) -> Path:
    """Write the run folder atomically: into a temporary sibling, renamed when complete; returns
    its path. With `unique`, a taken `out` becomes the first free `out-2`, `out-3`, ... (default
    names never collide); with `replace`, a taken `out` that is a run folder fedcut wrote
    (`is_run_folder`) is replaced by the new one, anything else there is refused; otherwise an
    existing `out` is refused. A failure names the file in the folder's real location and leaves
    nothing behind (a replaced folder stays as it was)."""
    out = Path(out)
    if replace and (out.exists() or out.is_symlink()):
        if not is_run_folder(out):
            raise FedcutError(
                f"{out}: not a run folder fedcut wrote (no config.toml with its header, or no "
                "metrics.json); overwrite replaces only those"
            )
        return replacing(out, lambda fresh: write_run(result, fresh))
    if not unique:
        check_new_folder(out, "a run never overwrites another")
    with writing(out.parent):
        out.parent.mkdir(parents=True, exist_ok=True)
    with temporary_folder(out.parent, f"{out.name}.partial", out) as tmp:
        _write_files(result, tmp)
        unmark(tmp)
        while True:
            final = free_name(out) if unique else out
            try:
                os.rename(tmp, final)  # fails onto a folder with files in it: nothing is overwritten
                log.debug("wrote %s", final)
                return final
            except OSError as exc:
                if not (unique and exc.errno in (errno.EEXIST, errno.ENOTEMPTY)):  # else another run took the name
                    raise


def is_run_folder(folder: Path) -> bool:
    """Whether `folder` is a real folder (not a link) holding a run's metrics.json and a config.toml
    that opens with the header fedcut writes (`_header`): what `replace` may overwrite."""
    folder = Path(folder)
    config = folder / CONFIG
    if folder.is_symlink() or not folder.is_dir() or config.is_symlink() or not (folder / METRICS).is_file():
        return False
    try:
        with open(config, encoding="utf-8") as handle:
            head = [handle.readline() for _ in range(4)]
    except (OSError, UnicodeDecodeError):
        return False
    prefix = "# " + HEADER.split("{")[0]
    return any(line.startswith(prefix) for line in head)


def _write_files(result: RunResult, folder: Path) -> None:
    """Every file of a run folder: the run's (`schema.write`), then its report, rendered from the same
    data in memory."""
    data = run_data(result)
    schema.write(folder, data)
    render_report(folder, data, source_for(result.data_dir, result.offline))  # reads only the folder's inputs


def run_data(result: RunResult, with_inputs: bool = True) -> schema.RunData:
    """The run's files in memory, as its folder holds them, with the report's inputs from the data
    directory (`with_inputs`; without, for what needs only the run, such as a notebook's table)."""
    iwm, usrec = report_inputs(source_for(result.data_dir, result.offline)) if with_inputs else (None, None)
    return schema.stored(
        to_toml(result.config, header=_header(result)),
        result.metrics,
        result.equity,
        result.trades,
        result.episodes,
        result.signals,
        result.prepared.broker_inputs["cash_rate"],
        result.baselines,
        iwm,
        usrec,
    )


def _header(result: RunResult) -> str:
    lines = [HEADER.format(digest=result.config.digest()), "fedcut run --config config.toml"]
    if result.config.data.allow_backfilled_indices:
        lines.insert(0, BACKFILLED_LABEL)
    if result.config.run.oracle:
        lines.insert(0, ORACLE_LABEL)
    return "\n".join(lines)
