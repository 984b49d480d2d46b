"""The text of `fedcut calibrate`: the fitted coefficients and the error table by bucket."""

from __future__ import annotations

from fedcut.hedging.calibration import DIGITS


def _num(x, digits: int) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def error_table(errors: dict) -> list[str]:
    """The per-bucket table of `hedging.calibration.errors`: median and 90th percentile of the absolute
    IV error (vol points), premium error and half-spread error (USD per share)."""
    lines = [
        f"{'% OTM':<8}{'days':<11}{'quotes':>7}  {'IV error (vol pts)':>19}  {'premium error ($)':>18}  "
        f"{'half-spread error ($)':>22}  {'quoted mid ($)':>14}",
        f"{'':<8}{'':<11}{'':>7}  {'median':>9} {'p90':>9}  {'median':>8} {'p90':>9}  {'median':>10} {'p90':>11}  "
        f"{'median':>14}",
    ]
    for b in errors["buckets"]:
        iv, pr, hs = b["abs_iv_error"], b["abs_premium_error"], b["abs_half_spread_error"]
        lines.append(
            f"{b['otm_pct']:<8}{b['days_to_expiry']:<11}{b['quotes']:>7}  {_num(iv['median'], 2):>9} "
            f"{_num(iv['p90'], 2):>9}  {_num(pr['median'], 3):>8} {_num(pr['p90'], 3):>9}  "
            f"{_num(hs['median'], 4):>10} {_num(hs['p90'], 4):>11}  {b['median_quoted_mid']:>14.3f}"
        )
    pr, hs = errors["abs_premium_error"], errors["abs_half_spread_error"]
    lines.append(
        f"{'all':<19}{errors['quotes']:>7}  {_num(errors['median_abs_iv_error'], 2):>9} "
        f"{_num(errors['p90_abs_iv_error'], 2):>9}  {_num(pr['median'], 3):>8} {_num(pr['p90'], 3):>9}  "
        f"{_num(hs['median'], 4):>10} {_num(hs['p90'], 4):>11}"
    )
    return lines


def surface_lines(surface: dict) -> list[str]:
    """The coefficients, at the precision the registry holds them (`hedging.calibration.DIGITS`)."""
    return [f"  hedge.{name:<20} = {surface[name]:.{DIGITS[name]}f}" for name in DIGITS]


def calibration_text(result: dict) -> str:
    """What `fedcut calibrate` prints."""
    fit, test = result["fit"], result["test"]
    lines = [
        f"fedcut calibrate: the SPY put surface fitted on {result['quotes_file']}",
        f"fit on {fit['first']} .. {fit['last']} ({fit['quotes']} quotes, before the split "
        f"{result['split']}); judged on {test['first']} .. {test['last']} ({test['quotes']} quotes)",
        "",
        "fitted SPY surface (the registry's defaults are these, to this precision):",
    ]
    lines += surface_lines(result["surface"])
    lines += ["", "out-of-sample errors (absolute; model minus quote):"] + error_table(result["out_of_sample"])
    ins = result["in_sample"]
    lines += [
        "",
        f"in sample: IV error median {ins['median_abs_iv_error']:.2f}, p90 {ins['p90_abs_iv_error']:.2f} vol points",
        "",
        "candidate inputs (each judged on the same years against the surface without it; kept only if "
        "it lowers the out-of-sample error):",
        f"  {'without SKEW (the skew constant)':<34} out-of-sample IV error median "
        f"{result['without_skew']['out_of_sample']['median_abs_iv_error']:.2f}, "
        f"p90 {result['without_skew']['out_of_sample']['p90_abs_iv_error']:.2f} vol points",
    ]
    for c in result["candidates"]:
        lines.append(
            f"  {c['name']:<34} out-of-sample IV error median {c['median_abs_iv_error']:.2f}, "
            f"p90 {c['p90_abs_iv_error']:.2f} vol points: {c['verdict']}"
        )
    return "\n".join(lines)


def check_text(result: dict) -> str:
    """What `fedcut calibrate --check FILE` prints."""
    lines = [
        f"fedcut calibrate --check: {result['quotes_file']} priced with the defaults' SPY surface "
        f"(the IWM surface without hedge.small_cap_ratio), nothing fitted"
    ]
    lines += surface_lines(result["surface"])
    lines += ["", "errors (absolute; model minus quote):"] + error_table(result)
    return "\n".join(lines)
