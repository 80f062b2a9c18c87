"""The clinic's pager: a POST to `[emergency] webhook_url` when a case goes unanswered.

The body names the case and its timing only (no names, no location, no room), so the pager
service learns nothing private; it calls the clinic's on-call number. A failure is recorded
(as the status) and logged without the URL's query or anything about the couple; it never
stops the case, which keeps ringing.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

import aiohttp

from app.server.emergency.cases import OpenCase

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0


def unanswered_payload(case: OpenCase) -> dict[str, Any]:
    return {
        "event": "unanswered",
        "case_id": case.case_id,
        "requested_at": case.machine.requested_at,
        "waited_s": round(case.machine.waited_s(), 1),
    }


def _where(url: str) -> str:
    """The webhook's host for logs: a URL's path or query may carry a key."""
    return urllib.parse.urlsplit(url).netloc or "?"


class Webhook:
    """POSTs to one URL with a bounded timeout; returns the status to record."""

    def __init__(self, url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def __call__(self, case: OpenCase) -> str:
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.post(self.url, json=unanswered_payload(case)) as response,
            ):
                status = response.status
        except TimeoutError:
            return self._failed(case, "timeout")
        except aiohttp.ClientError as exc:
            return self._failed(case, f"error {type(exc).__name__}")
        if not 200 <= status < 300:
            return self._failed(case, f"http {status}")
        log.info("case %s: webhook to %s answered %d", case.case_id, _where(self.url), status)
        return f"http {status}"

    def _failed(self, case: OpenCase, status: str) -> str:
        log.warning(
            "case %s: the webhook to %s failed (%s)", case.case_id, _where(self.url), status
        )
        return status
