"""matplotlib's start-up checked before a command that draws does any work.

fedcut draws every picture on its own Agg canvas and never opens a window, so the backend named by
MPLBACKEND is not used; but matplotlib refuses to import at all when that name is unknown.
"""

from __future__ import annotations

import os

from fedcut.core.errors import ConfigError


def check_backend() -> None:
    """Import matplotlib now; an unknown MPLBACKEND is one line naming the variable, not a traceback
    after the run has been computed."""
    try:
        import matplotlib  # noqa: F401
    except ValueError as exc:
        raise ConfigError(
            f"MPLBACKEND={os.environ.get('MPLBACKEND', '')!r}: not a backend matplotlib knows; fedcut "
            f"draws with Agg whatever it says: set MPLBACKEND=Agg or unset it ({exc})"[:300]
        ) from None
