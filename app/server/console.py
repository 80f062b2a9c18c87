"""Serves the clinicians' console: one HTML page and its script and style, no build step.

The page joins rooms with the browser's own WebRTC; this module only hands out the files, with
headers that keep the page self-contained (no third-party origins) and the token out of referrers
(app/server/headers.py: fixed text, nothing taken from the request).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from app.server.headers import CONSOLE_HEADERS

CONSOLE_DIR = Path(__file__).resolve().parent / "console"

# Name in the URL -> (file, content type). A fixed table: nothing else in the folder is served.
_FILES: dict[str, tuple[str, str]] = {
    "console.js": ("console.js", "text/javascript; charset=utf-8"),
    "console-words.js": ("console-words.js", "text/javascript; charset=utf-8"),
    "console-signaling.js": ("console-signaling.js", "text/javascript; charset=utf-8"),
    "console-peer.js": ("console-peer.js", "text/javascript; charset=utf-8"),
    "console-chat.js": ("console-chat.js", "text/javascript; charset=utf-8"),
    "console.css": ("console.css", "text/css; charset=utf-8"),
}


async def _index(request: web.Request) -> web.Response:
    body = (CONSOLE_DIR / "index.html").read_bytes()
    return web.Response(
        body=body, content_type="text/html", charset="utf-8", headers=dict(CONSOLE_HEADERS)
    )


async def _asset(request: web.Request) -> web.Response:
    entry = _FILES.get(request.match_info["name"])
    if entry is None:
        raise web.HTTPNotFound()
    filename, content_type = entry
    return web.Response(
        body=(CONSOLE_DIR / filename).read_bytes(),
        headers={**CONSOLE_HEADERS, "Content-Type": content_type},
    )


def add_routes(app: web.Application) -> None:
    """GET /console (the page) and /console/<name> for the names in _FILES (its scripts and
    style)."""
    app.router.add_get("/console", _index)
    app.router.add_get("/console/", _index)
    app.router.add_get("/console/{name}", _asset)
