"""Join tokens: who may enter which room, in which role, until when (docs/protocol.md).

A token is `base64url(payload_json) "." base64url(HMAC-SHA256(secret, base64url(payload_json)))`,
without padding. The server trusts only what the signature covers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from app.net.signaling_protocol import ROLES

TOKEN_VERSION = 1
MAX_TOKEN_CHARS = 4096
MAX_ROOM_CHARS = 128
MAX_NAME_CHARS = 64


class TokenError(Exception):
    """A refused token; `code` (token_invalid or token_expired) is sent to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TokenClaims:
    room: str
    role: str
    name: str
    exp: int
    jti: str
    v: int = TOKEN_VERSION


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def _sign(secret: str, signed_part: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), signed_part.encode("ascii"), hashlib.sha256).digest()


def check_claim_values(room: str, role: str, name: str) -> None:
    """Raise ValueError unless room, role and name are within the protocol's limits."""
    if not room or len(room) > MAX_ROOM_CHARS:
        raise ValueError(f"room must be 1-{MAX_ROOM_CHARS} characters")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(sorted(ROLES))}")
    if not name.strip() or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"name must be 1-{MAX_NAME_CHARS} characters")


def mint_token(
    secret: str,
    room: str,
    role: str,
    name: str,
    ttl_s: int,
    now: float | None = None,
    *,
    jti: str | None = None,
) -> str:
    """A token for one room and role, valid for `ttl_s` seconds from `now`. `jti` is random
    unless given (the emergency call tickets derive it, so a person keeps one peer_id)."""
    if not secret:
        raise ValueError("a secret is needed to sign tokens")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    check_claim_values(room, role, name)
    issued = time.time() if now is None else now
    payload = {
        "v": TOKEN_VERSION,
        "room": room,
        "role": role,
        "name": name,
        "exp": int(issued) + int(ttl_s),
        "jti": jti or secrets.token_urlsafe(12),
    }
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{body}.{_b64encode(_sign(secret, body))}"


def _invalid(message: str) -> TokenError:
    return TokenError("token_invalid", message)


def _field(payload: dict[str, Any], key: str, kind: type) -> Any:
    value = payload.get(key)
    # bool is an int in Python; a token never carries booleans.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _invalid(f"the token's {key!r} is missing or of the wrong type")
    return value


def verify_token(secret: str, token: str, now: float | None = None) -> TokenClaims:
    """The token's claims if its signature, version, fields and expiry are good; else TokenError."""
    if not secret:
        raise _invalid("the server has no secret to check tokens with")
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise _invalid("the token is not in the expected format")
    body, signature_text = token.split(".")
    try:
        signature = _b64decode(signature_text)
        payload_bytes = _b64decode(body)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise _invalid("the token is not in the expected format") from None
    if not hmac.compare_digest(signature, _sign(secret, body)):
        raise _invalid("the token's signature does not match (forged or for another server)")
    try:
        payload = json.loads(payload_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _invalid("the token's payload is not JSON") from None
    if not isinstance(payload, dict):
        raise _invalid("the token's payload is not an object")
    version = payload.get("v")
    if not isinstance(version, int) or isinstance(version, bool) or version != TOKEN_VERSION:
        raise _invalid("the token's version is not supported")
    claims = TokenClaims(
        room=_field(payload, "room", str),
        role=_field(payload, "role", str),
        name=_field(payload, "name", str),
        exp=_field(payload, "exp", int),
        jti=_field(payload, "jti", str),
    )
    try:
        check_claim_values(claims.room, claims.role, claims.name)
    except ValueError as exc:
        raise _invalid(f"the token's claims are not acceptable: {exc}") from None
    if not claims.jti:
        raise _invalid("the token has no id")
    current = time.time() if now is None else now
    if current >= claims.exp:
        raise TokenError("token_expired", "the token has expired; ask the clinic for a new link")
    return claims
