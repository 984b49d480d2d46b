"""Today's call: what the regime rules say on one day, why, how far each indicator stands from
changing it, and how old every input is.

The call is the backtest's own: `fedcut.run.backtest.prepare` over the same history as a backtest of the
configuration (so the path-dependent states agree: the dwell filter, the stress hysteresis, the
late-cycle and capitulation states, IWM's scaling in), `fedcut.run.backtest.signals` and
`fedcut.run.backtest.strategy_plan`; `todays_call` reads their row for the day. The rest are pure
functions of that row and the configuration: the indicators against their thresholds
(`indicators`), the age of each input (`input_status`), the puts (`hedge_on`, by the backtest's
execution rules) and the action (`action_for`). `fedcut.now_text` prints a `Call` as text or JSON.

Staleness: a series is stale on day D when its next observation should have been published, by
the project's own release rule (`data.asof.known_dates`, the `data.*` lags), more than
`STALE_GRACE` before D, and the data does not have it. Daily series: more than 5 business days
old; weekly claims: from 16 days after their week's date; monthly CPI: past the 24th of the
second month after its month (the jobs report: 3 days after the first Friday on or after the 5th).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BDay

from fedcut.core.errors import ConfigError
from fedcut.core.params import Config, iso_date
from fedcut.data.asof import asof_frame, first_known, published
from fedcut.data.catalog import (
    BACKFILLED_LABEL,
    FRENCH_FACTORS,
    INSTRUMENTS,
    MACRO,
    REGIME_SERIES,
    ROMER_FILE,
    ROMER_FIRST,
    STAND_INS,
)
from fedcut.data.gauge import MODELLED
from fedcut.data.sources import DataSource
from fedcut.data.splices import stand_in_level
from fedcut.execution.engine import settings_for
from fedcut.execution.kernel import COUNTS, buying_allowed, contracts_needed, fill_price, new_put, pack, quote
from fedcut.hedging.book import day_ordinal, listed_expiries, ordinal_date
from fedcut.run.backtest import strategy_plan
from fedcut.run.inputs import prepare, rate_changes_of, signals
from fedcut.signals.indicators import BILL_SOURCES, CREDIT_SOURCES, SAHM_SOURCES, TWO_YEAR_SOURCES
from fedcut.signals.thresholds import OPS, RULE, THRESHOLDS
from fedcut.strategies.targets import CASES, case_codes

PORTFOLIO = 1_000_000.0  # the hedge is shown per $1M of portfolio
# How long past its due date (by the release rule) a missing observation is tolerated before the
# series is called stale: FRED posts the day's market series the next morning and holidays move
# releases by a day or two; display only, no decision reads it.
STALE_GRACE = {"D": BDay(3), "W": pd.Timedelta(days=3), "M": pd.Timedelta(days=3)}
# The step from one observation to the next: daily market series and prices on business days,
# the fed funds target on every calendar day (a 7-day series), weekly, monthly.
NEXT_OBSERVATION = {"D": BDay(1), "policy": pd.Timedelta(days=1), "W": pd.Timedelta(days=7), "M": pd.offsets.MonthBegin(1)}
# The prices the regime reads at each day's close (the bank ETF in use is added on the day).
PRICE_INPUTS = ("IWM", "VIX", "SPY")


@dataclass(frozen=True)
class Indicator:
    """One input of a rule against its threshold. `distance` is how far the value must move to
    reach the threshold, in the value's unit: positive while it has not, zero or negative once it
    has (`met` is the rule's own comparison, which settles a value exactly at a strict threshold)."""

    name: str
    label: str
    group: str  # the rule it feeds
    value: float | None
    threshold: float | None
    condition: str  # ">=", ">", "<=", "<": value <condition> threshold meets it
    unit: str  # points, index, %, pp, fraction, price
    met: bool
    note: str = ""
    inputs: tuple[str, ...] = ()  # the series it is computed from (`Call.inputs`)

    @property
    def distance(self) -> float | None:
        if self.value is None or self.threshold is None:
            return None
        return self.threshold - self.value if self.condition in (">=", ">") else self.value - self.threshold


@dataclass(frozen=True)
class Input:
    """One series the call reads: its newest observation known on the day and when it became known."""

    series: str
    kind: str  # macro | price | policy (the long history's meeting record)
    observation_date: pd.Timestamp | None
    known_date: pd.Timestamp | None
    next_due: pd.Timestamp | None  # when the next observation is due by the release rule
    status: str  # current | stale | discontinued | not yet published
    note: str = ""

    @property
    def stale(self) -> bool:
        return self.status == "stale"


@dataclass(frozen=True)
class Hedge:
    """The puts the playbook holds on the day, struck at its close (the backtest buys them at the
    next trading day's close, at that day's spot)."""

    hedge_ratio: float
    sizing: str  # ratio | budget
    spot: float
    moneyness: float
    strike: float
    expiry: dt.date
    days_to_expiry: int
    vol: float
    model_price: float  # per share, model mid
    fill_price: float  # per share, with the half-spread a buy pays
    contracts_per_1m: int
    per: str  # "portfolio": per $1M of portfolio at the target weights; "IWM held": per $1M of IWM held
    premium_per_1m: float  # what those contracts cost, spread and commission included
    blocked: str = ""  # why no put is bought or rolled today (the VIX bounds), or "" when they may be


@dataclass(frozen=True)
class Call:
    as_of: pd.Timestamp
    requested: pd.Timestamp | None  # the --as-of date asked for, when it was no trading day
    data_end: pd.Timestamp
    end_set_by: str
    regime: str
    regime_raw: str
    regime_since: pd.Timestamp
    days_in_regime: int  # trading days, the day included
    raw_days: int  # trading days the raw regime has held, the day included
    min_dwell_days: int
    case: str  # `strategies.targets.CASES`
    action: str
    weights: dict  # ticker -> target weight (NaN: keep what is held)
    unlisted: tuple[str, ...]  # holdings with no price (nor proxy) yet: their weight is cash
    hedge: Hedge | None
    reason: str
    policy: dict
    cut_pricing: dict
    indicators: tuple[Indicator, ...]
    inputs: tuple[Input, ...]
    warnings: tuple[str, ...] = field(default=())
    config_hash: str = ""
    today: pd.Timestamp | None = None  # the clock the call's age was checked against; None for --as-of

    @property
    def cash(self) -> float:
        """The weight left in cash at the T-bill rate; NaN when a holding is kept as it is (its
        weight, and so the cash, depends on what the portfolio holds)."""
        return 1.0 - sum(self.weights.values())


# --- the call -------------------------------------------------------------------------------------

def shadowed(data_dir: str | Path) -> list[str]:
    """The catalogued series a data directory holds: read before the download cache, so a refresh
    of the cache would not reach them (`fedcut now --fetch`)."""
    source = DataSource(data_dir=Path(data_dir), cache_dir=Path(data_dir) / "no-cache", offline=True)
    found = [t for t in INSTRUMENTS if source.price_path(t) is not None]
    return found + [m for m in MACRO if source.macro_path(m) is not None]


def check_config(cfg: Config) -> None:
    """Refuse what today's call cannot honour: foresight, and another strategy's rules."""
    if cfg.run.oracle:
        raise ConfigError("now: run.oracle reads the actual cut calendar (future information); "
                          "today's call cannot know it: drop --oracle / run.oracle")
    if cfg.run.strategy != "fedcut":
        raise ConfigError(f"now: run.strategy = {cfg.run.strategy}: today's call is the fedcut rules' only")


def trading_day(asked: pd.Timestamp | None, days: pd.DatetimeIndex, end_set_by: str) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """The trading day of the call and, when the day `asked` was no trading day, that day.
    Without `asked`: the last day the data covers (also for a weekend just after it)."""
    if asked is None:
        return days[-1], None
    if asked > days[-1] and len(pd.bdate_range(days[-1] + pd.Timedelta(days=1), asked)):
        raise ConfigError(f"--as-of {asked.date()}: after the last day the data covers, {days[-1].date()} "
                          f"(end set by {end_set_by})")
    if asked < days[0]:
        raise ConfigError(f"--as-of {asked.date()}: before the history's first day, {days[0].date()} "
                          "(run.start, or --history extended or long for an earlier history)")
    day = days[days.searchsorted(asked, side="right") - 1]
    return day, (None if day == asked else asked)


def todays_call(cfg: Config, as_of: str | None = None, data_dir: str | Path | None = None,
                offline: bool | None = None, today: str | None = None) -> Call:
    """The call on `as_of` (YYYY-MM-DD; default the last day the data covers) under `cfg`, from the
    backtest's own prepared data, signals and targets over the configuration's history. Without
    `as_of`, the call's age is checked against `today` (YYYY-MM-DD; default $FEDCUT_TODAY, else the
    machine's date: `fedcut.now_age`)."""
    from fedcut.now_age import age_warnings
    from fedcut.now_age import today as clock
    check_config(cfg)
    now = None if as_of is not None else clock(today)
    asked = None if as_of is None else pd.Timestamp(iso_date(as_of, "--as-of"))
    cfg = cfg.with_overrides({"run.end": ""})  # the day is `as_of`; the history runs to the data's end
    prepared = prepare(cfg, str(data_dir) if data_dir else None, offline)
    market = prepared.market
    day, requested = trading_day(asked, market.days, market.end_set_by)
    sig = signals(prepared, cfg)
    tickers, weights, ratio = strategy_plan("fedcut", prepared, cfg, sig)
    i = market.days.get_loc(day)
    row = sig.iloc[i]
    source = prepared.source

    read = macro_read(prepared, day, cfg.data)
    view = asof_frame(read, pd.DatetimeIndex([day]), cfg.data).iloc[0]
    macro = [input_status(sid, _date(view[f"{sid}_obs"]), _date(view[f"{sid}_known"]), day, cfg.data)
             for sid in read] + policy_inputs(prepared, day, cfg.data)
    bank = row["bank_source"]
    prices = [price_input(source, t, day, market) for t in PRICE_INPUTS + ((bank,) if bank else ())]
    target = dict(zip(tickers, (float(w) for w in weights[i])))
    inputs = tuple(macro + prices)
    regime_since, days_in = spell(sig["regime"].to_numpy()[: i + 1], market.days)
    _, raw_days = spell(sig["regime_raw"].to_numpy()[: i + 1], market.days)
    case = CASES[int(case_codes(sig.iloc[[i]])[0])]
    measured = flag_inputs(indicators(row, cfg.regime, cfg.data), inputs)
    hedge = None
    if ratio[i] > 0:
        inputs_today = prepared.broker_inputs.iloc[i]
        hedge = hedge_on(day, float(ratio[i]), target["IWM"], inputs_today, market.days[: i + 1], cfg)
    return Call(
        as_of=day, requested=requested, data_end=market.days[-1], end_set_by=market.end_set_by,
        regime=row["regime"], regime_raw=row["regime_raw"], regime_since=regime_since, days_in_regime=days_in,
        raw_days=raw_days, min_dwell_days=cfg.regime.min_dwell_days, case=case,
        action=action_for(case, cfg.strategy, cfg.hedge), weights=target,
        unlisted=tuple(t for t in tickers if pd.isna(market.close[t].iloc[i])), hedge=hedge, reason=row["reason"],
        policy=policy_on(row, day, rate_changes_of(prepared)),
        cut_pricing=cut_pricing(row, view, cfg.regime, cfg.data),
        indicators=measured,
        inputs=inputs,
        warnings=tuple(warnings_for(inputs, measured, market, source, cfg)
                       + (age_warnings(day, now, inputs, prepared, cfg) if now is not None else [])),
        config_hash=cfg.digest(), today=now,
    )


def _date(value) -> pd.Timestamp | None:
    return None if pd.isna(value) else pd.Timestamp(value)


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def spell(values: np.ndarray, days: pd.DatetimeIndex) -> tuple[pd.Timestamp, int]:
    """The first day of the run of equal values that ends the array, and its length in days."""
    changed = np.flatnonzero(values[1:] != values[:-1])
    start = int(changed[-1]) + 1 if len(changed) else 0
    return days[start], len(values) - start


# --- inputs and their age ---------------------------------------------------------------------------

def next_due(series_id: str, observation: pd.Timestamp, data_params) -> pd.Timestamp:
    """When the observation after `observation` becomes known by the release rule."""
    meta = MACRO[series_id]
    step = NEXT_OBSERVATION["policy" if meta.lag_rule == "policy" else meta.frequency]
    nxt = pd.Series([np.nan], index=pd.DatetimeIndex([observation + step]), name=series_id)
    return pd.Timestamp(published(nxt, data_params)["known_date"].iloc[0])


def input_status(series_id: str, observation: pd.Timestamp | None, known: pd.Timestamp | None,
                 day: pd.Timestamp, data_params) -> Input:
    """A macro series on `day`: current, stale (its next observation overdue by more than
    STALE_GRACE), discontinued, or not yet published."""
    meta = MACRO[series_id]
    if meta.discontinued and day >= pd.Timestamp(meta.discontinued):
        last = f"after {observation.date()}" if observation is not None else f"from {meta.discontinued}"
        return Input(series_id, "macro", observation, known, None, "discontinued", f"no longer published {last}")
    if observation is None:
        first = meta.first_published if meta.first_published and not data_params.allow_backfilled_indices else None
        why = f"first published {first}" if first else "the data has no observation published by this day"
        return Input(series_id, "macro", None, None, None, "not yet published", why)
    due = next_due(series_id, observation, data_params)
    stale = day > due + STALE_GRACE[meta.frequency]
    return Input(series_id, "macro", observation, known, due, "stale" if stale else "current")


def price_status(ticker: str, rows: pd.DatetimeIndex, day: pd.Timestamp) -> Input:
    """A price file on `day`: its last row on or before the day, known at that close; stale when
    the next trading day's row is overdue by more than STALE_GRACE (more than 4 business days old)."""
    held = rows[rows <= day]
    if held.empty:
        return Input(ticker, "price", None, None, None, "not yet published", "no price by this day")
    last = held[-1]
    due = last + BDay(1)
    return Input(ticker, "price", last, last, due, "stale" if day > due + STALE_GRACE["D"] else "current")


def macro_read(prepared, day: pd.Timestamp, data_params) -> dict[str, pd.Series]:
    """The macro series the rules read on `day`: every regime series, and the long history's
    fallbacks until their successors were known (`MacroSeries.successor`)."""
    read = {sid: prepared.raw[sid] for sid in REGIME_SERIES}
    for sid, series in prepared.raw.items():
        successor = MACRO[sid].successor
        if successor is not None and sid not in read and day < first_known(successor, data_params):
            read[sid] = series
    return read


def policy_inputs(prepared, day: pd.Timestamp, data_params) -> list[Input]:
    """The long history's older policy records on a day of their era: the discount rate's monthly
    average before Romer and Romer's first meeting, their meetings before DFEDTAR's first day."""
    record, out = prepared.policy, []
    if record is None or day >= pd.Timestamp(MACRO["DFEDTAR"].first_date) or record["decision"].iloc[0] >= \
            pd.Timestamp(MACRO["DFEDTAR"].first_date):
        return out
    if day < pd.Timestamp(ROMER_FIRST):
        rate = prepared.source.macro("MDISCRT")
        pub = published(rate, data_params)
        pub = pub[pub["known_date"] <= day]
        last = pub.iloc[-1] if len(pub) else None
        out.append(input_status("MDISCRT", None if last is None else pd.Timestamp(last["obs_date"]),
                                None if last is None else pd.Timestamp(last["known_date"]), day, data_params))
    else:
        meetings = prepared.source.romer().index
        known = meetings[meetings + pd.Timedelta(days=data_params.romer_lag_days) <= day]
        last = known[-1] if len(known) else None
        out.append(Input("Romer-Romer", "policy", last, None if last is None else
                         last + pd.Timedelta(days=data_params.romer_lag_days), None, "current",
                         f"the intended rate at each FOMC meeting ({ROMER_FILE}), known "
                         f"{data_params.romer_lag_days} days after it"))
    return out


def price_input(source: DataSource, ticker: str, day: pd.Timestamp, market=None) -> Input:
    """A price input on `day`: the ticker's own file, or before its first day what stands in for it
    in the run's history (`market.proxies`: RUT for IWM, the S&P 500 index for SPY, the long
    history's French portfolios and indices; VXO or the modelled volatility for VIX)."""
    span = next((p for p in (market.proxies if market is not None else ()) if p.ticker == ticker
                 and p.start <= day <= p.end), None)
    if span is not None:
        if span.proxy in STAND_INS:
            rows = stand_in_level(source, span.proxy).index
        elif span.proxy == "VXO":
            rows = source.macro("VXOCLS").index
        elif span.proxy == MODELLED:
            rows = source.french(FRENCH_FACTORS).index
        else:
            rows = source.prices(span.proxy).index
        return replace(price_status(span.proxy, rows, day), note=f"stands in for {ticker} until {span.end.date()}")
    rows = source.prices(ticker).index
    proxy = INSTRUMENTS[ticker].proxy
    if rows[0] > day and proxy and source.price_path(proxy) is not None:
        return replace(price_status(proxy, source.prices(proxy).index, day),
                       note=f"stands in for {ticker} before {rows[0].date()}")
    return price_status(ticker, rows, day)


def flag_inputs(measured: tuple[Indicator, ...], inputs: tuple[Input, ...]) -> tuple[Indicator, ...]:
    """Each indicator whose value rests on a stale or discontinued input says so in its note."""
    status = {s.series: s for s in inputs}
    out = []
    for ind in measured:
        old = [status[n] for n in ind.inputs if n in status and status[n].status in ("stale", "discontinued")]
        if ind.value is not None and old:
            why = "; ".join(f"{s.series} {s.status}, last observation {s.observation_date.date()}" for s in old)
            ind = replace(ind, note="; ".join(n for n in (ind.note, why) if n))
        out.append(ind)
    return tuple(out)


def warnings_for(inputs: tuple[Input, ...], measured: tuple[Indicator, ...], market, source: DataSource,
                 cfg: Config) -> list[str]:
    """What the reader of the call must know: stale inputs, a data end set by a macro series, the data layer's notes, reconstructed indices."""
    out = []
    if cfg.data.allow_backfilled_indices:
        out.append(BACKFILLED_LABEL)
    for s in inputs:
        if s.stale:
            out.append(f"{s.series} is stale: its last observation {s.observation_date.date()} (known "
                       f"{s.known_date.date()}) should have been followed by one known by {s.next_due.date()}; "
                       "refresh the data (`fedcut data fetch`, online) or check whether that release was delayed")
    sid = market.end_set_by
    last = source.prices("IWM").index[-1]
    if sid in MACRO and last > market.days[-1]:
        out.append(f"the data ends {market.days[-1].date()} though IWM's prices go on to {last.date()}: {sid}'s "
                   f"last observation, {source.macro(sid).index[-1].date()}, counts as current for "
                   f"{MACRO[sid].stale_days} days only; refresh {sid} for a later call")
    elif sid != "IWM" and last > market.days[-1]:
        out.append(f"the call is for {market.days[-1].date()}, the last day {source.origin.get(sid, sid)} covers, "
                   f"though IWM's prices go on to {last.date()}: refresh {sid} for a later call")
    out += [n for n in market.notes if n.startswith("warning:")]
    return out


# --- the rules' inputs against their thresholds ------------------------------------------------------

FAILS = "capitulation fails (either)"
VIX, IWM = ("VIX",), ("IWM",)


def _compare(value: float | None, condition: str, threshold: float) -> bool:
    """The rule's comparison; a missing value meets nothing (callers decide what missing means)."""
    return value is not None and bool(OPS[condition](value, threshold))


def _ind(name, label, group, value, condition, threshold, unit, src, met=None, note="") -> Indicator:
    value = _num(value)
    return Indicator(name, label, group, value, threshold, condition, unit,
                     _compare(value, condition, threshold) if met is None else bool(met), note, tuple(src))


def indicators(row: pd.Series, regime, data=None) -> tuple[Indicator, ...]:
    """Each numeric input of the rules on the day (`row` of the signal frame) against its threshold
    (`signals.thresholds`) in the day's era (`data`: the data section, for the long history's
    fallbacks), grouped by the rule it feeds, in the table's order."""
    eras = {"credit": CREDIT_SOURCES.index(row["credit_source"]),
            "two_year": TWO_YEAR_SOURCES.index(row["two_year_source"]),
            "bill": BILL_SOURCES.index(row["bill_source"])}
    bank = row["bank_source"]
    scale = regime.xlf_scale if bank == "XLF" else 1.0
    peak, low = _num(row["vix_peak_recent"]), _num(row["capitulation_low"])
    names = {"bank": f"{bank} vs SPY, {regime.bank_stress_days} days" if bank else "bank ETFs vs SPY",
             "credit": row["credit_source"], "real": row["real_yield_source"], "sahm": row["sahm_source"],
             "two_year": row["two_year_source"], "bill": row["bill_source"], "regime": regime}
    values = {"vix": row["vix"], "stlfsi4": row["stlfsi"], "nfci": row["nfci"], "ted_spread": row["ted_spread"],
              "bank_move": row["bank_move"], "vix_calm": row["vix"], "stlfsi4_calm": row["stlfsi"],
              "ted_calm": row["ted_spread"], "bank_calm": row["bank_move"], "credit_damage": row["credit_spread"],
              "iwm_drawdown": row["iwm_drawdown_252d"], "credit_widening": row["credit_widening_pp"],
              "sahm": row["sahm"], "claims_rise": row["claims_rise"], "core_cpi_trend": row["core_cpi_trend"],
              "cpi_trend_3m": row["cpi_trend_3m"], "real_yield_change": row["real_yield_change"],
              "two_year_gap": row["two_year_gap"], "bill_gap": row["bill_gap"], "fed_funds": row["fed_funds"],
              "cycle_damage": row["cycle_worst_drawdown"], "vix_spike": peak, "vix_fade": row["vix"],
              "iwm_rebound": row["iwm"] / low - 1}
    level = {"bank_move": {"scale": scale}, "bank_calm": {"scale": scale},
             "credit_damage": {"era": eras["credit"], "data": data},
             "credit_widening": {"era": eras["credit"], "data": data}, "vix_fade": {"base": peak},
             "two_year_gap": {"era": eras["two_year"], "data": data}, "bill_gap": {"era": eras["bill"], "data": data}}
    decided = {"bank_move": row["bank_alarm"], "credit_damage": row["credit_damage"],  # the frame's own flags
               "credit_widening": row["credit_widening"], "real_yield_change": row["real_yields_ok"],
               "iwm_rebound": RULE["iwm_rebound"].check(row["iwm"], regime, base=low)}
    spread = (("BAMLH0A0HYM2",), ("BAA10Y",), ("BAA10YM",))[eras["credit"]]
    inputs = {"bank_move": (bank, "SPY") if bank else (), "bank_calm": (bank, "SPY") if bank else (),
              "credit_damage": spread, "credit_widening": spread,
              "real_yield_change": ("DFII10",) if row["real_yield_source"] == "TIPS" else
              (row["real_yield_source"].split(" ")[0], "CPIAUCSL"),
              "sahm": ("SAHMREALTIME",) if row["sahm_source"] == SAHM_SOURCES[0] else ("UNRATE",),
              "two_year_gap": (("DGS2", "DFF"), ("GS1", "DFF"))[eras["two_year"]],
              "bill_gap": (("DGS3MO", "DFF"), ("DTB3", "DFF"))[eras["bill"]]}
    notes = _notes(row, values, regime)
    out = []
    for rule in THRESHOLDS:
        value = _num(values[rule.name])
        threshold = (rule.parameter(regime) if rule.name == "iwm_rebound"  # shown as the rebound itself
                     else rule.level(regime, **level.get(rule.name, {})))
        met = decided.get(rule.name, rule.met(value, threshold))
        out.append(_ind(rule.name, rule.label.format(**names), rule.group, value, rule.op, threshold, rule.unit,
                        inputs.get(rule.name, rule.inputs), met=met, note=notes.get(rule.name, "")))
    return tuple(out + capitulation_failure(row))


def _notes(row: pd.Series, values: dict, regime) -> dict[str, str]:
    """Why an indicator shows no value (or what its level means)."""
    missing = {name: values[name] is None or values[name] != values[name] for name in values}
    calm = "missing: does not block calm"
    ted_end = MACRO["TEDRATE"].discontinued
    ted = f"discontinued from {ted_end}: neither alarms nor blocks calm" if row.name >= pd.Timestamp(ted_end) else None
    no_bank = "" if row["bank_source"] else "no bank ETF yet (XLF from 1998-12-22)"
    return {
        "stlfsi4": "not published on this day" if missing["stlfsi4"] else "",
        "nfci": "not published on this day" if missing["nfci"] else "",
        "ted_spread": (ted or "not published on this day") if missing["ted_spread"] else "",
        "bank_move": no_bank,
        "stlfsi4_calm": calm if missing["stlfsi4_calm"] else "",
        "ted_calm": (ted or calm) if missing["ted_calm"] else "",
        "bank_calm": no_bank or (calm if missing["bank_calm"] else ""),
        "real_yield_change": "missing: no objection" if missing["real_yield_change"] else "",
        "cycle_damage": "no easing cycle" if missing["cycle_damage"] else "",
        "vix_fade": f"{RULE['vix_fade'].parameter(regime):.0%} below the peak {_num(row['vix_peak_recent']):.1f}",
    }


def capitulation_failure(row: pd.Series) -> list[Indicator]:
    """While a capitulation holds: the levels at which it fails (VIX above the spike's peak, or IWM
    below the low it rebounded from), those of the event that set them (`signals.regime._capitulated`)."""
    if not row["capitulated"] or pd.isna(row["capitulation_seen"]):
        return []
    note = f"levels of the capitulation seen {row['capitulation_seen'].date()}"
    return [_ind("capitulation_vix_fails", "VIX", FAILS, row["vix"], ">", float(row["capitulation_fail_vix"]),
                 "points", VIX, note=note),
            _ind("capitulation_iwm_fails", "IWM (total return)", FAILS, row["iwm"], "<",
                 float(row["capitulation_fail_iwm"]), "price", IWM, note=note)]


# --- policy and cut pricing ------------------------------------------------------------------------

def policy_on(row: pd.Series, day: pd.Timestamp, changes: pd.DataFrame) -> dict:
    """The cycle state, the last target change known on the day and the next scheduled meeting."""
    known = changes[changes["effective"] <= day]
    last = known.iloc[-1] if len(known) else None
    to_meeting = _num(row["days_to_next_meeting"])
    first_cut = _date(row["cycle_first_cut"])
    return {
        "cycle_state": row["cycle_state"],
        "cycle_first_cut": first_cut,
        "cuts_in_cycle": int(row["cuts_in_cycle"]),
        "intermeeting_cut": bool(row["intermeeting_cut"]),
        "late_cycle": bool(row["late_cycle"]),
        "capitulated": bool(row["capitulated"]),
        "recession_evidence": bool(row["recession_evidence"]),
        "financial_stress": bool(row["financial_stress"]),
        "last_change": None if last is None else {
            "decision": pd.Timestamp(last["decision"]), "change_bp": int(last["change_bp"]),
            "intermeeting": bool(last["intermeeting"]), "days_since": int((day - last["decision"]).days)},
        "next_meeting": None if to_meeting is None else day + pd.Timedelta(days=to_meeting),
        "days_to_next_meeting": None if to_meeting is None else int(to_meeting),
    }


def cut_pricing(row: pd.Series, view: pd.Series, regime, data) -> dict:
    """Fed funds, the 2-year and 3-month yields as known on the day (in the long history, the series
    standing in before them: `two_year_series`, `three_month_series`), their gaps, and whether a cut
    is priced."""
    two, bill = TWO_YEAR_SOURCES.index(row["two_year_source"]), BILL_SOURCES.index(row["bill_source"])
    return {"fed_funds": _num(row["fed_funds"]), "two_year": _num(view[("DGS2", "GS1")[two]]),
            "three_month": _num(view[("DGS3MO", "DTB3")[bill]]),
            "two_year_gap": _num(row["two_year_gap"]), "bill_gap": _num(row["bill_gap"]),
            "two_year_needed": RULE["two_year_gap"].level(regime, era=two, data=data),
            "bill_needed": RULE["bill_gap"].level(regime, era=bill, data=data),
            "zero_bound": RULE["fed_funds"].level(regime),
            "cut_priced": bool(row["cut_priced"]),
            "two_year_series": row["two_year_source"], "three_month_series": row["bill_source"]}


# --- the action and the hedge --------------------------------------------------------------------------

def action_for(case: str, strategy, hedge) -> str:
    """What the playbook (`strategies.targets`) does in `case` under this configuration, in words."""
    held = "keep the small caps already held, with puts"
    defensive = f"hold defensives ({', '.join(strategy.defensives)}) with {strategy.defensive_weight:.0%}, the rest in T-bills"
    wait = held if hedge.hold_through_crisis else defensive
    reenter = f"back into small caps (IWM to {strategy.capitulation_iwm:.0%} over {strategy.reentry_days} trading days)"
    recession = {
        "avoid": "stay out of small caps, in cash",
        "hedge": f"small caps cut to {strategy.recession_equity:.0%}, hedged with puts",
        "quality": f"rotate into quality small caps (OUSM {strategy.recession_equity:.0%})",
        "midcap": f"rotate into mid caps (VO {strategy.recession_equity:.0%})",
        "cyclicals": f"rotate into large-cap cyclicals ({', '.join(strategy.cyclicals)}, {strategy.recession_equity:.0%})",
    }[strategy.recession_action]
    in_recession = {
        "buy": reenter + ", bare (sold again on a new low)",
        "hedge": reenter + ", with puts",
        "wait": "wait until the recession evidence eases: " + wait,
    }[strategy.capitulation_in_recession]
    return {
        "soft_landing": f"soft landing: buy small caps (IWM to {strategy.soft_landing_iwm:.0%}, "
                        f"scaled in over {strategy.accumulate_days} trading days)",
        "neutral": "no easing in view: hold the neutral mix of small, mid and quality small caps and cyclicals",
        "recession_risk": f"recession risk rising: {recession}",
        "crisis": f"crisis: {wait}",
        "late_panic": f"late cut: await the capitulation; meanwhile {wait}",
        "late_panic_capitulated": f"capitulation after a late cut: {reenter}",
        "late_panic_capitulated_recession": f"capitulation after a late cut, with recession evidence: {in_recession}",
    }[case]


def hedge_on(day: pd.Timestamp, ratio: float, iwm_weight: float, inputs: pd.Series, days: pd.DatetimeIndex,
             cfg: Config) -> Hedge:
    """The puts of the day's hedge ratio, struck, priced and counted at the day's close by the
    backtest's own rules (`execution.kernel`: `new_put`, `quote`, `fill_price`, `contracts_needed`):
    per $1M of portfolio at the target IWM weight (less the cash buffer), or per $1M of IWM held
    when the playbook keeps what is held (weight NaN). Expiries come from the trading days up to
    `day` (after the data's last day: third Fridays)."""
    h = cfg.hedge
    p = pack(settings_for([cfg]), 0)
    spot, vix, rate, div_yield, unit, skew, scr = (float(inputs[c]) for c in (
        "spot", "vix", "rate", "div_yield", "option_unit", "skew", "small_cap_vol_ratio"))
    today = day_ordinal(day.date())
    strike, expiry = new_put(p, today, spot, unit, listed_expiries(days))
    model, vol, _ = quote(p, today, strike, expiry, spot, vix, skew, scr, rate, div_yield)
    per = "IWM held" if math.isnan(iwm_weight) and h.sizing == "ratio" else "portfolio"
    exposure = PORTFOLIO if per == "IWM held" else iwm_weight * (1.0 - cfg.execution.cash_buffer) * PORTFOLIO
    contracts = int(contracts_needed(p, PORTFOLIO, exposure, ratio, spot, unit, model, np.zeros(len(COUNTS))))
    fill = fill_price(p, model, vix, unit, True)
    blocked = "" if buying_allowed(vix, h.buy_vix_floor, h.buy_vix_ceiling) else (
        f"VIX {vix:.1f} is outside [hedge.buy_vix_floor {h.buy_vix_floor:g}, hedge.buy_vix_ceiling "
        f"{h.buy_vix_ceiling:g}): no put is bought or rolled on this call; puts held are kept")
    return Hedge(hedge_ratio=ratio, sizing=h.sizing, spot=spot, moneyness=h.moneyness, strike=strike,
                 expiry=ordinal_date(expiry), days_to_expiry=int(expiry - today), vol=vol, model_price=model,
                 fill_price=fill, contracts_per_1m=contracts, per=per,
                 premium_per_1m=contracts * (fill * h.contract_size + h.commission_per_contract * unit), blocked=blocked)
