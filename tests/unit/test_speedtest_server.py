"""The session server's speed-test endpoints, through aiohttp's test client, and the real probe
(speedtest-cli's transfer threads) against them on loopback."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.net.bandwidth_probe import SessionServerProbe
from app.server import speedtest
from app.server.speedtest import MAX_REPORTS, REPORT_TTL_S, UploadReports

TEST_ID = "abcdefgh1234"


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    speedtest.add_routes(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_latency_txt(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/speedtest/latency.txt?x=123.0")
    assert response.status == 200
    assert await response.text() == "test=test"


async def test_download_image_is_the_size_asked_and_incompressible(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/speedtest/random350x350.jpg?x=1.0")
    assert response.status == 200
    body = await response.read()
    assert len(body) == 2 * 350 * 350
    assert len(zlib.compress(body)) > 0.99 * len(body)


@pytest.mark.parametrize("name", ["random351x351.jpg", "random350x500.jpg", "random0x0.jpg"])
async def test_unknown_image_sizes_are_not_served(
    client: TestClient[web.Request, web.Application], name: str
) -> None:
    assert (await client.get(f"/speedtest/{name}")).status == 404


async def test_upload_answers_size_and_reports_arrivals(
    client: TestClient[web.Request, web.Application],
) -> None:
    body = b"content1=" + b"0123456789" * 20_000
    response = await client.post(f"/speedtest/upload.php?id={TEST_ID}&x=1.0", data=body)
    assert await response.text() == f"size={len(body)}"

    report = await (await client.get(f"/speedtest/report?id={TEST_ID}")).json()
    assert report["total_bytes"] == len(body)
    assert sum(report["buckets"]) == len(body)
    assert report["bucket_s"] == speedtest.BUCKET_S
    assert report["active"] == 0


async def test_upload_without_an_id_is_counted_but_not_stored(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/speedtest/upload.php?id=../../etc", data=b"x" * 1000)
    assert await response.text() == "size=1000"
    assert (await client.get("/speedtest/report?id=../../etc")).status == 404


async def test_unknown_report_is_not_found(
    client: TestClient[web.Request, web.Application],
) -> None:
    assert (await client.get("/speedtest/report?id=nosuchtest123")).status == 404


async def test_an_upload_cut_off_mid_body_keeps_what_arrived(
    client: TestClient[web.Request, web.Application],
) -> None:
    # speedtest-cli drops the connection when its phase ends, in the middle of a body.
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        f"POST /speedtest/upload.php?id={TEST_ID} HTTP/1.1\r\nHost: t\r\n"
        f"Content-Length: 1000000\r\n\r\n".encode()
        + b"x" * 5000
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()

    async def report() -> dict[str, int]:
        response = await client.get(f"/speedtest/report?id={TEST_ID}")
        if response.status != 200:
            return {}
        seen: dict[str, int] = await response.json()
        return seen

    # Poll until the server has seen the connection go (the handler has finished).
    for _ in range(500):
        seen = await report()
        if seen.get("total_bytes") == 5000 and seen.get("active") == 0:
            break
        await asyncio.sleep(0.01)
    assert seen["total_bytes"] == 5000
    assert seen["active"] == 0
    assert (await client.get("/speedtest/latency.txt")).status == 200  # still serving


def test_reports_are_bounded_in_number() -> None:
    reports = UploadReports(now=lambda: 0.0)
    for i in range(MAX_REPORTS + 10):
        reports.open(f"test-{i:08d}").add(1, 0.0)
    assert len(reports) == MAX_REPORTS
    assert reports.get("test-00000000") is None
    assert reports.get(f"test-{MAX_REPORTS + 9:08d}") is not None


def test_reports_expire_after_their_last_byte() -> None:
    clock = [0.0]
    reports = UploadReports(now=lambda: clock[0])
    reports.open("old-test-1").add(10, 0.0)
    clock[0] = REPORT_TTL_S / 2
    reports.open("new-test-1").add(10, clock[0])
    clock[0] = REPORT_TTL_S + 1
    assert reports.get("old-test-1") is None
    assert reports.get("new-test-1") is not None


def test_report_timeline_is_bounded() -> None:
    reports = UploadReports(now=lambda: 0.0)
    report = reports.open("long-test-1")
    report.add(100, 0.0)
    report.add(100, 10_000.0)  # hours later: counted, but no giant list of empty slots
    assert report.total_bytes == 200
    assert len(report.buckets) == 1


async def test_probe_measures_against_the_endpoints_on_loopback(
    client: TestClient[web.Request, web.Application],
) -> None:
    base = str(client.make_url("")).rstrip("/")
    probe = SessionServerProbe(base, phase_s=0.4)
    measured = await asyncio.to_thread(probe.measure)
    assert measured.download_mbps > 5
    assert measured.upload_mbps > 5
    assert measured.engine_download_mbps is not None
    assert measured.engine_upload_mbps is not None
    assert measured.latency_ms > 0
    assert measured.jitter_ms >= 0
    assert measured.server == f"{client.host}:{client.port}"


PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy")


@pytest.fixture
def bogus_proxy(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every proxy variable points at a closed port on loopback: a request sent there fails."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{s.getsockname()[1]}"
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert urllib.request.getproxies()["http"] == proxy  # urllib would use it
    return proxy


async def test_probe_never_sends_the_session_server_test_through_a_proxy(
    client: TestClient[web.Request, web.Application], bogus_proxy: str
) -> None:
    base = str(client.make_url("")).rstrip("/")
    measured = await asyncio.to_thread(SessionServerProbe(base, phase_s=0.4).measure)
    assert measured.download_mbps > 5
    assert measured.upload_mbps > 5
    assert measured.engine_download_mbps is not None and measured.engine_download_mbps > 5
    assert measured.upload_basis == "received"
