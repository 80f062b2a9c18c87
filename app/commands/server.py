"""`tandem server`: run the session server (rooms, join tokens, signaling at /ws, speed test,
emergency connect at /emergency/ws)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.server.config import ServerConfig

HELP = "run the session server"

DESCRIPTION = """\
Run the session server: rooms, join tokens, WebSocket signaling at /ws, the speed test, and
emergency connect at /emergency/ws (its records in the data folder; see `tandem audit`).

Join tokens are signed with a secret, taken from (first found): the TANDEM_SECRET environment
variable, or `secret` in the [server] table of --config. Without one the server refuses to start
(exit 2), except with --insecure-dev-secret, which uses a fixed, publicly known secret and is
accepted only on a loopback address; mint matching tokens with `tandem token --insecure-dev-secret`.
The secret must be random and at least 32 bytes: anyone holding one join token could otherwise
guess it offline and mint their own. A weaker one is refused (exit 2), except with
--allow-weak-secret on a loopback address (development only). Make one with
  python3 -c "import secrets; print(secrets.token_urlsafe(32))"

With --cert and --key the server speaks TLS (https:// and wss://).

Config file (TOML), every key optional:
  [server]
  host = "0.0.0.0"
  port = 8443
  secret = "..."                 # TANDEM_SECRET overrides
  cert = "/etc/tandem/cert.pem"
  key = "/etc/tandem/key.pem"
  stun = ["stun:turn.example.org:3478"]
  turn_url = ["turn:turn.example.org:3478", "turns:turn.example.org:5349"]
  turn_secret = "..."            # coturn static-auth-secret; TANDEM_TURN_SECRET overrides
  turn_ttl = 21600               # seconds a TURN credential stays valid (a whole number)
  heartbeat_s = 1.0              # seconds between client pings; --heartbeat overrides
  grace_s = 30.0                 # seconds a dropped participant keeps its place; --grace overrides
  revoked_tokens = "/var/lib/tandem/revoked-tokens.txt"  # ids of withdrawn join tokens, one a
                                 # line (`tandem token revoke` adds them); reread when it changes
  token_max_ttl = { partner = 15552000, therapist = 43200, oncall = 43200 }
                                 # the longest a token of each role may be valid, in seconds
                                 # (defaults: 180 days for a couple's code, 12 h for clinicians)
  max_connections = 1000         # open connections in all; --max-connections overrides
  max_connections_per_address = 100  # from one IPv4 address or IPv6 /64; 0: none (behind a proxy)
  max_pending_joins = 200        # WebSockets not yet joined; the oldest makes room for a new one
  header_timeout_s = 10.0        # to send a request's headers after connecting (and TLS handshake)
  idle_timeout_s = 30.0          # a connection silent this long is closed (WebSockets: heartbeat)
  data_dir = "/var/lib/tandem"   # emergency records and safety plans (SQLite); --data-dir overrides

  [emergency]                    # emergency connect (docs/emergency.md)
  ring_again_s = 30              # unanswered this long: ring tier 1 again and the backup tier
  everyone_s = 60                # ring every available clinician
  unanswered_s = 90              # the case is unanswered: the webhook is called, ringing goes on
  webhook_url = ""               # POSTed {"event": "unanswered", ...} (no names, no location)
  backup_tier = ["Dr Park"]      # on-call display names that are tier 2 (everyone else: tier 1)
With no STUN/TURN configured, clients get no ICE servers (host candidates only: LAN use).
Hostile traffic: a connection over a cap gets a 503 at once. At a cap, the oldest connection that
has not finished its request's headers is closed first to make room, so idle and slowly-sent
sockets cannot lock out a real client. Before its join a WebSocket may send 8 KiB in all. The server
raises its open-files limit to the hard limit at start and admits only as many connections as that
leaves room for. Repeated log lines are rate limited (a note says how many were left out).

Command-line options override the file. An unknown key or a value of the wrong kind stops the
server with a message naming the setting (exit 2).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default 8443)")
    parser.add_argument("--config", metavar="PATH", help="TOML config file with a [server] table")
    parser.add_argument("--cert", metavar="PEM", help="TLS certificate chain (enables https/wss)")
    parser.add_argument("--key", metavar="PEM", help="TLS private key")
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=None,
        metavar="S",
        help="seconds between client pings; a client silent for 3x goes into its grace "
        "period (default: heartbeat_s from --config, else 1)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=None,
        metavar="S",
        help="seconds a participant whose connection dropped keeps its place in the room, "
        "waiting for it to reconnect (default: grace_s from --config, else 30)",
    )
    _add_connection_limits(parser)
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="folder for the emergency records and safety plans, created on first start "
        "(default: data_dir from --config, else the user's data folder for tandem-server)",
    )
    parser.add_argument(
        "--insecure-dev-secret",
        action="store_true",
        help="sign tokens with a fixed, public development secret (loopback hosts only)",
    )
    parser.add_argument(
        "--allow-weak-secret",
        action="store_true",
        help="accept a token secret that is short or not random (development, loopback only)",
    )


def _add_connection_limits(parser: argparse.ArgumentParser) -> None:
    for flag, kind, text in (
        ("--max-connections", int, "open connections in all (default 1000)"),
        (
            "--max-connections-per-address",
            int,
            "open connections from one IPv4 address or IPv6 /64; 0: no cap, for a server behind "
            "a reverse proxy (default 100)",
        ),
        ("--max-pending-joins", int, "WebSockets that have not joined yet (default 200)"),
        (
            "--header-timeout",
            float,
            "seconds a new connection has to send its request's headers (default 10)",
        ),
        (
            "--idle-timeout",
            float,
            "seconds a connection may send nothing before it is closed; signaling WebSockets "
            "are bound by their heartbeat instead (default 30)",
        ),
    ):
        metavar = "N" if kind is int else "S"
        parser.add_argument(flag, type=kind, default=None, metavar=metavar, help=text)


def run(args: argparse.Namespace) -> int:
    from app.server import fd_limit, log_limits
    from app.server.config import ConfigError, ServerConfig

    try:
        config = ServerConfig.from_args(args)
        config.validate()
        ssl_context = config.ssl_context()
    except ConfigError as exc:
        print(f"tandem server: {exc}", file=sys.stderr)
        return 2
    server_log = logging.getLogger("app.server")
    if server_log.getEffectiveLevel() > logging.INFO:
        server_log.setLevel(logging.INFO)  # joins, leaves and refusals (never tokens or names)
    log_limits.install()  # an attacker must not be able to fill the disk with our logs
    fd_limit.raise_soft_limit()
    try:
        asyncio.run(serve(config, ssl_context))
    except ConfigError as exc:
        print(f"tandem server: {exc}", file=sys.stderr)
        return 2
    return 0


async def serve(config: ServerConfig, ssl_context: ssl.SSLContext | None) -> None:
    """Serve until SIGINT or SIGTERM; announce the bound address (port 0 picks a free one)."""
    from app.server.app import create_app
    from app.server.config import ConfigError
    from app.server.listen import GuardedSite, make_runner

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = make_runner(create_app(config))
    await runner.setup()
    try:
        # A deep accept queue: when a whole clinic's sessions start on the hour, connections
        # beyond aiohttp's default backlog of 128 would wait for TCP's 1 s SYN retry.
        site = GuardedSite(runner, config.host, config.port, ssl_context=ssl_context, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            where = f"{config.host} port {config.port}"
            raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        host, port = runner.addresses[0][:2]
        scheme = "https" if ssl_context is not None else "http"
        shown = f"[{host}]" if ":" in host else host
        print(f"tandem server listening on {scheme}://{shown}:{port}", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
