"""speedtest-cli as our transfer engine: imported quietly, configured offline, timed by us.

speedtest-cli moves the bytes; this module gives it short phases and a known server without
asking speedtest.net, timestamps what arrives (`ReceiveTimeline`), and runs each blocking phase
on a worker thread while reporting progress (`run_phase`; `run_download` for the download, whose
rate we take from our own timeline).
"""

from __future__ import annotations

import io
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from app.net.bandwidth_measurement import classify_error
from app.net.rate_math import bucket_events, steady_rate_mbps
from app.progress import Progress, ProgressCallback

DOWNLOAD_SIZES = [350, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500, 4000]
UPLOAD_SIZES = [262144, 524288, 1048576]


def import_speedtest() -> ModuleType:
    """speedtest-cli wraps the process's stdout/stderr file descriptors when first imported.

    Under a test runner's capture those descriptors are temporary files that get closed and
    reused; with non-file streams in place it falls back to plain objects, which we never use.
    """
    if "speedtest" not in sys.modules:
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = io.StringIO()
        try:
            import speedtest  # noqa: F401
        finally:
            sys.stdout, sys.stderr = saved
    return sys.modules["speedtest"]


def engine_config(phase_s: float, threads: int) -> dict[str, Any]:
    """speedtest-cli settings for short phases (its defaults come from speedtest.net)."""
    return {
        "client": {},
        "ignore_servers": [],
        "sizes": {"upload": list(UPLOAD_SIZES), "download": list(DOWNLOAD_SIZES)},
        "counts": {"upload": 20, "download": threads},
        "threads": {"upload": threads, "download": threads},
        "length": {"upload": phase_s, "download": phase_s},
        "upload_max": 20 * len(UPLOAD_SIZES),
    }


def direct_opener(
    opener: urllib.request.OpenerDirector, tls: ssl.SSLContext | None = None
) -> urllib.request.OpenerDirector:
    """A copy of speedtest-cli's opener that never goes through a proxy, and whose https trusts
    the certificates `tls` trusts (None: the system's authorities).

    speedtest-cli's opener takes proxies from http_proxy/HTTPS_PROXY, which would send a test
    against our own server (loopback in practice mode) to the proxy and measure the proxy.
    """
    st = import_speedtest()
    direct = urllib.request.OpenerDirector()
    direct.addheaders = list(opener.addheaders)
    for handler in opener.handlers:  # type: ignore[attr-defined]  # public, but not in typeshed
        if isinstance(handler, urllib.request.ProxyHandler):
            handler = urllib.request.ProxyHandler({})
        elif tls is not None and isinstance(handler, st.SpeedtestHTTPSHandler):
            handler = st.SpeedtestHTTPSHandler(
                context=tls, source_address=handler.source_address, timeout=handler.timeout
            )
        direct.add_handler(handler)
    return direct


def offline_speedtest(
    config: dict[str, Any], timeout_s: float, tls: ssl.SSLContext | None = None
) -> Any:
    """A speedtest-cli Speedtest that takes `config` instead of fetching speedtest.net's.

    It is for our own servers only, so it connects directly, never through a proxy; `tls`
    decides which server certificates it trusts.
    """
    st = import_speedtest()

    class OfflineSpeedtest(st.Speedtest):  # type: ignore[misc, name-defined]
        def get_config(self) -> dict[str, Any]:
            self.config.update(config)
            return self.config  # type: ignore[no-any-return]

    engine = OfflineSpeedtest(timeout=timeout_s)
    engine._opener = direct_opener(engine._opener, tls)
    return engine


def use_mini_server(engine: Any, upload_url: str, name: str) -> None:
    """Point the engine at a mini server, as `set_mini_server` does once it has found one.

    `set_mini_server` discovers the layout by fetching the site's root page, which on the session
    server belongs to other parts; the layout here is known, so the probing is skipped.
    """
    server = {"sponsor": "Tandem session server", "name": name, "d": 0, "url": upload_url,
              "latency": 0, "id": 0}  # fmt: skip
    engine.servers = [server]
    engine._best.update(server)
    engine.results.server = server


class ReceiveTimeline(urllib.request.BaseHandler):
    """An urllib processor that timestamps every read of a response body while recording."""

    handler_order = 1100  # after HTTPErrorProcessor, so only successful responses are counted

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[float, int]] = []
        self.recording = False

    def http_response(self, request: urllib.request.Request, response: Any) -> Any:
        return _TimedResponse(response, self) if self.recording else response

    https_response = http_response

    def add(self, nbytes: int) -> None:
        if nbytes:
            with self._lock:
                self._events.append((time.monotonic(), nbytes))

    def events(self, until: float | None = None) -> list[tuple[float, int]]:
        """Reads so far; with `until`, only those up to that time (the end of the phase: the
        last reads of threads that outlive it arrive after a stall and would drag the rate)."""
        with self._lock:
            return [e for e in self._events if until is None or e[0] <= until]

    def recent_mbps(self, window_s: float = 0.5) -> float | None:
        since = time.monotonic() - window_s
        recent = sum(n for t, n in self.events() if t >= since)
        return recent * 8 / window_s / 1e6 if recent else None


class _TimedResponse:
    def __init__(self, inner: Any, timeline: ReceiveTimeline) -> None:
        self._inner = inner
        self._timeline = timeline

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._inner.read(n)
        self._timeline.add(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def attach_timeline(engine: Any) -> ReceiveTimeline:
    timeline = ReceiveTimeline()
    engine._opener.add_handler(timeline)
    return timeline


@dataclass
class Phase:
    """One direction of a test, and the part of the check's progress bar it fills."""

    label: str
    start_fraction: float
    end_fraction: float
    length_s: float


def run_phase(
    work: Callable[[], float],
    phase: Phase,
    live_mbps: Callable[[], float | None],
    progress: ProgressCallback,
    give_up_after_s: float,
) -> float | None:
    """Run speedtest-cli's blocking `work` on a worker thread, reporting progress on this one.

    Returns the engine's figure in bit/s, or None if its threads were still waiting on the
    network `give_up_after_s` after the start (our own figure does not need it).
    """
    result: list[float] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=target, name=f"bandwidth-{phase.label}", daemon=True)
    started = time.monotonic()
    worker.start()
    span = phase.end_fraction - phase.start_fraction
    while worker.is_alive():
        worker.join(0.25)
        elapsed = time.monotonic() - started
        if elapsed > give_up_after_s:
            break
        done = min(elapsed / phase.length_s, 1.0)
        rate = live_mbps()
        progress(
            Progress(
                "bandwidth",
                phase.start_fraction + span * done,
                f"Measuring {phase.label}…",
                figure=f"{rate:.1f} Mbps" if rate is not None else "",
            )
        )
    if failure:
        raise classify_error(failure[0])
    return result[0] if result else None


def run_download(
    engine: Any,
    phase: Phase,
    threads: int,
    progress: ProgressCallback,
    give_up_after_s: float,
) -> tuple[float | None, float | None]:
    """Run speedtest-cli's download as a `run_phase`, timing what arrives ourselves.

    Returns the engine's figure in bit/s (None as in `run_phase`) and our own steady rate in
    Mbps from the reads that arrived within the phase (None if nothing arrived in time).
    """
    timeline = attach_timeline(engine)
    timeline.recording = True
    phase_end = time.monotonic() + phase.length_s
    engine_bps = run_phase(
        lambda: float(engine.download(threads=threads)),
        phase,
        timeline.recent_mbps,
        progress,
        give_up_after_s,
    )
    timeline.recording = False
    return engine_bps, steady_rate_mbps(bucket_events(timeline.events(until=phase_end)))
