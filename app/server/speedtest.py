"""Speed-test endpoints (speedtest-cli's "mini" server layout). Being written: see issue 2."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Placeholder until the speed-test endpoints land; registers nothing yet."""
