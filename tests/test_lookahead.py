"""Whole-run look-ahead: change everything that became known after a day D, and nothing up to D moves.

For each cut-off D, a copy of the data directory is made in which every price observation and
every French return or index level dated after D, every FRED observation published after D
(`data.asof.known_dates` with the default lags) and every Romer and Romer meeting known after D is
scaled, shuffled, drifted or crashed: the modern histories and the long one (D in the 1960s-1980s
and on the days a fallback hands over to its successor). The same configuration is run on the
real and on the perturbed data; up to and including D the regime frame, the option inputs,
the equity curve (strategy, benchmarks, cash, puts), the ETF orders and fills and the option
trades (with their model prices) must be identical to the last bit, and after D something
must differ (so the test can fail). Oracle mode reads the actual cut calendar, i.e. the future:
it must say so everywhere, and it is shown to move before D when the Fed's path after D moves,
while the default mode does not.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fedcut.core.params import defaults, resolve
from fedcut.data.asof import known_dates
from fedcut.data.catalog import MACRO
from fedcut.report.console import summary
from fedcut.run.backtest import run
from fedcut.run.folder import write_run
from fedcut.signals.regime import ORACLE_LABEL

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

DATA_PARAMS = defaults().data
VOLATILITY_FILES = {"VIX"}  # a crash sends these up, not down
YIELD_FILES = {"IRX", "TNX"}
STRESS = {"STLFSI4", "NFCI", "BAMLH0A0HYM2", "BAA10Y", "TEDRATE", "VIXCLS", "ICSA", "UNRATE", "SAHMREALTIME"}
RATES = {
    "DFF",
    "DTB3",
    "DGS2",
    "DGS3MO",
    "DGS10",
    "DFII10",
    "DFEDTAR",
    "DFEDTARU",
    "DFEDTARL",
    "FEDFUNDS",
    "TB3MS",
    "T10Y2Y",
    "T10YIE",
}
SHUFFLE_BLOCK = 5  # rows are shuffled within blocks of this many observations
FED_TARGET = ("DFEDTAR", "DFEDTARU", "DFEDTARL")  # data/catalog.py: the policy series, known on their date
FOLDERS = ("prices", "macro", "french", "policy", "cboe")  # every dated file (the FOMC calendar is published ahead)

# (cut-off day, perturbation, history): around first cuts and crises, and in the long history in the
# 1960s-1980s and on the days a fallback hands over to its successor (scaled: a drift compounded
# over decades would send yields to hundreds of percent)
CASES = [
    ("2001-09-10", "scale", "iwm"),  # the day before 9/11, in the 2001 easing cycle
    ("2008-09-12", "shuffle", "iwm"),  # the Friday before Lehman
    ("2019-07-30", "crash", "iwm"),  # the day before the 2019 first cut, in a calm soft landing
    ("2024-09-17", "drift", "iwm"),  # the day before the 2024 first cut
    ("1998-09-28", "scale", "extended"),  # the day before the 1998 first cut: IWM is the RUT proxy then
    ("1962-01-02", "scale", "long"),  # GS10's last day: DGS10 (from 1962-01-02) is known the next
    ("1969-01-14", "scale", "long"),  # Romer and Romer's first meeting: the discount rate's record ends
    ("1974-09-13", "scale", "long"),  # the 1973-74 bear market, small caps the French quintile
    ("1976-06-01", "scale", "long"),  # DGS2's first day: GS1 stands in until it is known
    ("1982-09-24", "scale", "long"),  # the Friday before DFEDTAR: Romer and Romer's record ends
    ("1985-12-31", "scale", "long"),  # the modelled volatility's last day: VXO from 1986-01-02
]


# --- building perturbed data directories ------------------------------------------------------------


def _late_rows(kind: str, series_id: str, dates: pd.DatetimeIndex, cutoff: pd.Timestamp) -> np.ndarray:
    """Rows that became known after `cutoff`: prices, French returns and index levels by their date,
    FRED series by publication date, Romer and Romer's meetings `data.romer_lag_days` after them."""
    meta = MACRO.get(series_id)
    if kind == "macro" and meta is not None and meta.lag_rule != "label":
        return np.asarray(known_dates(dates, meta.lag_rule, DATA_PARAMS) > cutoff)
    if kind == "policy":
        return np.asarray(dates + pd.Timedelta(days=DATA_PARAMS.romer_lag_days) > cutoff)
    return np.asarray(dates > cutoff)  # prices, levels, Cboe's SKEW (a close); uncatalogued FRED files by date


def _price_factors(name: str, how: str, n: int, rng) -> np.ndarray:
    """One factor per row, applied to every price field of the row (so OHLC stays consistent)."""
    if how == "scale":  # one factor per file: every later price off by the same ratio
        return np.full(n, rng.choice([rng.uniform(0.6, 0.9), rng.uniform(1.1, 1.6)]))
    if how == "drift":
        return 1.3 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    if how == "crash":
        return np.full(n, 3.0 if name in VOLATILITY_FILES else 0.55)
    raise ValueError(how)


def _macro_values(name: str, how: str, x: np.ndarray, rng) -> np.ndarray:
    if how == "scale":  # one affine map per file (the shift moves zeros too)
        return x * rng.uniform(1.2, 2.0) + rng.uniform(0.1, 0.5)
    if how == "drift":
        return x * np.exp(np.cumsum(rng.normal(0.0, 0.05, len(x)))) + 0.1
    if how == "crash":
        if name in STRESS:
            return x * 2.0 + 4.0
        if name in RATES:
            return x * 0.5 - 0.25
        return x * 1.3 + 0.5
    raise ValueError(how)


def _local_shuffle(n: int, rng, block: int = SHUFFLE_BLOCK) -> np.ndarray:
    """A permutation of range(n) that shuffles rows within consecutive blocks (prices stay near
    their level, so the run stays realistic and fast) and moves at least one row."""
    order = np.concatenate([start + rng.permutation(min(block, n - start)) for start in range(0, n, block)])
    if n > 1 and (order == np.arange(n)).all():
        order[[0, 1]] = order[[1, 0]]
    return order


def _fmt(values: np.ndarray) -> list[str]:
    return [repr(float(v)) for v in values]


def _perturb_file(src, dst, kind: str, cutoff: pd.Timestamp, how: str, rng) -> bool:
    """Write `src` to `dst` with its late rows perturbed; False (nothing written) if none are late."""
    raw = pd.read_csv(src, dtype=str, keep_default_na=False)
    date_col = raw.columns[0]
    late = _late_rows(kind, src.stem, pd.DatetimeIndex(pd.to_datetime(raw[date_col])), cutoff)
    value_cols = [c for c in raw.columns[1:] if c != "Volume"]
    present = np.ones(len(raw), dtype=bool)
    for c in value_cols:
        present &= ~raw[c].str.strip().isin(["", "."]).to_numpy()
    rows = np.flatnonzero(late & present)
    if len(rows) == 0:
        return False
    if how == "shuffle":
        raw.loc[rows, value_cols] = raw.loc[rows, value_cols].to_numpy()[_local_shuffle(len(rows), rng)]
    elif kind == "prices":
        factor = _price_factors(src.stem, how, len(rows), rng)
        for c in value_cols:
            raw.loc[rows, c] = _fmt(raw.loc[rows, c].astype(float).to_numpy() * factor)
    else:
        for c in value_cols:
            raw.loc[rows, c] = _fmt(_macro_values(src.stem, how, raw.loc[rows, c].astype(float).to_numpy(), rng))
    raw.to_csv(dst, index=False)
    return True


def perturbed_copy(shared, dest, cutoff: str, how: str, only=None, seed: int = 0):
    """A data directory like `shared` with every observation known after `cutoff` perturbed.

    `only`: perturb just these files (by stem); every other file is a symlink to the original.
    """
    d = pd.Timestamp(cutoff)
    rng = np.random.default_rng(seed or d.toordinal())
    (dest / "calendar").mkdir(parents=True)
    (dest / "calendar" / "FOMC.csv").symlink_to(shared / "calendar" / "FOMC.csv")  # published ahead
    for kind in FOLDERS:
        (dest / kind).mkdir(parents=True)
        for src in sorted((shared / kind).glob("*.csv")):
            target = dest / kind / src.name
            if (only is not None and src.stem not in only) or not _perturb_file(src, target, kind, d, how, rng):
                target.symlink_to(src)
    return dest


def never_cuts_after(shared, dest, cutoff: str):
    """The Fed target series held at their last value known by `cutoff`: no cut (or hike) after it."""
    d = pd.Timestamp(cutoff)
    (dest / "calendar").mkdir(parents=True)
    (dest / "calendar" / "FOMC.csv").symlink_to(shared / "calendar" / "FOMC.csv")
    for kind in FOLDERS:
        (dest / kind).mkdir(parents=True)
        for src in sorted((shared / kind).glob("*.csv")):
            target = dest / kind / src.name
            if src.stem not in FED_TARGET:
                target.symlink_to(src)
                continue
            raw = pd.read_csv(src, dtype=str, keep_default_na=False)
            dates = pd.to_datetime(raw.iloc[:, 0])
            late = (dates > d).to_numpy()
            if late.any() and (~late).any():
                raw.iloc[np.flatnonzero(late), 1] = raw.iloc[np.flatnonzero(~late)[-1], 1]
            raw.to_csv(target, index=False)
    return dest


# --- comparing runs ---------------------------------------------------------------------------


def upto(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return frame.loc[:day]


def trades_upto(res, day: pd.Timestamp) -> pd.DataFrame:
    return res.trades[res.trades["date"] <= day].reset_index(drop=True)


def assert_identical_through(base, other, day: pd.Timestamp) -> None:
    """Everything the run decided, priced, filled and valued on or before `day`, bit for bit."""
    assert base.equity.index.equals(other.equity.index)  # same calendar, same end (set by the file lengths)
    pd.testing.assert_frame_equal(upto(base.signals, day), upto(other.signals, day), check_exact=True)
    pd.testing.assert_frame_equal(
        upto(base.prepared.broker_inputs, day), upto(other.prepared.broker_inputs, day), check_exact=True
    )
    for part in ("close", "open"):
        pd.testing.assert_frame_equal(
            upto(getattr(base.prepared.market, part), day),
            upto(getattr(other.prepared.market, part), day),
            check_exact=True,
        )
    pd.testing.assert_frame_equal(upto(base.equity, day), upto(other.equity, day), check_exact=True)
    # (values bit for bit; a quantity column can be object dtype when a perturbed future overflows int64)
    pd.testing.assert_frame_equal(trades_upto(base, day), trades_upto(other, day), check_exact=True, check_dtype=False)


def differs_after(base, other, day: pd.Timestamp) -> dict[str, bool]:
    later = base.equity.index > day
    t_base = base.trades[base.trades["date"] > day].reset_index(drop=True)
    t_other = other.trades[other.trades["date"] > day].reset_index(drop=True)
    return {
        "strategy": not np.array_equal(base.equity.loc[later, "strategy"], other.equity.loc[later, "strategy"]),
        "benchmark": not np.array_equal(base.equity.loc[later, "benchmark"], other.equity.loc[later, "benchmark"]),
        "spy": not np.array_equal(base.equity.loc[later, "spy"], other.equity.loc[later, "spy"]),
        "vix": not np.array_equal(base.signals.loc[later, "vix"], other.signals.loc[later, "vix"]),
        "fed_funds": not base.signals.loc[later, "fed_funds"].equals(other.signals.loc[later, "fed_funds"]),
        "trades": not t_base.equals(t_other),
        "option_inputs": not base.prepared.broker_inputs.loc[later].equals(other.prepared.broker_inputs.loc[later]),
        "skew": not base.prepared.broker_inputs.loc[later, "skew"].equals(
            other.prepared.broker_inputs.loc[later, "skew"]
        ),
    }


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def implausible_futures_allowed():
    """The perturbations are deliberately implausible (a 45% one-day crash, VIX tripled, a fed funds
    target moving every day) so that any leak would show. The plausibility checks refuse such files
    (tests/test_bad_inputs.py); this module tests look-ahead, not validation, so they are off here."""
    from fedcut.data import market, readers, sources, splices

    with pytest.MonkeyPatch.context() as patch:
        for module, check in (
            (readers, "check_range"),
            (readers, "check_moves"),
            (market, "check_tracking"),
            (sources, "check_policy_series"),
        ):
            patch.setattr(module, check, lambda *args, **kwargs: None)
        # a splice is measured on its whole overlap: the perturbed future would fail it
        patch.setattr(
            market,
            "check_splice",
            lambda source, ticker, before, after, levels: splices.measure(levels[before], levels[after]),
        )
        yield


@pytest.fixture(scope="module")
def base_runs(shared_data):
    """Unperturbed runs, one per history (iwm, extended, long), shared by every cut-off."""
    cache = {}

    def get(history: str):
        if history not in cache:
            cache[history] = run(resolve({"run.history": history}), data_dir=str(shared_data), offline=True)
        return cache[history]

    return get


@pytest.fixture(scope="module", params=CASES, ids=[f"{d}-{how}-{history}" for d, how, history in CASES])
def case(request, shared_data, base_runs, tmp_path_factory):
    cutoff, how, history = request.param
    base = base_runs(history)
    folder = perturbed_copy(shared_data, tmp_path_factory.mktemp(f"perturbed-{cutoff}"), cutoff, how)
    other = run(base.config, data_dir=str(folder), offline=True)
    return pd.Timestamp(cutoff), how, history, base, other


# --- the whole run up to D does not see what came after D ----------------------------------------


def test_nothing_known_after_d_changes_the_run_up_to_d(case):
    day, how, history, base, other = case
    assert day in base.equity.index  # D is a trading day of the run
    assert_identical_through(base, other, day)
    # the comparison had substance: decisions, fills and a regime history up to D
    fills = trades_upto(base, day)
    assert (fills["strike"].isna() & fills["action"].isin(["buy", "sell"])).sum() >= 5
    assert base.signals.loc[:day, "regime"].nunique() >= 2
    if history != "iwm":
        assert day < pd.Timestamp("2000-05-26")  # before IWM existed: a proxy or stand-in carried the run
        proxy = "IWM <- RUT" if history == "extended" else ("IWM <- Qnt 2" if day.year < 1979 else "IWM <- RU2000TR")
        assert any(p.startswith(proxy) for p in base.metrics["run"]["proxies"])


def test_the_perturbation_is_real_after_d(case):
    day, how, history, base, other = case
    moved = differs_after(base, other, day)
    assert all(moved.values()), moved
    # the day after D is the first that may move; D itself is settled
    nxt = base.equity.index[base.equity.index.get_loc(day) + 1]
    assert base.equity.loc[day, "strategy"] == other.equity.loc[day, "strategy"]
    assert base.equity.loc[nxt, "benchmark"] != other.equity.loc[nxt, "benchmark"]
    if how == "crash":
        # a crash on D+1 in a calm market is a crisis that very day: a leak of even one day of
        # regime into D's decisions, fills or equity would show in the comparison up to D
        assert base.signals.loc[day:nxt, "regime"].tolist() == ["soft_landing", "soft_landing"]
        assert other.signals.loc[nxt, "regime"] == "crisis"


def _peek_at_tomorrows_vix(real):
    """A regime that reads the next day's VIX close: a one-day leak inside the signals."""
    return lambda raw, iwm, vix, *args, **kwargs: real(raw, iwm, vix.shift(-1).fillna(vix), *args, **kwargs)


def _trade_two_days_early(real):
    """Targets decided on the regime of two days later: a leak in the decisions only."""

    def early(sig, *args, **kwargs):
        later = np.minimum(np.arange(len(sig)) + 2, len(sig) - 1)  # each day sees day + 2 (dtypes kept)
        return real(sig.iloc[later].set_axis(sig.index), *args, **kwargs)

    return early


def _price_on_tomorrows_skew(real):
    """The puts priced on the next day's SKEW close: a one-day leak in the option inputs only."""

    def peek(source, days, *args):
        skew, notes = real(source, days, *args)
        return skew.shift(-1).fillna(skew), notes

    return peek


@pytest.mark.parametrize(
    "target, leak",
    [
        ("regime_frame", None),
        ("regime_frame", _peek_at_tomorrows_vix),
        ("target_weights", _trade_two_days_early),
        ("skew_index", _price_on_tomorrows_skew),
    ],
)
def test_the_comparison_catches_a_planted_leak(shared_data, tmp_path, monkeypatch, target, leak):
    """The check can fail: with a leak planted in the pipeline, the 2019 crash after D reaches D
    (and without one, the same short runs agree up to D)."""
    import fedcut.run.backtest
    import fedcut.run.inputs as inputs

    if leak is not None:
        where = inputs if target in ("regime_frame", "skew_index") else fedcut.run.backtest
        monkeypatch.setattr(where, target, leak(getattr(where, target)))
    inputs.clear_caches()  # no leaky signals outlive this test, none cached enter it
    try:
        cutoff = "2019-07-30"
        cfg = resolve({"run.start": "2018-01-02", "run.end": "2020-06-30"})
        base = run(cfg, data_dir=str(shared_data), offline=True)
        other = run(cfg, data_dir=str(perturbed_copy(shared_data, tmp_path / "p", cutoff, "crash")), offline=True)
    finally:
        inputs.clear_caches()
    if leak is None:
        assert_identical_through(base, other, pd.Timestamp(cutoff))
        return
    with pytest.raises(AssertionError):
        assert_identical_through(base, other, pd.Timestamp(cutoff))


def test_option_trades_with_model_prices_are_compared_somewhere(base_runs):
    """At least one cut-off has put trades (with their model prices) before it, so the look-ahead
    comparison covers option pricing, not only ETF fills."""
    for history in ("iwm", "long"):
        base = base_runs(history)
        opts = base.trades[base.trades["strike"].notna()]
        covered = [d for d, _, h in CASES if h == history and (opts["date"] <= pd.Timestamp(d)).any()]
        assert len(covered) >= 3, (history, covered)
        assert opts["model_price"].notna().sum() > 10


# --- oracle mode: labelled, and it does read the future ---------------------------------------------

ORACLE_CUTOFF = "2019-07-30"  # the first cut of the cycle was decided the next day
WINDOW = {"run.start": "2018-01-02", "run.end": "2020-06-30"}


@pytest.fixture(scope="module")
def oracle_runs(shared_data, tmp_path_factory):
    """Default and oracle runs on the real data and on data where the Fed never cuts after the cut-off."""
    folder = never_cuts_after(shared_data, tmp_path_factory.mktemp("no-cuts"), ORACLE_CUTOFF)
    out = {}
    for mode, cfg in (("default", resolve(WINDOW)), ("oracle", resolve({**WINDOW, "run.oracle": True}))):
        out[mode, "real"] = run(cfg, data_dir=str(shared_data), offline=True)
        out[mode, "no_cuts"] = run(cfg, data_dir=str(folder), offline=True)
    return out


def test_the_no_cut_data_really_removes_the_2019_cuts(oracle_runs):
    real, moved = oracle_runs["default", "real"], oracle_runs["default", "no_cuts"]
    assert real.signals.loc["2019-08-15", "cycle_state"] == "easing"
    assert moved.signals.loc["2019-08-15", "cycle_state"] != "easing"
    assert moved.signals.loc["2019-08-01":, "last_change_bp"].ge(0).all()


def test_default_mode_does_not_move_before_d_when_the_fed_path_after_d_moves(oracle_runs):
    day = pd.Timestamp(ORACLE_CUTOFF)
    real, moved = oracle_runs["default", "real"], oracle_runs["default", "no_cuts"]
    assert_identical_through(real, moved, day)
    assert not real.signals.loc[day:, "cycle_state"].equals(moved.signals.loc[day:, "cycle_state"])


def test_oracle_mode_moves_before_d_when_the_fed_path_after_d_moves(oracle_runs):
    """Oracle mode is future information: its regimes before D depend on cuts decided after D."""
    day = pd.Timestamp(ORACLE_CUTOFF)
    real, moved = oracle_runs["oracle", "real"], oracle_runs["oracle", "no_cuts"]
    before = real.signals.index <= day
    expected_real = real.signals.loc[before, "cut_expected"]
    expected_moved = moved.signals.loc[before, "cut_expected"]
    # the 2019-07-31 cut is visible 90 days ahead in the real data, never in the no-cut data
    lead_start = pd.Timestamp("2019-07-31") - pd.Timedelta(days=real.config.regime.oracle_lead_days)
    assert expected_real[lead_start:].all() and not expected_moved[lead_start:].any()
    regime_real, regime_moved = real.signals.loc[before, "regime"], moved.signals.loc[before, "regime"]
    assert (regime_real != regime_moved).sum() >= 10
    assert not np.array_equal(real.equity.loc[:day, "strategy"], moved.equity.loc[:day, "strategy"])
    # what only reads prices stays put: the benchmark does not know about the Fed
    np.testing.assert_array_equal(real.equity.loc[:day, "benchmark"], moved.equity.loc[:day, "benchmark"])


def test_oracle_runs_say_they_use_future_information(oracle_runs, tmp_path):
    oracle, default = oracle_runs["oracle", "real"], oracle_runs["default", "real"]
    assert oracle.metrics["run"]["oracle"] is True and oracle.metrics["run"]["label"] == ORACLE_LABEL
    assert "future information" in ORACLE_LABEL and ORACLE_LABEL.startswith("ORACLE")
    assert default.metrics["run"]["oracle"] is False and default.metrics["run"]["label"] == ""
    assert oracle.signals["reason"].str.startswith("[ORACLE] ").all()
    assert not default.signals["reason"].str.contains("ORACLE").any()
    assert summary(oracle.metrics).splitlines()[0] == f"*** {ORACLE_LABEL} ***"
    assert "ORACLE" not in summary(default.metrics)

    folder = write_run(oracle, tmp_path / "oracle")
    toml = (folder / "config.toml").read_text()
    assert toml.splitlines()[0] == f"# {ORACLE_LABEL}"
    assert "\noracle = true\n" in toml
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["run"]["oracle"] is True and metrics["run"]["label"] == ORACLE_LABEL
    report = (folder / "report.html").read_text()
    assert '<div class="oracle">ORACLE' in report and "future information" in report
    assert pd.read_csv(folder / "signals.csv")["reason"].str.startswith("[ORACLE] ").all()
