"""`mash timescale`, `mash referral ...` and `mash summary ...` (registered from mash/cli.py)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broker.timescales import (
    DEFAULT_CALENDAR,
    TimescaleError,
    WorkingCalendar,
    due_at,
    load_calendar,
    timescale_state,
)
from mash.home import Home
from mash.vocab import Rag, parse

#: The per-local-authority calendar file inside a home folder (optional).
CALENDAR_FILE = "timescales.toml"


def register(sub: Any) -> None:
    """Add `timescale`, `referral` and `summary` to the `mash` parser."""
    p = sub.add_parser("timescale", help="when a referral's research is due (working hours)",
                       description="Print the due time of a referral as JSON: "
                                   '{"due": "<ISO 8601 with offset>", ...}.')
    p.add_argument("--rag", required=True, help="red | amber | green")
    p.add_argument("--received", required=True,
                   help="when the referral was received, ISO 8601 with offset")
    p.add_argument("--now", help="also say whether the timescale is on_track/at_risk/breached "
                                 "at this ISO 8601 time")
    p.add_argument("--config", type=Path, help="local authority calendar TOML "
                                               "(default: HOME/config/timescales.toml if present)")
    p.add_argument("--home", help="home folder (default ./.mash)")
    p.set_defaults(handler=_timescale)


def calendar_for(config: Path | None, home: str | None) -> WorkingCalendar:
    """The calendar named by `--config`, else the home's, else the default."""
    from mash.cli import UsageError

    path = config
    if path is None:
        candidate = Home.at(home).config_dir / CALENDAR_FILE
        path = candidate if candidate.is_file() else None
    if path is None:
        return DEFAULT_CALENDAR
    try:
        return load_calendar(path)
    except TimescaleError as exc:
        raise UsageError(str(exc)) from None


def parse_aware(name: str, value: str) -> datetime:
    """Parse an ISO 8601 time that must carry a UTC offset (exit 2 otherwise)."""
    from mash.cli import UsageError

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name}: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise UsageError(f"{name}: give a UTC offset, e.g. {value}+00:00")
    return moment


def _timescale(args: argparse.Namespace) -> int:
    rag = parse(Rag, args.rag)
    received = parse_aware("--received", args.received)
    calendar = calendar_for(args.config, args.home)
    due = due_at(received, rag, calendar)
    out: dict[str, object] = {
        "due": due.isoformat(),
        "due_utc": due.astimezone(UTC).isoformat(),
        "rag": rag.value,
        "received": received.isoformat(),
        "working_hours": calendar.timescales.for_rag(rag).total_seconds() / 3600,
    }
    if args.now:
        now = parse_aware("--now", args.now)
        out["now"] = now.isoformat()
        out["state"] = timescale_state(due, now, calendar)
    print(json.dumps(out))
    return 0
