"""Serves the clinicians' pages, no build step: the console (/console), where a therapist
joins a session, and the on-call page (/oncall, docs/emergency.md), where an on-call clinician
waits for emergency calls. Both share one folder of scripts and styles.

The pages join rooms with the browser's own WebRTC; this module only hands out the files, with
headers that keep the pages self-contained (no third-party origins) and tokens out of referrers
(app/server/headers.py: fixed text, nothing taken from the request).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from app.server.headers import CONSOLE_HEADERS

CONSOLE_DIR = Path(__file__).resolve().parent / "console"

_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"

# The pages: path -> their HTML file.
_PAGES: dict[str, str] = {
    "/console": "index.html",
    "/oncall": "oncall.html",
}

# Name in the URL -> (file, content type). A fixed table: nothing else in the folder is served.
_FILES: dict[str, tuple[str, str]] = {
    "console.js": ("console.js", _JS),
    "console-words.js": ("console-words.js", _JS),
    "console-signaling.js": ("console-signaling.js", _JS),
    "console-peer.js": ("console-peer.js", _JS),
    "console-chat.js": ("console-chat.js", _JS),
    "console-media.js": ("console-media.js", _JS),
    "console-session.js": ("console-session.js", _JS),
    "console.css": ("console.css", _CSS),
    "oncall.js": ("oncall.js", _JS),
    "oncall-words.js": ("oncall-words.js", _JS),
    "oncall-ring.js": ("oncall-ring.js", _JS),
    "oncall-plan.js": ("oncall-plan.js", _JS),
    "oncall-cases.js": ("oncall-cases.js", _JS),
    "oncall-held.js": ("oncall-held.js", _JS),
    "oncall-duty.js": ("oncall-duty.js", _JS),
    "oncall.css": ("oncall.css", _CSS),
}


async def _page(request: web.Request) -> web.Response:
    filename = _PAGES[request.path.rstrip("/")]
    body = (CONSOLE_DIR / filename).read_bytes()
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
    """GET /console and /oncall (the pages) and /console/<name> for the names in _FILES (their
    scripts and styles)."""
    for path in _PAGES:
        app.router.add_get(path, _page)
        app.router.add_get(path + "/", _page)
    app.router.add_get("/console/{name}", _asset)
