"""The report's answer: each easing cycle against buy-and-hold and the best baseline, the count of
cycles won with its binomial intervals, the verdict against every baseline with its minimum track
record, the price of foresight and the parameters changed (`<section id="verdict">`)."""

from __future__ import annotations

import pandas as pd

from fedcut.analyzers.attribution import WEIGHT_PREFIX
from fedcut.analyzers.bootstrap import verdict_word
from fedcut.analyzers.cycle_verdict import LONGEST_SAID_YEARS, tally_words
from fedcut.analyzers.episodes import RUNUP_MONTHS
from fedcut.core.config import changed_parameters, flatten
from fedcut.data.benchmark import possessive
from fedcut.plots.kit import MAX_CYCLES_SHOWN
from fedcut.report.findings import Findings
from fedcut.report.html import (
    cell,
    count,
    difference,
    escape,
    judged,
    missing,
    pct,
    pp,
    ratio,
    setting,
    signed,
)
from fedcut.report.schema import RunData
from fedcut.strategies.baselines import label_of


def verdict_section(data: RunData, found: Findings, shown: pd.DataFrame, more: str) -> str:
    m, bench = data.metrics, data.benchmark
    short = possessive(escape(bench.short))
    parts = ['<section id="verdict"><h2>The answer</h2>', f'<p class="answer">{_answer(data, shown)}</p>']
    parts.append(
        "<h3>Each easing cycle: buying before the cut, holding through it</h3>"
        + _answer_table(shown, found, _best(data), bench.short)
    )
    parts.append(
        f'<p class="note">Window: {window_words(data)}. Drawdown avoided = strategy max drawdown - '
        f"{short} (positive: shallower); return gained = the strategy's window return - {short} (positive: "
        "it earned more); both green when better for the strategy, red when worse. Best baseline: of the "
        f"baselines other than {escape(bench.label)}, the one with the highest "
        "Sharpe ratio over the whole run, picked after the fact: the hardest yardstick, not a flattering one. "
        "The recession column uses NBER's dates (USREC), known months or years later: a "
        f"label for judging the cycle, never an input to the rules.{escape(more)}</p>"
    )
    if m.get("baselines") or m.get("verdict"):
        parts.append(f"<h3>Against the baselines</h3>{_baselines_table(data)}")
        v = m.get("verdict")
        if v:
            parts.append(
                f'<p class="note">Differences are {escape(data.label)} minus the baseline, with 95% intervals '
                "from a paired stationary block bootstrap of daily returns (mean block "
                f"{escape(v.get('mean_block_days'))} days, {escape(v.get('resamples'))} resamples, seed "
                f"{escape(v.get('seed'))}); P(higher) is the share "
                "of resamples in which the strategy's Sharpe is the higher. Better or worse only when the "
                "whole Sharpe interval is on one side of zero. Minimum track record: the years (and easing "
                "cycles, at this run's rate) the observed Sharpe difference would need to lie 1.96 of the "
                "bootstrap's standard errors from zero; never when it is not positive.</p>"
            )
    side = [_foresight_table(m.get("foresight")), _changed_table(data)]
    parts.append('<div class="row">' + "".join(f"<div>{t}</div>" for t in side if t) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def summary_html(data: RunData) -> str:
    """The answer as a notebook shows a result: the bottom line and the table against every baseline."""
    return f'<div class="fedcut-result"><p>{_answer(data, data.episodes)}</p>{_baselines_table(data)}</div>'


def _answer(data: RunData, shown: pd.DataFrame) -> str:
    """The bottom line in a few sentences, every number from the run's files."""
    m, bench = data.metrics, data.benchmark
    s, b = m["strategy"], m["benchmark"]
    text = (
        f"From {escape(m['run']['start'])} to {escape(m['run']['end'])}, {escape(data.label)} compounded at "
        f"{pct(s['cagr'], True)} a year with a worst drawdown of {pct(s['max_drawdown'], True)}; "
        f"{escape(bench.label)} at {pct(b['cagr'], True)} with {pct(b['max_drawdown'], True)}."
    )
    tally = m.get("cycle_verdict")
    if tally:
        words = escape(tally_words(tally, bench.label))
        text += f" In the {words}." if tally["n"] else f" There is {words}."
    else:  # a run folder of an earlier version
        rows = [
            ep
            for _, ep in shown.iterrows()
            if not (missing(ep.get("strategy_max_drawdown")) or missing(ep.get("benchmark_max_drawdown")))
        ]
        if rows:
            shallower = sum(ep["strategy_max_drawdown"] > ep["benchmark_max_drawdown"] for ep in rows)
            higher = sum(ep["strategy_return"] > ep["benchmark_return"] for ep in rows)
            text += (
                f" In the {count(len(rows), 'easing cycle')} shown, its drawdown was shallower than "
                f"{possessive(escape(bench.short))} in {shallower} and its window return higher in {higher}."
            )
    v = m.get("verdict")
    if v and v.get("against"):
        entries = list(v["against"].values())
        words = [verdict_word(entry) for entry in entries]
        tally = ", ".join(f"{words.count(w)} {w}" for w in ("better", "worse", "not distinguishable") if words.count(w))
        if tally:
            text += f" Its Sharpe ratio against the {count(len(words), 'baseline')}: {tally} (95% intervals)."
        undefined = [e for e, w in zip(entries, words) if w == "undefined"]
        if undefined:
            text += (
                f" Against {len(undefined)} of the {count(len(words), 'baseline')} it "
                f"{escape(undefined[0]['sentence'])}."
            )
        text += f" The evidence rests on {count(v['n_easing_cycles'], 'easing cycle')}: a small sample."
    return text


def _best(data: RunData) -> str:
    """The label of the run's best baseline (`cycle_verdict.best_baseline`), or '' without one."""
    name = (data.metrics.get("cycle_verdict") or {}).get("best_baseline")
    return label_of(name, data.benchmark) if name else ""


def _answer_table(shown: pd.DataFrame, found: Findings, best: str, short: str) -> str:
    """`short`: the benchmark's name in the run (`data.benchmark`)."""
    if shown.empty:
        return "<p>No easing cycle's first cut falls inside the run.</p>"
    sides = ("strategy", "benchmark", *(("best_baseline",) if best else ()))
    names = f"<th>strategy</th><th>{escape(short)}</th>" + (f"<th>best: {escape(best)}</th>" if best else "")
    head = (
        '<thead><tr><th rowspan="2">cycle</th><th rowspan="2">first cut</th>'
        f'<th rowspan="2">{escape(short)} in the {RUNUP_MONTHS} months before the cut</th><th rowspan="2">window</th>'
        f'<th colspan="{len(sides)}">return in window</th><th colspan="{len(sides)}">max drawdown in window</th>'
        '<th rowspan="2">drawdown avoided</th><th rowspan="2">return gained</th>'
        '<th rowspan="2">what the cycle turned out to be</th></tr>'
        f"<tr>{names}{names}</tr></thead>"
    )
    body = []
    for _, ep in shown.iterrows():
        partial = str(ep.get("coverage", "full"))
        flag = "" if partial in ("full", "nan", "") else f'<br><span class="flag">partial: {escape(partial)}</span>'
        avoided = difference(ep["strategy_max_drawdown"], ep["benchmark_max_drawdown"])
        gained = difference(ep["strategy_return"], ep["benchmark_return"])
        body.append(
            f'<tr><th>{escape(ep["cycle"])}</th><td class="d">{escape(ep["first_cut"])}</td>'
            f"{cell(pct(ep.get(f'benchmark_return_before_{RUNUP_MONTHS}m'), True))}"
            f'<td><span class="d">{escape(ep["window_start"])} to</span> <span class="d">'
            f"{escape(ep['window_end'])}</span>{flag}</td>"
            + "".join(cell(pct(ep.get(f"{side}_return"), True)) for side in sides)
            + "".join(cell(pct(ep.get(f"{side}_max_drawdown"), True)) for side in sides)
            + f"{judged(avoided, good_if_positive=True)}{judged(gained, good_if_positive=True)}"
            f"<td>{escape(found.outcomes.get(str(ep['cycle']), ''))}</td></tr>"
        )
    return f'<table class="full">{head}<tbody>{"".join(body)}</tbody></table>'


def _baselines_table(data: RunData) -> str:
    m = data.metrics
    against = (m.get("verdict") or {}).get("against", {})
    own = {**m["strategy"], "time_in_iwm": _time_in_iwm(data.equity)}
    rows = [(data.label, own, None)] + [
        (label_of(n, data.benchmark), f, against.get(n)) for n, f in m.get("baselines", {}).items()
    ]
    head = (
        '<thead><tr><th rowspan="2"></th><th rowspan="2">CAGR</th><th rowspan="2">volatility</th>'
        '<th rowspan="2">Sharpe</th><th rowspan="2">max drawdown</th><th rowspan="2">Calmar</th>'
        f'<th rowspan="2">time in {escape(data.benchmark.short)}</th><th colspan="2">Sharpe difference</th>'
        '<th colspan="2">CAGR '
        'difference</th><th rowspan="2">P(strategy\'s Sharpe higher)</th><th rowspan="2">verdict</th>'
        '<th rowspan="2">minimum track record to tell apart at 95%</th></tr>'
        "<tr><th>diff.</th><th>95% interval</th><th>diff.</th><th>95% interval</th></tr></thead>"
    )
    body = []
    for label, f, v in rows:
        cells = (
            f"{cell(pct(f.get('cagr'), True))}{cell(pct(f.get('volatility')))}{cell(ratio(f.get('sharpe')))}"
            f"{cell(pct(f.get('max_drawdown'), True))}{cell(ratio(f.get('calmar')))}"
            f"{cell(pct(f.get('time_in_iwm')))}"
        )
        if v is None:
            cells += '<td colspan="7" class="note">this run</td>'
        else:
            cells += (
                f"{cell(signed(v['sharpe_diff']))}{_interval(v['sharpe_diff_ci'], signed)}"
                f"{cell(pp(v['cagr_diff']))}{_interval(v['cagr_diff_ci'], pp)}"
                f"{cell(pct(v['p_better']))}<td>{escape(_verdict_text(v))}</td>"
                f"{cell(_track_record(v.get('min_track_record')))}"
            )
        own_row = ' class="own"' if v is None else ""
        body.append(f"<tr{own_row}><th>{escape(label)}</th>{cells}</tr>")
    return f'<table class="full">{head}<tbody>{"".join(body)}</tbody></table>'


def _track_record(entry: dict | None) -> str:
    """'152 years (55 cycles)', 'never', '> 1,000 years' or 'n/a' (`cycle_verdict.min_track_record`)."""
    if not entry or (entry.get("years") is None and not entry.get("never")):
        return "n/a"
    if entry["never"]:
        return "never"
    if entry["years"] > LONGEST_SAID_YEARS:
        return f"> {LONGEST_SAID_YEARS:,} years"
    return f"{entry['years']:.0f} years ({entry['cycles']:.0f} cycles)"


def _verdict_text(comparison: dict) -> str:
    """The verdict's word, or the sentence saying why there is none."""
    word = verdict_word(comparison)
    return comparison.get("sentence", word) if word == "undefined" else word


def _interval(bounds, fmt) -> str:
    return cell("n/a") if bounds is None else f'<td class="n">{escape(fmt(bounds[0]))} to {escape(fmt(bounds[1]))}</td>'


def _foresight_table(f: dict | None) -> str:
    if not f:
        return ""
    rt, orc = f["real_time"], f["oracle"]
    rows = [
        ("CAGR", pct(rt["cagr"], True), pct(orc["cagr"], True), pp(f.get("cagr_gain"))),
        ("Sharpe", ratio(rt["sharpe"]), ratio(orc["sharpe"]), signed(difference(orc["sharpe"], rt["sharpe"]))),
        (
            "max drawdown",
            pct(rt["max_drawdown"], True),
            pct(orc["max_drawdown"], True),
            pp(difference(orc["max_drawdown"], rt["max_drawdown"])),
        ),
    ]
    for cycle in list(rt.get("cycles", {}))[-MAX_CYCLES_SHOWN:]:
        a, b = rt["cycles"][cycle], orc.get("cycles", {}).get(cycle, {})
        rows.append(
            (
                f"{cycle}: max drawdown",
                pct(a.get("max_drawdown"), True),
                pct(b.get("max_drawdown"), True),
                pp(difference(b.get("max_drawdown"), a.get("max_drawdown"))),
            )
        )
        rows.append(
            (
                f"{cycle}: return",
                pct(a.get("return"), True),
                pct(b.get("return"), True),
                pp(difference(b.get("return"), a.get("return"))),
            )
        )
    body = "".join(f"<tr><th>{escape(k)}</th>{cell(a)}{cell(b)}{cell(c)}</tr>" for k, a, b, c in rows)
    return (
        f"<h3>The price of foresight</h3><table><thead><tr><th></th><th>real time (market pricing)</th>"
        f"<th>oracle: every cut known {escape(f.get('oracle_lead_days'))} days ahead</th>"
        "<th>oracle - real time</th>"
        f'</tr></thead><tbody>{body}</tbody></table><p class="note">The regime strategy run twice in this run, '
        "once expecting cuts as markets priced them and once from the actual calendar.</p>"
    )


def _changed_table(data: RunData) -> str:
    changed = changed_parameters(flatten(data.config))
    if not changed:
        return "<h3>Parameters changed</h3><p>None: every parameter at its default (config/default.toml).</p>"
    body = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(setting(value))}</td><td>{escape(setting(default))}</td>"
        f"<td>{escape(unit)}</td></tr>"
        for key, value, default, unit in changed
    )
    return (
        f"<h3>Parameters changed ({len(changed)})</h3><table><thead><tr><th>parameter</th><th>this run</th>"
        f"<th>default</th><th>unit</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _time_in_iwm(equity: pd.DataFrame) -> float:
    return float((equity[f"{WEIGHT_PREFIX}IWM"] > 0).mean()) if f"{WEIGHT_PREFIX}IWM" in equity else 0.0


def window_words(data: RunData) -> str:
    analysis = data.config.get("analysis", {})
    before, after = analysis.get("cycle_months_before", "?"), analysis.get("cycle_months_after", "?")
    return f"{escape(before)} months before the first cut to {escape(after)} after, clipped to the data"
