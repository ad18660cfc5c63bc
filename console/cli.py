"""`mash console serve --config F`: the web console for MASH staff."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mash.command import Subparsers, typed


def register(sub: Subparsers) -> None:
    """Add `mash console ...` to the `mash` parser."""
    parser = sub.add_parser("console", help="the web console for MASH staff")
    commands = parser.add_subparsers(dest="console_command", required=True,
                                     metavar="CONSOLE_COMMAND")
    serve = commands.add_parser("serve", help="serve the console (talks to the broker over mTLS)")
    serve.add_argument("--config", required=True, help="console TOML config file")
    serve.set_defaults(handler=typed(ServeArgs, _serve))


@dataclass(frozen=True)
class ServeArgs:
    """`mash console serve`."""

    config: str


def _serve(args: ServeArgs) -> int:
    from console.app import serve_console
    from console.config import ConsoleConfig
    from mash import logs
    from mash.command import load_config

    config = load_config(ConsoleConfig.load, Path(args.config))
    logs.configure(json=config.json_logs, level="info")
    serve_console(config)
    return 0
