"""Where one configuration stands among a family of variants, with its ties shown, not hidden.

A shipped default that ranks near the top of the variants it could have been is a sign that the
history chose it; one near the median is what an arbitrary choice would give. Ranks here are
plain counts (no interpolation), so a reader can redo them from `summary.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Place:
    """The place of one value among `of` values, higher being better.

    With ties the place is a range: `best` = 1 + how many are strictly better, `worst` = how many
    are at least as good (itself included). Without ties the two are equal. A missing value (NaN)
    ranks below every number, as in the sweep's own ranking, and ties with the other missing ones.
    """

    best: int
    worst: int
    of: int

    @property
    def tied(self) -> int:
        """How many others share the value exactly."""
        return self.worst - self.best

    def to_dict(self) -> dict:
        return {"best": self.best, "worst": self.worst, "of": self.of, "tied": self.tied}


def place_among(values, position: int) -> Place:
    """The `Place` of `values[position]` among all `values` (higher is better; exact ties)."""
    key = np.asarray(values, dtype=float)
    if key.ndim != 1 or not 0 <= position < len(key):
        raise ValueError(f"place_among: position {position} is outside {np.shape(values)} values")
    key = np.where(np.isnan(key), -np.inf, key)
    own = key[position]
    return Place(best=1 + int(np.count_nonzero(key > own)), worst=int(np.count_nonzero(key >= own)), of=len(key))
