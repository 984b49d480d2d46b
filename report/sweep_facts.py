"""What a sweep says about its own selection, in words: the Deflated Sharpe Ratios, the Probability
of Backtest Overfitting, where the shipped default ranks and what the median variant earns.

One text, from overfitting.json's dict, for the console and for `sweep.html`.
"""

from __future__ import annotations

from fedcut.data.benchmark import IWM, Benchmark, possessive

SIGNIFICANT = 0.95  # a Deflated Sharpe Ratio above this is read as significant (the paper's 5% level)


def overfitting_facts(overfit: dict, bench: Benchmark = IWM) -> list[tuple[str, str]]:
    """(label, text) rows, in reading order, from `sweeps.report.overfitting_report`'s dict; `bench`:
    the sweep's buy-and-hold benchmark (`sweeps.selection.yardstick`)."""
    d, b, pbo = overfit["deflated_sharpe"], overfit.get("deflated_sharpe_vs_buy_and_hold"), overfit["pbo"]
    facts = [search_fact(overfit["search"])] if overfit.get("search") else []
    facts += [
        (
            "deflated Sharpe ratio of the in-sample choice, against zero",
            f"{d['dsr']:.2f}: probability that its true Sharpe ({d['sharpe']:.2f} in-sample) beats the "
            f"{d['expected_max_sharpe']:.2f} that the best of {d['n_trials']:,} unskilled trials would reach by luck "
            f"(above {SIGNIFICANT} is significant)",
        )
    ]
    if b is not None:
        facts.append(
            (
                f"deflated Sharpe ratio of the in-sample choice, against {bench.label}",
                f"{b['dsr']:.2f}: probability that its true Sharpe beats {b['expected_max_sharpe']:.2f}, what "
                f"the best of {b['n_trials']:,} trials no better than {bench.label} (Sharpe "
                f"{b['benchmark_sharpe']:.2f} over the same days) would reach by luck",
            )
        )
    facts.append(
        (
            "probability of backtest overfitting",
            f"{pbo['pbo']:.2f} over {pbo['n_splits']:,} splits of {pbo['n_blocks']} time blocks: how often the "
            "in-sample best ranks at or below the median out of sample (0.5 = no better than chance); "
            f"its out-of-sample Sharpe is negative in {pbo['prob_oos_loss']:.0%} of splits",
        )
    )
    if overfit.get("selection"):
        facts += selection_facts(overfit["selection"], bench)
        if overfit.get("search"):
            facts.append(
                (
                    "the variants of a search",
                    "the search's trials, crowded where the in-sample objective is high: not a fair sample of the "
                    "space, so the median variant flatters the space and the default's place understates the "
                    "default; a random sweep of the same space is the fair yardstick",
                )
            )
    return facts


def search_fact(search: dict) -> tuple[str, str]:
    """How a searched sweep found its configurations, and that the statistics below count every one."""
    counted = (
        f"all {search['trials']:,}"
        if search["deflated_sharpe_trials"] == search["pbo_trials"] == search["trials"]
        else f"the {search['pbo_trials']:,} that ran (of {search['trials']:,})"
    )
    short = "" if search["trials"] == search["target_trials"] else f" of the {search['target_trials']:,} asked for"
    return (
        "searched",
        f"{search['trials']:,} trials{short}, {search['method'].capitalize()} ({search['sampler']}, seed "
        f"{search['seed']}, batches of {search['batch']}; {search['asked']:,} asked for, {search['repeats']:,} "
        f"repeats, {search['excluded']:,} excluded by rules); DSR and PBO over {counted}",
    )


def selection_facts(sel: dict, bench: Benchmark = IWM) -> list[tuple[str, str]]:
    """Where the default ranks among the variants, and the median variant against buy-and-hold."""
    span = f"over the whole run, {sel['start']}..{sel['end']}"
    family = f"{sel['family']:,} variants" + (f" ({sel['family_note']})" if sel["family_note"] else "")
    default = sel["default"]
    if default["in_family"]:
        places = " and ".join(f"{_place(p)} by {m}" for m, p in default["place"].items())
        text = (
            f"ranks {places} of the {family} {span}: {_figures(default, sel['objective'])}; ties share a range "
            "of places (first to last of the equal values)"
        )
    else:
        text = f"not among this sweep's {family}, so it has no rank here: {default['why_not']}"
    median, held, above = sel["median_variant"], sel["buy_and_hold"], sel["variants_above_buy_and_hold"]
    beat = ", ".join(f"{above[m]:,} on {_name(m)}" for m in above if above[m] is not None)
    return [
        ("the shipped default among the variants", text),
        (
            "the median variant",
            f"{_figures(median, sel['objective'])} (each figure the median over the {family} "
            f"{span}) against {possessive(bench.label)} {_figures(held, sel['objective'])}; variants "
            f"better than {bench.label}: {beat} of {sel['family']:,}",
        ),
    ]


def _place(place: dict) -> str:
    if place["best"] == place["worst"]:
        return _ordinal(place["best"])
    return f"{_ordinal(place['best'])}-{_ordinal(place['worst'])} ({place['tied'] + 1} equal)"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def _figures(values: dict, objective: str) -> str:
    parts = [
        f"Sharpe {_num(values.get('sharpe'), '.2f')}",
        f"CAGR {_num(values.get('cagr'), '.1%')}",
        f"max drawdown {_num(values.get('max_drawdown'), '.1%')}",
    ]
    if objective not in ("sharpe", "cagr", "max_drawdown"):
        parts.append(f"{objective} {_num(values.get(objective), '.2f')}")
    return ", ".join(parts)


def _name(metric: str) -> str:
    return {"max_drawdown": "max drawdown (shallower)", "cagr": "CAGR", "sharpe": "Sharpe"}.get(metric, metric)


def _num(x, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


TOP_ROWS = 5  # configurations listed in the console's table of the best in sample
TOP_HINDSIGHT = 3  # and of the best out of sample (picked after the fact)


def top_table_columns(swept: list[str]) -> list[str]:
    """The summary.csv columns `top_table` reads: all a caller need load of a million rows."""
    return ["rank", "status", "objective_is", "objective_oos", *swept]


def top_table(
    summary, swept: list[str], objective: str, rows: int = TOP_ROWS, hindsight: int = TOP_HINDSIGHT
) -> list[str]:
    """The console's short table: the best configurations in sample (the sweep's own ranking, summary.csv's
    `rank`, which puts first those meeting the CAGR constraint) with their out-of-sample figure and rank,
    then the best out of sample (picked after the fact, so not a choice anyone could have made)."""
    ok = summary[summary["status"] == "ok"]
    if ok.empty:
        return ["no configuration ran: nothing to rank"]
    is_rank = ok["rank"]
    oos_rank = ok["objective_oos"].rank(ascending=False, method="min")
    has_oos = ok["objective_oos"].notna().any()
    top = ok.sort_values("rank", kind="stable").index[:rows]
    best = ok.sort_values("objective_oos", ascending=False, kind="stable").index[:hindsight] if has_oos else top[:0]
    shown = top.union(best, sort=False)  # the width of the rows printed: a million rows are never all read
    width = max(max(len(_swept_text(ok.loc[i], swept)) for i in shown), len("configuration"))
    head = f"  {'in':>3} {'out':>4}  {'configuration':<{width}}  {objective + ' in':>12}  {'out of sample':>13}"
    lines = [
        f"best {min(rows, len(ok))} of {len(ok):,} configurations in sample, by {objective} (the sweep's ranking; "
        "place in and out of sample):",
        head,
    ]

    def line(i) -> str:
        row = ok.loc[i]
        out = f"{row['objective_oos']:+.3f}" if has_oos and row["objective_oos"] == row["objective_oos"] else "-"
        place = f"{int(oos_rank[i])}" if has_oos and oos_rank[i] == oos_rank[i] else "-"
        return (
            f"  {int(is_rank[i]):>3} {place:>4}  {_swept_text(row, swept):<{width}}  "
            f"{row['objective_is']:>+12.3f}  {out:>13}"
        )

    lines += [line(i) for i in top]
    if has_oos:
        lines.append(
            f"best {min(hindsight, len(ok))} out of sample (picked after the fact: no one could have chosen "
            "them in advance):"
        )
        lines += [line(i) for i in best]
    return lines


def _swept_text(row, swept: list[str]) -> str:
    return ", ".join(f"{key.rsplit('.', 1)[-1]}={_plain(row[key])}" for key in swept) or "(base)"


def _plain(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
