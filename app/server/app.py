"""Builds the session server's aiohttp application from its parts."""

from __future__ import annotations

from aiohttp import web

from app.server import speedtest
from app.server.config import ServerConfig

CONFIG_KEY = web.AppKey("config", ServerConfig)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "service": "tandem"})


def create_app(config: ServerConfig) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[CONFIG_KEY] = config
    app.router.add_get("/health", _health)
    speedtest.add_routes(app)
    return app
