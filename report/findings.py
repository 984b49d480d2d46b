"""What the run report shows besides its pictures: computed from the run's files, IWM's prices and USREC.

IWM's prices and USREC come from the run folder (`iwm.csv`, `usrec.csv`) when it holds them, so a folder
re-renders without the data directory; `report_inputs` reads them from the data directory when a run is
written (and for a folder of an earlier version, which lacks them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.analyzers import tearsheet
from fedcut.analyzers.attribution import WEIGHT_PREFIX, attribution
from fedcut.analyzers.claims import check_claims
from fedcut.analyzers.episodes import recession_label
from fedcut.core.errors import DataError
from fedcut.data.sources import DataSource
from fedcut.report.schema import CURVES, REPORT_TABLES, RunData


@dataclass(frozen=True)
class Findings:
    """What the page shows besides the pictures, computed from the run (and IWM and USREC)."""

    claims: pd.DataFrame
    attribution: pd.DataFrame
    statistics: pd.DataFrame  # tearsheet.csv: one row per statistic, a column per curve
    outcomes: dict[str, str]  # cycle -> what it turned out to be
    iwm_last: pd.Timestamp

    def tables(self) -> dict[str, pd.DataFrame]:
        """The report's CSV files (`schema.REPORT_TABLES`) by name."""
        total = pd.DataFrame(
            [
                {
                    "component": "total (final - initial value)",
                    "pnl_usd": self.attribution.attrs["total_pnl"],
                    "share_of_total": 1.0,
                    "includes": "final value - initial value; the lines above add up to it",
                }
            ]
        )
        return dict(
            zip(
                REPORT_TABLES,
                (self.claims, pd.concat([self.attribution, total], ignore_index=True), self.statistics.reset_index()),
            )
        )


def findings(data: RunData, source: DataSource, run_dir: Path) -> Findings:
    """The claims checked on IWM's prices, the P&L attribution, the tear sheet's statistics and each
    cycle's outcome, for the run `data` saved in `run_dir` (named by an error: its files disagree)."""
    iwm = data.iwm if data.iwm is not None else source.prices("IWM")
    claims = check_claims(iwm["adj_close"], iwm["close"])
    try:
        table = attribution(data.equity, data.trades, data.contract_size)
    except DataError as exc:  # the run's files contradict each other
        raise DataError(f"{run_dir}: {exc}") from None
    eq = data.equity
    curves = {k: eq[k] for k in CURVES if k in eq}
    held = (np.arange(len(eq)) >= 1).astype(float)  # buy-and-hold is bought at the second day's open
    exposure = {k: pd.Series(held, index=eq.index) for k in curves}
    exposure["strategy"] = eq.filter(regex=f"^{WEIGHT_PREFIX}").clip(lower=0.0).sum(axis=1)
    statistics = tearsheet.statistics_table(curves, eq["benchmark"], exposure, data.risk_free)
    return Findings(claims, table, statistics, _outcomes(data, source), iwm.index[-1])


def _outcomes(data: RunData, source: DataSource) -> dict[str, str]:
    """Each cycle's recession label (USREC) and the regime the rules called most in its window."""
    usrec, unknown = data.usrec, ""
    if usrec is None:
        try:
            usrec = source.macro("USREC")
        except DataError as exc:
            unknown = f"recession dates unknown ({exc})"
    out = {}
    for ep in data.episodes.itertuples():
        recession = (
            recession_label(usrec, pd.Timestamp(ep.window_start), pd.Timestamp(ep.window_end))
            if usrec is not None
            else unknown
        )
        mix = str(getattr(ep, "regime_mix", "") or "")
        called = f"; rules called mostly {mix.split(', ')[0]}" if mix and mix != "nan" else ""
        out[str(ep.cycle)] = recession + called
    return out


def report_inputs(source: DataSource) -> tuple[pd.DataFrame, pd.Series | None]:
    """What the report reads besides the run, from the data directory: IWM's prices (required: the
    claims) and USREC (None when it cannot be read: the report then says the recession dates are unknown)."""
    iwm = source.prices("IWM")
    try:
        usrec = source.macro("USREC")
    except DataError:
        usrec = None
    return iwm, usrec
