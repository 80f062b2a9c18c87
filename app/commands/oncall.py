"""`tandem oncall --headless`: an on-call clinician without a window; one JSON line per step."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.commands.emergency import (
    TOKEN_ENV,
    add_connection_arguments,
    seconds,
    seconds_or_zero,
    token_of,
)

HELP = "be an on-call clinician without a window (accepts rings) and print one JSON line per step"
OUTCOMES = ("safe", "referred", "emergency_services", "no_contact", "other")

EPILOG = f"""\
What happens: signs in with an on-call token (role oncall), says available, and accepts each
case that rings after --accept-after seconds (at once by default; --never-accept: never), one
case at a time; then joins the case's video call with the couple. The case is ended with
--outcome after --end-after seconds, when the couple cancels, or when the command stops; then
the clinician is available for the next case.

output: one JSON object per line on stdout, each with "type" and "t" (unix seconds):
  available / away             the server's answer to our availability
  ring (case_id, tier, ms_since_request)  a case rings for us; ms by the server's clock since
                               the couple's request
  accepted (case_id)           the case is ours (the others are told it was taken)
  case_taken (case_id, by)     another clinician was first (by: null when the server did not
                               say who: our accept came too late)
  case_cancelled (case_id)     the couple cancelled a case that was ringing
  couple_cancelled (case_id)   the couple said they are safe on the case we hold (we end it)
  first_frame (case_id, peer_id, role, ms_since_join, ms_since_accepted)  the first video
                               frame from someone in the case's call
  ended (case_id, by, outcome) the case is over
  offline (reason, retry_in_s) the server cannot be reached now (we are away meanwhile)
  error (code, message)        the server refused or declined something; with "in": "call"
                               a problem of the case's call
  Logs go to stderr.

exit status:
  0  stopped (--duration elapsed, SIGINT or SIGTERM); a case held is ended first
  2  bad arguments
  3  the server refused the token (token_invalid, token_expired, token_wrong_role, ...)
  4  the server could not be reached within --give-up seconds

token: --token T, or the environment variable {TOKEN_ENV} (kept out of the process list).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--headless",
        action="store_true",
        required=True,
        help="run without a window (the only mode: clinicians use the /oncall page)",
    )
    add_connection_arguments(parser, "an on-call token (role oncall)", "until SIGINT/SIGTERM")
    accepting = parser.add_mutually_exclusive_group()
    accepting.add_argument(
        "--accept-after",
        type=seconds_or_zero,
        default=0.0,
        metavar="S",
        help="accept a ringing case S seconds after its ring (default 0: at once)",
    )
    accepting.add_argument(
        "--never-accept", action="store_true", help="hear rings but never accept (escalation tests)"
    )
    parser.add_argument(
        "--end-after",
        type=seconds,
        default=None,
        metavar="S",
        help="end a case S seconds after accepting it (default: when the command stops)",
    )
    parser.add_argument(
        "--outcome",
        choices=OUTCOMES,
        default="safe",
        help="the outcome recorded when we end a case (default safe)",
    )


def run(args: argparse.Namespace) -> int:
    from app.call.headless import JsonLinesPrinter
    from app.call.headless_join import HeadlessMedia, loopback_wanted
    from app.devices.alsa_quiet import quiet_alsa
    from app.emergency.headless_oncall import HeadlessClinician, OncallOptions

    quiet_alsa()  # ALSA's own lines ("underrun occurred") would interleave with the events
    token = token_of(args, "oncall")
    if token is None:
        return 2
    options = OncallOptions(
        server=args.server,
        token=token,
        accept_after=None if args.never_accept else args.accept_after,
        end_after=args.end_after,
        outcome=args.outcome,
        media=HeadlessMedia(args.camera, args.mic),
        duration=args.duration,
        give_up_s=args.give_up,
        allow_loopback=loopback_wanted(args.allow_loopback),
        ca_file=args.ca_file,
    )
    printer = JsonLinesPrinter(sys.stdout)
    try:
        clinician = HeadlessClinician(options, printer.write)
    except (ValueError, OSError) as exc:
        print(f"tandem oncall: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(clinician.run())
