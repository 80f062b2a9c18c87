"""Wires emergency connect into the session server: the store, the desk, `/emergency/ws`.

The store is SQLite in `config.data_dir` (created on first start), or in memory when the
config has no data folder (practice mode and tests that do not ask for one).
"""

from __future__ import annotations

from aiohttp import web

from app.server.config import ServerConfig
from app.server.emergency.desk import Desk
from app.server.emergency.sqlite_store import SqliteCaseStore
from app.server.emergency.store import CaseStore, MemoryCaseStore
from app.server.emergency.webhook import Webhook
from app.server.emergency.ws import Endpoint
from app.server.revocation import RevocationList

ENDPOINT_KEY = web.AppKey("emergency_endpoint", Endpoint)


def make_store(config: ServerConfig) -> CaseStore:
    if config.data_dir is None:
        return MemoryCaseStore()
    return SqliteCaseStore(config.data_dir)


def add_routes(app: web.Application, config: ServerConfig) -> Desk:
    """Serve `/emergency/ws`; the desk starts and stops with the app."""
    url = config.emergency.webhook_url
    desk = Desk(
        config.secret,
        config.emergency,
        make_store(config),
        on_unanswered=Webhook(url) if url else None,
    )
    endpoint = Endpoint(
        desk,
        config.heartbeat_s,
        config.join_timeout_s,
        lifetimes=config.token_lifetimes,
        revoked=RevocationList(config.revoked_tokens),
    )
    app[ENDPOINT_KEY] = endpoint
    app.router.add_get("/emergency/ws", endpoint.handle)

    async def start(_: web.Application) -> None:
        await desk.start()

    async def shutdown(_: web.Application) -> None:
        await endpoint.shutdown()

    async def cleanup(_: web.Application) -> None:
        await desk.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(shutdown)
    app.on_cleanup.append(cleanup)
    return desk
