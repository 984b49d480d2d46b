"""Your own rule or baseline: a function from what was known each day to target weights and a hedge ratio.

The contract (docs: own rules). A rule is a module-level function `f(inputs, params)`:

- `inputs` (`RuleInputs`): `days`, the run's trading days; `signals`, the regime frame the built-in
  rules read (one row per day, each value as known at that day's close; without the `reason` text);
  `close`, the total-return closes of every ticker (NaN before it exists); `raw`, each macro series
  as FRED dates it (the period it refers to); `known(series)`, those series as known each day under
  their publication lags (`data.asof.asof_frame`); `tickers`, what a decision may hold.
- `params`: the function's own parameters (`rule(name=setting(...))`), as attributes.
- It returns a DataFrame indexed by `inputs.days` with a column `w_<TICKER>` per ticker it holds
  (a ticker left out is 0) and, optionally, `hedge_ratio` (puts on that share of the IWM held): the
  shape of `strategies.targets.target_weights`. The rest is cash at the T-bill rate. Weights are
  numbers >= 0 adding to at most 1; a hedge ratio is within 0..2 (hedge.hedge_ratio's range). A
  ticker's weight before its first day is dropped, as for the built-in rules.

The decision of day D is traded at D+1's open by the same execution as every built-in rule. Before
it is used, a rule is run again on inputs changed after each of three days D (prices, signals and
macro observations published after D scaled, reversed, flipped); a decision up to D that moves
means the rule read the future, and it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pandas as pd

from fedcut.core.errors import UserCodeError
from fedcut.core.user_code import UserFunction, rule, setting
from fedcut.data.asof import asof_frame, known_dates
from fedcut.data.catalog import MACRO

__all__ = ["RuleInputs", "decide", "rule", "setting"]

LOOKAHEAD_CUTS = (0.25, 0.5, 0.75)  # where in the run the future is changed: three days D
_SEED = 27  # the perturbation's random draws: fixed, so the check decides the same every time
MAX_HEDGE_RATIO = 2.0  # hedge.hedge_ratio's range
TOLERANCE = 1e-9  # weights adding to at most 1 + this


@dataclass(frozen=True)
class RuleInputs:
    """What a user rule may read; every frame is one row per trading day, known at that day's close."""

    days: pd.DatetimeIndex
    signals: pd.DataFrame
    close: pd.DataFrame
    raw: Mapping[str, pd.Series]
    tickers: tuple[str, ...]
    data: object  # the configuration's data.* section: the publication lags `known` applies

    def known(self, series: Mapping[str, pd.Series]) -> pd.DataFrame:
        """Each series (keyed by its FRED id, or `ID:anything` for one derived from it) as known on each
        day under its publication lag: columns `<key>`, `<key>_obs`, `<key>_known`."""
        return asof_frame(dict(series), self.days, self.data)


def decide(
    fn: UserFunction, inputs: RuleInputs, params: Mapping, role: str = "user rule", check_lookahead: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The weights (days x `inputs.tickers`) and hedge ratios a user function decides, checked:
    a function that raises, returns a bad decision or reads the future is refused with one line."""
    own = SimpleNamespace(**{name: params[name] for name in fn.settings})
    weights, ratio = _call(fn, inputs, own, role)
    if check_lookahead:
        for k, fraction in enumerate(LOOKAHEAD_CUTS):
            day = inputs.days[int(fraction * (len(inputs.days) - 1))]
            changed = perturbed(inputs, day, np.random.default_rng(_SEED + k))
            w2, r2 = _call(fn, changed, own, role)
            upto = int(inputs.days.searchsorted(day, side="right"))
            moved = ~(np.all(w2[:upto] == weights[:upto], axis=1) & (r2[:upto] == ratio[:upto]))
            if moved.any():
                first = inputs.days[int(np.argmax(moved))].date()
                raise UserCodeError(
                    f"{role} {fn.ref} looks ahead: its decision for {first} changed when only "
                    f"data published after {day.date()} was changed"
                )
    return weights, ratio


def _call(fn: UserFunction, inputs: RuleInputs, params: SimpleNamespace, role: str) -> tuple[np.ndarray, np.ndarray]:
    fresh = replace(
        inputs,
        signals=inputs.signals.copy(),
        close=inputs.close.copy(),
        raw={k: v.copy() for k, v in inputs.raw.items()},
    )  # the caller's frames stay as they are
    try:
        out = fn.func(fresh, params)
    except Exception as exc:  # noqa: BLE001 - the user's code: any failure is one line naming it
        raise UserCodeError(f"{role} {fn.ref} raised {type(exc).__name__}: {exc}") from None
    return _checked(fn.ref, out, inputs, role)


def _checked(ref: str, out, inputs: RuleInputs, role: str) -> tuple[np.ndarray, np.ndarray]:
    """The decision as arrays, or a UserCodeError saying what is wrong with it."""
    where = f"{role} {ref}"
    if not isinstance(out, pd.DataFrame):
        raise UserCodeError(
            f"{where} returned {type(out).__name__}, not a DataFrame of w_<TICKER> columns "
            "(and hedge_ratio), one row per day of inputs.days"
        )
    if not out.index.equals(inputs.days):
        raise UserCodeError(
            f"{where} returned {len(out)} rows not indexed by inputs.days ({len(inputs.days)} days "
            f"{inputs.days[0].date()} .. {inputs.days[-1].date()})"
        )
    allowed = {f"w_{t}" for t in inputs.tickers} | {"hedge_ratio"}
    unknown = [str(c) for c in out.columns if c not in allowed]
    if unknown:
        raise UserCodeError(
            f"{where} returned column {unknown[0]!r}: expected w_<TICKER> for "
            f"{', '.join(inputs.tickers)}, and hedge_ratio"
        )
    try:
        weights = np.column_stack(
            [out[f"w_{t}"].to_numpy(dtype=float) if f"w_{t}" in out else np.zeros(len(out)) for t in inputs.tickers]
        )
        ratio = out["hedge_ratio"].to_numpy(dtype=float) if "hedge_ratio" in out else np.zeros(len(out))
    except (TypeError, ValueError) as exc:
        raise UserCodeError(f"{where} returned weights that are not numbers ({exc})") from None
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise UserCodeError(
            f"{where}: weight of {inputs.tickers[j]} on {inputs.days[i].date()} is {weights[i, j]!r}; "
            "weights must be numbers >= 0"
        )
    total = weights.sum(axis=1)
    if (total > 1 + TOLERANCE).any():
        i = int(np.argmax(total > 1 + TOLERANCE))
        raise UserCodeError(
            f"{where}: weights on {inputs.days[i].date()} add to {total[i]:.6g}; they must add to "
            "at most 1 (the rest is cash; no leverage)"
        )
    bad = ~np.isfinite(ratio) | (ratio < 0) | (ratio > MAX_HEDGE_RATIO)
    if bad.any():
        i = int(np.argmax(bad))
        raise UserCodeError(
            f"{where}: hedge_ratio on {inputs.days[i].date()} is {ratio[i]!r}; it must be within 0..{MAX_HEDGE_RATIO:g}"
        )
    return weights, ratio


def perturbed(inputs: RuleInputs, day: pd.Timestamp, rng: np.random.Generator) -> RuleInputs:
    """`inputs` with everything that became known after `day` changed: prices and signal rows dated
    after it, macro observations published after it (`data.asof.known_dates`; by date when uncatalogued)."""
    late = inputs.days > day
    close = inputs.close.copy()
    close.loc[late] = close.loc[late].to_numpy() * (1.3 * np.exp(np.cumsum(rng.normal(0.0, 0.02, late.sum()))))[:, None]
    signals = inputs.signals.copy()
    for name in signals.columns:
        signals[name] = _changed(signals[name], late)
    raw = {}
    for sid, s in inputs.raw.items():
        meta = MACRO.get(str(sid).split(":")[0])
        when = known_dates(s.index, meta.lag_rule, inputs.data) if meta and meta.lag_rule != "label" else s.index
        raw[sid] = _changed(s, np.asarray(when > day))
    return replace(inputs, close=close, signals=signals, raw=raw)


def _changed(column: pd.Series, late: np.ndarray) -> pd.Series:
    """The `late` rows of one column changed whatever its type: numbers reversed, scaled and shifted,
    flags flipped, dates moved a week, text moved to the next of its values."""
    if not late.any():
        return column
    values = column.to_numpy(copy=True)
    tail = values[late]
    if column.dtype == bool:
        tail = ~tail
    elif pd.api.types.is_numeric_dtype(column.dtype):
        tail = tail[::-1] * 1.37 + 0.5
    elif pd.api.types.is_datetime64_any_dtype(column.dtype):
        tail = tail + np.timedelta64(7, "D")
    else:
        names = sorted({str(v) for v in values if isinstance(v, str)})
        step = {v: names[(k + 1) % len(names)] for k, v in enumerate(names)}
        tail = np.array([step.get(v, v) if isinstance(v, str) else v for v in tail], dtype=object)
    if pd.api.types.is_integer_dtype(column.dtype):
        tail = np.round(tail).astype(values.dtype)
    out = values.astype(object) if values.dtype.kind in "OUT" or column.dtype == "string" else values
    out[late] = tail
    return pd.Series(out, index=column.index, name=column.name).astype(column.dtype)
