"""A run's folder: every file of a `RunResult`, written atomically."""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from pathlib import Path

import pandas as pd

from fedcut.report.page import render as render_report
from fedcut.data.catalog import BACKFILLED_LABEL
from fedcut.core.config import to_toml
from fedcut.core.errors import FedcutError
from fedcut.core.files import check_new_folder, free_name, remove_stale_temporaries, writing
from fedcut.plots.kit import png_bytes, regimes_figure
from fedcut.signals.regime import ORACLE_LABEL
from fedcut.run.backtest import RunResult
from fedcut.run.inputs import source_for


log = logging.getLogger(__name__)


def write_run(result: RunResult, out: Path, unique: bool = False) -> Path:
    """Write the run folder atomically: into a temporary sibling, renamed when complete; returns
    its path. With `unique`, a taken `out` becomes the first free `out-2`, `out-3`, ... (default
    names never collide); otherwise an existing `out` is refused. A failure names the file in the
    folder's real location and leaves nothing behind."""
    out = Path(out)
    if not unique:
        check_new_folder(out, "a run never overwrites another")
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out.parent)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _write_files(result, tmp)
        while True:
            final = free_name(out) if unique else out
            try:
                os.rename(tmp, final)  # fails onto a folder with files in it: nothing is overwritten
                log.debug("wrote %s", final)
                return final
            except OSError as exc:
                if not (unique and exc.errno in (errno.EEXIST, errno.ENOTEMPTY)):  # else another run took the name
                    raise
    except OSError as exc:  # the temporary folder's name is ours: messages name the real place
        shutil.rmtree(tmp, ignore_errors=True)
        message = f"{exc.filename or out}: cannot write ({exc.strerror or exc})"
        raise FedcutError(message.replace(str(tmp), str(out))) from None
    except FedcutError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise type(exc)(str(exc).replace(str(tmp), str(out))) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_files(result: RunResult, folder: Path) -> None:
    """Every file of a run folder, each write failure naming its file."""
    with writing(folder / "config.toml"):
        (folder / "config.toml").write_text(to_toml(result.config, header=_header(result)))
    with writing(folder / "metrics.json"):
        (folder / "metrics.json").write_text(json.dumps(result.metrics, indent=2, sort_keys=True, allow_nan=False) + "\n")
    eq = result.equity.reset_index()
    eq["date"] = eq["date"].dt.strftime("%Y-%m-%d")
    with writing(folder / "equity.csv"):
        eq.to_csv(folder / "equity.csv", index=False, float_format="%.10g")
    tr = result.trades.copy()
    tr["date"] = tr["date"].dt.strftime("%Y-%m-%d")
    with writing(folder / "trades.csv"):
        tr.to_csv(folder / "trades.csv", index=False, float_format="%.10g")
    with writing(folder / "episodes.csv"):
        result.episodes.to_csv(folder / "episodes.csv", index=False, float_format="%.10g")
    if result.baselines is not None:
        with writing(folder / "baselines.csv"):
            result.baselines.to_csv(folder / "baselines.csv", index=False, float_format="%.10g")
    rate = result.prepared.broker_inputs["cash_rate"].rename("cash_rate")  # the Sharpe ratios' risk-free rate
    rate.index = rate.index.strftime("%Y-%m-%d")  # as text first: with date_format, to_csv takes 3 times as long
    with writing(folder / "cash_rate.csv"):
        rate.to_csv(folder / "cash_rate.csv", float_format="%.10g", index_label="date")
    _signals_csv(result.signals, folder / "signals.csv")
    with writing(folder / "plots"):
        (folder / "plots").mkdir()
    m = result.prepared.market
    picture = regimes_figure(result.signals, m.close["IWM"], [d for d in result.prepared.first_cuts if d >= m.days[0]],
                             title_suffix=" (oracle)" if result.config.run.oracle else "")
    with writing(folder / "plots" / "regimes.png"):
        (folder / "plots" / "regimes.png").write_bytes(png_bytes(picture))
    render_report(folder, source_for(result.data_dir, result.offline))


def _signals_csv(sig: pd.DataFrame, path: Path) -> None:
    table = sig.copy()
    table.index = table.index.strftime("%Y-%m-%d")
    table.index.name = "date"
    with writing(path):
        table.to_csv(path, float_format="%.10g", date_format="%Y-%m-%d")


def _header(result: RunResult) -> str:
    lines = [f"fedcut run configuration (hash {result.config.digest()}): reproduce with",
             "fedcut run --config config.toml"]
    if result.config.data.allow_backfilled_indices:
        lines.insert(0, BACKFILLED_LABEL)
    if result.config.run.oracle:
        lines.insert(0, ORACLE_LABEL)
    return "\n".join(lines)
