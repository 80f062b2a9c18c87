"""`tandem audit`: print the emergency records (append-only, UTC) of the session server."""

from __future__ import annotations

import argparse
import sys

HELP = "print the emergency records (one per line; --json for JSON lines)"

DESCRIPTION = """\
Print the emergency connect records from the session server's data folder, oldest first, one
per line: time (UTC), case id, kind (requested, rung, accepted, escalated, connected,
cancelled, unanswered, webhook, ended) and its details. Couples appear only as a keyed hash of
their room id; the records never hold a location, chat, token or SDP.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--since",
        metavar="ISO",
        help="only records at or after this UTC date or time (2025-06-15, 2025-06-15T03:00Z)",
    )
    parser.add_argument("--case", metavar="ID", help="only the records of this case")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the server's data folder (default: data_dir from --config, else the default "
        "folder of `tandem server`)",
    )
    parser.add_argument("--config", metavar="PATH", help="the server's TOML config file")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace) -> int:
    from app.server.config import ConfigError
    from app.server.emergency import offline
    from app.server.emergency.store import StoreError

    try:
        since = offline.parse_since(args.since) if args.since else None
        data_dir = offline.data_dir_for(args.data_dir, args.config)
        records = offline.read_records(data_dir, since, args.case)
    except (ConfigError, offline.OfflineError, StoreError) as exc:
        print(f"tandem audit: {exc}", file=sys.stderr)
        return 2
    lines = offline.json_lines(records) if args.json else offline.human_lines(records)
    for line in lines:
        print(line)
    return 0
