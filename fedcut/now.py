"""Today's call: what the regime rules say on one day, why, how far each indicator stands from
changing it, and how old every input is.

The call is the backtest's own: `fedcut.run.backtest.prepare` over the same history as a backtest of the
configuration (so the path-dependent states agree: the dwell filter, the stress hysteresis, the
late-cycle and capitulation states, IWM's scaling in), `fedcut.run.backtest.signals` and
`fedcut.run.backtest.strategy_plan`; `todays_call` reads their row for the day. The rest are pure
functions of that row and the configuration: the indicators against their thresholds
(`fedcut.now_indicators`), the age of each input (`fedcut.now_inputs`), the puts (`hedge_on`, by
the backtest's execution rules) and the action (`action_for`). `fedcut.now_text` prints a `Call`
as text or JSON.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.core.errors import ConfigError
from fedcut.core.params import Config, iso_date
from fedcut.data.asof import asof_frame
from fedcut.data.catalog import (
    BACKFILLED_LABEL,
    INSTRUMENTS,
    MACRO,
)
from fedcut.data.sources import DataSource
from fedcut.execution.engine import settings_for
from fedcut.execution.kernel import COUNTS, buying_allowed, contracts_needed, fill_price, new_put, pack, quote
from fedcut.hedging.book import day_ordinal, listed_expiries, ordinal_date
from fedcut.now_indicators import Indicator, flag_inputs, indicators
from fedcut.now_inputs import (
    PRICE_INPUTS,
    Input,
    as_date,
    as_number,
    input_status,
    macro_read,
    policy_inputs,
    price_input,
)
from fedcut.run.backtest import strategy_plan
from fedcut.run.inputs import prepare, rate_changes_of, signals
from fedcut.signals.indicators import BILL_SOURCES, TWO_YEAR_SOURCES
from fedcut.signals.thresholds import RULE
from fedcut.strategies.targets import CASES, case_codes

PORTFOLIO = 1_000_000.0  # the hedge is shown per $1M of portfolio


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
        raise ConfigError(
            "now: run.oracle reads the actual cut calendar (future information); "
            "today's call cannot know it: drop --oracle / run.oracle"
        )
    if cfg.run.strategy != "fedcut":
        raise ConfigError(f"now: run.strategy = {cfg.run.strategy}: today's call is the fedcut rules' only")


def trading_day(
    asked: pd.Timestamp | None, days: pd.DatetimeIndex, end_set_by: str
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """The trading day of the call and, when the day `asked` was no trading day, that day.
    Without `asked`: the last day the data covers (also for a weekend just after it)."""
    if asked is None:
        return days[-1], None
    if asked > days[-1] and len(pd.bdate_range(days[-1] + pd.Timedelta(days=1), asked)):
        raise ConfigError(
            f"--as-of {asked.date()}: after the last day the data covers, {days[-1].date()} (end set by {end_set_by})"
        )
    if asked < days[0]:
        raise ConfigError(
            f"--as-of {asked.date()}: before the history's first day, {days[0].date()} "
            "(run.start, or --history extended or long for an earlier history)"
        )
    day = days[days.searchsorted(asked, side="right") - 1]
    return day, (None if day == asked else asked)


def todays_call(
    cfg: Config,
    as_of: str | None = None,
    data_dir: str | Path | None = None,
    offline: bool | None = None,
    today: str | None = None,
) -> Call:
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
    macro = [
        input_status(sid, as_date(view[f"{sid}_obs"]), as_date(view[f"{sid}_known"]), day, cfg.data) for sid in read
    ] + policy_inputs(prepared, day, cfg.data)
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
        as_of=day,
        requested=requested,
        data_end=market.days[-1],
        end_set_by=market.end_set_by,
        regime=row["regime"],
        regime_raw=row["regime_raw"],
        regime_since=regime_since,
        days_in_regime=days_in,
        raw_days=raw_days,
        min_dwell_days=cfg.regime.min_dwell_days,
        case=case,
        action=action_for(case, cfg.strategy, cfg.hedge),
        weights=target,
        unlisted=tuple(t for t in tickers if pd.isna(market.close[t].iloc[i])),
        hedge=hedge,
        reason=row["reason"],
        policy=policy_on(row, day, rate_changes_of(prepared)),
        cut_pricing=cut_pricing(row, view, cfg.regime, cfg.data),
        indicators=measured,
        inputs=inputs,
        warnings=tuple(
            warnings_for(inputs, measured, market, source, cfg)
            + (age_warnings(day, now, inputs, prepared, cfg) if now is not None else [])
        ),
        config_hash=cfg.digest(),
        today=now,
    )


def spell(values: np.ndarray, days: pd.DatetimeIndex) -> tuple[pd.Timestamp, int]:
    """The first day of the run of equal values that ends the array, and its length in days."""
    changed = np.flatnonzero(values[1:] != values[:-1])
    start = int(changed[-1]) + 1 if len(changed) else 0
    return days[start], len(values) - start


def warnings_for(
    inputs: tuple[Input, ...], measured: tuple[Indicator, ...], market, source: DataSource, cfg: Config
) -> list[str]:
    """What the reader of the call must know: stale inputs, a data end set by a macro series, the data layer's notes, reconstructed indices."""
    out = []
    if cfg.data.allow_backfilled_indices:
        out.append(BACKFILLED_LABEL)
    for s in inputs:
        if s.stale:
            out.append(
                f"{s.series} is stale: its last observation {s.observation_date.date()} (known "
                f"{s.known_date.date()}) should have been followed by one known by {s.next_due.date()}; "
                "refresh the data (`fedcut data fetch`, online) or check whether that release was delayed"
            )
    sid = market.end_set_by
    last = source.prices("IWM").index[-1]
    if sid in MACRO and last > market.days[-1]:
        out.append(
            f"the data ends {market.days[-1].date()} though IWM's prices go on to {last.date()}: {sid}'s "
            f"last observation, {source.macro(sid).index[-1].date()}, counts as current for "
            f"{MACRO[sid].stale_days} days only; refresh {sid} for a later call"
        )
    elif sid != "IWM" and last > market.days[-1]:
        out.append(
            f"the call is for {market.days[-1].date()}, the last day {source.origin.get(sid, sid)} covers, "
            f"though IWM's prices go on to {last.date()}: refresh {sid} for a later call"
        )
    out += [n for n in market.notes if n.startswith("warning:")]
    return out


# --- policy and cut pricing ------------------------------------------------------------------------


def policy_on(row: pd.Series, day: pd.Timestamp, changes: pd.DataFrame) -> dict:
    """The cycle state, the last target change known on the day and the next scheduled meeting."""
    known = changes[changes["effective"] <= day]
    last = known.iloc[-1] if len(known) else None
    to_meeting = as_number(row["days_to_next_meeting"])
    first_cut = as_date(row["cycle_first_cut"])
    return {
        "cycle_state": row["cycle_state"],
        "cycle_first_cut": first_cut,
        "cuts_in_cycle": int(row["cuts_in_cycle"]),
        "intermeeting_cut": bool(row["intermeeting_cut"]),
        "late_cycle": bool(row["late_cycle"]),
        "capitulated": bool(row["capitulated"]),
        "recession_evidence": bool(row["recession_evidence"]),
        "financial_stress": bool(row["financial_stress"]),
        "last_change": None
        if last is None
        else {
            "decision": pd.Timestamp(last["decision"]),
            "change_bp": int(last["change_bp"]),
            "intermeeting": bool(last["intermeeting"]),
            "days_since": int((day - last["decision"]).days),
        },
        "next_meeting": None if to_meeting is None else day + pd.Timedelta(days=to_meeting),
        "days_to_next_meeting": None if to_meeting is None else int(to_meeting),
    }


def cut_pricing(row: pd.Series, view: pd.Series, regime, data) -> dict:
    """Fed funds, the 2-year and 3-month yields as known on the day (in the long history, the series
    standing in before them: `two_year_series`, `three_month_series`), their gaps, and whether a cut
    is priced."""
    two, bill = TWO_YEAR_SOURCES.index(row["two_year_source"]), BILL_SOURCES.index(row["bill_source"])
    return {
        "fed_funds": as_number(row["fed_funds"]),
        "two_year": as_number(view[("DGS2", "GS1")[two]]),
        "three_month": as_number(view[("DGS3MO", "DTB3")[bill]]),
        "two_year_gap": as_number(row["two_year_gap"]),
        "bill_gap": as_number(row["bill_gap"]),
        "two_year_needed": RULE["two_year_gap"].level(regime, era=two, data=data),
        "bill_needed": RULE["bill_gap"].level(regime, era=bill, data=data),
        "zero_bound": RULE["fed_funds"].level(regime),
        "cut_priced": bool(row["cut_priced"]),
        "two_year_series": row["two_year_source"],
        "three_month_series": row["bill_source"],
    }


# --- the action and the hedge --------------------------------------------------------------------------


def action_for(case: str, strategy, hedge) -> str:
    """What the playbook (`strategies.targets`) does in `case` under this configuration, in words."""
    held = "keep the small caps already held, with puts"
    defensive = (
        f"hold defensives ({', '.join(strategy.defensives)}) with {strategy.defensive_weight:.0%}, the rest in T-bills"
    )
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


def hedge_on(
    day: pd.Timestamp, ratio: float, iwm_weight: float, inputs: pd.Series, days: pd.DatetimeIndex, cfg: Config
) -> Hedge:
    """The puts of the day's hedge ratio, struck, priced and counted at the day's close by the
    backtest's own rules (`execution.kernel`: `new_put`, `quote`, `fill_price`, `contracts_needed`):
    per $1M of portfolio at the target IWM weight (less the cash buffer), or per $1M of IWM held
    when the playbook keeps what is held (weight NaN). Expiries come from the trading days up to
    `day` (after the data's last day: third Fridays)."""
    h = cfg.hedge
    p = pack(settings_for([cfg]), 0)
    spot, vix, rate, div_yield, unit, skew, scr = (
        float(inputs[c]) for c in ("spot", "vix", "rate", "div_yield", "option_unit", "skew", "small_cap_vol_ratio")
    )
    today = day_ordinal(day.date())
    strike, expiry = new_put(p, today, spot, unit, listed_expiries(days))
    model, vol, _ = quote(p, today, strike, expiry, spot, vix, skew, scr, rate, div_yield)
    per = "IWM held" if math.isnan(iwm_weight) and h.sizing == "ratio" else "portfolio"
    exposure = PORTFOLIO if per == "IWM held" else iwm_weight * (1.0 - cfg.execution.cash_buffer) * PORTFOLIO
    contracts = int(contracts_needed(p, PORTFOLIO, exposure, ratio, spot, unit, model, np.zeros(len(COUNTS))))
    fill = fill_price(p, model, vix, unit, True)
    blocked = (
        ""
        if buying_allowed(vix, h.buy_vix_floor, h.buy_vix_ceiling)
        else (
            f"VIX {vix:.1f} is outside [hedge.buy_vix_floor {h.buy_vix_floor:g}, hedge.buy_vix_ceiling "
            f"{h.buy_vix_ceiling:g}): no put is bought or rolled on this call; puts held are kept"
        )
    )
    return Hedge(
        hedge_ratio=ratio,
        sizing=h.sizing,
        spot=spot,
        moneyness=h.moneyness,
        strike=strike,
        expiry=ordinal_date(expiry),
        days_to_expiry=int(expiry - today),
        vol=vol,
        model_price=model,
        fill_price=fill,
        contracts_per_1m=contracts,
        per=per,
        premium_per_1m=contracts * (fill * h.contract_size + h.commission_per_contract * unit),
        blocked=blocked,
    )
