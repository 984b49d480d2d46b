"""Ticks, tick labels and grid lines drawn as a few plain artists instead of matplotlib's tick objects.

matplotlib draws every tick as an object of five artists (grid line, two tick marks, two labels),
builds them again for each axis of each picture and measures every label twice; in a picture of
this project that was a quarter or more of its CPU. `flatten_ticks(fig)`, called just before a figure
is drawn, asks each axis's own locator and formatter for the same positions and labels
matplotlib would draw, and puts on the axes instead one line for the grid, one line of markers for
the tick marks and one text per label, each copied from the axis's own first tick (colour, size,
font, alignment, clipping), at the axis's own drawing order; the axis then draws only its label
(its name), placed where matplotlib would have placed it (outside the tick labels by its
`labelpad`). The picture is the same, pixel for pixel; only the number of objects changes.

An axis this does not cover is left to matplotlib: minor ticks, ticks or labels on the top or
right, ticks pointing in, an offset ("1e6") above the labels and an axes placed by a locator
(colour bars). A figure with a layout engine (constrained layout) is laid out once, as drawing
would lay it out, and keeps that layout; its fixed ticks are made plain before (the layout then
measures plain labels, and the axis labels keep their distance from their axes), the others after.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

CLOSE = 1e-10  # a tick this close (in a share of the axis) outside the view is still drawn, as matplotlib does
_STEADY: weakref.WeakSet = weakref.WeakSet()  # locators from `steady_locator`


def steady_locator(most: int):
    """At most about `most` ticks at 1, 2 or 5 times a power of ten, however large the axes: unlike
    matplotlib's default, a choice that does not depend on the axes' size, so a layout engine can
    measure its labels before it sizes the axes."""
    from matplotlib.ticker import MaxNLocator

    locator = MaxNLocator(nbins=most, steps=[1, 2, 5, 10])
    _STEADY.add(locator)
    return locator


def flatten_ticks(fig: Figure) -> None:
    """Replace the tick objects of every axis of `fig` that this covers (see the module) by plain artists."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine
    from matplotlib.ticker import FixedLocator

    engine = fig.get_layout_engine()
    if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
        # Fixed and steady ticks do not depend on the axes' size: plain before the layout, which then measures
        # plain labels; other axes choose their ticks by their size, so after it, as drawing would.
        _flatten(
            fig, lambda axis: isinstance(axis.get_major_locator(), FixedLocator) or axis.get_major_locator() in _STEADY
        )
        engine.execute(fig)  # the layout, once, as drawing would; the axes then stay where it put them
        fig.set_layout_engine("none")
    _flatten(fig, lambda axis: True)


def _flatten(fig: Figure, chosen) -> None:
    plans = [
        (axis, plan)
        for ax in fig.axes
        if ax.get_visible() and ax.axison and ax.get_axes_locator() is None
        for axis in (ax.xaxis, ax.yaxis)
        if chosen(axis) and (plan := tick_plan(axis)) is not None
    ]
    # Every plan is made before any axis changes.
    renderer = fig.canvas.get_renderer()
    for axis, (locs, labels) in plans:
        _draw_plain(axis, locs, labels, renderer)


def tick_plan(axis: Axis) -> tuple[np.ndarray, list[str]] | None:
    """The major tick positions matplotlib would draw on `axis` and their labels, or None when the
    axis is one this module leaves to matplotlib."""
    from matplotlib.lines import TICKDOWN, TICKLEFT
    from matplotlib.ticker import NullLocator

    locator, minor = axis.get_major_locator(), axis.get_minor_locator()
    if not axis.get_visible() or isinstance(locator, NullLocator):
        return None
    if not isinstance(minor, NullLocator) and len(minor()):
        return None
    tick = axis.majorTicks[0]
    if tick.tick2line.get_visible() or tick.label2.get_visible() or axis.get_label_position() not in ("bottom", "left"):
        return None
    if tick.tick1line.get_marker() != (TICKDOWN if axis.axis_name == "x" else TICKLEFT):  # pointing out
        return None
    locs = np.asarray(locator(), dtype=float)
    formatter = axis.get_major_formatter()
    labels = formatter.format_ticks(locs)  # formatted together, as matplotlib does, before any is dropped
    if formatter.get_offset():
        return None
    scaled = axis.get_transform().transform(locs.reshape(-1, 1)).ravel()
    low, high = sorted(axis.get_transform().transform(np.reshape(axis.get_view_interval(), (-1, 1))).ravel())
    slack = (high - low) * CLOSE
    inside = (scaled >= low - slack) & (scaled <= high + slack)
    return locs[inside], [label for label, keep in zip(labels, inside) if keep]


def _draw_plain(axis: Axis, locs: np.ndarray, labels: list[str], renderer) -> None:
    """Grid lines, tick marks and labels of `axis` at `locs` as three kinds of plain artists; the
    axis's own ticks turned off and its label placed as matplotlib would place it."""
    from matplotlib.axis import Ticker
    from matplotlib.lines import Line2D
    from matplotlib.text import Text
    from matplotlib.ticker import NullFormatter, NullLocator
    from matplotlib.transforms import Affine2D, Bbox

    ax, tick = axis.axes, axis.majorTicks[0]
    along_x = axis.axis_name == "x"
    side = 1 if along_x else 0  # the coordinate across the axis in a tick's (x, y)

    def placed(along, across):
        return (along, across) if along_x else (across, along)

    def added(artist, template):
        ax.add_artist(artist)
        artist.update_from(template)  # after add_artist, which would clip it to the axes
        artist.set_zorder(axis.get_zorder())
        return artist

    if tick.gridline.get_visible() and len(locs):
        ends = tick.gridline.get_data()[side]
        along = np.repeat(locs, 3)
        along[2::3] = np.nan  # one line, broken between grid lines
        across = np.tile([ends[0], ends[-1], np.nan], len(locs))
        added(Line2D(*placed(along, across)), tick.gridline)
    if tick.tick1line.get_visible() and len(locs):
        base = tick.tick1line.get_data()[side][0]
        added(Line2D(*placed(locs, np.full(len(locs), base))), tick.tick1line)
    texts = []
    if tick.label1.get_visible():
        base = tick.label1.get_position()[side]
        for loc, label in zip(locs, labels):
            text = added(Text(*placed(loc, base), label), tick.label1)
            text.set_rotation_mode(tick.label1.get_rotation_mode())
            texts.append(text)
    drawn = tick.tick1line.get_visible() and len(locs)  # the label clears the tick marks only when some are drawn
    length = tick.tick1line.get_markersize() * ax.figure.dpi / 72 if drawn else 0.0
    # The axis's own ticker, empty: an axis shared with this one keeps the ticker they shared.
    axis.major = Ticker()
    axis.set_major_locator(NullLocator())
    axis.set_major_formatter(NullFormatter())
    if not axis.label.get_text():
        return
    spine = ax.spines.get("bottom" if along_x else "left", ax).get_window_extent(renderer)
    spine = Bbox.from_extents(
        spine.x0 - (0 if along_x else length), spine.y0 - (length if along_x else 0), spine.x1, spine.y1
    )
    box = Bbox.union([spine, *(t.get_window_extent(renderer) for t in texts)])
    pad = axis.labelpad * ax.figure.dpi / 72
    # So many pixels from the axes' edge, wherever a layout engine later moves the axes.
    x, y = axis.label.get_position()
    if along_x:
        axis.set_label_coords(x, 0.0, transform=ax.transAxes + Affine2D().translate(0.0, box.y0 - pad - ax.bbox.y0))
    else:
        axis.set_label_coords(0.0, y, transform=ax.transAxes + Affine2D().translate(box.x0 - pad - ax.bbox.x0, 0.0))
