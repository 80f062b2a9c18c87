"""Builds the session server's aiohttp application from its parts."""

from __future__ import annotations

from aiohttp import web

from app.server import console, signaling, speedtest
from app.server.config import ServerConfig
from app.server.connection_guard import GUARD_KEY, ConnectionGuard
from app.server.emergency import routes as emergency
from app.server.headers import add_response_headers
from app.server.rooms import RoomRegistry
from app.server.signaling import Hub


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "service": "tandem"})


def create_app(config: ServerConfig, registry: RoomRegistry | None = None) -> web.Application:
    """The whole server. `registry` defaults to in-memory rooms (a shared store can replace it).

    The clinicians' console (/console) is static: it joins through /ws like any participant.
    Emergency connect is served at /emergency/ws (docs/emergency.md).
    """
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[GUARD_KEY] = ConnectionGuard(config.connections)  # applied by app.server.listen
    app.router.add_get("/health", _health)
    speedtest.add_routes(app)
    signaling.add_routes(app, Hub(config, registry))
    console.add_routes(app)
    emergency.add_routes(app, config)
    add_response_headers(app, config)
    return app
