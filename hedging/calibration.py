"""Fitting the SPY put surface of `hedging.surface` to real quotes, and measuring its errors.

Pure functions of tables: `read_quotes` checks a quotes file (the format of
`options/SPY_puts_2010_2019.csv`), `fit` fits the surface's coefficients on the quotes before a
split date, `price` prices quotes with given coefficients and `errors` tabulates the model's
errors by moneyness and days-to-expiry bucket: vol points (model IV minus the vendor's), dollars
of premium (model mid minus the quoted mid, per share) and dollars of half-spread.

The fit is least squares and deterministic: for the skew's term exponent on a grid of
`EXPONENT_STEP`, the level and the skew are an ordinary linear regression of the quoted IV on
VIX, on the term-scaled out-of-the-moneyness u and on u x (SKEW - centre) / 100, where the centre is
Cboe's SKEW averaged over the fitted quotes (so the skew at SKEW's centre is the surface of a day
without SKEW); the exponent with the smallest sum of squares wins. Without a `skew` column (or with
`use_skew=False`) the SKEW term is left out. The half-spread (per share) is a linear regression on a constant, the mid, and VIX x the
mid; crossed quotes (ask below bid) are left out of it, they are not spreads.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.core.errors import DataError
from fedcut.hedging.pricing import bsm_put_one
from fedcut.hedging.surface import SKEW_REFERENCE_DAYS, half_spread_one, spy_vol

# The fit uses the quotes before this day, the errors are judged on those from it: six years (2010-2015, with the
# 2010-11 stress) to fit, four (2016-2019, with February and December 2018) to judge (`fedcut calibrate --split`).
# It shapes only what `fedcut calibrate` reports, never a run, so it is not in the run's registry (`core.params`).
SPLIT = "2016-01-01"
COLUMNS = ("quote_date", "dte", "strike", "bid", "ask", "iv", "spot")  # what a quotes file must hold
EXPONENT_GRID = np.round(np.arange(0.0, 1.0005, 0.001), 3)  # the skew's term exponent is searched here
MONEYNESS_EDGES = (-np.inf, 5.0, 10.0, 15.0, np.inf)  # % out of the money: buckets below 5 (the money included), ...
MONEYNESS_LABELS = ("< 5%", "5-10%", "10-15%", ">= 15%")
SHORT_DAYS = 35  # a quote with at most this many days to expiry is in the "about 21 days" bucket
DIGITS = {
    "atm_vix_ratio": 3,
    "skew_slope": 3,
    "skew_term_exponent": 3,
    "skew_index_slope": 3,
    "skew_index_centre": 1,
    "half_spread_dollars": 4,
    "half_spread_base": 4,
    "half_spread_per_vix": 5,
}  # the precision printed and stored in the registry


@dataclass(frozen=True)
class Surface:
    """The SPY surface's coefficients (`hedging.surface`; names as in the `hedge` section)."""

    atm_vix_ratio: float
    skew_slope: float
    skew_term_exponent: float
    skew_index_slope: float
    skew_index_centre: float
    half_spread_dollars: float
    half_spread_base: float
    half_spread_per_vix: float

    @classmethod
    def of(cls, hedge) -> Surface:
        """The coefficients a `hedge` config section holds."""
        return cls(**{name: getattr(hedge, name) for name in DIGITS})

    def rounded(self) -> Surface:
        return Surface(**{k: round(v, DIGITS[k]) for k, v in asdict(self).items()})


def read_quotes(path: Path | str) -> pd.DataFrame:
    """The quotes of `path`, checked: every column of COLUMNS, ISO dates in order, numbers where
    numbers belong, a positive strike and spot, no negative bid or ask, at least one day to expiry.
    An empty IV is allowed (the vendor left 42 of them empty). The first problem is a DataError
    naming the file and the line (the header is line 1)."""
    path = Path(path)
    try:
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None
    if not rows:
        raise DataError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: missing column {missing[0]} (a quotes file needs {', '.join(COLUMNS)})")
    if len(rows) == 1:
        raise DataError(f"{path}: header only, no quotes")
    at = {c: header.index(c) for c in COLUMNS}
    out: dict[str, list] = {c: [] for c in COLUMNS}
    previous = None
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line}: {len(row)} fields, the header has {len(header)}")
        cell = {c: row[at[c]].strip() for c in COLUMNS}
        try:
            date = pd.Timestamp(cell["quote_date"]) if len(cell["quote_date"]) == 10 else None
        except ValueError:
            date = None
        if date is None:
            raise DataError(f"{path}: line {line}: quote_date {cell['quote_date']!r} is not a date YYYY-MM-DD")
        if previous is not None and date < previous:
            raise DataError(f"{path}: line {line}: dates out of order: {date.date()} comes after {previous.date()}")
        previous = date
        out["quote_date"].append(date)
        for c in COLUMNS[1:]:
            text = cell[c]
            if c == "iv" and text in ("", ".", "-99.99", "-999"):
                out[c].append(math.nan)
                continue
            try:
                value = float(text)
            except ValueError:
                raise DataError(f"{path}: line {line}: {c} {text!r} is not a number") from None
            if not math.isfinite(value):
                raise DataError(f"{path}: line {line}: {c} {text!r} is not a finite number")
            if c in ("strike", "spot") and value <= 0:
                raise DataError(f"{path}: line {line}: {c} {text} must be positive")
            if c in ("bid", "ask", "iv") and value < 0:
                raise DataError(f"{path}: line {line}: {c} {text} is negative")
            if c == "dte" and value < 1:
                raise DataError(f"{path}: line {line}: dte {text} must be at least one day")
            out[c].append(value)
    quotes = pd.DataFrame(out)
    quotes["mid"] = (quotes["bid"] + quotes["ask"]) / 2.0
    quotes["moneyness"] = quotes["strike"] / quotes["spot"]
    quotes["otm_pct"] = 100.0 * (1.0 - quotes["moneyness"])
    return quotes


def with_market(
    quotes: pd.DataFrame,
    vix: pd.Series,
    rate: pd.Series,
    div_yield: pd.Series,
    path: Path | str,
    skew: pd.Series | None = None,
) -> pd.DataFrame:
    """`quotes` with the day's VIX close, risk-free rate, SPY dividend yield and SKEW close (each the
    last value known on the quote date; SKEW NaN before its first); a DataError if VIX has no value on
    or before a quote date."""
    out = quotes.copy()
    days = pd.DatetimeIndex(out["quote_date"])
    series_of = (("vix", vix), ("rate", rate), ("div_yield", div_yield)) + (
        (("skew", skew),) if skew is not None else ()
    )
    for name, series in series_of:
        values = series.sort_index().reindex(days, method="ffill").to_numpy(dtype=float)
        if name == "vix" and np.isnan(values).any():
            first = days[np.isnan(values)][0]
            raise DataError(f"{path}: no VIX close on or before the quote date {first.date()}")
        out[name] = values if name == "skew" else np.nan_to_num(values, nan=0.0)
    return out


def skew_of(quotes: pd.DataFrame) -> np.ndarray:
    """Each quote's SKEW close (NaN where none is known or the quotes carry none)."""
    return quotes["skew"].to_numpy(dtype=float) if "skew" in quotes else np.full(len(quotes), np.nan)


def skew_term(quotes: pd.DataFrame, exponent: float) -> np.ndarray:
    """max(1 - K/S, 0) x (30 / days)^exponent: the regressor of the skew."""
    otm = np.maximum(1.0 - quotes["moneyness"].to_numpy(), 0.0)
    return otm * (SKEW_REFERENCE_DAYS / quotes["dte"].to_numpy()) ** exponent


def fit(quotes: pd.DataFrame, extra=None, use_skew: bool = True) -> tuple[Surface, np.ndarray]:
    """The surface fitted on `quotes` (with VIX and SKEW, `with_market`); rows without an IV are left
    out of the vol fit, and of the SKEW term's centre. `extra(quotes, exponent)`, if given, is a
    further regressor (one value per quote) with its own coefficient c: how a candidate input (VIX3M)
    is tried. Returns the coefficients and, with `extra`, c."""
    has_iv = quotes["iv"].notna().to_numpy()
    q = quotes[has_iv]
    iv, vix = q["iv"].to_numpy(), q["vix"].to_numpy() / 100.0
    skew = skew_of(q)
    if use_skew and np.isnan(skew).any() and not np.isnan(skew).all():
        raise DataError(f"no SKEW close on or before the quote date {q['quote_date'][np.isnan(skew)].iloc[0].date()}")
    known = not np.isnan(skew).any()
    use_skew = use_skew and known
    centre = round(float(skew.mean()), DIGITS["skew_index_centre"]) if known else 0.0  # no SKEW: slope 0, unused
    best = None
    for exponent in EXPONENT_GRID:
        u = skew_term(q, exponent)
        cols = [vix, u] + ([u * (skew - centre) / 100.0] if use_skew else [])
        cols += [extra(q, exponent)] if extra is not None else []
        x = np.column_stack(cols)
        coef, *_ = np.linalg.lstsq(x, iv, rcond=None)
        sse = float(np.sum((x @ coef - iv) ** 2))
        if best is None or sse < best[0]:
            best = (sse, exponent, coef)
    assert best is not None  # the grid of exponents is never empty
    _, exponent, coef = best
    if not use_skew:
        coef = np.concatenate([coef[:2], [0.0], coef[2:]])
    crossed = quotes["ask"].to_numpy() < quotes["bid"].to_numpy()
    s = quotes[~crossed]
    mid, half = s["mid"].to_numpy(), (s["ask"] - s["bid"]).to_numpy() / 2.0
    spread, *_ = np.linalg.lstsq(np.column_stack([np.ones_like(mid), mid, s["vix"].to_numpy() * mid]), half, rcond=None)
    surface = Surface(
        float(coef[0]), float(coef[1]), float(exponent), float(coef[2]), centre, *(float(c) for c in spread)
    )
    return surface, coef[3:]


def price(quotes: pd.DataFrame, surface: Surface, extra: np.ndarray | None = None) -> pd.DataFrame:
    """`quotes` with the model's IV, mid and half-spread (SPY surface, no small-cap ratio); `extra`
    (one value per quote, vol) is added to the IV: a candidate input's term."""
    out = quotes.copy()
    vol = spy_vol(
        out["vix"],
        skew_of(out),
        out["moneyness"],
        out["dte"],
        surface.atm_vix_ratio,
        surface.skew_slope,
        surface.skew_term_exponent,
        surface.skew_index_slope,
        surface.skew_index_centre,
    )
    if extra is not None:
        vol = vol + extra
    out["model_iv"] = vol
    years = out["dte"].to_numpy() / 365.0
    out["model_mid"] = [
        bsm_put_one(s, k, t, r, q, max(v, 1e-4))
        for s, k, t, r, q, v in zip(out["spot"], out["strike"], years, out["rate"], out["div_yield"], vol)
    ]
    out["model_half_spread"] = [
        half_spread_one(m, v, 1.0, surface.half_spread_dollars, surface.half_spread_base, surface.half_spread_per_vix)
        for m, v in zip(out["model_mid"], out["vix"])
    ]
    return out


def _stats(x: pd.Series) -> dict:
    x = x.dropna().abs()
    if x.empty:
        return {"median": None, "p90": None}
    return {"median": float(np.median(x)), "p90": float(np.quantile(x, 0.9))}


def errors(priced: pd.DataFrame) -> dict:
    """Absolute errors of priced quotes: overall and by moneyness x days-to-expiry bucket. IV errors in
    vol points over every quote with an IV; premium and half-spread errors in USD per share."""
    iv_err = 100.0 * (priced["model_iv"] - priced["iv"])
    mid_err = priced["model_mid"] - priced["mid"]
    hs_err = priced["model_half_spread"] - (priced["ask"] - priced["bid"]) / 2.0
    otm = pd.cut(priced["otm_pct"], MONEYNESS_EDGES, right=False, labels=MONEYNESS_LABELS)
    term = np.where(priced["dte"] <= SHORT_DAYS, f"<= {SHORT_DAYS} days", f"> {SHORT_DAYS} days")
    buckets = []
    for (label, days), idx in priced.groupby([otm, term], observed=True).groups.items():
        buckets.append(
            {
                "otm_pct": label,
                "days_to_expiry": days,
                "quotes": len(idx),
                "abs_iv_error": _stats(iv_err[idx]),
                "abs_premium_error": _stats(mid_err[idx]),
                "abs_half_spread_error": _stats(hs_err[idx]),
                "median_quoted_mid": float(priced["mid"][idx].median()),
            }
        )
    overall_iv = _stats(iv_err)
    return {
        "quotes": len(priced),
        "quotes_with_iv": int(priced["iv"].notna().sum()),
        "median_abs_iv_error": overall_iv["median"],
        "p90_abs_iv_error": overall_iv["p90"],
        "abs_premium_error": _stats(mid_err),
        "abs_half_spread_error": _stats(hs_err),
        "buckets": buckets,
    }
