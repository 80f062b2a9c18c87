"""Speed-test endpoints in speedtest-cli's "mini" server layout, plus what arrived per upload test.

Served under /speedtest/: `latency.txt`, `random{N}x{N}.jpg` (incompressible bytes, streamed),
`upload.php` (reads the body as a stream and answers `size=N`) and `report?id=…`, which returns
when the bytes of one upload test reached the server. The client counts bytes as sent once they
sit in its socket buffers, so only the receiving side knows the true upload rate.
"""

from __future__ import annotations

import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import ClientPayloadError, web

PREFIX = "/speedtest"
BUCKET_S = 0.05
# The image sizes speedtest-cli asks for; each file is about 2*N*N bytes, like the real ones.
DOWNLOAD_SIZES = (350, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500, 4000)
MAX_REPORTS = 256
REPORT_TTL_S = 120.0
MAX_BUCKETS = 1200  # 60 s of arrivals per test; later bytes are counted in total only
_CHUNK = 64 * 1024
_RANDOM_BLOCK = 1024 * 1024
_TEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def download_size_bytes(n: int) -> int:
    return 2 * n * n


@dataclass
class UploadReport:
    """Bytes that arrived for one test id, in BUCKET_S slots from its first byte."""

    first_arrival: float
    last_seen: float
    buckets: list[int] = field(default_factory=list)
    total_bytes: int = 0
    active: int = 0

    def add(self, nbytes: int, now: float) -> None:
        self.last_seen = now
        self.total_bytes += nbytes
        index = int((now - self.first_arrival) / BUCKET_S)
        if index >= MAX_BUCKETS:
            return
        if index >= len(self.buckets):
            self.buckets.extend([0] * (index + 1 - len(self.buckets)))
        self.buckets[index] += nbytes

    def to_json(self) -> dict[str, object]:
        return {
            "bucket_s": BUCKET_S,
            "buckets": list(self.buckets),
            "total_bytes": self.total_bytes,
            "active": self.active,
        }


class UploadReports:
    """At most MAX_REPORTS tests, each forgotten REPORT_TTL_S after its last byte.

    The server is public: anyone may upload, so what it remembers must stay bounded.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._reports: OrderedDict[str, UploadReport] = OrderedDict()
        self.now = now

    def open(self, test_id: str) -> UploadReport:
        now = self.now()
        self._expire(now)
        report = self._reports.get(test_id)
        if report is None:
            report = UploadReport(first_arrival=now, last_seen=now)
            self._reports[test_id] = report
            while len(self._reports) > MAX_REPORTS:
                self._reports.popitem(last=False)
        self._reports.move_to_end(test_id)
        return report

    def get(self, test_id: str) -> UploadReport | None:
        self._expire(self.now())
        return self._reports.get(test_id)

    def _expire(self, now: float) -> None:
        stale = [k for k, r in self._reports.items() if now - r.last_seen > REPORT_TTL_S]
        for key in stale:
            del self._reports[key]

    def __len__(self) -> int:
        return len(self._reports)


REPORTS_KEY = web.AppKey("speedtest_reports", UploadReports)
RANDOM_KEY = web.AppKey("speedtest_random", bytes)


async def _latency(request: web.Request) -> web.Response:
    return web.Response(text="test=test", headers={"Cache-Control": "no-cache"})


async def _download(request: web.Request) -> web.StreamResponse:
    size = int(request.match_info["size"])
    if request.match_info["size"] != request.match_info["size2"] or size not in DOWNLOAD_SIZES:
        raise web.HTTPNotFound()
    block = request.app[RANDOM_KEY]
    remaining = download_size_bytes(size)
    response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
    response.content_length = remaining
    await response.prepare(request)
    offset = 0
    try:
        while remaining > 0:
            n = min(_CHUNK, remaining, len(block) - offset)
            await response.write(block[offset : offset + n])
            remaining -= n
            offset = (offset + n) % len(block)
        await response.write_eof()
    except ConnectionError:
        # The client stops reading when its phase is over: the normal end of a download.
        pass
    return response


async def _upload(request: web.Request) -> web.Response:
    reports = request.app[REPORTS_KEY]
    test_id = request.query.get("id", "")
    report = reports.open(test_id) if _TEST_ID.match(test_id) else None
    received = 0
    if report is not None:
        report.active += 1
    try:
        async for chunk in request.content.iter_any():
            received += len(chunk)
            if report is not None:
                report.add(len(chunk), reports.now())
    except (ConnectionError, web.RequestPayloadError, ClientPayloadError):
        # Speedtest-cli drops the connection mid-body when its phase ends.
        pass
    finally:
        if report is not None:
            report.active -= 1
    return web.Response(text=f"size={received}")


async def _report(request: web.Request) -> web.Response:
    report = request.app[REPORTS_KEY].get(request.query.get("id", ""))
    if report is None:
        raise web.HTTPNotFound(text="no such test")
    return web.json_response(report.to_json(), headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    """Register the speed-test endpoints under /speedtest/."""
    app[REPORTS_KEY] = UploadReports()
    app[RANDOM_KEY] = os.urandom(_RANDOM_BLOCK)
    app.router.add_get(f"{PREFIX}/latency.txt", _latency)
    app.router.add_get(f"{PREFIX}/random{{size:\\d+}}x{{size2:\\d+}}.jpg", _download)
    app.router.add_post(f"{PREFIX}/upload.php", _upload)
    app.router.add_get(f"{PREFIX}/upload.php", _upload)
    app.router.add_get(f"{PREFIX}/report", _report)
