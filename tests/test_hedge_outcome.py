"""What the puts bought (metrics.json `hedge.by_vix`, `hedge.drawdowns`), recomputed from the run folder's
trades.csv, equity.csv and signals.csv by other code than `analyzers.hedge_outcome`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fedcut.analyzers.hedge_outcome import put_lots, vix_bucket
from fedcut.core.errors import DataError
from fedcut.core.params import resolve
from fedcut.report.console import summary
from fedcut.report.hedge import outcome_tables
from fedcut.run.backtest import run
from fedcut.run.folder import write_run

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

EDGES = [15, 20, 25, 30, 40]
NAMES = ["<15", "15-20", "20-25", "25-30", "30-40", ">=40"]


@pytest.fixture(scope="module")
def folder(shared_data, tmp_path_factory):
    result = run(resolve(), str(shared_data), True)
    out = tmp_path_factory.mktemp("hedge") / "run"
    write_run(result, out)
    return out, result


def _files(out):
    trades = pd.read_csv(out / "trades.csv", parse_dates=["date"])
    equity = pd.read_csv(out / "equity.csv", parse_dates=["date"], index_col="date")
    vix = pd.read_csv(out / "signals.csv", parse_dates=["date"], index_col="date", usecols=["date", "vix"])["vix"]
    return trades, equity, vix, json.loads((out / "metrics.json").read_text())


def test_premium_by_vix_at_purchase(folder):
    trades, equity, vix, m = _files(folder[0])
    options = trades[trades["strike"].notna()].reset_index(drop=True)
    cash = -options["value"] - options["commission"]  # what each option row did to cash
    bought = options["action"].isin(["buy", "roll_buy"]).to_numpy()
    # one lot at a time: each purchase is closed by the next option row that is not a purchase
    returned = np.full(len(options), np.nan)
    open_at = None
    for i in range(len(options)):
        if bought[i]:
            assert open_at is None
            open_at = i
        else:
            returned[open_at], open_at = cash[i], None
    if open_at is not None:
        returned[open_at] = equity["option_value"].iloc[-1]
    buys = options[bought].assign(returned=returned[bought])
    buckets = np.digitize(vix.loc[buys["date"]].to_numpy(), EDGES, right=False)
    got = {b["vix"]: b for b in m["hedge"]["by_vix"]}
    assert list(got) == NAMES
    assert sum(b["premium_usd"] for b in got.values()) == pytest.approx(m["hedge"]["premium_paid"], rel=1e-9)
    for k, name in enumerate(NAMES):
        mine = buys[buckets == k]
        assert got[name]["purchases"] == len(mine)
        assert got[name]["premium_usd"] == pytest.approx(
            -cash[mine.index].sum(), abs=1e-3
        )  # cents: the CSV holds 10 digits
        assert got[name]["returned_usd"] == pytest.approx(
            mine["returned"].sum(), abs=1e-3
        )  # cents: the CSV holds 10 digits
    assert sum(b["purchases"] for b in got.values()) == bought.sum() > 10
    assert got["<15"]["purchases"] > 0 and got["30-40"]["purchases"] > 0  # the buckets are not all in one


def test_puts_pnl_in_each_deep_drawdown(folder):
    trades, equity, _, m = _files(folder[0])
    value = equity["strategy"]
    options = trades[trades["strike"].notna()]
    flows = (-options["value"] - options["commission"]).groupby(options["date"]).sum()
    pnl = equity["option_value"] + flows.reindex(equity.index, fill_value=0.0).cumsum()
    high = value.cummax()
    spell = (value >= high).cumsum()  # a new spell starts at each day at the high
    expected = []
    for _, days in value.groupby(spell):
        depth = (days / days.iloc[0] - 1).min()
        if depth <= -0.10:
            trough = (days / days.iloc[0]).idxmin()
            expected.append(
                (
                    days.index[0],
                    trough,
                    depth,
                    pnl[trough] - pnl[days.index[0]],
                    (equity["option_value"].loc[days.index[0] : trough] > 0).mean(),
                )
            )
    got = m["hedge"]["drawdowns"]
    assert len(got) == len(expected) > 5
    for g, (peak, trough, depth, gained, held) in zip(got, expected):
        assert (g["peak"], g["trough"]) == (str(peak.date()), str(trough.date()))
        assert g["depth"] == pytest.approx(depth, rel=1e-7)  # the CSV holds 10 digits
        assert g["puts_pnl_usd"] == pytest.approx(gained, abs=1e-3)
        assert g["puts_pnl_of_peak"] == pytest.approx(gained / value[peak], abs=1e-9)
        assert g["days_with_puts"] == pytest.approx(held)
    deepest = min(got, key=lambda d: d["depth"])
    assert deepest["depth"] == pytest.approx(m["strategy"]["max_drawdown"], rel=1e-7)


def test_console_shows_the_block(folder):
    result = folder[1]
    text = summary(result.metrics, result.episodes)
    assert "VIX at purchase" in text and "premium paid" in text
    n = len(result.metrics["hedge"]["drawdowns"])
    assert f"drawdowns of the strategy deeper than 10%: {n}," in text
    html = outcome_tables(result.metrics)
    assert html.count("<tr>") == 2 + len(NAMES) + n  # two header rows, a row per bucket and per drawdown


def test_bucket_edges():
    assert [vix_bucket(v) for v in (9.0, 14.999, 15.0, 19.99, 20.0, 39.99, 40.0, 80.0)] == [
        "<15",
        "<15",
        "15-20",
        "15-20",
        "20-25",
        "30-40",
        ">=40",
        ">=40",
    ]


def test_a_sale_of_puts_never_bought_is_one_line():
    trades = pd.DataFrame(
        [
            dict(
                date="2008-01-02",
                instrument="IWM P 2008-03-21 K=60.0",
                action="sell",
                quantity=-3,
                value=-300.0,
                commission=1.95,
                strike=60.0,
            )
        ]
    )
    with pytest.raises(DataError, match="closes puts that were never bought"):
        put_lots(trades, 0.0)
