"""Application logging, configured in one place (structlog).

Application logs carry ids, counts, timings and error causes -- never a
person's names, dates of birth, identifiers or record contents. Who saw what
goes to the audit log, by id. `redact_personal_data` drops any field whose
name suggests personal data, as a second line of defence.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor

#: Field names that must never reach an application log.
PERSONAL_FIELDS = frozenset({
    "given_name", "family_name", "name", "names", "other_names", "date_of_birth", "dob",
    "postcode", "address", "nhs_number", "upn", "identifiers", "subjects", "facts", "summary",
})


def redact_personal_data(_logger: object, _method: str, event: EventDict) -> EventDict:
    """structlog processor: replace personal-data fields with a marker."""
    for key in PERSONAL_FIELDS.intersection(event):
        event[key] = "[redacted]"
    return event


class _StandardError:
    """sys.stderr looked up at each write, so a logger configured once keeps working when the
    process (or a test harness) replaces sys.stderr later."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(*, json: bool = True, level: str = "info", stream: TextIO | None = None) -> None:
    """Configure structlog for this process: JSON lines (production) or console (demo)."""
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personal_data,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _StandardError()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> FilteringBoundLogger:
    """A structlog logger bound to the component `name`."""
    logger: FilteringBoundLogger = structlog.get_logger(component=name)
    return logger
