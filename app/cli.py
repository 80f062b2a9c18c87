"""The `tandem` command line: one subcommand per module in app/commands.

Each command module exposes `HELP`, `add_arguments(parser)` and `run(args) -> int` and keeps heavy
imports (Qt, aiortc, OpenCV) inside `run`, so `tandem check` never needs Qt or a display.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from app import __version__
from app.commands import check, gui, join, server, token

COMMANDS: dict[str, ModuleType] = {
    "check": check,
    "server": server,
    "token": token,
    "join": join,
    "gui": gui,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem",
        description="Tandem: equipment check, shared video room and emergency connect for "
        "couples in a virtual intensive outpatient program. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"tandem {__version__}")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="clinic profile (TOML) to use instead of the one in the user's config folder",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    command = args.command or "gui"
    if args.command is None:
        args = parser.parse_args([*(argv or sys.argv[1:]), "gui"])
    result: int = COMMANDS[command].run(args)
    return result


def main_gui() -> int:
    """Entry point of the windowed launcher (`gui-scripts`)."""
    return main(["gui"])
