"""A picture of the regime signal: IWM's total return with the called regime behind it.

`regimes_figure` returns the matplotlib Figure (what a notebook shows); `plot_regimes` writes it
as a PNG for the run folder. Uses matplotlib's Agg canvas directly, so it needs no display and
does not change the global pyplot backend. The helpers every dated picture of the project shares
live here too (regime colours and bands, fixed year and month ticks, fixed margins): the layout
is set once in inches, never searched for (`tight_layout` and constrained layout draw a figure
several times), so a picture costs one drawing and the same data give the same bytes.
"""

from __future__ import annotations

import gc
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fedcut.core.files import write_whole
from fedcut.plots.ticks import flatten_ticks, steady_locator
from fedcut.signals.regime import REGIMES

if TYPE_CHECKING:  # matplotlib is imported when the picture is drawn
    from matplotlib.figure import Figure

REGIME_COLOURS = {
    "crisis": "#d62728",
    "late_panic": "#9467bd",
    "recession_risk": "#ff9f1c",
    "soft_landing": "#2ca02c",
    "neutral": "#d9d9d9",
}
# A regime the rules add later gets one of these, in the order of REGIMES (then by name).
SPARE_REGIME_COLOURS = ("#8c564b", "#17becf", "#e377c2", "#bcbd22", "#393b79", "#7f7f7f")
REGIME_ALPHA = {"neutral": 0.25, "recession_risk": 0.35}  # neutral stays in the background; orange is pale
BAND_ALPHA = 0.22
LEGEND_ALPHA = 0.45  # a legend patch is drawn at least this opaque, so a pale band is still recognisable
LINE_TOP = 0.78  # the line's high sits this far up the axis; the cut labels use the space above
IWM_INCEPTION = pd.Timestamp("2000-05-26")  # before it the extended and long histories hold stand-ins
# Pictures, the report and the console summary show at most this many easing cycles (the most
# recent, and say so) and label at most this many first cuts, so their cost and size stay bounded
# whatever the data; metrics.json and episodes.csv hold every cycle.
MAX_CYCLES_SHOWN = 12
# Tables (the console's and the report's) list at most this many, the most recent: every cycle of the
# long history (26 since 1957) has its row, and a crafted calendar of hundreds of cuts still prints a page.
MAX_CYCLES_LISTED = 40
DPI = 100  # 12.4-inch figures are 1240 px wide: the report's column, so 9-point text shows at 12.5 px
WIDTH = 12.4  # inches
CUT_COLOUR = "#1f3b73"


def regime_spans(regime: pd.Series) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Runs of one regime as (regime, first day, first day of the next run or the last day)."""
    values = regime.to_numpy()
    days = regime.index
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    ends = np.r_[starts[1:], len(values) - 1]
    return [(values[s], days[s], days[e]) for s, e in zip(starts, ends)]


def regime_order(names) -> list[str]:
    """The regimes among `names` in the order of REGIMES, then any other (a regime added later) by name."""
    present = {str(n) for n in names}
    return [r for r in REGIMES if r in present] + sorted(present - set(REGIMES))


def regime_colour(name: str) -> str:
    """A regime's colour; one the table does not know gets a spare colour, the same every time."""
    if name in REGIME_COLOURS:
        return REGIME_COLOURS[name]
    spare = [r for r in REGIMES if r not in REGIME_COLOURS]
    k = spare.index(name) if name in spare else len(spare) + sum(map(ord, name))
    return SPARE_REGIME_COLOURS[k % len(SPARE_REGIME_COLOURS)]


def regime_alpha(name: str) -> float:
    return REGIME_ALPHA.get(name, BAND_ALPHA)


def regime_handles(names, prefix: str = "", alpha: float | None = None) -> list:
    """Legend patches for the regimes among `names` (at `alpha`, else as bands are drawn but at least LEGEND_ALPHA)."""
    from matplotlib.patches import Patch

    return [
        Patch(
            facecolor=regime_colour(r),
            alpha=alpha if alpha is not None else max(regime_alpha(r), LEGEND_ALPHA),
            label=f"{prefix}{r}",
        )
        for r in regime_order(names)
    ]


def day_numbers(days) -> np.ndarray:
    """Dates as matplotlib's day numbers. Every dated picture plots these floats: converting a
    DatetimeIndex at each call costs more than drawing the line."""
    import matplotlib.dates as mdates

    return mdates.date2num(pd.DatetimeIndex(days).to_numpy())


def regime_bands(ax, regime: pd.Series, alpha: float | None = None) -> None:
    """The regime called each day as full-height bands: one collection per regime (not one patch per run)."""
    from matplotlib.collections import PolyCollection

    regime = regime.dropna()
    if regime.empty:
        return
    spans: dict[str, list] = {}
    for name, start, end in regime_spans(regime):
        spans.setdefault(str(name), []).append((start, end))
    for name in regime_order(spans):
        x = day_numbers([d for span in spans[name] for d in span]).reshape(-1, 2)
        verts = [((a, 0.0), (a, 1.0), (b, 1.0), (b, 0.0)) for a, b in x]
        ax.add_collection(
            PolyCollection(
                verts,
                facecolors=regime_colour(name),
                linewidths=0,
                antialiaseds=False,
                alpha=alpha if alpha is not None else regime_alpha(name),
                zorder=0,
                transform=ax.get_xaxis_transform(),
            ),
            autolim=False,
        )


def new_figure(
    height: float,
    rows: int = 1,
    cols: int = 1,
    *,
    width: float = WIDTH,
    left: float = 0.9,
    right: float = 0.25,
    top: float = 0.5,
    bottom: float = 0.5,
    hgap: float = 0.25,
    wgap: float = 0.5,
    height_ratios=None,
    squeeze: bool = True,
    sharex: bool = False,
    sharey: bool = False,
):
    """A Figure on the Agg canvas with its axes placed by fixed margins and gaps in inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=squeeze, sharex=sharex, sharey=sharey, height_ratios=height_ratios)
    inner_h = height - top - bottom
    inner_w = width - left - right
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        hspace=hgap / ((inner_h - (rows - 1) * hgap) / rows),
        wspace=wgap / ((inner_w - (cols - 1) * wgap) / cols),
    )
    return fig, axes


def year_axis(ax, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Dates along x (day numbers) from `first` to `last`: fixed ticks on the first of January every 1, 2
    or 5 years, or month ticks for a span under four years."""
    ax.set_xlim(*day_numbers([first, last]))
    years = (last - first).days / 365.25
    if years < 4:
        month_axis(ax, first, last)
        return
    step = 1 if years <= 12 else 2 if years <= 32 else 5
    major = [
        pd.Timestamp(y, 1, 1)
        for y in range(first.year, last.year + 1)
        if pd.Timestamp(y, 1, 1) >= first and y % step == 0
    ]
    fixed_ticks(ax.xaxis, day_numbers(major), [str(d.year) for d in major])


def month_axis(ax, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Five to eight fixed month ticks along x (day numbers); the first and each January carry the year."""
    months = (last - first).days / 30.44
    step = next((m for m in (1, 2, 3, 4, 6, 12) if months / m <= 8), 12)
    ticks = [
        d
        for d in pd.date_range(first.to_period("M").to_timestamp(), last, freq="MS")
        if d >= first and (d.month - 1) % step == 0
    ]
    labels = [f"{d:%b}\n{d.year}" if k == 0 or d.month == 1 else f"{d:%b}" for k, d in enumerate(ticks)]
    fixed_ticks(ax.xaxis, day_numbers(ticks), labels)


def fixed_ticks(axis, locs, labels) -> None:
    """Ticks at `locs` labelled `labels` (within the axis's limits): `set_xticks` without the tick
    objects it builds at once (a picture draws its ticks as plain artists, `ticks.flatten_ticks`)."""
    from matplotlib.ticker import FixedFormatter, FixedLocator

    axis.set_major_locator(FixedLocator(locs))
    axis.set_major_formatter(FixedFormatter(labels))


def few_ticks(axis, most: int = 5) -> None:
    """At most about `most` ticks on `axis`, at 1, 2 or 5 times a power of ten (never 2.5: 0.25 would
    print as 0.2 with one decimal): matplotlib's default fits in as many as the axis holds, more than
    a panel of a few inches needs, and every tick is text and lines to draw."""
    axis.set_major_locator(steady_locator(most))


def short_number(v: float) -> str:
    """A tick label of a growth of 100 that may reach millions: 500, 2k, 10k, 1.5M (not 2e+06, whose
    width pushed the axis's label off the picture)."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


def log_ticks(axis, formatter) -> None:
    """Labelled ticks at 1, 2 and 5 times each power of ten on a log axis, and no minor ticks: the grid
    at those steps shows the scale, and an unlabelled tick costs a picture almost what a labelled one does."""
    from matplotlib.ticker import LogLocator, NullLocator

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=20))
    axis.set_major_formatter(formatter)
    axis.set_minor_locator(NullLocator())


def cut_lines(ax, first: pd.Timestamp, last: pd.Timestamp, cuts, labelled: bool, fontsize: float = 9) -> None:
    """A dashed line at each first cut in [first, last], labelled with its date at the top when asked
    (and when at most MAX_CYCLES_SHOWN are shown: more labels would only overlap)."""
    shown = [pd.Timestamp(c) for c in cuts if first <= pd.Timestamp(c) <= last]
    span = (last - first).days
    for k, (cut, x) in enumerate(zip(shown, day_numbers(shown))):
        ax.axvline(
            x, color=CUT_COLOUR, ls="--", lw=1.0, zorder=4, label="first cut of an easing cycle" if k == 0 else None
        )
        if labelled and len(shown) <= MAX_CYCLES_SHOWN:
            near_end = (last - cut).days < 0.08 * span
            ax.annotate(
                f"first cut\n{cut.date()}",
                (x, 0.98 if k % 2 == 0 else 0.875),
                xycoords=("data", "axes fraction"),
                xytext=(-4 if near_end else 4, 0),
                textcoords="offset points",
                va="top",
                ha="right" if near_end else "left",
                fontsize=fontsize,
                color=CUT_COLOUR,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8),
                zorder=6,
            )


@contextmanager
def frozen_heap():
    """Python's collector leaves the objects that exist on entry alone until exit (`gc.freeze`): a
    picture allocates enough to start several full collections, and each would walk every object of
    the process again (a sweep's results, its frames) to find none of the figure's garbage there.
    What the pictures leave behind is still collected as usual. Inside a caller's own freeze it
    changes nothing (unfreezing would undo the caller's)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def save_png(fig: Figure, path, up: bool = True) -> Path:
    """Write `fig` as a PNG without a timestamp (the same figure, the same bytes), whole or not at all;
    return the path. `up`: rows filtered as `png_encoded` says."""
    return write_whole(Path(path), png_bytes(fig, up))


# zlib's fastest level: the pictures' files are about 5% larger and encoded in half the time.
PNG_COMPRESS_LEVEL = 1
# Text drawn unhinted: matplotlib 3.11 renders text glyph by glyph, and hinting each glyph was a
# third of the cost of the text, itself half of a picture's; at 100 dpi unhinted text reads the
# same (letters a fraction of a pixel wider apart).
TEXT_STYLE = {"text.hinting": "none"}


def png_bytes(fig: Figure, up: bool = True) -> bytes:
    """`fig` drawn once (text in `TEXT_STYLE`, ticks as plain artists: `ticks.flatten_ticks`) as the
    bytes of a PNG without a timestamp. The figure keeps those ticks where they were drawn: shown
    afterwards in a window and zoomed, it would not choose new ones (the report's figures are drawn
    once; `fedcut.Result.plot_*` gives figures that were not)."""
    import matplotlib

    with matplotlib.rc_context(TEXT_STYLE):
        flatten_ticks(fig)
        fig.canvas.draw()
    return png_encoded(np.asarray(fig.canvas.buffer_rgba()), fig.dpi, up)


def png_encoded(rgba: np.ndarray, dpi: float, up: bool = True) -> bytes:
    """An opaque RGBA image as the bytes of an RGB PNG (no alpha channel: it would only cost time).

    With `up` every row is stored as its difference from the row above (PNG's "Up" filter: a dated
    picture's pixels mostly repeat downwards) and deflated at PNG_COMPRESS_LEVEL: the same size as an
    encoder that tries five filters on every row (PIL's, through savefig), in half the time. Without
    it the rows are stored as they are: a sweep's pictures (flat cells, scattered dots) come out 5-15%
    smaller so, in about 60% of the time.
    """
    height, width, _ = rgba.shape
    rgb = rgba[..., :3]  # read in place, never copied
    rows = np.empty((height, 1 + 3 * width), np.uint8)
    rows[:, 0] = 2 if up else 0  # the filter of each row: Up or None
    pixels = rows[:, 1:].reshape(height, width, 3)
    if up:
        pixels[0] = rgb[0]
        np.subtract(rgb[1:], rgb[:-1], out=pixels[1:])  # modulo 256, as PNG's filters are
    else:
        pixels[...] = rgb
    per_metre = round(dpi / 0.0254)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
            _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            _chunk(b"IDAT", zlib.compress(rows, PNG_COMPRESS_LEVEL)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def plot_regimes(sig: pd.DataFrame, iwm: pd.Series, cut_dates: list, path, oracle: bool = False, short="IWM") -> Path:
    """Write `regimes_figure` as a PNG; return its path."""
    return save_png(regimes_figure(sig, iwm, cut_dates, oracle, short), path)


def regimes_figure(sig: pd.DataFrame, iwm: pd.Series, cut_dates: list, oracle: bool = False, short="IWM") -> Figure:
    """IWM's total return (log scale), named `short` (`data.benchmark`: "small caps" where stand-ins
    hold IWM's place), over the regime called each day (`sig["regime"]`).

    Vertical lines mark the first cut of each easing cycle; triangles mark the days a late
    cycle's capitulation was seen (`sig["capitulated"]`, the strategy's buy signal). An oracle
    run's regimes (`oracle`) say so in the title.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    iwm = iwm.reindex(sig.index)
    growth = 100 * iwm / iwm.dropna().iloc[0]
    first, last = sig.index[0], sig.index[-1]
    fig, ax = new_figure(5.8, left=0.95, right=2.45, top=0.45, bottom=0.4)
    regime_bands(ax, sig["regime"])
    ax.plot(
        day_numbers(growth.index), growth.to_numpy(), color="black", lw=1.0, zorder=3, label=f"{short} total return"
    )
    ax.set_yscale("log")
    lo, hi = growth.min(), growth.max()
    # Head room above the line so the cut labels never sit on it.
    ax.set_ylim(lo / 1.15, np.exp(np.log(lo / 1.15) + (np.log(hi) - np.log(lo / 1.15)) / LINE_TOP))
    log_ticks(ax.yaxis, FuncFormatter(lambda v, _: short_number(v)))

    onset = sig["capitulated"] & ~sig["capitulated"].shift(1, fill_value=False).astype(bool)
    buy = growth[onset.to_numpy()]
    ax.scatter(
        day_numbers(buy.index),
        buy.to_numpy(),
        marker="^",
        s=70,
        color="#1f77b4",
        edgecolor="white",
        linewidth=0.8,
        zorder=5,
        label="capitulation seen",
    )
    cut_lines(ax, first, last, cut_dates, labelled=True)
    year_axis(ax, first, last)
    label = f"{short} total return, growth of 100 (log scale)"
    if first < IWM_INCEPTION:
        label += f"\nIWM from {IWM_INCEPTION.date()}, its stand-ins before (the run's proxies)"
    ax.set_ylabel(label)
    ax.grid(which="major", alpha=0.3, zorder=1)

    title = f"Regime signal and {short} total return, {first.date()} to {last.date()}"
    if oracle:
        title = "ORACLE MODE (future information: actual cut calendar) - " + title
    ax.set_title(title, fontsize=11.5, y=1.0, color="#b00000" if oracle else "black")

    lines = [h for h in ax.get_legend_handles_labels()[0] if h.get_label() != "first cut of an easing cycle"]
    cut_handle = Line2D([], [], color=CUT_COLOUR, ls="--", lw=1.0, label="first cut of an easing cycle")
    ax.legend(
        handles=regime_handles([*REGIMES, *sig["regime"].dropna().unique()]) + lines + [cut_handle],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=9.5,
        title="regime (called)",
        title_fontsize=10,
        frameon=False,
        alignment="left",
    )
    return fig
