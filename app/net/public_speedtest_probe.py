"""The bandwidth probe against the nearest public speedtest.net server (needs the internet).

Download is corrected from our own receive timeline. Upload is speedtest-cli's own figure: a
public server does not tell us what it received, and that figure counts bytes still sitting in
socket buffers, so it runs high on slow links. The measurement says so (`upload_basis`), and the
check's verdict takes it into account. Proxies from the environment are honoured here.
"""

from __future__ import annotations

import time

from app.net.bandwidth_measurement import BandwidthError, BandwidthMeasurement
from app.net.latency import round_trips
from app.net.rate_math import rtt_stats
from app.net.speedtest_engine import (
    Phase,
    engine_config,
    import_speedtest,
    run_download,
    run_phase,
)
from app.progress import Progress, ProgressCallback, ignore_progress


class PublicSpeedtestProbe:
    """Measures against the nearest speedtest.net server (needs the internet)."""

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
        give_up = self.phase_s + self.timeout_s
        engine_down, download = run_download(
            engine, Phase("download", 0.1, 0.55, self.phase_s), self.threads, report, give_up
        )
        engine_up = run_phase(
            lambda: float(engine.upload(pre_allocate=False, threads=self.threads)),
            Phase("upload", 0.55, 0.95, self.phase_s),
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
            upload_basis="sender_estimate",
        )
