"""An https:// address answered by a plain http server (item 13 of issue 10): the words name the
address, never "check your internet connection". A real http server on loopback answers."""

from __future__ import annotations

import asyncio
import http.server
import threading
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest

from app.call.refusal_words import plain_words
from app.checks.bandwidth import check_bandwidth
from app.net.bandwidth_measurement import classify_error
from app.net.session_server_probe import SessionServerProbe
from app.net.tls_trust import is_not_tls


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - its signature
        pass


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_urllib_and_aiohttp_errors_are_recognised(plain_http_port: int) -> None:
    url = f"https://127.0.0.1:{plain_http_port}/"
    with pytest.raises(OSError) as raised:
        urllib.request.urlopen(url, timeout=5)
    assert is_not_tls(raised.value)
    assert classify_error(raised.value).problem == "not_https"

    async def connect() -> BaseException:
        async with aiohttp.ClientSession() as session:
            try:
                await session.ws_connect(url + "ws", timeout=aiohttp.ClientWSTimeout(ws_close=5))
            except aiohttp.ClientError as exc:
                return exc
        raise AssertionError("a plain http server accepted TLS")

    assert is_not_tls(asyncio.run(connect()))
    assert not is_not_tls(ConnectionRefusedError()) and not is_not_tls(None)


def test_the_bandwidth_check_names_the_address_not_the_internet(plain_http_port: int) -> None:
    result = check_bandwidth(SessionServerProbe(f"https://127.0.0.1:{plain_http_port}"))
    assert result.status.value == "fail"
    assert "https://" in result.reason and "http:// instead of https://" in result.fix
    assert "internet" not in (result.reason + result.fix).lower()


def test_the_call_says_the_same() -> None:
    words = plain_words("server_not_https")
    assert "https://" in words and "internet" not in words.lower()
