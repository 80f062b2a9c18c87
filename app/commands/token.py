"""`tandem token`: mint a join token for a room (signed with the server's secret)."""

from __future__ import annotations

import argparse
import sys

HELP = "mint a join token for one room and role (secret from TANDEM_SECRET)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--room", required=True, help="room identifier")
    parser.add_argument("--role", required=True, choices=["partner", "therapist", "oncall"])
    parser.add_argument(
        "--name", required=True, help="display name shown to the others in the room"
    )
    parser.add_argument(
        "--ttl",
        type=int,
        default=4 * 3600,
        metavar="S",
        help="seconds until the token expires (default 14400)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the server's TOML config file; its [server] secret is used when "
        "TANDEM_SECRET is not set",
    )
    parser.add_argument(
        "--insecure-dev-secret",
        action="store_true",
        help="sign with the public development secret of `tandem server --insecure-dev-secret`",
    )


def run(args: argparse.Namespace) -> int:
    from app.server.config import DEV_SECRET, ConfigError, secret_from
    from app.server.tokens import mint_token

    try:
        secret = DEV_SECRET if args.insecure_dev_secret else secret_from(args.config)
    except ConfigError as exc:
        print(f"tandem token: {exc}", file=sys.stderr)
        return 2
    if not secret:
        print(
            "tandem token: no secret: set TANDEM_SECRET (the session server's secret) or pass "
            "--config with the server's config file",
            file=sys.stderr,
        )
        return 2
    try:
        token = mint_token(secret, args.room, args.role, args.name, args.ttl)
    except ValueError as exc:
        print(f"tandem token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0
