"""`tandem token`: mint a join token for a room (signed with the server's secret), or revoke one
(`tandem token revoke`)."""

from __future__ import annotations

import argparse
import sys

HELP = "mint a join token for one room and role (secret from TANDEM_SECRET), or revoke one"

EPILOG = """\
A token is refused here for what the server would refuse: a room or name that is not text
within the limits (room 1-128 characters, name 1-64), a --ttl longer than the role may have on
the server ([server.token_max_ttl] of --config; by default 180 days for a partner, 12 hours for
a therapist or on-call clinician), or a secret that is short or not random.

tandem token revoke (--jti ID | --token TOKEN) [--config PATH | --file PATH]
  withdraws a token that leaked: its id goes on the server's revocation list
  ([server] revoked_tokens of --config, or --file). The server rereads the list when it changes:
  the token is refused from the next join on (token_revoked), and whoever is in a room with it
  is removed within seconds. `--token -` reads the token from standard input.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--room", help="room identifier (needed to mint)")
    parser.add_argument("--role", choices=["partner", "therapist", "oncall"])
    parser.add_argument("--name", help="display name shown to the others in the room")
    parser.add_argument(
        "--ttl",
        type=int,
        default=4 * 3600,
        metavar="S",
        help="seconds until the token expires (default 14400; at most the role's maximum)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the server's TOML config file; its [server] secret is used when "
        "TANDEM_SECRET is not set, and its [server.token_max_ttl] limits --ttl",
    )
    parser.add_argument(
        "--insecure-dev-secret",
        action="store_true",
        help="sign with the public development secret of `tandem server --insecure-dev-secret`",
    )
    parser.add_argument(
        "--allow-weak-secret",
        action="store_true",
        help="sign with a secret that is short or not random (development only)",
    )
    actions = parser.add_subparsers(dest="token_action", metavar="revoke")
    revoke = actions.add_parser("revoke", help="withdraw a token that leaked")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--jti", metavar="ID", help="the token's id")
    which.add_argument("--token", metavar="TOKEN", help="the token itself ('-': standard input)")
    where = revoke.add_mutually_exclusive_group()
    where.add_argument(
        "--config",
        dest="revoke_config",
        metavar="PATH",
        help="the server's config file: the list is its [server] revoked_tokens",
    )
    where.add_argument("--file", metavar="PATH", help="the revocation list itself")


def _fail(message: str) -> int:
    print(f"tandem token: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if getattr(args, "token_action", None) == "revoke":
        from app.commands.token_revoke import revoke

        return revoke(args)
    return _mint(args)


def _mint(args: argparse.Namespace) -> int:
    from app.server.config import (
        DEV_SECRET,
        ConfigError,
        load_file,
        secret_from,
        token_lifetimes,
    )
    from app.server.secret_strength import HOW_TO_MAKE_ONE, secret_problem
    from app.server.tokens import mint_token

    missing = [f"--{name}" for name in ("room", "role", "name") if getattr(args, name) is None]
    if missing:
        return _fail(f"{', '.join(missing)} needed to mint a token (or: tandem token revoke)")
    try:
        secret = DEV_SECRET if args.insecure_dev_secret else secret_from(args.config)
        lifetimes = token_lifetimes(load_file(args.config))
    except ConfigError as exc:
        return _fail(str(exc))
    if not secret:
        return _fail(
            "no secret: set TANDEM_SECRET (the session server's secret) or pass "
            "--config with the server's config file"
        )
    weakness = secret_problem(secret)
    if weakness is not None and secret != DEV_SECRET and not args.allow_weak_secret:
        return _fail(f"{weakness}; the server refuses it too. {HOW_TO_MAKE_ONE}")
    if args.ttl <= 0:  # said in the option's name, not mint_token's (`ttl_s`)
        return _fail(f"--ttl must be a positive number of seconds (got {args.ttl})")
    try:
        token = mint_token(secret, args.room, args.role, args.name, args.ttl, lifetimes=lifetimes)
    except ValueError as exc:
        return _fail(str(exc))
    print(token)
    return 0
