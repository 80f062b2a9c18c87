"""Measure download, upload, latency and jitter with speedtest-cli's own transfer code.

One import for the rest of the app; the parts live in small modules:
`bandwidth_measurement` (the result, the errors, the probe interface), `rate_math` (the
arithmetic), `latency` (round trips), `speedtest_engine` (the speedtest-cli adapter) and the two
probes, `session_server_probe` (our own server) and `public_speedtest_probe` (speedtest.net).
"""

from __future__ import annotations

from app.net.bandwidth_measurement import (
    BandwidthError,
    BandwidthMeasurement,
    BandwidthProbe,
    UploadBasis,
    classify_error,
)
from app.net.public_speedtest_probe import PublicSpeedtestProbe
from app.net.rate_math import bucket_events, rtt_stats, steady_rate_mbps
from app.net.session_server_probe import SessionServerProbe
from app.net.speedtest_engine import import_speedtest, offline_speedtest, use_mini_server

__all__ = [
    "BandwidthError",
    "BandwidthMeasurement",
    "BandwidthProbe",
    "PublicSpeedtestProbe",
    "SessionServerProbe",
    "UploadBasis",
    "bucket_events",
    "classify_error",
    "import_speedtest",
    "offline_speedtest",
    "rtt_stats",
    "steady_rate_mbps",
    "use_mini_server",
]
