"""The `tandem` command line: one subcommand per module in app/commands.

Each command module exposes `HELP`, `add_arguments(parser)` and `run(args) -> int` and keeps heavy
imports (Qt, aiortc, OpenCV) inside `run`, so `tandem check` never needs Qt or a display.
`tandem-gui` (the windowed launcher) takes the same arguments as `tandem gui`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from app import __version__, smoke
from app.commands import audit, check, emergency, gui, join, oncall, plan, server, token
from app.process_exit import run_and_exit

COMMANDS: dict[str, ModuleType] = {
    "check": check,
    "server": server,
    "token": token,
    "join": join,
    "emergency": emergency,
    "oncall": oncall,
    "gui": gui,
    "plan": plan,
    "audit": audit,
}

DESCRIPTION = (
    "Tandem: equipment check, shared video room and emergency connect for couples in a virtual "
    "intensive outpatient program."
)


PROFILE_HELP = "clinic profile (TOML) to use instead of the one in the user's config folder"


def _add_common_options(parser: argparse.ArgumentParser, prog: str) -> None:
    parser.add_argument("--version", action="version", version=f"{prog} {__version__}")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help=PROFILE_HELP,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")


def _add_late_common_options(parser: argparse.ArgumentParser) -> None:
    """--profile and -v after the command too (`tandem check --profile X`), as people type them.

    SUPPRESS as the default: given before the command, the value is not overwritten here."""
    parser.add_argument("--profile", type=Path, default=argparse.SUPPRESS, help=PROFILE_HELP)
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem", description=f"{DESCRIPTION} With no command, opens the app."
    )
    _add_common_options(parser, "tandem")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        _add_late_common_options(command)
    return parser


def build_gui_parser(prog: str = "tandem-gui") -> argparse.ArgumentParser:
    """The app's own arguments: `tandem-gui ARGS` and `tandem ARGS` mean `tandem gui ARGS`."""
    parser = argparse.ArgumentParser(prog=prog, description=f"{DESCRIPTION} {gui.HELP}.")
    _add_common_options(parser, prog)
    gui.add_arguments(parser)
    parser.set_defaults(command="gui")
    return parser


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    result: int = COMMANDS[args.command].run(args)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    if smoke.requested() == smoke.IMPORTS:  # the installed app's smoke test (app/smoke.py)
        return smoke.import_everything()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not _names_a_command(arguments):  # no command: the app, with the app's own options
        args = build_gui_parser("tandem").parse_args(arguments)
    else:
        args = build_parser().parse_args(arguments)
    return _run(args)


# The options before a command that take a value (the app's own too: `tandem --camera SRC`).
_VALUE_OPTIONS = frozenset({"--profile", "--camera"})


def _names_a_command(arguments: Sequence[str]) -> bool:
    """Whether a command (the first word that is not an option or an option's value) is given,
    or the full help is asked for; otherwise the app. A word that is not a command is left to
    the parser to refuse."""
    skip = False
    for word in arguments:
        if skip:
            skip = False
        elif word in _VALUE_OPTIONS:
            skip = True
        elif word in ("--", "-h", "--help"):  # the full help lists the commands
            return True
        elif not word.startswith("-"):
            return True
    return False


def run() -> NoReturn:
    """The `tandem` console script and `python -m app`: `main`, then the process ends at once
    (app.process_exit says why)."""
    run_and_exit(main)


def run_gui() -> NoReturn:
    """The windowed launcher (`tandem-gui`), ending as `run` does."""
    run_and_exit(main_gui)


def main_gui(argv: Sequence[str] | None = None) -> int:
    """Entry point of the windowed launcher (`gui-scripts`): the arguments of `tandem gui`."""
    return _run(build_gui_parser().parse_args(argv))
