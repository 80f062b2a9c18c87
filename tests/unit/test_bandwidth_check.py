"""The bandwidth check's verdicts, the rate arithmetic and the mapping of network errors."""

from __future__ import annotations

import errno
import socket
import urllib.error
from collections.abc import Iterator

import pytest

from app.checks.bandwidth import SENDER_ESTIMATE_MARGIN, check_bandwidth, judge
from app.checks.result import Status
from app.net.bandwidth_probe import (
    BandwidthError,
    BandwidthMeasurement,
    PublicSpeedtestProbe,
    SessionServerProbe,
    UploadBasis,
    bucket_events,
    classify_error,
    rtt_stats,
    steady_rate_mbps,
)
from app.progress import Progress, ProgressCallback


def measurement(
    down: float = 20.0,
    up: float = 20.0,
    latency: float = 20.0,
    jitter: float = 2.0,
    upload_basis: UploadBasis = "received",
) -> BandwidthMeasurement:
    return BandwidthMeasurement(
        download_mbps=down,
        upload_mbps=up,
        latency_ms=latency,
        jitter_ms=jitter,
        server="server.test:8443",
        engine_upload_mbps=up * 1.3,
        engine_download_mbps=down,
        duration_s=3.2,
        upload_basis=upload_basis,
    )


class FakeProbe:
    def __init__(self, result: BandwidthMeasurement | BandwidthError) -> None:
        self.result = result

    def measure(self, progress: ProgressCallback | None = None) -> BandwidthMeasurement:
        if progress is not None:
            progress(Progress("bandwidth", 0.3, "Measuring download…", figure="12.3 Mbps"))
        if isinstance(self.result, BandwidthError):
            raise self.result
        return self.result


# --- verdicts ---------------------------------------------------------------------------------


def test_fast_link_passes_with_all_figures() -> None:
    result = judge(measurement(down=20, up=19))
    assert result.status is Status.PASS
    assert result.reason == "" and result.fix == ""
    assert result.metrics["download_mbps"] == 20.0
    assert result.metrics["upload_mbps"] == 19.0
    assert result.metrics["latency_ms"] == 20.0
    assert result.metrics["jitter_ms"] == 2.0
    assert result.metrics["min_download_mbps"] == 5.0
    assert result.metrics["engine_upload_mbps"] == pytest.approx(24.7)
    assert result.metrics["server"] == "server.test:8443"


def test_slow_upload_alone_fails_in_plain_words() -> None:
    result = judge(measurement(down=20, up=2.9))
    assert result.status is Status.FAIL
    assert result.reason == "Your internet upload is too slow for video (2.9 Mbps; 5 needed)."
    assert "download" not in result.reason
    assert "closer to the Wi-Fi router" in result.fix
    assert "wired connection" in result.fix


def test_slow_download_alone_fails() -> None:
    result = judge(measurement(down=3.0, up=20))
    assert result.status is Status.FAIL
    assert "download is too slow for video (3 Mbps; 5 needed)" in result.reason
    assert "upload" not in result.reason


def test_both_directions_slow_names_both() -> None:
    result = judge(measurement(down=1.0, up=2.0))
    assert result.status is Status.FAIL
    assert "download" in result.reason and "upload" in result.reason


@pytest.mark.parametrize(("down", "up", "slow"), [(5.5, 20, "download"), (20, 5.9, "upload")])
def test_close_to_the_minimum_warns(down: float, up: float, slow: str) -> None:
    result = judge(measurement(down=down, up=up))
    assert result.status is Status.WARN
    assert f"{slow} is only just fast enough" in result.reason
    assert result.fix


def test_upload_measured_at_the_server_is_marked_so() -> None:
    assert judge(measurement()).metrics["upload_basis"] == "received"


@pytest.mark.parametrize("up", [5.0, 5.5, 5.99])
def test_an_estimated_upload_just_above_the_minimum_warns_in_plain_words(up: float) -> None:
    # speedtest-cli's own upload figure (public servers) runs high on slow links.
    result = judge(measurement(up=up, upload_basis="sender_estimate"))
    assert up < 5.0 * (1 + SENDER_ESTIMATE_MARGIN)
    assert result.status is Status.WARN
    assert result.metrics["upload_basis"] == "sender_estimate"
    assert result.reason.startswith("Your internet upload may be too slow for video.")
    assert "estimated" in result.reason and "cannot confirm how much arrived" in result.reason
    assert "only just fast enough" not in result.reason
    assert "clinic's server instead of a public speed test" in result.fix


def test_an_estimated_upload_well_above_the_minimum_passes() -> None:
    up = 5.0 * (1 + SENDER_ESTIMATE_MARGIN) + 0.01
    result = judge(measurement(up=up, upload_basis="sender_estimate"))
    assert result.status is Status.PASS
    assert result.metrics["upload_basis"] == "sender_estimate"


def test_the_estimate_margin_is_its_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.checks.bandwidth.SENDER_ESTIMATE_MARGIN", 0.5)
    estimated = judge(measurement(up=7.0, upload_basis="sender_estimate"))
    assert estimated.status is Status.WARN and "may be too slow" in estimated.reason
    assert judge(measurement(up=7.0)).status is Status.PASS  # measured at the server: enough


def test_an_estimated_upload_below_the_minimum_fails() -> None:
    result = judge(measurement(up=4.0, upload_basis="sender_estimate"))
    assert result.status is Status.FAIL
    assert "upload is too slow for video" in result.reason


def test_exactly_the_minimum_is_not_a_fail() -> None:
    assert judge(measurement(down=5.0, up=5.0)).status is Status.WARN


def test_custom_minimums_apply_per_direction() -> None:
    result = judge(measurement(down=11, up=11), min_download_mbps=10, min_upload_mbps=2)
    assert result.status is Status.WARN
    assert "download" in result.reason and "upload" not in result.reason


@pytest.mark.parametrize(("latency", "jitter"), [(250.0, 2.0), (20.0, 45.0)])
def test_laggy_connection_warns(latency: float, jitter: float) -> None:
    result = judge(measurement(latency=latency, jitter=jitter))
    assert result.status is Status.WARN
    assert "slow to respond" in result.reason
    assert "wired connection" in result.fix


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "words"),
    [
        ("no_network", "not connected to the internet"),
        ("refused", "turned the connection away"),
        ("timeout", "not answering"),
        ("server_error", "problem on the clinic's video server"),
    ],
)
def test_each_problem_fails_with_its_own_reason(problem: str, words: str) -> None:
    result = check_bandwidth(FakeProbe(BandwidthError(problem, "detail for IT")))
    assert result.name == "bandwidth"
    assert result.status is Status.FAIL
    assert words in result.reason
    assert result.fix
    assert result.metrics["problem"] == problem
    assert result.metrics["detail"] == "detail for IT"
    assert "download_mbps" not in result.metrics  # never a 0.0 that looks like a measurement


def test_progress_is_passed_through_and_finished() -> None:
    seen: list[Progress] = []
    result = check_bandwidth(FakeProbe(measurement()), progress=seen.append)
    assert result.status is Status.PASS
    assert seen[0].figure == "12.3 Mbps"
    assert seen[-1].fraction == 1.0
    assert all(p.check == "bandwidth" for p in seen)


# --- arithmetic -------------------------------------------------------------------------------


def _timeline(ramp: list[int], steady_bytes: int, slots: int, tail: int) -> list[int]:
    return [*ramp, *([steady_bytes] * slots), tail]


def test_steady_rate_leaves_out_ramp_up_and_cut_last_slot() -> None:
    # 3 Mbit/s is 18 750 bytes per 50 ms slot; a slow start and a cut-off last slot around it.
    buckets = _timeline([2000, 5000, 9000, 30000, 25000, 20000], 18750, 24, 900)
    assert steady_rate_mbps(buckets, 0.05, warmup_s=0.3) == pytest.approx(3.0)


def test_over_reporting_burst_at_start_is_not_counted() -> None:
    # Bytes swallowed by socket buffers arrive as a burst (tbf's bucket) before the steady rate.
    buckets = _timeline([200_000, 0, 0, 0, 0, 0], 37500, 24, 37500)
    assert steady_rate_mbps(buckets, 0.05, warmup_s=0.3) == pytest.approx(6.0)


def test_short_timeline_keeps_two_thirds() -> None:
    buckets = [1000, 5000, 5000, 5000, 5000, 5000, 10]
    assert steady_rate_mbps(buckets, 0.05, warmup_s=0.3) == pytest.approx(5000 * 8 / 0.05 / 1e6)


def test_no_bytes_is_no_rate() -> None:
    assert steady_rate_mbps([], 0.05) is None
    assert steady_rate_mbps([0, 0, 0], 0.05) is None


def test_single_slot_still_gives_a_rate() -> None:
    assert steady_rate_mbps([6250], 0.05) == pytest.approx(1.0)


def test_bucket_events_counts_from_the_first_event() -> None:
    events = [(10.00, 100), (10.01, 50), (10.06, 10), (10.21, 5)]
    assert bucket_events(events, 0.05) == [150, 10, 0, 0, 5]
    assert bucket_events([], 0.05) == []


def test_rtt_median_and_jitter() -> None:
    median, jitter = rtt_stats([0.010, 0.012, 0.011, 0.030, 0.012])
    assert median == pytest.approx(12.0)
    # |2| + |1| + |19| + |18| over 4
    assert jitter == pytest.approx(10.0)
    single_median, single_jitter = rtt_stats([0.005])
    assert single_median == pytest.approx(5.0)
    assert single_jitter == 0.0


@pytest.mark.parametrize(
    ("exc", "problem"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "refused"),
        (urllib.error.URLError(ConnectionRefusedError(errno.ECONNREFUSED, "x")), "refused"),
        (TimeoutError("timed out"), "timeout"),
        (urllib.error.URLError(TimeoutError("timed out")), "timeout"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "no_network"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "no_network"),
        (urllib.error.URLError(OSError(errno.EHOSTUNREACH, "No route to host")), "no_network"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "server_error"),
        (urllib.error.URLError("bad gateway"), "server_error"),
    ],
)
def test_network_errors_map_to_problems(exc: BaseException, problem: str) -> None:
    assert classify_error(exc).problem == problem


# --- the real probes against local addresses that do not answer -------------------------------


@pytest.fixture
def closed_port() -> int:
    """A local port that nothing listens on (connecting is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that accepts connections into its backlog but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_session_probe_refused(closed_port: int) -> None:
    with pytest.raises(BandwidthError) as caught:
        SessionServerProbe(f"http://127.0.0.1:{closed_port}").measure()
    assert caught.value.problem == "refused"


def test_session_probe_silent_server_times_out(silent_port: int) -> None:
    probe = SessionServerProbe(f"http://127.0.0.1:{silent_port}", timeout_s=0.3)
    result = check_bandwidth(probe)
    assert result.status is Status.FAIL
    assert result.metrics["problem"] == "timeout"
    assert "not answering" in result.reason


def test_session_probe_rejects_a_non_http_address() -> None:
    with pytest.raises(ValueError):
        SessionServerProbe("ftp://example.invalid")


def test_public_probe_offline_is_no_network(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # speedtest-cli's own code fetches speedtest.net's config through urllib, which honours
    # the proxy settings: a refused local proxy is "offline" without any traffic leaving.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port}")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    result = check_bandwidth(PublicSpeedtestProbe(timeout_s=1.0))
    assert result.status is Status.FAIL
    assert result.metrics["problem"] == "no_network"
    assert "not connected to the internet" in result.reason
