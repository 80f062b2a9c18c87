"""`tandem gui`: open the desktop app (the default when no command is given)."""

from __future__ import annotations

import argparse

HELP = "open the desktop app (default)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--practice",
        action="store_true",
        help="practice mode even if a clinic profile exists (a local server on this computer)",
    )


def run(args: argparse.Namespace) -> int:
    from app.ui.main import run_app

    return run_app(profile_path=args.profile, force_practice=args.practice)
