"""A run's folder: every file of a `RunResult` (`fedcut.report.schema`) and its report, written atomically."""
from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from fedcut.core.config import to_toml
from fedcut.core.files import check_new_folder, free_name, temporary_folder, unmark, writing
from fedcut.data.catalog import BACKFILLED_LABEL
from fedcut.report import schema
from fedcut.report.findings import report_inputs
from fedcut.report.page import render as render_report
from fedcut.run.backtest import RunResult
from fedcut.run.inputs import source_for
from fedcut.signals.regime import ORACLE_LABEL


log = logging.getLogger(__name__)


def write_run(result: RunResult, out: Path, unique: bool = False) -> Path:
    """Write the run folder atomically: into a temporary sibling, renamed when complete; returns
    its path. With `unique`, a taken `out` becomes the first free `out-2`, `out-3`, ... (default
    names never collide); otherwise an existing `out` is refused. A failure names the file in the
    folder's real location and leaves nothing behind."""
    out = Path(out)
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


def _write_files(result: RunResult, folder: Path) -> None:
    """Every file of a run folder: the run's (`schema.write`), then its report, rendered from the same
    data in memory."""
    data = run_data(result)
    schema.write(folder, data)
    render_report(folder, data, source_for(result.data_dir, result.offline))  # reads only the folder's inputs


def run_data(result: RunResult) -> schema.RunData:
    """The run's files in memory, as its folder holds them, with the report's inputs from the data directory."""
    iwm, usrec = report_inputs(source_for(result.data_dir, result.offline))
    return schema.stored(to_toml(result.config, header=_header(result)), result.metrics, result.equity,
                         result.trades, result.episodes, result.signals,
                         result.prepared.broker_inputs["cash_rate"], result.baselines, iwm, usrec)


def _header(result: RunResult) -> str:
    lines = [f"fedcut run configuration (hash {result.config.digest()}): reproduce with",
             "fedcut run --config config.toml"]
    if result.config.data.allow_backfilled_indices:
        lines.insert(0, BACKFILLED_LABEL)
    if result.config.run.oracle:
        lines.insert(0, ORACLE_LABEL)
    return "\n".join(lines)
