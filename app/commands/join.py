"""`tandem join --headless`: a call participant without Qt, one JSON event per line on stdout."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from app.call.headless_join import add_source_arguments
from app.call.setup import JOIN_TOKEN_ENV, LOOPBACK_ENV

HELP = "join a room without a window and print one JSON event per line"

EXIT_LEFT = 0
EXIT_FAILED = 1  # the call broke after joining (server lost, fatal server error)
EXIT_REFUSED = 3  # the server refused the join (token_invalid, token_expired, room_full, ...)
EXIT_UNREACHABLE = 4  # no session server at --server, or it does not speak the protocol
EXIT_REPLACED = 5  # our join code joined again on another device, which took our place
# Join refusals that are about reaching the server, not about us (exit EXIT_UNREACHABLE).
UNREACHABLE_CODES = frozenset(
    {
        "server_unreachable",
        "server_closed",
        "protocol_error",
        "server_untrusted",
        "server_not_https",
    }
)
# A token on the command line is visible to every local user (ps, /proc); programs that start
# a participant (practice mode) hand it over in the environment instead (TOKEN_ENV).
TOKEN_ENV = JOIN_TOKEN_ENV

EPILOG = f"""\
output: one JSON object per line on stdout, each with "type" and "t" (unix seconds):
  joined, state, peer_joined, peer_connected, first_frame (ms_since_join), stats (once a second
  per peer), peer_left (reason: left, failed, replaced, revoked: the clinic withdrew that
  person's join code; timeout only after 10 minutes away: a
  server timeout alone is not a departure), left, error (code, message; peer_id too when the code is
  peer_unreachable: that connection did not come up in time and was closed, the call goes on),
  device_problem (device "camera", problem: the camera gave frames, then none for 2 s; black
  frames are sent and the call goes on).
  Continuity (docs/continuity.md): peer_interrupted (peer_id, reason: no_media |
  connection_failed): nothing came from that peer for 1 s or its connection failed, it has not
  left; peer_restored (peer_id, ms_interrupted); reconnecting (what: signaling | peer, attempt,
  peer_id for a peer); reconnected (what, ms, peer_id for a peer); media_mode (peer_id,
  direction: send | receive, mode: video | audio_only, reason); server_switched (from, to: the
  servers as scheme://host:port); chat (from, text) with --chat-echo; chat_status (id, state:
  sending | delivered | retrying) for lines sent with --chat. stats lines carry "mode" (video |
  audio_only: what we send that peer). A lost signaling connection is reconnected (and resumed)
  for up to 10 minutes before the call fails with server_lost. A server message that is
  malformed or past the protocol's limits (docs/protocol.md) is an error line with the code
  protocol_error: ignored during the call, unless the server keeps sending them (more than 10
  at once, or one every 6 s on end): then a last protocol_error ends the call. Logs go to
  stderr.

exit status:
  {EXIT_LEFT}  left the call (--duration elapsed, counted from the start, joining included;
     SIGINT or SIGTERM, also while joining)
  {EXIT_FAILED}  the call failed after joining (an "error" line says why; protocol_error: the
     server kept breaking the protocol)
  2  bad arguments
  {EXIT_REFUSED}  the server refused to let us in (the "error" line carries the server's code:
     token_invalid, token_expired, token_revoked, room_full, ...)
  {EXIT_UNREACHABLE}  the server could not be reached, did not answer in the protocol, or its TLS
     certificate is not trusted (the "error" line says server_unreachable, server_closed,
     protocol_error or server_untrusted: see --ca-file; protocol_error is e.g. a welcome
     listing more peers than a room holds, or a heartbeat_s that is not 0.01-60 s)
  {EXIT_REPLACED}  our join code was used to join on another device, which took our place (code
     replaced); nothing reconnects, so the two never push each other out in turn

token: --token T, or the environment variable {TOKEN_ENV} (kept out of the process list).

loopback: --allow-loopback (or {LOOPBACK_ENV}=1) offers 127.0.0.1 as an ICE candidate, needed
  when every participant runs on the same machine (practice mode, local tests).
"""


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("size must look like 640x360") from None
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError("width and height must be even and at least 16")
    return width, height


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of Mbps, like 4.5") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of Mbps")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--headless",
        action="store_true",
        required=True,
        help="run without a window (the only mode for now)",
    )
    parser.add_argument(
        "--server",
        required=True,
        metavar="URL",
        help="session server base URL (http[s]://host:port)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"join token (tandem token); default: the environment variable {TOKEN_ENV}",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="leave after S seconds (default: stay until interrupted)",
    )
    parser.add_argument(
        "--size",
        type=_size,
        default=(640, 360),
        metavar="WxH",
        help="video size sent (default 640x360)",
    )
    parser.add_argument("--fps", type=int, default=15, help="video frame rate sent (default 15)")
    parser.add_argument(
        "--upload-mbps",
        type=_positive,
        default=None,
        metavar="N",
        help="upload measured by tandem check: the video starts at a size this link can carry "
        "(default: start at --size and adapt during the call)",
    )
    parser.add_argument(
        "--backup-server",
        metavar="URL",
        default=None,
        help="the clinic's backup session server (same secret): used when --server cannot be "
        "reached at join or stays lost during the call",
    )
    parser.add_argument(
        "--keep-video",
        action="store_true",
        help="never fall back to audio only, however weak the link (for measurements of video "
        "under loss; a person's call always may)",
    )
    parser.add_argument(
        "--chat-echo",
        action="store_true",
        help="print chat lines received (type chat); off by default: they are private words",
    )
    parser.add_argument(
        "--chat",
        metavar="TEXT",
        action="append",
        default=[],
        help="send TEXT as a chat line once in the call with someone (repeatable; tests, demos)",
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        metavar="PEM",
        help="a certificate authority to trust for wss:// besides the system's (a clinic's own "
        "CA, in PEM); default: ca_file of the clinic profile given with --profile",
    )
    parser.add_argument(
        "--allow-loopback",
        action="store_true",
        help=f"offer 127.0.0.1 to ICE (same-machine calls; or {LOOPBACK_ENV}=1)",
    )


def run(args: argparse.Namespace) -> int:
    from app.devices.alsa_quiet import quiet_alsa
    from app.net.tls_trust import CaFileError, client_tls_context

    quiet_alsa()  # ALSA's own lines ("underrun occurred") would interleave with the events

    args.token = args.token or os.environ.get(TOKEN_ENV, "")
    if not args.token:
        print(f"tandem join: a join token is needed (--token or {TOKEN_ENV})", file=sys.stderr)
        return 2
    try:
        args.ca_file = args.ca_file or _profile_ca_file(args)
        if args.ca_file is not None:
            client_tls_context(args.ca_file)  # a bad file is the caller's error now
    except (CaFileError, ValueError) as exc:
        print(f"tandem join: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args))


def _profile_ca_file(args: argparse.Namespace) -> Path | None:
    """The clinic profile's ca_file, when --profile names a profile (the user's own is not
    read: a headless participant is told everything on its command line)."""
    from app.profile import load_profile

    path = getattr(args, "profile", None)
    return load_profile(path).ca_file if path is not None else None


async def _say(engine: Any, lines: list[str]) -> None:
    for line in lines:
        try:
            await engine.send_chat(line)
        except ValueError as exc:
            print(f"tandem join: chat line not sent: {exc}", file=sys.stderr)


async def _run(args: argparse.Namespace) -> int:
    from app.call.engine import JoinError
    from app.call.events import CallError, CallEvent, CallState, PeerConnected, StateChanged
    from app.call.headless import JsonLinesPrinter
    from app.call.headless_join import HeadlessMedia, headless_engine, loopback_wanted

    printer = JsonLinesPrinter(sys.stdout, chat=args.chat_echo)
    stop = asyncio.Event()

    chat_lines = list(args.chat)
    chat_tasks: set[asyncio.Future[None]] = set()  # held: a task nobody holds may be collected
    failures: list[str] = []

    def listener(event: CallEvent) -> None:
        printer(event)
        if isinstance(event, CallError):
            failures.append(event.code)
        if isinstance(event, StateChanged) and event.new is CallState.FAILED:
            stop.set()
        if isinstance(event, PeerConnected) and chat_lines:
            lines, chat_lines[:] = list(chat_lines), []
            chat_tasks.add(asyncio.ensure_future(_say(engine, lines)))

    try:
        engine = headless_engine(
            args.server,
            args.token,
            listener,
            HeadlessMedia(args.camera, args.mic, args.size, args.fps),
            allow_loopback=loopback_wanted(args.allow_loopback),
            upload_mbps=args.upload_mbps,
            backup_url=args.backup_server,
            audio_only_fallback=not args.keep_video,
            ca_file=args.ca_file,
        )
    except ValueError as exc:
        printer.write({"type": "error", "code": "bad_server_url", "message": str(exc)})
        return 2
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # --duration counts from here, whatever the server does: joining included.
    deadline = None if args.duration is None else loop.time() + args.duration
    joining = asyncio.ensure_future(engine.join())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait(
            {joining, stopping}, timeout=args.duration, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopping.cancel()
    if not joining.done() and engine.state is not CallState.FAILED:
        # Time is up, or a signal came, before we were in the room (a failing join sets `stop`
        # too, and is left to end with its error).
        joining.cancel()  # a cancelled join leaves as leave() does
        with contextlib.suppress(asyncio.CancelledError, JoinError):
            await joining
        return EXIT_LEFT
    try:
        await joining
    except JoinError as exc:
        return EXIT_UNREACHABLE if exc.code in UNREACHABLE_CODES else EXIT_REFUSED
    remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), remaining)
    if engine.state is CallState.FAILED:
        return EXIT_REPLACED if failures and failures[-1] == "replaced" else EXIT_FAILED
    await engine.leave()
    return EXIT_LEFT
