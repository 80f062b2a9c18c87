"""Measure download, upload, latency and jitter with speedtest-cli's own transfer code.

speedtest-cli is the engine for both sources: speedtest.net's public servers, and our session
server through its self-hosted "mini" layout (/speedtest/latency.txt, random{N}x{N}.jpg,
upload.php). Its own figures have two known faults that this module corrects:

* upload counts bytes as sent once they sit in the socket buffer, so it over-reports on slow
  links; the session server records when each byte of a test arrived and the true rate is taken
  from that timeline (`/speedtest/report?id=…`);
* its phases last ~10 s each; ours last ~1.5 s, and both rates come from the steady part of a
  timeline of arrivals (the first fraction of a second, TCP's ramp-up, is left out).
"""

from __future__ import annotations

import http.client
import io
import json
import secrets
import socket
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol
from urllib.parse import urlsplit

from app.checks.progress import Progress, ProgressCallback, ignore_progress

PROBLEMS = ("no_network", "refused", "timeout", "server_error")
BUCKET_S = 0.05
WARMUP_S = 0.3
DOWNLOAD_SIZES = [350, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500, 4000]
UPLOAD_SIZES = [262144, 524288, 1048576]
_NO_NETWORK_ERRNOS = {101, 113, 100, 99}  # ENETUNREACH, EHOSTUNREACH, ENETDOWN, EADDRNOTAVAIL


class BandwidthError(Exception):
    """A measurement that could not be made; `problem` is one of PROBLEMS."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(f"{problem}: {detail}")
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class BandwidthMeasurement:
    download_mbps: float
    upload_mbps: float
    latency_ms: float
    jitter_ms: float
    server: str
    engine_upload_mbps: float | None  # speedtest-cli's own figures, before correction
    engine_download_mbps: float | None
    duration_s: float


class BandwidthProbe(Protocol):
    def measure(self, progress: ProgressCallback | None = None) -> BandwidthMeasurement:
        """Measure both directions; raises BandwidthError instead of returning a fake 0.0."""
        ...


# --- the arithmetic, pure and tested on synthetic timelines -------------------------------------


def bucket_events(events: Sequence[tuple[float, int]], bucket_s: float = BUCKET_S) -> list[int]:
    """Bytes per `bucket_s` slot, counted from the first event."""
    if not events:
        return []
    start = min(t for t, _ in events)
    buckets: list[int] = []
    for t, nbytes in events:
        index = int((t - start) / bucket_s)
        if index >= len(buckets):
            buckets.extend([0] * (index + 1 - len(buckets)))
        buckets[index] += nbytes
    return buckets


def steady_rate_mbps(
    buckets: Sequence[int], bucket_s: float = BUCKET_S, warmup_s: float = WARMUP_S
) -> float | None:
    """The rate of the steady part of a timeline, in Mbit/s; None when nothing arrived.

    Leaves out the warm-up (TCP's ramp-up, at most a third of the timeline) and the last slot,
    which is cut short when the phase ends.
    """
    if sum(buckets) == 0:
        return None
    warm = min(round(warmup_s / bucket_s), len(buckets) // 3)
    steady = list(buckets[warm:-1])
    if sum(steady) == 0:
        steady = list(buckets)
    return sum(steady) * 8 / (len(steady) * bucket_s) / 1e6


def rtt_stats(rtts_s: Sequence[float]) -> tuple[float, float]:
    """(median RTT, jitter) in ms; jitter is the mean absolute difference of consecutive RTTs."""
    if not rtts_s:
        raise ValueError("no round trips measured")
    median_ms = statistics.median(rtts_s) * 1000
    diffs = [abs(b - a) for a, b in zip(rtts_s, rtts_s[1:], strict=False)]
    jitter_ms = statistics.fmean(diffs) * 1000 if diffs else 0.0
    return median_ms, jitter_ms


def classify_error(exc: BaseException) -> BandwidthError:
    """Map a network exception to the problem a person can act on."""
    if isinstance(exc, BandwidthError):
        return exc
    reason: object = exc
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        reason = exc.reason
    detail = f"{type(reason).__name__}: {reason}"
    if isinstance(reason, TimeoutError):
        return BandwidthError("timeout", detail)
    if isinstance(reason, ConnectionRefusedError):
        return BandwidthError("refused", detail)
    if isinstance(reason, socket.gaierror):
        return BandwidthError("no_network", detail)
    if isinstance(reason, OSError) and reason.errno in _NO_NETWORK_ERRNOS:
        return BandwidthError("no_network", detail)
    return BandwidthError("server_error", detail)


# --- speedtest-cli, made quiet and offline-safe ----------------------------------------------


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


def offline_speedtest(config: dict[str, Any], timeout_s: float) -> Any:
    """A speedtest-cli Speedtest that takes `config` instead of fetching speedtest.net's."""
    st = import_speedtest()

    class OfflineSpeedtest(st.Speedtest):  # type: ignore[misc, name-defined]
        def get_config(self) -> dict[str, Any]:
            self.config.update(config)
            return self.config  # type: ignore[no-any-return]

    return OfflineSpeedtest(timeout=timeout_s)


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


# --- running a phase while reporting live figures ----------------------------------------------


@dataclass
class _Phase:
    label: str
    start_fraction: float
    end_fraction: float
    length_s: float


def run_phase(
    work: Callable[[], float],
    phase: _Phase,
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


def connection_for(url: str, timeout_s: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if parts.scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout_s)
    return http.client.HTTPConnection(host, port, timeout=timeout_s)


def round_trips(latency_url: str, samples: int, timeout_s: float) -> list[float]:
    """Round trips of small GETs of latency.txt on one kept-alive connection, in seconds.

    The first GET is the preflight: it pays for the connection, fails fast on a dead server
    and is not counted.
    """
    conn = connection_for(latency_url, timeout_s)
    path = urlsplit(latency_url).path
    rtts: list[float] = []
    try:
        for _ in range(samples + 1):
            sent = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            rtts.append(time.perf_counter() - sent)
            if response.status != 200 or body != b"test=test":
                raise BandwidthError("server_error", f"latency.txt answered HTTP {response.status}")
    except (OSError, http.client.HTTPException) as exc:
        raise classify_error(exc) from exc
    finally:
        conn.close()
    return rtts[1:]


# --- the two probes ------------------------------------------------------------------------------


class SessionServerProbe:
    """Measures against our own session server (http[s]://host:port)."""

    def __init__(
        self,
        base_url: str,
        phase_s: float = 1.5,
        threads: int = 4,
        timeout_s: float = 2.0,
        latency_samples: int = 6,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) server address: {base_url!r}")
        self._parts = parts
        self._base = base_url.rstrip("/")
        self.phase_s = phase_s
        self.threads = threads
        self.timeout_s = timeout_s
        self.latency_samples = latency_samples

    @property
    def server(self) -> str:
        return self._parts.netloc

    def measure(self, progress: ProgressCallback | None = None) -> BandwidthMeasurement:
        report = progress or ignore_progress
        started = time.monotonic()
        report(Progress("bandwidth", 0.0, "Contacting the session server…"))
        latency_ms, jitter_ms = rtt_stats(self._round_trips())

        engine = offline_speedtest(engine_config(self.phase_s, self.threads), self.timeout_s)
        timeline = attach_timeline(engine)
        test_id = secrets.token_urlsafe(12)
        use_mini_server(engine, f"{self._base}/speedtest/upload.php?id={test_id}", self.server)
        give_up = self.phase_s + self.timeout_s

        timeline.recording = True
        phase_end = time.monotonic() + self.phase_s
        engine_down = run_phase(
            lambda: float(engine.download(threads=self.threads)),
            _Phase("download", 0.05, 0.5, self.phase_s),
            timeline.recent_mbps,
            report,
            give_up,
        )
        timeline.recording = False
        download = steady_rate_mbps(bucket_events(timeline.events(until=phase_end)))
        if download is None:
            raise BandwidthError("timeout", "no data arrived during the download test")
        report(Progress("bandwidth", 0.5, "Measuring upload…", figure=f"{download:.1f} Mbps"))

        engine_up = run_phase(
            lambda: float(engine.upload(pre_allocate=False, threads=self.threads)),
            _Phase("upload", 0.5, 0.95, self.phase_s),
            lambda: self._live_upload(test_id),
            report,
            give_up,
        )
        buckets, bucket_s = self._upload_report(test_id)
        upload = steady_rate_mbps(buckets, bucket_s)
        if upload is None:
            raise BandwidthError("timeout", "no data reached the server during the upload test")
        return BandwidthMeasurement(
            download_mbps=download,
            upload_mbps=upload,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            server=self.server,
            engine_upload_mbps=engine_up / 1e6 if engine_up is not None else None,
            engine_download_mbps=engine_down / 1e6 if engine_down is not None else None,
            duration_s=time.monotonic() - started,
        )

    def _connection(self, timeout_s: float) -> http.client.HTTPConnection:
        return connection_for(self._base, timeout_s)

    def _path(self, name: str) -> str:
        return f"{self._parts.path.rstrip('/')}/speedtest/{name}"

    def _round_trips(self) -> list[float]:
        return round_trips(f"{self._base}/speedtest/latency.txt", self.latency_samples,
                           self.timeout_s)  # fmt: skip

    def _fetch_report(self, test_id: str, timeout_s: float) -> tuple[list[int], float]:
        conn = self._connection(timeout_s)
        try:
            conn.request("GET", f"{self._path('report')}?id={test_id}")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise BandwidthError("server_error", f"the upload report answered {response.status}")
        data = json.loads(body)
        return [int(n) for n in data["buckets"]], float(data["bucket_s"])

    def _upload_report(self, test_id: str) -> tuple[list[int], float]:
        try:
            return self._fetch_report(test_id, self.timeout_s)
        except BandwidthError as exc:
            if exc.problem == "server_error":
                # No report means no byte of the upload reached the server.
                raise BandwidthError("timeout", "no data reached the server") from exc
            raise
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            raise classify_error(exc) from exc

    def _live_upload(self, test_id: str) -> float | None:
        try:
            buckets, bucket_s = self._fetch_report(test_id, 0.5)
        except (OSError, http.client.HTTPException, ValueError, KeyError, BandwidthError):
            return None
        recent = buckets[-11:-1]
        return sum(recent) * 8 / (len(recent) * bucket_s) / 1e6 if recent else None


class PublicSpeedtestProbe:
    """Measures against the nearest speedtest.net server (needs the internet).

    Download is corrected from our own receive timeline; upload is speedtest-cli's figure, as a
    public server does not tell us what it received.
    """

    def __init__(self, phase_s: float = 1.5, threads: int = 4, timeout_s: float = 2.0) -> None:
        self.phase_s = phase_s
        self.threads = threads
        self.timeout_s = timeout_s

    def measure(self, progress: ProgressCallback | None = None) -> BandwidthMeasurement:
        report = progress or ignore_progress
        started = time.monotonic()
        st = import_speedtest()
        report(Progress("bandwidth", 0.0, "Finding a speed-test server…"))
        short = engine_config(self.phase_s, self.threads)
        try:
            engine = st.Speedtest(
                config={"threads": short["threads"], "length": short["length"]},
                timeout=self.timeout_s,
            )
            engine.get_servers()
            best = engine.get_best_server()
        except st.SpeedtestException as exc:
            cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
            raise BandwidthError("no_network", f"speedtest.net unreachable ({cause})") from exc
        except OSError as exc:
            raise BandwidthError("no_network", f"speedtest.net unreachable ({exc})") from exc
        timeline = attach_timeline(engine)
        give_up = self.phase_s + self.timeout_s
        timeline.recording = True
        phase_end = time.monotonic() + self.phase_s
        engine_down = run_phase(
            lambda: float(engine.download(threads=self.threads)),
            _Phase("download", 0.1, 0.55, self.phase_s),
            timeline.recent_mbps,
            report,
            give_up,
        )
        timeline.recording = False
        download = steady_rate_mbps(bucket_events(timeline.events(until=phase_end)))
        engine_up = run_phase(
            lambda: float(engine.upload(pre_allocate=False, threads=self.threads)),
            _Phase("upload", 0.55, 0.95, self.phase_s),
            lambda: None,
            report,
            give_up,
        )
        if download is None or not engine_up:
            raise BandwidthError("timeout", "the speed-test server stopped answering")
        # speedtest-cli's ping is half the mean of three; take our own median and jitter.
        latency_url = f"{best['url'].rsplit('/', 1)[0]}/latency.txt"
        latency_ms, jitter_ms = rtt_stats(round_trips(latency_url, 6, self.timeout_s))
        return BandwidthMeasurement(
            download_mbps=download,
            upload_mbps=engine_up / 1e6,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            server=str(best.get("host", "speedtest.net")),
            engine_upload_mbps=engine_up / 1e6,
            engine_download_mbps=engine_down / 1e6 if engine_down is not None else None,
            duration_s=time.monotonic() - started,
        )
