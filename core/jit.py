"""The one place numba is configured: every compiled function in fedcut is made with `jit` or `jit_ieee`.

Compiled code is cached on disk where caches belong (the user's cache folder, never site-packages),
so a process loads it instead of compiling it again: about 0.4 s for numba's start, against a
minute to compile every kernel from nothing. `nogil`: a thread may run a kernel while another
draws. A compiled function is also callable from Python, with the same types and the same bits.
"""

from __future__ import annotations

import os

from platformdirs import user_cache_dir

# numba reads its cache folder when it is first imported: set before the import below.
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(user_cache_dir("fedcut", appauthor=False), "numba"))

from numba import njit  # noqa: E402 - after the cache folder is set


def jit(fn):
    """`fn` compiled, cached on disk; Python's errors (x / 0 raises ZeroDivisionError)."""
    return njit(cache=True, nogil=True)(fn)


def jit_ieee(fn):
    """`jit` with IEEE division: x / 0 is inf or NaN, as numpy gives it, instead of an error."""
    return njit(cache=True, nogil=True, error_model="numpy")(fn)
