"""`tandem token`: mint a join token for a room (signed with the server's secret)."""

from __future__ import annotations

import argparse

HELP = "mint a join token for one room and role (secret from TANDEM_SECRET)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--room", required=True, help="room identifier")
    parser.add_argument("--role", required=True, choices=["partner", "therapist", "oncall"])
    parser.add_argument("--name", required=True, help="display name shown to the others in the room")
    parser.add_argument("--ttl", type=int, default=4 * 3600, metavar="S",
                        help="seconds until the token expires (default 14400)")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("tandem token is being built (issue 3)")
