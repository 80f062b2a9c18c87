"""The unanswered webhook against local receivers: what it sends, and that a slow, failing or
absent pager is recorded as a status, bounded in time, and logged without the URL's secrets."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.server.emergency.cases import OpenCase
from app.server.emergency.escalation import Escalation, Timings
from app.server.emergency.webhook import Webhook

T0 = 1_750_000_000.0


def unanswered_case() -> OpenCase:
    machine = Escalation(T0, Timings(), lambda: T0 + 91.0)
    return OpenCase("case-abc", "key-1", machine, "Home, 12 Elm St", ("Alex", "Sam"))


async def test_the_webhook_posts_the_case_and_its_timing_only() -> None:
    posts: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await posts.put(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app) as receiver:
        status = await Webhook(str(receiver.make_url("/hook")))(unanswered_case())
    assert status == "http 204"
    assert posts.get_nowait() == {
        "event": "unanswered",
        "case_id": "case-abc",
        "requested_at": T0,
        "waited_s": 91.0,
    }


@pytest.mark.allow_log_warnings("app.server.emergency.webhook")
async def test_a_pager_that_does_not_answer_is_a_timeout_within_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", stuck)
    async with TestServer(app) as receiver:
        url = str(receiver.make_url("/hook?key=pager-secret"))
        with caplog.at_level(logging.INFO, logger="app.server.emergency"):
            status = await asyncio.wait_for(Webhook(url, timeout_s=0.2)(unanswered_case()), 10)
        release.set()
    assert status == "timeout"
    text = caplog.text
    assert "case-abc" in text and "timeout" in text
    for private in ("pager-secret", "/hook", "Alex", "Elm St"):
        assert private not in text


@pytest.mark.allow_log_warnings("app.server.emergency.webhook")
async def test_a_pager_that_is_not_there_is_recorded_as_an_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status = await Webhook(f"http://127.0.0.1:{port}/hook", timeout_s=2.0)(unanswered_case())
    assert status.startswith("error ")
