"""Application logging for the audit part that can never break the audit writer.

The writer thread must keep committing (or fail callers closed) whatever the
application log does; a closed or full log stream must not kill it. These
helpers swallow any error from the logging pipeline itself.
"""

from __future__ import annotations

import contextlib

from mash.logs import get_logger


def emit(component: str, level: str, event: str, **fields: object) -> None:
    """Log `event` at `level` ("info", "warning", "error"); never raises."""
    # Logging must not take the audit writer down with it.
    with contextlib.suppress(Exception):
        getattr(get_logger(component), level)(event, **fields)
