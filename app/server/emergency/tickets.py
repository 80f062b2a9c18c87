"""Call tickets: the tokens that admit a case's couple and clinician to its emergency room.

The room is `emergency-<case_id>` on the ordinary `/ws` (same call protocol, same call engine).
A ticket's `jti` is derived from the person's standing token and the case, so the same person
gets the same `peer_id` on every reconnect and every re-issued ticket (docs/emergency.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from app.server.tokens import mint_token

EMERGENCY_ROOM_PREFIX = "emergency-"
# The room an on-call clinician's standing token names: the roster. Nobody joins it on /ws.
ROSTER_ROOM = "oncall"
TICKET_TTL_S = 2 * 3600
CASE_ID_CHARS = 16


def new_case_id() -> str:
    """Random, 16 url-safe characters: reveals nothing about the couple or the time."""
    return secrets.token_urlsafe(12)[:CASE_ID_CHARS]


def emergency_room(case_id: str) -> str:
    return EMERGENCY_ROOM_PREFIX + case_id


def is_couple_room(room: str) -> bool:
    """Whether a partner token's room may stand for a couple (not a roster or a case room)."""
    return room != ROSTER_ROOM and not room.startswith(EMERGENCY_ROOM_PREFIX)


def ticket_jti(secret: str, case_id: str, standing_jti: str) -> str:
    """base64url(HMAC-SHA256(secret, "case:" + case_id + jti)), unpadded."""
    digest = hmac.new(
        secret.encode("utf-8"), f"case:{case_id}{standing_jti}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def call_ticket(
    secret: str,
    server: str,
    case_id: str,
    *,
    role: str,
    name: str,
    standing_jti: str,
    now: float | None = None,
) -> dict[str, Any]:
    """A CallTicket: `{"server", "room", "token"}` for one person of one case."""
    room = emergency_room(case_id)
    token = mint_token(
        secret,
        room,
        role,
        name,
        TICKET_TTL_S,
        now,
        jti=ticket_jti(secret, case_id, standing_jti),
    )
    return {"server": server, "room": room, "token": token}
