"""End to end on the real data: one default run (built once), its files, and the CLI.

Every check recomputes what the run reports from the inputs (price files, the market the run
was given, the pricing formulas) and compares; no number is copied from an earlier run.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcut.cli import main
from fedcut.core.errors import FedcutError
from fedcut.core.params import defaults
from fedcut.data.readers import read_price_csv
from fedcut.hedging.pricing import bsm_put
from fedcut.hedging.surface import implied_vol
from fedcut.run.backtest import run
from fedcut.run.folder import write_run
from fedcut.strategies.targets import target_weights

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

FILES = ("config.toml", "metrics.json", "equity.csv", "trades.csv", "signals.csv", "episodes.csv")
EQUITY_HEAD = ["date", "strategy", "benchmark", "regime", "cash", "option_value"]
TRADE_HEADER = [
    "date",
    "instrument",
    "action",
    "quantity",
    "price",
    "value",
    "commission",
    "strike",
    "expiry",
    "spot",
    "vol",
    "rate",
    "div_yield",
    "years_to_expiry",
    "model_price",
    "fill_price",
]
SHORT = ["--start", "2019-01-02", "--end", "2020-12-31"]
# ATM two-week puts that are never rolled: they expire, often in the money
EXPIRY_OVERRIDES = {"hedge.roll_days": 0, "hedge.tenor_days": 14, "hedge.moneyness": 1.0}


@pytest.fixture(scope="module")
def res(shared_data):
    return run(defaults(), data_dir=str(shared_data), offline=True)


@pytest.fixture(scope="module")
def written(res, tmp_path_factory):
    return write_run(res, tmp_path_factory.mktemp("runs") / "default")


@pytest.fixture(scope="module")
def expiring(shared_data):
    return run(defaults().with_overrides(EXPIRY_OVERRIDES), data_dir=str(shared_data), offline=True)


def etf_fills(res) -> pd.DataFrame:
    t = res.trades
    return t[t["strike"].isna() & t["action"].isin(["buy", "sell"])]


def option_trades(res) -> pd.DataFrame:
    return res.trades[res.trades["strike"].notna()]


def targets_of(res) -> pd.DataFrame:
    m, cfg = res.prepared.market, res.config
    available = m.close[list(res.prepared.tickers)].notna()
    return target_weights(res.signals, available, cfg.strategy, cfg.hedge)


def header(path) -> list[str]:
    return path.read_text().splitlines()[0].split(",")


def tr_open(frame: pd.DataFrame) -> pd.Series:
    """Total-return open of a Yahoo file: the open scaled by adj_close / close (adj_close if no open)."""
    if "open" not in frame:
        return frame["adj_close"]
    return frame["open"] * (frame["adj_close"] / frame["close"])


# --- 1. coverage, files and their contract ---------------------------------------------------------


def test_default_run_spans_iwm_history_and_writes_every_file(res, written):
    eq = res.equity
    assert eq.index[0] == pd.Timestamp("2000-05-26") and eq.index[-1] == pd.Timestamp("2025-09-26")
    assert eq.index.is_monotonic_increasing and eq.index.is_unique
    assert res.metrics["run"]["start"] == "2000-05-26" and res.metrics["run"]["end"] == "2025-09-26"
    for name in FILES:
        assert (written / name).is_file() and (written / name).stat().st_size > 0, name
    w_cols = [f"w_{t}" for t in res.prepared.tickers]
    head = header(written / "equity.csv")
    assert head[:6] == EQUITY_HEAD
    assert head[6 : 6 + len(w_cols)] == w_cols and res.prepared.tickers[0] == "IWM"
    assert header(written / "trades.csv") == TRADE_HEADER
    equity_csv = pd.read_csv(written / "equity.csv", parse_dates=["date"], index_col="date")
    assert len(equity_csv) == len(eq) and equity_csv.index.equals(eq.index)
    np.testing.assert_allclose(equity_csv["strategy"], eq["strategy"], rtol=1e-9)
    trades_csv = pd.read_csv(written / "trades.csv")
    assert len(trades_csv) == len(res.trades)
    assert set(trades_csv["action"]) <= {"buy", "sell", "roll_buy", "roll_sell", "expire", "rejected"}
    assert (written / "config.toml").read_text().count("[hedge]") == 1


def test_metrics_json_matches_independent_arithmetic(res, written):
    metrics = json.loads((written / "metrics.json").read_text())
    for side in ("strategy", "benchmark"):
        s = metrics[side]
        for key in ("cagr", "volatility", "sharpe", "max_drawdown", "final_value"):
            assert isinstance(s[key], float) and math.isfinite(s[key]), (side, key)
        curve = res.equity[side]
        assert s["final_value"] == pytest.approx(curve.iloc[-1], rel=1e-12)
        years = (curve.index[-1] - curve.index[0]).days / 365.25
        assert s["cagr"] == pytest.approx((curve.iloc[-1] / curve.iloc[0]) ** (1 / years) - 1, rel=1e-9)
        assert s["max_drawdown"] < 0
        assert s["max_drawdown"] == pytest.approx((curve / curve.cummax() - 1).min(), rel=1e-12)
        daily = curve.pct_change().dropna()
        assert s["volatility"] == pytest.approx(daily.std() * math.sqrt(252), rel=1e-9)
    assert metrics["strategy"]["final_value"] != metrics["benchmark"]["final_value"]


def test_episodes_cover_the_easing_cycles_in_the_data(res, written):
    cycles = set(res.episodes["cycle"].astype(str))
    assert {"2001", "2007", "2019"} <= cycles
    episodes = pd.read_csv(written / "episodes.csv", dtype={"cycle": str})
    assert {"2001", "2007", "2019"} <= set(episodes["cycle"])
    row = res.episodes.set_index(res.episodes["cycle"].astype(str)).loc["2007"]
    assert pd.Timestamp(row["first_cut"]) == pd.Timestamp("2007-09-18")  # the FOMC's first cut of that cycle


def test_episode_hedge_pnl_is_the_hedges_profit_over_the_window(res):
    """Marked value at the window's end, less the value before it, plus every option cash flow inside."""
    eq, opts = res.equity, option_trades(res)
    cash = -(opts["value"] + opts["commission"])  # a purchase pays value + commission; sales receive
    flows = cash.groupby(opts["date"]).sum()
    checked = 0
    for row in res.episodes.itertuples():
        start, end = pd.Timestamp(row.window_start), pd.Timestamp(row.window_end)
        before = eq["option_value"][eq.index < start]
        opening = before.iloc[-1] if len(before) else 0.0
        pnl = eq["option_value"][:end].iloc[-1] - opening + flows[start:end].sum()
        assert row.hedge_pnl == pytest.approx(pnl, rel=1e-9, abs=1e-6), row.cycle
        assert abs(row.hedge_pnl) < eq["strategy"][start:end].max()  # a hedge cannot lose more than the account
        checked += pnl != 0
    assert checked  # at least one window had option trades


# --- 2. accounting ---------------------------------------------------------------------------------


def test_weights_cash_and_options_add_up_to_the_strategy_value_every_day(res):
    eq = res.equity
    weights = eq[[f"w_{t}" for t in res.prepared.tickers]]
    rebuilt = weights.sum(axis=1) * eq["strategy"] + eq["cash"] + eq["option_value"]
    np.testing.assert_allclose(rebuilt, eq["strategy"], rtol=1e-6)
    assert eq[["strategy", "benchmark", "cash", "option_value", "spy"]].notna().all().all()
    assert (eq["option_value"] >= 0).all() and (weights >= -1e-12).all().all()
    assert eq["strategy"].iloc[0] == eq["benchmark"].iloc[0] == res.config.execution.initial_cash


# --- 3. timing: nothing fills on its signal bar ----------------------------------------------------


def test_every_etf_order_is_yesterdays_decision_sized_at_todays_open(res):
    """Replay the rebalance rule with the targets of D-1, D-1's closing value and D's open: the orders
    it gives on D are exactly the trades (fills and rejections) the run reports on D."""
    cfg, m, tickers = res.config, res.prepared.market, list(res.prepared.tickers)
    weights = targets_of(res)[[f"w_{t}" for t in tickers]].to_numpy()
    opens = m.open[tickers].bfill().to_numpy()
    value = res.equity["strategy"].to_numpy()
    band, buffer = cfg.execution.rebalance_band, cfg.execution.cash_buffer
    etf = res.trades[res.trades["strike"].isna()]
    by_day = {d: g for d, g in etf.groupby("date")}
    days = m.days
    assert days[0] not in by_day  # day 0 only decides; its decision can first trade on day 1
    size = dict.fromkeys(tickers, 0.0)
    n_orders = 0
    for k in range(1, len(days)):
        expected = {}
        for j, t in enumerate(tickers):
            price, target = opens[k, j], weights[k - 1, j]
            if not price > 0:
                continue
            current = size[t] * price / value[k - 1]
            if abs(current - target) <= band and not (target == 0 and size[t] != 0):
                continue
            delta = math.floor(target * (value[k - 1] * (1.0 - buffer)) / price) - size[t]
            if delta:
                expected[t] = delta
        day = by_day.get(days[k])
        actual = {} if day is None else {r.instrument: r.quantity for r in day.itertuples()}
        assert {t: abs(q) for t, q in actual.items()} == {t: abs(q) for t, q in expected.items()}, days[k].date()
        if day is not None:
            for r in day.itertuples():
                assert (r.action == "buy") == (expected[r.instrument] > 0) or r.action == "rejected"
                if r.action != "rejected":
                    assert r.quantity == expected[r.instrument]
                    size[r.instrument] += r.quantity
            n_orders += len(day)
    assert n_orders == len(etf) and n_orders > 100


def test_targets_that_change_are_traded_the_next_day_not_the_same_day(res):
    """Where a target jumps out of the band on day k, the instrument trades on day k+1 (or was already there)."""
    tickers = list(res.prepared.tickers)
    targets = targets_of(res)[[f"w_{t}" for t in tickers]]
    etf = res.trades[res.trades["strike"].isna()]  # fills and orders refused for cash alike
    traded = set(zip(etf["date"], etf["instrument"]))
    days = res.prepared.market.days
    jumps = targets.diff().abs() > 0.2  # a switch of regime, far beyond the band and any drift
    hits = 0
    for k, t in zip(*np.nonzero(jumps.to_numpy()[:-1])):
        if res.equity[f"w_{tickers[t]}"].iloc[k] == pytest.approx(targets.iloc[k, t], abs=0.05):
            continue  # already at the new target (e.g. a crash took the weight there)
        assert (days[k + 1], tickers[t]) in traded, (days[k].date(), tickers[t])
        hits += 1
    assert hits > 10


def test_option_trades_follow_the_previous_days_hedge_ratio(res, expiring):
    for result in (res, expiring):
        hedge = targets_of(result)["hedge_ratio"].to_numpy()
        days = result.prepared.market.days
        eq = result.equity
        opts = option_trades(result)
        assert len(opts) > 0
        for date, day in opts.groupby("date"):
            k = days.get_loc(date)
            actions = set(day["action"])
            assert k >= 1
            if actions & {"buy", "roll_buy", "roll_sell"}:
                assert hedge[k - 1] > 0, date
            if "sell" in actions and hedge[k - 1] > 0:
                assert "buy" in actions, date  # hedged both days: a sell is only a resize
        # puts are held only after a positive hedge ratio, and always then when IWM worth at least
        # two contracts is held (they are sized on the IWM actually held)
        held = eq["option_value"].to_numpy() > 0
        iwm = (eq["w_IWM"] * eq["strategy"]).to_numpy()
        enough = iwm > 2 * result.config.hedge.contract_size * result.prepared.market.spot.to_numpy() / np.maximum(
            hedge, 1e-9
        )
        assert not (held[1:] & ~(hedge[:-1] > 0)).any()
        assert held[1:][(hedge[:-1] > 0) & enough[1:]].all()


# --- 4. ETF fill prices and commissions --------------------------------------------------------


def test_etf_fills_at_the_total_return_open_plus_slippage_and_pay_commission(res):
    cfg, m = res.config, res.prepared.market
    slip, commission = cfg.execution.slippage_bps / 1e4, cfg.execution.commission_bps / 1e4
    fills = etf_fills(res)
    opens = m.open.bfill()
    for r in fills.itertuples():
        sign = 1.0 if r.action == "buy" else -1.0
        assert np.sign(r.quantity) == sign
        expected = opens.at[r.date, r.instrument] * (1 + sign * slip)
        assert r.price == pytest.approx(expected, rel=1e-9), (r.date.date(), r.instrument, r.action)
        assert r.value == pytest.approx(r.quantity * r.price, rel=1e-12)
        assert r.commission == pytest.approx(abs(r.value) * commission, rel=1e-9)


# --- 5. instruments only when they exist (or a proxy is declared) ------------------------------


def test_no_trade_before_an_instrument_exists_unless_a_proxy_stands_in(res, shared_data):
    m = res.prepared.market
    slip = res.config.execution.slippage_bps / 1e4
    fills = etf_fills(res)
    spans = {p.ticker: p for p in m.proxies}
    assert spans["VO"].proxy == "MDY" and spans["VO"].end == pd.Timestamp("2004-01-29")
    assert "IEF" not in spans
    ief = fills[fills["instrument"] == "IEF"]
    assert len(ief) and ief["date"].min() >= pd.Timestamp("2002-07-30")
    assert read_price_csv(shared_data / "prices" / "IEF.csv").index[0] == pd.Timestamp("2002-07-30")
    own_first = {t: read_price_csv(shared_data / "prices" / f"{t}.csv").index[0] for t in res.prepared.tickers}
    assert own_first["VO"] == pd.Timestamp("2004-01-30")
    proxied = 0
    for r in fills.itertuples():
        if r.date >= own_first[r.instrument]:
            continue
        span = spans.get(r.instrument)
        assert span is not None and span.start <= r.date <= span.end, (r.date.date(), r.instrument)
        px = read_price_csv(shared_data / "prices" / f"{span.proxy}.csv")  # before its first day: the proxy's prices
        sign = 1.0 if r.action == "buy" else -1.0
        assert r.price == pytest.approx(tr_open(px).loc[r.date] * (1 + sign * slip), rel=1e-9)
        proxied += 1
    vo_early = fills[(fills["instrument"] == "VO") & (fills["date"] < pd.Timestamp("2004-01-30"))]
    assert len(vo_early) and proxied >= len(vo_early)


# --- 6. buy-and-hold benchmark --------------------------------------------------------------------


def _benchmark_by_hand(res, shared_data):
    """Buy-and-hold IWM from the file: shares bought at day 2's open (+ costs), cash at interest."""
    ex = res.config.execution
    iwm = read_price_csv(shared_data / "prices" / "IWM.csv")
    days = res.equity.index
    close, opn = iwm["adj_close"].reindex(days), tr_open(iwm).reindex(days)
    rate = res.prepared.broker_inputs["cash_rate"].to_numpy()
    shares = math.floor(ex.initial_cash * (1 - ex.cash_buffer) / opn.iloc[1])
    fill = opn.iloc[1] * (1 + ex.slippage_bps / 1e4)
    cash = np.empty(len(days))
    cash[0] = ex.initial_cash
    for k in range(1, len(days)):
        c = cash[k - 1]
        if c > 0:
            c += c * math.expm1(rate[k - 1] * (days[k] - days[k - 1]).days / 365.0)
        if k == 1:
            c -= shares * fill * (1 + ex.commission_bps / 1e4)
        cash[k] = c
    held = np.where(np.arange(len(days)) >= 1, shares, 0) * close.to_numpy()
    return pd.Series(cash + held, index=days), cash, close


def test_benchmark_is_iwm_shares_bought_on_the_second_day_plus_cash_at_interest(res, shared_data):
    ex = res.config.execution
    by_hand, cash, close = _benchmark_by_hand(res, shared_data)
    np.testing.assert_allclose(res.equity["benchmark"].to_numpy(), by_hand.to_numpy(), rtol=1e-9)
    assert 0 < cash[1] < 2 * ex.cash_buffer * ex.initial_cash
    # the benchmark tracks IWM's total return: the same daily moves, diluted only by the small cash share
    r_bench = res.equity["benchmark"].pct_change().iloc[2:]
    r_iwm = close.pct_change().iloc[2:]
    assert np.corrcoef(r_bench, r_iwm)[0, 1] > 0.9999


def test_benchmark_drawdown_in_each_cycle_is_the_files_drawdown(res, shared_data):
    """Each cycle's buy-and-hold max drawdown, recomputed from the IWM file over the cycle's window;
    against the bare Adj Close it differs only by the 1% cash buffer's dilution."""
    by_hand, _, close = _benchmark_by_hand(res, shared_data)
    assert len(res.episodes) >= 4
    for e in res.episodes.itertuples():
        window = slice(e.window_start, e.window_end)
        piece, price = by_hand.loc[window], close.loc[window]
        assert e.benchmark_max_drawdown == pytest.approx((piece / piece.cummax() - 1).min(), rel=1e-9)
        assert e.benchmark_max_drawdown == pytest.approx((price / price.cummax() - 1).min(), abs=0.006)


# --- 7. option fills at the model price plus or minus the half-spread --------------------------------


def _check_option_rows(result):
    hedge, m = result.config.hedge, result.prepared.market
    inputs = result.prepared.broker_inputs
    opts = option_trades(result)
    for r in opts.itertuples():
        day = r.date
        expiry = dt.date.fromisoformat(r.expiry)
        assert r.spot == inputs.at[day, "spot"] == m.spot.at[day]
        assert r.rate == inputs.at[day, "rate"] and r.div_yield == inputs.at[day, "div_yield"]
        assert r.commission == pytest.approx(
            0.0 if r.action == "expire" else abs(r.quantity) * hedge.commission_per_contract
        )
        assert r.value == pytest.approx(r.quantity * r.fill_price * hedge.contract_size, rel=1e-12)
        assert r.price == r.fill_price
        if r.action == "expire":
            assert day >= pd.Timestamp(expiry) > m.days[m.days.get_loc(day) - 1]
            assert r.fill_price == max(r.strike - m.spot.at[day], 0.0)
            continue
        years = (expiry - day.date()).days / 365.0
        assert r.years_to_expiry == pytest.approx(years, rel=1e-12)
        vix = m.vix.at[day]
        known = (inputs.at[day, "skew"], inputs.at[day, "small_cap_vol_ratio"])
        assert r.vol == pytest.approx(
            implied_vol(vix, r.strike / r.spot, (expiry - day.date()).days, hedge, *known), rel=1e-12
        )
        model = bsm_put(r.spot, r.strike, r.years_to_expiry, r.rate, r.div_yield, r.vol)
        assert r.model_price == pytest.approx(model, rel=1e-12)
        unit = inputs.at[day, "option_unit"] if "option_unit" in inputs else 1.0
        hs = hedge.half_spread_dollars * unit + (hedge.half_spread_base + hedge.half_spread_per_vix * vix) * model
        buying = r.action in ("buy", "roll_buy")
        assert (r.quantity > 0) == buying
        assert r.fill_price == pytest.approx(model + hs if buying else max(model - hs, 0.0), rel=1e-12)
        if buying:  # a new series: the configured moneyness, and the listed expiry nearest the tenor
            assert r.strike == round(hedge.moneyness * r.spot / hedge.strike_tick) * hedge.strike_tick
            assert expiry == _listed_expiry_nearest(day.date(), hedge.tenor_days, hedge.roll_days, m.days)
    return opts


def _listed_expiry_nearest(day: dt.date, tenor: int, roll: int, trading_days: pd.DatetimeIndex) -> dt.date:
    """The third Friday (or the trading day before it, when the market was closed) nearest
    day + tenor among those more than `roll` days away; of two as near, the later."""
    want = day + dt.timedelta(days=tenor)
    options = []
    for month in pd.period_range(pd.Timestamp(day), pd.Timestamp(want) + pd.DateOffset(months=2), freq="M"):
        first = dt.date(month.year, month.month, 1)
        friday = first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)
        while pd.Timestamp(friday) <= trading_days[-1] and pd.Timestamp(friday) not in trading_days:
            friday -= dt.timedelta(days=1)
        if (friday - day).days > roll:
            options.append(friday)
    return min(options, key=lambda e: (abs((e - want).days), -e.toordinal()))


def test_option_fills_are_bsm_of_their_own_inputs_with_the_vix_spread(res):
    opts = _check_option_rows(res)
    assert {"buy", "sell"} <= set(opts["action"])


def test_expired_puts_settle_at_intrinsic(expiring):
    opts = _check_option_rows(expiring)
    expired = opts[opts["action"] == "expire"]
    assert len(expired) > 5
    assert (expired["fill_price"] > 0).any() and (expired["fill_price"] == 0).any()  # some in, some out of the money


# --- 8. determinism --------------------------------------------------------------------------


def test_same_config_writes_byte_identical_files(res, written, shared_data, tmp_path):
    again = write_run(run(res.config, data_dir=str(shared_data), offline=True), tmp_path / "again")
    for name in FILES:
        assert (again / name).read_bytes() == (written / name).read_bytes(), name


# --- 9. command line ----------------------------------------------------------------------------


def _cli(shared_data, out, *extra):
    return main(["--data-dir", str(shared_data), "--offline", "--out", str(out), *extra])


def test_the_backtrader_engine_writes_the_same_run_folder_as_the_array_engine(shared_data, tmp_path):
    """`--engine backtrader` (the reference) and the default array engine: the same bytes in every
    file, baselines and the price of foresight included, over the 2007-2009 crisis with puts."""
    span = ["--start", "2007-01-02", "--end", "2009-12-31"]
    assert _cli(shared_data, tmp_path / "fast", *span) == 0
    assert _cli(shared_data, tmp_path / "reference", *span, "--engine", "backtrader") == 0
    trades = pd.read_csv(tmp_path / "fast" / "trades.csv")
    assert trades["instrument"].str.startswith("IWM P ").any()  # puts were traded: the hard path is compared
    for name in FILES + ("baselines.csv", "cash_rate.csv"):
        assert (tmp_path / "reference" / name).read_bytes() == (tmp_path / "fast" / name).read_bytes(), name


def test_a_run_writes_the_same_bytes_from_the_command_line_and_from_write_run(shared_data, tmp_path):
    """The command line's run and `write_run` of the same configuration, twice: the same files, the
    same bytes in every one, pictures included (no timestamp, no process-dependent state)."""
    from fedcut.core.params import resolve
    from fedcut.run.backtest import run
    from fedcut.run.folder import write_run

    assert _cli(shared_data, tmp_path / "cli", *SHORT) == 0
    result = run(resolve({"run.start": SHORT[1], "run.end": SHORT[3]}), str(shared_data), True)
    write_run(result, tmp_path / "later")
    write_run(result, tmp_path / "again")
    names = sorted(str(f.relative_to(tmp_path / "cli")) for f in (tmp_path / "cli").rglob("*") if f.is_file())
    assert "plots/regimes.png" in names and "signals.csv" in names and len(names) >= 18
    for other in ("later", "again"):
        assert (
            sorted(str(f.relative_to(tmp_path / other)) for f in (tmp_path / other).rglob("*") if f.is_file()) == names
        )
        for name in names:
            assert (tmp_path / other / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), (other, name)
    assert not _children()


def _no_partials(folder):
    return not [p for p in folder.iterdir() if ".partial" in p.name]


@pytest.mark.parametrize(
    "args, key",
    [
        (["--set", "nope.key=1"], "nope.key"),
        (["--set", "hedge.moneyness=abc"], "hedge.moneyness"),
        (["--set", "hedge.moneyness=7"], "hedge.moneyness"),
        (["--start", "2010-01-01", "--end", "2009-01-01"], "run.start"),
    ],
)
def test_cli_user_errors_are_one_line_naming_the_key(shared_data, tmp_path, capsys, args, key):
    out = tmp_path / "x"
    assert _cli(shared_data, out, *args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and key in lines[0], err
    assert "Traceback" not in err
    assert not out.exists() and _no_partials(tmp_path)


def test_cli_refuses_an_existing_out_folder_and_leaves_it_alone(shared_data, tmp_path, capsys):
    out = tmp_path / "x"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert _cli(shared_data, out, *SHORT) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "already exists" in lines[0] and str(out) in lines[0]
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "mine"
    assert _no_partials(tmp_path)


def test_cli_failed_run_leaves_no_folder(shared_data, tmp_path, capsys):
    out = tmp_path / "x"
    assert _cli(shared_data, out, "--start", "2019-01-02", "--end", "2099-12-31") == 2  # beyond the data
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2099-12-31" in err[0]
    assert not out.exists() and _no_partials(tmp_path) and not _children()


@pytest.mark.parametrize(
    "where",
    [
        "fedcut.report.pictures.regimes_figure",  # the report's first picture
        "fedcut.plots.run.cycles_figure",  # one drawn later
        "fedcut.report.page.findings",
    ],
)  # the tables, once every picture is drawn
@pytest.mark.parametrize("error", [FedcutError("plot failed"), OSError("disk full")])
def test_a_failure_while_writing_removes_the_partial_folder(shared_data, tmp_path, monkeypatch, capsys, error, where):
    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(where, boom)
    out = tmp_path / "x"
    if isinstance(error, FedcutError):
        assert _cli(shared_data, out, *SHORT) == 2
        assert "plot failed" in capsys.readouterr().err
    else:
        assert _cli(shared_data, out, *SHORT) == 2
        err = capsys.readouterr().err
        assert "disk full" in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and _no_partials(tmp_path)
    assert not _children(), "a process was left running"


def _children() -> list[int]:
    """This process's live children (Linux), zombies not counted, nor multiprocessing's resource
    tracker: an earlier test's sweep in this process (spawned workers) started it, and Python keeps
    it for the interpreter's lifetime."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"multiprocessing.resource_tracker" not in command:
            found.append(int(stat.parent.name))
    return found


def test_cli_success_prints_summary_and_folder(shared_data, tmp_path, capsys):
    out = tmp_path / "runs" / "short"
    assert _cli(shared_data, out, *SHORT) == 0
    stdout = capsys.readouterr().out
    assert "fedcut regime strategy 2019-01-02 .. 2020-12-31" in stdout
    assert "buy-and-hold IWM" in stdout and "2019" in stdout
    assert stdout.rstrip().splitlines()[-1] == f"run folder: {out}"
    for name in FILES:
        assert (out / name).is_file(), name
    equity = pd.read_csv(out / "equity.csv", parse_dates=["date"])
    assert equity["date"].iloc[0] == pd.Timestamp("2019-01-02") and equity["date"].iloc[-1] == pd.Timestamp(
        "2020-12-31"
    )
    assert _no_partials(out.parent)


def test_an_unknown_engine_is_refused_before_any_work(shared_data, tmp_path, capsys):
    """`--engine` takes only the engines there are (`execution.engines.ENGINES`), and says which."""
    with pytest.raises(SystemExit) as stopped:
        _cli(shared_data, tmp_path / "out", "--engine", "numba")
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "--engine: invalid choice: 'numba'" in err
    assert "fast" in err.split("choose from")[1] and "backtrader" in err.split("choose from")[1]
    assert not (tmp_path / "out").exists()
