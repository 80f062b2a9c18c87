"""Round trips to a speed-test server's latency.txt, on one kept-alive connection.

Plain http.client: no proxy is ever asked, whatever the environment says.
"""

from __future__ import annotations

import http.client
import ssl
import time
from urllib.parse import urlsplit

from app.net.bandwidth_measurement import BandwidthError, classify_error


def connection_for(
    url: str, timeout_s: float, tls: ssl.SSLContext | None = None
) -> http.client.HTTPConnection:
    """A connection to `url`'s server; `tls` decides which certificates https trusts."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if parts.scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout_s, context=tls)
    return http.client.HTTPConnection(host, port, timeout=timeout_s)


def round_trips(
    latency_url: str, samples: int, timeout_s: float, tls: ssl.SSLContext | None = None
) -> list[float]:
    """Round trips of small GETs of latency.txt on one kept-alive connection, in seconds.

    The first GET is the preflight: it pays for the connection, fails fast on a dead server
    and is not counted.
    """
    conn = connection_for(latency_url, timeout_s, tls)
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
