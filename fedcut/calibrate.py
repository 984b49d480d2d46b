"""`fedcut calibrate`: the SPY put surface fitted on real quotes and judged out of sample, and
`--check FILE`: another quotes file priced with the surface the defaults hold, nothing fitted.

The numbers are `hedging.calibration`'s, the text `report.calibration`'s, the picture
`plots.calibration`'s; this module reads the market data a quote needs (VIX close, the T-bill
rate, SPY's trailing dividend yield, Cboe's SKEW, and for the candidate input Cboe's VIX3M), and
writes the output folder atomically as `fedcut run` does (`core.files`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.core.errors import DataError
from fedcut.core.files import free_name, temporary_folder, unmark, writing
from fedcut.hedging import calibration as cal
from fedcut.hedging.pricing import dividend_yield, tbill_discount_to_continuous

QUOTES_FILE = "options/SPY_puts_2010_2019.csv"  # the default quotes file, under the data directory


def default_quotes(source) -> Path:
    """The shared quotes file under the data directory."""
    if source.data_dir is None or not (source.data_dir / QUOTES_FILE).is_file():
        raise DataError(f"{QUOTES_FILE} not found in the data directory ({source.data_dir}); give a quotes file")
    return source.data_dir / QUOTES_FILE


def market_quotes(path: Path, source, hedge) -> pd.DataFrame:
    """The quotes of `path`, checked, with each quote day's VIX, T-bill rate and SPY dividend yield."""
    quotes = cal.read_quotes(path)
    vix = source.macro("VIXCLS")
    rate = tbill_discount_to_continuous(source.macro("DTB3"))
    spy = source.prices("SPY")
    div = dividend_yield(spy["adj_close"], spy["close"], hedge.div_yield_window_days)
    return cal.with_market(quotes, vix, rate, div, path, source.macro("SKEW"))


def _vix3m(source) -> pd.Series:
    path = (source.data_dir or Path(".")) / "cboe" / "VIX3M.csv"
    if not path.is_file():
        raise DataError(f"cboe/VIX3M.csv not found in the data directory ({source.data_dir})")
    table = pd.read_csv(path, usecols=["Date", "Close"], index_col="Date", parse_dates=["Date"])  # OHLC, no volume
    return table["Close"].astype(float).dropna()


def _span(q: pd.DataFrame) -> dict:
    return {"first": str(q["quote_date"].min().date()), "last": str(q["quote_date"].max().date()), "quotes": len(q)}


def _candidate(name, e: dict, coefficient: float, base_oos: dict, kept: str) -> dict:
    """One candidate input's out-of-sample errors `e`, judged against the surface without it."""
    lower = (
        e["median_abs_iv_error"] < base_oos["median_abs_iv_error"]
        and e["p90_abs_iv_error"] < base_oos["p90_abs_iv_error"]
    )
    verdict = kept if lower else "does not lower both: left out"
    return {
        "name": name,
        "coefficient": coefficient,
        "median_abs_iv_error": e["median_abs_iv_error"],
        "p90_abs_iv_error": e["p90_abs_iv_error"],
        "lowers_error": bool(lower),
        "verdict": verdict,
    }


def calibrate(path: Path, source, hedge, split_date: str = cal.SPLIT) -> tuple[dict, pd.DataFrame]:
    """Fit on the quotes before `split_date` (`hedging.calibration.SPLIT`), judge on the rest; the result
    (as `calibration.json` holds it) and the priced out-of-sample quotes."""
    quotes = market_quotes(path, source, hedge)
    split = pd.Timestamp(split_date)
    fit_q, test_q = quotes[quotes["quote_date"] < split], quotes[quotes["quote_date"] >= split]
    for part, q in (("before", fit_q), ("from", test_q)):
        if q["iv"].notna().sum() < 10:
            raise DataError(
                f"{path}: fewer than 10 quotes with an IV {part} the split {split_date} (--split): "
                "nothing to fit or judge"
            )
    surface, _ = cal.fit(fit_q)
    rounded = surface.rounded()
    priced = cal.price(test_q, rounded)
    oos = cal.errors(priced)
    plain = cal.fit(fit_q, use_skew=False)[0].rounded()
    plain_oos = cal.errors(cal.price(test_q, plain))
    vix3m = _vix3m(source).sort_index()

    def vix3m_extra(q, exponent):
        level = vix3m.reindex(pd.DatetimeIndex(q["quote_date"]), method="ffill").to_numpy()
        return (np.where(np.isnan(level), q["vix"].to_numpy(), level) - q["vix"].to_numpy()) / 100.0

    with_vix3m, coef = cal.fit(fit_q, vix3m_extra)
    vix3m_oos = cal.errors(
        cal.price(test_q, with_vix3m, float(coef[0]) * vix3m_extra(test_q, with_vix3m.skew_term_exponent))
    )
    candidates = [
        _candidate(
            "SKEW index, scaling the skew", oos, rounded.skew_index_slope, plain_oos, "lowers both: in the surface"
        ),
        _candidate(
            "VIX3M minus VIX, on the level", vix3m_oos, float(coef[0]), oos, "lowers both: a candidate for the surface"
        ),
    ]
    result = {
        "quotes_file": str(path),
        "split": split_date,
        "fit": _span(fit_q),
        "test": _span(test_q),
        "surface": asdict(rounded),
        "surface_unrounded": asdict(surface),
        "out_of_sample": oos,
        "in_sample": cal.errors(cal.price(fit_q, rounded)),
        "without_skew": {"surface": asdict(plain), "out_of_sample": plain_oos},
        "candidates": candidates,
    }
    return result, priced


def check(path: Path, source, hedge) -> dict:
    """`path` priced with the SPY surface `hedge` holds (no small-cap ratio, nothing fitted)."""
    surface = cal.Surface.of(hedge)
    priced = cal.price(market_quotes(path, source, hedge), surface)
    return {"quotes_file": str(path), "surface": asdict(surface), **cal.errors(priced)}


def default_out(path: Path, split_date: str) -> Path:
    """results/calibration-<split>-<hash of the quotes file and the split>."""
    digest = hashlib.sha256(Path(path).read_bytes() + split_date.encode()).hexdigest()[:12]
    return Path("results") / f"calibration-{split_date}-{digest}"


def write(result: dict, priced: pd.DataFrame, out: Path, unique: bool) -> Path:
    """`calibration.json`, `calibration.txt` and `calibration.png` in `out`, written into a temporary
    folder and renamed when complete (with `unique`, a taken name becomes `out-2`, ...)."""
    from fedcut.plots.calibration import plot_calibration
    from fedcut.report.calibration import calibration_text

    out = Path(out)
    with writing(out.parent):
        out.parent.mkdir(parents=True, exist_ok=True)
    with temporary_folder(out.parent, f"{out.name}.partial", out) as tmp:
        (tmp / "calibration.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        (tmp / "calibration.txt").write_text(calibration_text(result) + "\n")
        plot_calibration(priced, result["split"], tmp / "calibration.png")
        unmark(tmp)
        while True:
            final = free_name(out) if unique else out
            try:
                os.rename(tmp, final)
                return final
            except OSError as exc:
                if not (unique and exc.errno in (errno.EEXIST, errno.ENOTEMPTY)):
                    raise
