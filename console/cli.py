"""`mash console serve --config F`: the web console for MASH staff."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mash.command import Subparsers


def register(sub: Subparsers) -> None:
    """Add `mash console ...` to the `mash` parser."""
    parser = sub.add_parser("console", help="the web console for MASH staff")
    commands = parser.add_subparsers(dest="console_command", required=True,
                                     metavar="CONSOLE_COMMAND")
    serve = commands.add_parser("serve", help="serve the console (talks to the broker over mTLS)")
    serve.add_argument("--config", required=True, help="console TOML config file")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from console.app import serve_console
    from console.config import ConsoleConfig
    from mash import logs
    from mash.command import load_config

    config = load_config(ConsoleConfig.load, Path(args.config))
    logs.configure(json=config.json_logs, level="info")
    serve_console(config)
    return 0
