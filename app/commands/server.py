"""`tandem server`: run the session server (speed test now; rooms and signaling next)."""

from __future__ import annotations

import argparse

HELP = "run the session server"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8443, help="port to listen on (default 8443)")


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from app.server.app import create_app
    from app.server.config import ServerConfig

    config = ServerConfig.from_args(args)
    web.run_app(create_app(config), host=args.host, port=args.port, print=None)
    return 0
