"""The regime state machine (`signals.regime`) as a picture: states, and what moves the day
between them. Drawn from code, so `docs/make_figures.py` keeps the README's figure in step."""

from __future__ import annotations

from pathlib import Path

from fedcut.plots.kit import REGIME_COLOURS, save_png
from fedcut.signals.thresholds import RULE

# state -> (x, y) centre, in axes units
STATES = {
    "neutral": (0.16, 0.78),
    "soft_landing": (0.16, 0.42),
    "recession_risk": (0.16, 0.08),
    "crisis": (0.62, 0.78),
    "late_panic\n(waiting)": (0.62, 0.30),
    "late_panic\n(capitulated: buy)": (0.90, 0.08),
}
COLOUR = {
    "late_panic\n(waiting)": REGIME_COLOURS["late_panic"],
    "late_panic\n(capitulated: buy)": REGIME_COLOURS["late_panic"],
}


def edges(regime) -> list[tuple[str, str, str, float, tuple[float, float]]]:
    """(from, to, label, curvature, label position) of each move, the thresholds in the labels read
    from the rules' table (`signals.thresholds`) under `regime` (a Config's regime section), so the
    picture says what the rules do."""
    r, t = regime, RULE
    bank = t["bank_move"].level(r)
    return [
        (
            "neutral",
            "crisis",
            f"stress alarm (from any state, at once): {t['vix'].text(r)}, banks vs SPY "
            f"{bank:.0%}\nin {r.bank_stress_days} days, TED {t['ted_spread'].op} {t['ted_spread'].level(r):g}, "
            "STLFSI4 / NFCI once published",
            0.0,
            (0.39, 0.715),
        ),
        ("crisis", "neutral", "every gauge calm, then the dwell", 0.3, (0.39, 0.895)),
        (
            "neutral",
            "soft_landing",
            "inflation falling, no layoff or credit warning,\nreal yields not rising, a cut priced or an early cycle",
            0.2,
            (0.2, 0.6),
        ),
        ("soft_landing", "recession_risk", "credit widening\nor layoffs rising", 0.2, (0.245, 0.25)),
        (
            "soft_landing",
            "late_panic\n(waiting)",
            "a cut after the damage: credit spreads,\n"
            f"IWM {t['iwm_drawdown'].level(r):.0%}, stress, or a cut between meetings",
            0.0,
            (0.39, 0.43),
        ),
        ("crisis", "late_panic\n(waiting)", "crisis over\nin a late cycle", 0.0, (0.67, 0.55)),
        (
            "late_panic\n(waiting)",
            "late_panic\n(capitulated: buy)",
            f"capitulation: damage ({t['cycle_damage'].level(r):.0%} from the\n252-day high), a VIX spike "
            f"{t['vix_spike'].op} {t['vix_spike'].level(r):g} faded {t['vix_fade'].parameter(r):.0%},"
            f"\nIWM +{t['iwm_rebound'].parameter(r):.0%} off its low since the spike",
            0.25,
            (0.68, 0.06),
        ),
        (
            "crisis",
            "late_panic\n(capitulated: buy)",
            "capitulation while the\ngauges still fade\n(capitulation_ends_crisis)",
            -0.15,
            (0.92, 0.48),
        ),
        (
            "late_panic\n(capitulated: buy)",
            "late_panic\n(waiting)",
            "failed: VIX above the spike's\npeak or IWM below that low",
            0.25,
            (0.86, 0.27),
        ),
    ]


def state_machine_figure(regime=None):
    """A matplotlib Figure of the regime state machine under `regime`'s thresholds (default: the defaults')."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from fedcut.core.params import defaults

    regime = regime if regime is not None else defaults().regime
    fig = Figure(figsize=(13.5, 7.4), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.9))
    ax.set_xlim(0, 1.06)
    ax.set_ylim(-0.06, 0.92)
    ax.set_axis_off()
    for name, (x, y) in STATES.items():
        ax.text(
            x,
            y,
            name.replace("_", " "),
            ha="center",
            va="center",
            fontsize=11.5,
            fontweight="bold",
            zorder=3,
            bbox=dict(
                boxstyle="round,pad=0.55",
                fc=COLOUR.get(name, REGIME_COLOURS.get(name, "#dddddd")),
                ec="#333333",
                alpha=0.9,
            ),
        )
    for a, b, label, rad, (lx, ly) in edges(regime):
        (x0, y0), (x1, y1) = STATES[a], STATES[b]
        ax.annotate(
            "",
            (x1, y1),
            (x0, y0),
            zorder=2,
            arrowprops=dict(
                arrowstyle="-|>", lw=1.4, color="#333333", shrinkA=34, shrinkB=34, connectionstyle=f"arc3,rad={rad}"
            ),
        )
        ax.text(
            lx,
            ly,
            label,
            ha="center",
            va="center",
            fontsize=9,
            color="#1b1b1b",
            zorder=4,
            bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="#bbbbbb", lw=0.6, alpha=0.95),
        )
    fig.suptitle(
        "The regime state machine, evaluated at each close on what was known that day\n"
        f"A calm regime needs {regime.min_dwell_days} days of dwell; a crisis and a capitulation's re-entry "
        "are called at once",
        fontsize=12,
    )
    return fig


def plot_state_machine(path) -> Path:
    """Write the default thresholds' state machine as a PNG; return its path."""
    return save_png(state_machine_figure(), path)
