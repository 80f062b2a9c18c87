"""`tandem plan set`: store a couple's safety plan for emergency connect (docs/emergency.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "set a couple's safety plan (shown to the on-call clinician, cached by the couple's app)"

DESCRIPTION = """\
Store a couple's safety plan (Markdown, at most 20 000 characters) in the session server's data
folder. The on-call clinician sees it when accepting the couple's emergency; the couple's app
gets it for its offline copy. A running server picks up the change within a few seconds.

The couple is named by its room id; the plan is stored under a keyed hash of it, made with the
server's token secret (TANDEM_SECRET, else `secret` in --config's [server] table), so use the
same secret as the server.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    set_plan = actions.add_parser("set", help="store the plan from a Markdown file")
    set_plan.add_argument("--room", required=True, help="the couple's room id")
    set_plan.add_argument("--file", required=True, type=Path, help="the plan (Markdown, UTF-8)")
    set_plan.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the server's data folder (default: data_dir from --config, else the default "
        "folder of `tandem server`)",
    )
    set_plan.add_argument("--config", metavar="PATH", help="the server's TOML config file")
    set_plan.add_argument(
        "--insecure-dev-secret",
        action="store_true",
        help="key the plan with the public development secret (`tandem server "
        "--insecure-dev-secret`)",
    )


def run(args: argparse.Namespace) -> int:
    from app.server.config import DEV_SECRET, ConfigError, secret_from
    from app.server.emergency import offline
    from app.server.emergency.store import StoreError
    from app.server.tokens import MAX_ROOM_CHARS

    try:
        secret = DEV_SECRET if args.insecure_dev_secret else secret_from(args.config)
        if not secret:
            raise offline.OfflineError(
                "no secret: set TANDEM_SECRET (the session server's secret) or pass --config "
                "with the server's config file"
            )
        if not args.room or len(args.room) > MAX_ROOM_CHARS:
            raise offline.OfflineError(f"--room must be 1-{MAX_ROOM_CHARS} characters")
        text = offline.read_plan_file(args.file)
        data_dir = offline.data_dir_for(args.data_dir, args.config)
        plan = offline.set_plan(data_dir, secret, args.room, text)
    except (ConfigError, offline.OfflineError, StoreError) as exc:
        print(f"tandem plan: {exc}", file=sys.stderr)
        return 2
    print(f"safety plan stored ({len(plan.text)} characters) in {data_dir}")
    return 0
