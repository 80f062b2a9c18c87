"""The ICE servers handed to each participant in `welcome`.

Clients use exactly these and nothing else, so no one falls back to a public STUN server. TURN
credentials are time-limited per coturn's REST API (`use-auth-secret`): the username is
`<expiry unix s>:<random>` and the credential is base64(HMAC-SHA1(turn_secret, username)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from app.server.config import ServerConfig


def turn_credentials(
    turn_secret: str, ttl_s: int, now: float | None = None, user: str | None = None
) -> tuple[str, str]:
    """(username, credential) valid for `ttl_s` seconds, as coturn's use-auth-secret expects."""
    expiry = int(time.time() if now is None else now) + ttl_s
    username = f"{expiry}:{user or secrets.token_hex(8)}"
    digest = hmac.new(turn_secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers(config: ServerConfig, now: float | None = None) -> list[dict[str, Any]]:
    """RTCIceServer-shaped dicts; [] when nothing is configured (host candidates only)."""
    servers: list[dict[str, Any]] = []
    if config.stun_urls:
        servers.append({"urls": list(config.stun_urls)})
    if config.turn_urls and config.turn_secret:
        username, credential = turn_credentials(config.turn_secret, config.turn_ttl_s, now)
        servers.append(
            {"urls": list(config.turn_urls), "username": username, "credential": credential}
        )
    return servers
