"""Every threshold of the regime rules, once: what is compared, how, and against which parameter.

The indicators (`signals.indicators`, `signals.regime`) decide with these rows, today's call
(`fedcut.now`) shows each input against them and the state-machine picture (`plots.diagram`)
labels its arrows with them, so a threshold cannot say one thing in the rules and another on
the page. A row's level is its `regime.*` parameter (zero when it has none), negated for a fall
or a gap below, scaled for a stand-in series (XLF for regional banks), or a fraction away from a
base value (a VIX peak, a low), and the preferred series' parameter gives way to a fallback's
before that series existed, era by era (the BAA-10y spread before the HY OAS, its monthly average
before the daily one); a fallback matched on the overlap in the long history is a `data.*`
parameter (`data.gs1_gap`, ...), read from the data section.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

CRISIS, CALM = "crisis alarm (any one calls crisis)", "crisis ends (when every gauge is calm)"
LATE = "late cycle (a cut after damage: any one)"
RECESSION = "recession evidence (any one)"
INFLATION = "soft landing: inflation declining (either)"
REAL = "soft landing: real yields not rising"
PRICED = "cut priced by markets (all three)"
CAPITULATION = "capitulation in a late cycle (all four)"
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Threshold:
    """One comparison of the rules: `value <op> level` meets it."""

    name: str
    label: str  # what is compared; `{credit}`, `{bank}`, `{real}`, `{sahm}`, `{two_year}`, `{bill}` (the series of
    # the day's era) and `{regime.<name>}` are filled in by readers
    group: str  # the rule it feeds
    op: str
    unit: str
    param: str | None  # the `regime.*` parameter that sets the level; None: the level is zero
    # The parameters read before the preferred series existed, newest era first: a `regime.*` name, or
    # `data.<name>` for a fallback matched on the overlap (`data.gs1_gap`).
    fallbacks: tuple[str, ...] = ()
    negate: bool = False  # the level is minus the parameter (a fall, a gap below fed funds)
    relative: int = 0  # +1 or -1: the level is a base value times (1 + relative x parameter)
    missing_meets: bool = False  # a missing value meets it (a gauge not yet published does not block calm)
    inputs: tuple[str, ...] = ()  # the series it reads

    def parameter(self, regime, era=0, data=None):
        """The parameter's value in `era`: 0 where the preferred series exists, k where the k-th
        fallback stands in (element-wise for an array of eras); `data` is the data section, needed
        for a `data.*` fallback."""
        if self.param is None:
            return 0.0
        if np.ndim(era) == 0 and era == 0:
            return getattr(regime, self.param)
        values = [getattr(regime, self.param)] + [
            getattr(data, name[5:]) if name.startswith("data.") else getattr(regime, name) for name in self.fallbacks
        ]
        return values[int(era)] if np.ndim(era) == 0 else np.choose(np.asarray(era), values)

    def level(self, regime, *, scale=None, base=None, era=0, data=None):
        """The level a value is compared with."""
        p = self.parameter(regime, era, data)
        if self.negate:
            p = -p
        if self.relative:
            p = base * (1 + self.relative * p)
        return p if scale is None else p * scale

    def met(self, value, level):
        """Whether `value` meets `level` (arrays element-wise; a missing value as `missing_meets` says)."""
        if np.ndim(value) == 0:
            if value is None or value != value:
                return self.missing_meets
            return bool(OPS[self.op](value, level))
        values = np.asarray(value, dtype=float)
        hit = OPS[self.op](values, np.asarray(level, dtype=float))
        return hit | np.isnan(values) if self.missing_meets else hit

    def check(self, value, regime, **level):
        """`met(value, level(regime, **level))`."""
        return self.met(value, self.level(regime, **level))

    def text(self, regime, **level) -> str:
        """`label op level`, as the diagram writes it."""
        return f"{self.label} {self.op} {self.level(regime, **level):g}"


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("vix", "VIX", CRISIS, ">=", "points", "vix_crisis", inputs=("VIX",)),
    Threshold("stlfsi4", "STLFSI4", CRISIS, ">=", "index", "stlfsi_crisis", inputs=("STLFSI4",)),
    Threshold("nfci", "NFCI", CRISIS, ">=", "index", "nfci_crisis", inputs=("NFCI",)),
    Threshold("ted_spread", "TED spread", CRISIS, ">=", "pp", "ted_crisis", inputs=("TEDRATE",)),
    Threshold("bank_move", "{bank}", CRISIS, "<=", "fraction", "bank_stress_drop", negate=True),
    Threshold("vix_calm", "VIX", CALM, "<", "points", "vix_calm", inputs=("VIX",)),
    Threshold("stlfsi4_calm", "STLFSI4", CALM, "<", "index", "stlfsi_calm", missing_meets=True, inputs=("STLFSI4",)),
    Threshold("ted_calm", "TED spread", CALM, "<", "pp", "ted_calm", missing_meets=True, inputs=("TEDRATE",)),
    Threshold("bank_calm", "{bank}", CALM, ">", "fraction", "bank_calm_drop", negate=True, missing_meets=True),
    Threshold(
        "credit_damage", "{credit}", LATE, ">=", "%", "hy_damage", fallbacks=("baa_damage", "data.baa_monthly_damage")
    ),
    Threshold(
        "iwm_drawdown", "IWM from its 252-day high", LATE, "<=", "fraction", "iwm_damage_drawdown", inputs=("IWM",)
    ),
    Threshold(
        "credit_widening",
        "{credit} rise over {regime.credit_window_days} days",
        RECESSION,
        ">=",
        "pp",
        "hy_widening",
        fallbacks=("baa_widening", "data.baa_monthly_widening"),
    ),
    Threshold("sahm", "{sahm}", RECESSION, ">=", "pp", "sahm_warning", inputs=("SAHMREALTIME",)),
    Threshold(
        "claims_rise", "claims, 4-week avg vs 52-week low", RECESSION, ">=", "fraction", "claims_rise", inputs=("ICSA",)
    ),
    Threshold(
        "core_cpi_trend",
        "core CPI y/y vs {regime.inflation_trend_months} months before",
        INFLATION,
        "<",
        "pp",
        None,
        inputs=("CPILFESL",),
    ),
    Threshold("cpi_trend_3m", "CPI y/y vs 3 months before", INFLATION, "<", "pp", None, inputs=("CPIAUCSL",)),
    Threshold(
        "real_yield_change",
        "real yield ({real}) change, {regime.real_yield_window_days} days",
        REAL,
        "<=",
        "pp",
        "real_yield_max_rise",
        missing_meets=True,
    ),
    Threshold(
        "two_year_gap",
        "{two_year} minus fed funds",
        PRICED,
        "<=",
        "pp",
        "two_year_gap",
        negate=True,
        fallbacks=("data.gs1_gap",),
        inputs=("DGS2", "DFF"),
    ),
    Threshold(
        "bill_gap",
        "{bill} minus fed funds",
        PRICED,
        "<=",
        "pp",
        "bill_gap",
        negate=True,
        fallbacks=("data.dtb3_gap",),
        inputs=("DGS3MO", "DFF"),
    ),
    Threshold("fed_funds", "fed funds (room to cut)", PRICED, ">=", "%", "zero_bound", inputs=("DFF",)),
    Threshold(
        "cycle_damage",
        "IWM worst 252-day drawdown this cycle",
        CAPITULATION,
        "<=",
        "fraction",
        "capitulation_damage",
        negate=True,
        inputs=("IWM",),
    ),
    Threshold(
        "vix_spike",
        "VIX peak, last {regime.capitulation_lookback_days} days",
        CAPITULATION,
        ">=",
        "points",
        "capitulation_vix_peak",
        inputs=("VIX",),
    ),
    Threshold(
        "vix_fade",
        "VIX against its recent peak",
        CAPITULATION,
        "<=",
        "points",
        "capitulation_vix_fade",
        relative=-1,
        inputs=("VIX",),
    ),
    Threshold(
        "iwm_rebound",
        "IWM above its low since the spike",
        CAPITULATION,
        ">=",
        "fraction",
        "capitulation_rebound",
        relative=1,
        inputs=("IWM", "VIX"),
    ),
)
RULE = {t.name: t for t in THRESHOLDS}
