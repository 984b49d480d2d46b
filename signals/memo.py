"""Reuse an indicator group's result while the inputs it got and the parameters it read are the same.

A sweep of regime settings computes the signal frame thousands of times over the same data, and
most settings change a threshold or two: every group of indicators that reads none of them gives
the same result as before. `Memo` keys a result on exactly what the group read, recorded on its
call rather than listed by hand (a list would drift from the code): each parameter section
(`core.params.Section`) handed to the group is wrapped in a recorder that notes every value read,
and a later call reuses the result only if the same inputs come with equal values of every
parameter read then (a parameter read only on one branch is in the key of that branch's results).
Inputs that are no section (frames, series, arrays) are matched by identity, so a caller passes
the same objects again to be served (an equal copy is a miss, never a wrong result) and never
changes them in place after the call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fedcut.core.params import Section


class _Recorder:
    """A section that notes every parameter read from it (by name only: no method of the section)."""

    def __init__(self, section: Section, reads: dict[str, Any]):
        object.__setattr__(self, "_section", section)
        object.__setattr__(self, "_reads", reads)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._section, name)
        if callable(value):  # `as_dict`, `replace`: what they read cannot be recorded
            raise TypeError(f"a memoised indicator group reads parameters by name, not through {name}()")
        self._reads[name] = value
        return value

    def __setattr__(self, key, value):
        raise AttributeError("configuration sections are read-only")


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type (1 and 1.0, True and 1, are different parameter values here)."""
    return type(a) is type(b) and a == b


class Memo:
    """Results of indicator groups: at most `size` for each group and set of inputs, and at most
    `keys` groups and sets of inputs (the least recently used dropped first; 64 holds the eleven
    groups of each of the four as-of views `run.inputs` keeps)."""

    def __init__(self, size: int = 4, keys: int = 64):
        self.size, self.keys = size, keys
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()  # a worker's threads may share it; a result is computed outside it
        self._entries: OrderedDict[tuple, list[tuple[dict[int, dict[str, Any]], Any, tuple]]] = OrderedDict()

    def __call__(self, fn: Callable, *args: Any) -> Any:
        """`fn(*args)`, or the result of an earlier call of `fn` with the same inputs and the same
        values of the parameters that call read."""
        sections = {i: a for i, a in enumerate(args) if isinstance(a, Section)}
        key = (fn, tuple(("section", i) if i in sections else ("input", id(a)) for i, a in enumerate(args)))
        with self._lock:
            entries = self._entries.get(key, [])
            for n, (reads, result, _held) in enumerate(entries):
                if all(_same(getattr(sections[i], k), v) for i, r in reads.items() for k, v in r.items()):
                    self.hits += 1
                    entries.append(entries.pop(n))  # most recently used last
                    self._entries.move_to_end(key)
                    return result
            self.misses += 1
        reads = {i: {} for i in sections}
        result = fn(*(_Recorder(a, reads[i]) if i in sections else a for i, a in enumerate(args)))
        # The inputs are held with the result: while it is kept, their identities cannot be reused.
        held = tuple(a for i, a in enumerate(args) if i not in sections)
        with self._lock:
            entries = self._entries.setdefault(key, [])
            entries.append((reads, result, held))
            self._entries.move_to_end(key)
            del entries[: max(0, len(entries) - self.size)]
            while len(self._entries) > self.keys:
                self._entries.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def direct(fn: Callable, *args: Any) -> Any:
    """`fn(*args)`: what a caller without a memo uses in its place."""
    return fn(*args)
