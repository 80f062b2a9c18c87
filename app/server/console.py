"""Serves the clinicians' console: one HTML page and its script and style, no build step.

The page joins rooms with the browser's own WebRTC; this module only hands out the files, with
headers that keep the page self-contained (no third-party origins) and the token out of referrers.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

CONSOLE_DIR = Path(__file__).resolve().parent / "console"

# Name in the URL -> (file, content type). A fixed table: nothing else in the folder is served.
_FILES: dict[str, tuple[str, str]] = {
    "console.js": ("console.js", "text/javascript; charset=utf-8"),
    "console-words.js": ("console-words.js", "text/javascript; charset=utf-8"),
    "console-signaling.js": ("console-signaling.js", "text/javascript; charset=utf-8"),
    "console-peer.js": ("console-peer.js", "text/javascript; charset=utf-8"),
    "console-chat.js": ("console-chat.js", "text/javascript; charset=utf-8"),
    "console-media.js": ("console-media.js", "text/javascript; charset=utf-8"),
    "console-session.js": ("console-session.js", "text/javascript; charset=utf-8"),
    "console.css": ("console.css", "text/css; charset=utf-8"),
}


def _headers(request: web.Request) -> dict[str, str]:
    host = request.host
    return {
        # Same origin only: scripts, styles and the signaling socket come from this server.
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"media-src 'self' blob: mediastream:; connect-src 'self' ws://{host} wss://{host}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
        "Cache-Control": "no-store",
    }


async def _index(request: web.Request) -> web.Response:
    body = (CONSOLE_DIR / "index.html").read_bytes()
    return web.Response(
        body=body, content_type="text/html", charset="utf-8", headers=_headers(request)
    )


async def _asset(request: web.Request) -> web.Response:
    entry = _FILES.get(request.match_info["name"])
    if entry is None:
        raise web.HTTPNotFound()
    filename, content_type = entry
    return web.Response(
        body=(CONSOLE_DIR / filename).read_bytes(),
        headers={**_headers(request), "Content-Type": content_type},
    )


def add_routes(app: web.Application) -> None:
    """GET /console (the page) and /console/<name> for the names in _FILES (its scripts and
    style)."""
    app.router.add_get("/console", _index)
    app.router.add_get("/console/", _index)
    app.router.add_get("/console/{name}", _asset)
