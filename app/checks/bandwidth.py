"""The bandwidth check: is this connection good enough for a video session, in plain words."""

from __future__ import annotations

from app.checks.result import CheckResult, MetricValue, Status
from app.net.bandwidth_probe import BandwidthError, BandwidthMeasurement, BandwidthProbe
from app.progress import Progress, ProgressCallback, ignore_progress

NAME = "bandwidth"
CLOSE_MARGIN = 1.2  # below 1.2x the minimum a busy moment can already freeze the picture
# An upload figure that is the sender's own estimate (public speed-test servers do not say what
# arrived) runs high on slow links: +7 % at 5 Mbit/s in our lab, more with short phases. Within
# this fraction above the minimum it cannot be called enough.
SENDER_ESTIMATE_MARGIN = 0.20
HIGH_LATENCY_MS = 150.0
HIGH_JITTER_MS = 30.0

SLOW_FIX = (
    "Move closer to the Wi-Fi router, pause downloads and streaming on other devices, "
    "or use a wired connection."
)

# Practice mode's server is this computer: a speed test against it measures the computer, not the
# internet (thousands of Mbps), so practice mode does not run one and says so everywhere.
PRACTICE_NOT_MEASURED = (
    "Not checked: practice mode runs on this computer only, so it measured nothing of your "
    "internet connection."
)
PRACTICE_VERDICT_NOTE = "Practice mode: your internet connection was not tested."
PRACTICE_PUBLIC_VERDICT_NOTE = (
    "Practice mode: your internet connection was measured with a public speed test, "
    "not your clinic's server."
)
# The card's offer when this computer can reach the internet (a public speed test, speedtest.net).
PUBLIC_TEST_OFFER = "Test my internet connection (public speed test)"
PUBLIC_TEST_ABOUT = (
    "Measures your internet connection against a public speed-test server (speedtest.net). "
    "It takes about ten seconds."
)

ESTIMATE_FIX = (
    "To measure what actually arrives, run the check against your clinic's server instead of "
    "a public speed test (leave out --public)."
)

_ERRORS: dict[str, tuple[str, str]] = {
    "no_network": (
        "Your computer is not connected to the internet.",
        "Check that Wi-Fi is turned on and connected, or plug in the network cable, "
        "then run the check again.",
    ),
    "refused": (
        "The clinic's video server turned the connection away.",
        "The server may be down for maintenance, or the server address may be wrong. "
        "Try again in a few minutes; if it keeps happening, call your clinic.",
    ),
    "timeout": (
        "The clinic's video server is not answering.",
        "Check that other websites open. If they do, your network may be blocking the clinic's "
        "server (common on work or hotel Wi-Fi): try another network, or call your clinic.",
    ),
    "untrusted": (
        "The clinic's video server's certificate is not trusted on this computer, so the speed "
        "test did not connect.",
        "Call your clinic: their IT team can set up Tandem to trust it (its certificate file "
        "goes in the clinic profile), or tell you if something is wrong with this network.",
    ),
    "not_https": (
        "The server address starts with https://, but the server there does not use a secure "
        "(https) connection, so the speed test did not connect.",
        "Check the server address: this server may need http:// instead of https://. "
        "If your clinic gave you the address, call them.",
    ),
    "server_error": (
        "The speed test could not finish because of a problem on the clinic's video server.",
        "Run the check again in a minute; if it keeps happening, call your clinic.",
    ),
}


def _mbps(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value < 100 else f"{value:.0f}"


def check_bandwidth(
    probe: BandwidthProbe,
    min_download_mbps: float = 5.0,
    min_upload_mbps: float = 5.0,
    progress: ProgressCallback | None = None,
) -> CheckResult:
    """Measure with `probe` and judge the figures against the minimums, each direction alone."""
    report = progress or ignore_progress
    minimums: dict[str, MetricValue] = {
        "min_download_mbps": min_download_mbps,
        "min_upload_mbps": min_upload_mbps,
    }
    try:
        measured = probe.measure(report)
    except BandwidthError as exc:
        reason, fix = _ERRORS.get(exc.problem, _ERRORS["server_error"])
        report(Progress(NAME, 1.0, "Speed test failed"))
        return CheckResult(
            NAME,
            Status.FAIL,
            reason,
            fix,
            {**minimums, "problem": exc.problem, "detail": exc.detail},
        )
    report(Progress(NAME, 1.0, "Speed test done", figure=f"{_mbps(measured.download_mbps)} Mbps"))
    return judge(measured, min_download_mbps, min_upload_mbps)


def judge(
    m: BandwidthMeasurement, min_download_mbps: float = 5.0, min_upload_mbps: float = 5.0
) -> CheckResult:
    """The verdict on one measurement: fail below a minimum, warn when close to it or laggy."""
    metrics: dict[str, MetricValue] = {
        "download_mbps": round(m.download_mbps, 2),
        "upload_mbps": round(m.upload_mbps, 2),
        "latency_ms": round(m.latency_ms, 1),
        "jitter_ms": round(m.jitter_ms, 1),
        "min_download_mbps": min_download_mbps,
        "min_upload_mbps": min_upload_mbps,
        "server": m.server,
        "engine_download_mbps": _rounded(m.engine_download_mbps),
        "engine_upload_mbps": _rounded(m.engine_upload_mbps),
        "duration_s": round(m.duration_s, 2),
        "upload_basis": m.upload_basis,
    }
    estimated = m.upload_basis == "sender_estimate"
    directions = (
        ("download", m.download_mbps, min_download_mbps),
        ("upload", m.upload_mbps, min_upload_mbps),
    )
    too_slow = [
        f"Your internet {name} is too slow for video ({_mbps(value)} Mbps; "
        f"{_mbps(minimum)} needed)."
        for name, value, minimum in directions
        if value < minimum
    ]
    if too_slow:
        return CheckResult(NAME, Status.FAIL, " ".join(too_slow), SLOW_FIX, metrics)

    warnings = []
    for name, value, minimum in directions:
        if name == "upload" and estimated and value < minimum * (1 + SENDER_ESTIMATE_MARGIN):
            warnings.append(
                f"Your internet upload may be too slow for video. This computer estimated "
                f"{_mbps(value)} Mbps ({_mbps(minimum)} needed), but a public speed test "
                "cannot confirm how much arrived, and on slow connections the real figure is "
                "often lower, so the others may see your picture freeze."
            )
        elif value < minimum * CLOSE_MARGIN:
            warnings.append(
                f"Your internet {name} is only just fast enough for video ({_mbps(value)} "
                f"Mbps; {_mbps(minimum)} needed), so the picture may freeze at busy moments."
            )
    fixes = [SLOW_FIX] if warnings else []
    if any(w.startswith("Your internet upload may be") for w in warnings):
        fixes.append(ESTIMATE_FIX)
    if m.latency_ms > HIGH_LATENCY_MS or m.jitter_ms > HIGH_JITTER_MS:
        warnings.append(
            f"Your connection is slow to respond ({m.latency_ms:.0f} ms, varying by "
            f"{m.jitter_ms:.0f} ms), so you may hear each other with a delay."
        )
        if not fixes:
            fixes.append(
                "Use a wired connection if you can, and pause video calls, games and "
                "large downloads on other devices during the session."
            )
    if warnings:
        return CheckResult(NAME, Status.WARN, " ".join(warnings), " ".join(fixes), metrics)
    return CheckResult(NAME, Status.PASS, metrics=metrics)


def _rounded(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None
