"""What a bandwidth probe returns, and the few ways a measurement can fail.

A probe measures both directions and returns a `BandwidthMeasurement`, or raises
`BandwidthError` with a problem a person can act on; it never returns a fake 0.0.
"""

from __future__ import annotations

import socket
import urllib.error
from dataclasses import dataclass
from typing import Literal, Protocol

from app.net.tls_trust import is_not_tls, is_untrusted_certificate
from app.progress import ProgressCallback

_NO_NETWORK_ERRNOS = {101, 113, 100, 99}  # ENETUNREACH, EHOSTUNREACH, ENETDOWN, EADDRNOTAVAIL

# Where an upload figure comes from: what the server says arrived, or (public speed-test
# servers, which say nothing) the sender's own count, which includes bytes still in buffers.
UploadBasis = Literal["received", "sender_estimate"]


class BandwidthError(Exception):
    """A measurement that could not be made.

    `problem` is what a person can act on: no_network, refused, timeout, untrusted (the
    server's TLS certificate is not trusted) or server_error.
    """

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
    upload_basis: UploadBasis = "received"


class BandwidthProbe(Protocol):
    def measure(self, progress: ProgressCallback | None = None) -> BandwidthMeasurement:
        """Measure both directions; raises BandwidthError instead of returning a fake 0.0."""
        ...


def classify_error(exc: BaseException) -> BandwidthError:
    """Map a network exception to the problem a person can act on."""
    if isinstance(exc, BandwidthError):
        return exc
    reason: object = exc
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        reason = exc.reason
    detail = f"{type(reason).__name__}: {reason}"
    if is_untrusted_certificate(exc):
        return BandwidthError("untrusted", detail)
    if is_not_tls(exc):
        return BandwidthError("not_https", detail)
    if isinstance(reason, TimeoutError):
        return BandwidthError("timeout", detail)
    if isinstance(reason, ConnectionRefusedError):
        return BandwidthError("refused", detail)
    if isinstance(reason, socket.gaierror):
        return BandwidthError("no_network", detail)
    if isinstance(reason, OSError) and reason.errno in _NO_NETWORK_ERRNOS:
        return BandwidthError("no_network", detail)
    return BandwidthError("server_error", detail)
