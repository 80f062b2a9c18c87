"""The bandwidth probe against our own session server (http[s]://host:port).

speedtest-cli moves the bytes through the server's "mini" layout (/speedtest/latency.txt,
random{N}x{N}.jpg, upload.php), with two of its faults corrected:

* upload counts bytes as sent once they sit in the socket buffer, so it over-reports on slow
  links; the session server records when each byte of a test arrived and the true rate is taken
  from that timeline (`/speedtest/report?id=…`);
* its phases last ~10 s each; ours last ~1.5 s, and both rates come from the steady part of a
  timeline of arrivals (the first fraction of a second, TCP's ramp-up, is left out).

Every request goes straight to the server, never through a proxy from the environment: the
clinic's server (or the practice server on loopback) is what is measured, not a proxy. Over
https it trusts the system's authorities and, if given, the clinic's own CA (`ca_file`); a
certificate it does not trust is the problem `untrusted`, never "not answering".
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from app.net.bandwidth_measurement import BandwidthError, BandwidthMeasurement, classify_error
from app.net.latency import connection_for, round_trips
from app.net.rate_math import rtt_stats, steady_rate_mbps
from app.net.speedtest_engine import (
    Phase,
    engine_config,
    offline_speedtest,
    run_download,
    run_phase,
    use_mini_server,
)
from app.net.tls_trust import client_tls_context
from app.progress import Progress, ProgressCallback, ignore_progress


class SessionServerProbe:
    """Measures against our own session server (http[s]://host:port)."""

    def __init__(
        self,
        base_url: str,
        phase_s: float = 1.5,
        threads: int = 4,
        timeout_s: float = 2.0,
        latency_samples: int = 6,
        ca_file: Path | None = None,
    ) -> None:
        """`ca_file`: the clinic's own CA certificate (PEM), trusted for https besides the
        system's authorities (CaFileError, a ValueError, if it cannot be used)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) server address: {base_url!r}")
        self._parts = parts
        self._base = base_url.rstrip("/")
        self.phase_s = phase_s
        self.threads = threads
        self.timeout_s = timeout_s
        self.latency_samples = latency_samples
        self._tls = client_tls_context(ca_file) if parts.scheme == "https" else None

    @property
    def server(self) -> str:
        return self._parts.netloc

    def measure(self, progress: ProgressCallback | None = None) -> BandwidthMeasurement:
        report = progress or ignore_progress
        started = time.monotonic()
        report(Progress("bandwidth", 0.0, "Contacting the session server…"))
        latency_ms, jitter_ms = rtt_stats(self._round_trips())

        engine = offline_speedtest(
            engine_config(self.phase_s, self.threads), self.timeout_s, self._tls
        )
        test_id = secrets.token_urlsafe(12)
        use_mini_server(engine, f"{self._base}/speedtest/upload.php?id={test_id}", self.server)
        give_up = self.phase_s + self.timeout_s

        engine_down, download = run_download(
            engine, Phase("download", 0.05, 0.5, self.phase_s), self.threads, report, give_up
        )
        if download is None:
            raise BandwidthError("timeout", "no data arrived during the download test")
        report(Progress("bandwidth", 0.5, "Measuring upload…", figure=f"{download:.1f} Mbps"))

        engine_up = run_phase(
            lambda: float(engine.upload(pre_allocate=False, threads=self.threads)),
            Phase("upload", 0.5, 0.95, self.phase_s),
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
            upload_basis="received",
        )

    def _path(self, name: str) -> str:
        return f"{self._parts.path.rstrip('/')}/speedtest/{name}"

    def _round_trips(self) -> list[float]:
        return round_trips(f"{self._base}/speedtest/latency.txt", self.latency_samples,
                           self.timeout_s, self._tls)  # fmt: skip

    def _fetch_report(self, test_id: str, timeout_s: float) -> tuple[list[int], float]:
        conn = connection_for(self._base, timeout_s, self._tls)
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
