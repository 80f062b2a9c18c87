"""Response headers of the session server, built from its configuration, never from a request.

Whatever a client sends (a Host header, a path) must not end up in a header the browser obeys:
a Host of `x; frame-ancestors *` copied into the console's policy would let any site frame it.
So the console's Content-Security-Policy is one fixed string: `connect-src 'self'` covers the
page's own ws:// and wss:// origin in CSP Level 3 (Chrome 71+, Firefox, Safari 16+). Every
response says `Server: Tandem` instead of aiohttp's and Python's versions, and over TLS carries
HSTS, so a browser that once reached the console securely never falls back to plain http.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aiohttp import web, web_response

from app.server.config import ServerConfig

SERVER_NAME = "Tandem"
# One year: the server's address does not go back to plain http. No includeSubDomains: the
# clinic's other hosts are not ours to decide for.
HSTS = "max-age=31536000"

CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

CONSOLE_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        # Same origin only: scripts, styles and the signaling socket come from this server.
        "Content-Security-Policy": CONSOLE_POLICY,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
        "Cache-Control": "no-store",
    }
)


def add_response_headers(app: web.Application, config: ServerConfig) -> None:
    """`Server: Tandem` on every response, and HSTS when `config` serves TLS."""
    # aiohttp answers a request it cannot parse (400) without running the application's
    # signals, and names itself and Python there from this module-level default: the only
    # place that covers those answers too.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
    tls = config.tls

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Server"] = SERVER_NAME
        if tls:
            response.headers["Strict-Transport-Security"] = HSTS

    app.on_response_prepare.append(stamp)
