"""`tandem emergency`: raise a couple's emergency without a window; one JSON line per step."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from app.call.headless_join import add_source_arguments
from app.call.setup import JOIN_TOKEN_ENV, LOOPBACK_ENV

HELP = "raise an emergency for a couple without a window and print one JSON line per step"
TOKEN_ENV = JOIN_TOKEN_ENV

EPILOG = f"""\
What happens: the emergency is raised at once with the couple's join code (a partner token);
the on-call clinicians are rung; when one accepts, the couple joins the case's video call.
A second run with the same couple's token joins the same case.

output: one JSON object per line on stdout, each with "type" and "t" (unix seconds):
  requested (case_id)          the server opened the case (or joined us to the open one)
  ringing (case_id, tier, count)  how many clinicians of tier 1 (first line) or 2 (backup)
                               are rung now
  escalated (case_id, level, tier)  level 1 (30 s: rung again, and the backup tier), 2 (60 s:
                               everyone available), 3 (90 s: unanswered); tier is the highest
                               tier rung
  accepted (case_id, clinician, ms_since_request)  a clinician took the case, after that many
                               ms from the start of this command
  first_frame (case_id, peer_id, role, ms_since_join, ms_since_accepted)  the first video
                               frame from someone in the case's call
  unanswered (case_id)         nobody accepted in time (the server pages the clinic)
  offline (reason, retry_in_s) the server cannot be reached now: unreachable, timeout, lost,
                               protocol, unsupported or server_error; retrying in that many s
                               (0: an attempt is still under way)
  ended (case_id, by, outcome) the case is over (by clinician or couple)
  error (code, message)        the server refused or declined (token_invalid, rate_limited,
                               ...); with "in": "call" a problem of the case's call
  Logs go to stderr.

exit status:
  0  a clinician was reached (accepted); the command ends when the clinician ends the case,
     after --duration, or on SIGINT/SIGTERM (then it leaves the call)
  2  bad arguments
  3  the server refused the couple's token, or refused a new case (rate_limited)
  4  the server could not be reached within --give-up seconds
  5  no clinician was reached: the case went unanswered (the command ends at once then), or
     --duration, a signal, or the case's end came first
  A run that ends before a clinician accepted cancels its case (as "I'm safe now"), so nobody
  is rung for a program that has gone.

token: --token T, or the environment variable {TOKEN_ENV} (kept out of the process list).

loopback: a server on this machine (127.0.0.1, localhost) or --allow-loopback (or
  {LOOPBACK_ENV}=1) offers 127.0.0.1 as an ICE candidate for the case's call.
"""


def seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds, like 2.5") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def seconds_or_zero(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0") else seconds(text)


def add_connection_arguments(
    parser: argparse.ArgumentParser, token_is: str, duration_is: str
) -> None:
    """--server, --token, --camera, --mic, --duration, --give-up, --allow-loopback, --ca-file."""
    parser.add_argument(
        "--server", required=True, metavar="URL", help="session server (http[s]://host:port)"
    )
    parser.add_argument(
        "--token", default=None, help=f"{token_is}; default: the environment variable {TOKEN_ENV}"
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--duration",
        type=seconds,
        default=None,
        metavar="S",
        help=f"stop after S seconds (default: {duration_is})",
    )
    parser.add_argument(
        "--give-up",
        type=seconds,
        default=10.0,
        metavar="S",
        help="exit 4 when the server has not been reached after S seconds (default 10)",
    )
    parser.add_argument(
        "--allow-loopback",
        action="store_true",
        help=f"offer 127.0.0.1 to ICE in the case's call (or {LOOPBACK_ENV}=1)",
    )
    parser.add_argument(
        "--ca-file",
        metavar="PATH",
        default=None,
        help="trust this certificate authority (PEM) for an https server with its own",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_connection_arguments(
        parser,
        "the couple's join code (a partner token)",
        "when the case ends or goes unanswered, or on SIGINT/SIGTERM",
    )
    parser.add_argument(
        "--location",
        metavar="TEXT",
        default=None,
        help="where the couple is right now, sent with the request (at most 200 characters)",
    )


def token_of(args: argparse.Namespace, command: str) -> str | None:
    token: str = (args.token or os.environ.get(TOKEN_ENV, "")).strip()
    if not token:
        print(f"tandem {command}: a token is needed (--token or {TOKEN_ENV})", file=sys.stderr)
        return None
    return token


def run(args: argparse.Namespace) -> int:
    from app.call.headless import JsonLinesPrinter
    from app.call.headless_join import HeadlessMedia, loopback_wanted
    from app.devices.alsa_quiet import quiet_alsa
    from app.emergency.headless_couple import CoupleOptions, HeadlessCouple
    from app.emergency.protocol import clean_location

    quiet_alsa()  # ALSA's own lines ("underrun occurred") would interleave with the events
    token = token_of(args, "emergency")
    if token is None:
        return 2
    try:
        clean_location(args.location)
    except ValueError as exc:
        print(f"tandem emergency: {exc}", file=sys.stderr)
        return 2
    options = CoupleOptions(
        server=args.server,
        token=token,
        location=args.location,
        media=HeadlessMedia(args.camera, args.mic),
        duration=args.duration,
        give_up_s=args.give_up,
        allow_loopback=loopback_wanted(args.allow_loopback),
        ca_file=args.ca_file,
    )
    printer = JsonLinesPrinter(sys.stdout)
    try:
        couple = HeadlessCouple(options, printer.write)
    except (ValueError, OSError) as exc:
        print(f"tandem emergency: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(couple.run())
