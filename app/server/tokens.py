"""Join tokens: who may enter which room, in which role, until when (docs/protocol.md).

A token is `base64url(payload_json) "." base64url(HMAC-SHA256(secret, base64url(payload_json)))`,
without padding. The server trusts only what the signature covers, and accepts each token in
one spelling only: exactly what `mint_token` writes (no padding, no other alphabet, nothing
after it), so a list keyed on a token's text cannot be walked around by respelling it. Room and
name are text within the protocol's limits, checked when a token is minted and when it is used;
a token may not be valid for longer than the server allows its role (`TokenLifetimes`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.net.signaling_protocol import ROLES

TOKEN_VERSION = 1
MAX_TOKEN_CHARS = 4096
MAX_ROOM_CHARS = 128
MAX_NAME_CHARS = 64
MAX_JTI_CHARS = 64
# A token's id as mint_token makes it (token_urlsafe): also one line of the revocation list.
JTI_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_JTI_CHARS}}}")
# A clock on the minting machine a little ahead of the server's must not make a token that was
# minted at its role's longest lifetime look longer than allowed.
LIFETIME_SLACK_S = 300


class TokenError(Exception):
    """A refused token; `code` (token_invalid, token_expired) is sent to the client."""

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


@dataclass(frozen=True)
class TokenLifetimes:
    """The longest a token of each role may be valid, in seconds (`[server.token_max_ttl]`).

    A clinician's link is minted for a session or a shift, so a leaked one should be worthless
    by the next day: 12 hours covers a long clinic day. The couple's join code is their standing
    code for the whole program (commonly 8-12 weeks, with follow-up sessions after), and
    handing a couple a new code mid-program costs a session: 180 days. A code that leaks before
    then is revoked (`tandem token revoke`), not waited out.
    """

    partner: int = 180 * 24 * 3600
    therapist: int = 12 * 3600
    oncall: int = 12 * 3600

    def for_role(self, role: str) -> int:
        limit: int = getattr(self, role)
        return limit

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> TokenLifetimes:
        """From a TOML table {role: whole seconds}; ValueError names what is wrong."""
        unknown = sorted(set(table) - ROLES)
        if unknown:
            raise ValueError(
                f"unknown role {', '.join(unknown)}; the roles are {', '.join(sorted(ROLES))}"
            )
        values: dict[str, int] = {}
        for role, value in table.items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{role} must be a positive whole number of seconds")
            values[role] = value
        return cls(**values)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """The bytes of `text` if it is exactly what _b64encode writes for them; else ValueError.

    Python's decoder forgives padding, characters outside the alphabet, the standard
    alphabet's + and /, and stray low bits in the last character: each would be another
    spelling of the same token. Encoding the result again and comparing refuses them all.
    """
    padded = text + "=" * (-len(text) % 4)
    data = base64.urlsafe_b64decode(padded.encode("ascii"))
    if _b64encode(data) != text:
        raise ValueError("not the canonical encoding")
    return data


def _sign(secret: str, signed_part: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), signed_part.encode("ascii"), hashlib.sha256).digest()


def _is_text(value: str) -> bool:
    """Printable text: no control characters, and no lone surrogates (what a command line makes
    of bytes that are not UTF-8), which could not be written to a log or sent as UTF-8."""
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in value)


def check_claim_values(room: str, role: str, name: str) -> None:
    """Raise ValueError unless room, role and name are within the protocol's limits."""
    if not room or len(room) > MAX_ROOM_CHARS:
        raise ValueError(f"room must be 1-{MAX_ROOM_CHARS} characters")
    if not _is_text(room):
        raise ValueError("room must be text (UTF-8, no control characters)")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(sorted(ROLES))}")
    if not name.strip() or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"name must be 1-{MAX_NAME_CHARS} characters")
    if not _is_text(name):
        raise ValueError("name must be text (UTF-8, no control characters)")


def check_lifetime(role: str, ttl_s: float, lifetimes: TokenLifetimes) -> None:
    """Raise ValueError if a token of `role` valid for `ttl_s` more seconds is longer lived
    than `lifetimes` allows."""
    limit = lifetimes.for_role(role)
    if ttl_s > limit:
        raise ValueError(
            f"a {role} token may be valid for at most {limit} s ({limit / 86400:g} days) on "
            "this server ([server.token_max_ttl] in its config)"
        )


def mint_token(
    secret: str,
    room: str,
    role: str,
    name: str,
    ttl_s: int,
    now: float | None = None,
    lifetimes: TokenLifetimes | None = None,
    *,
    jti: str | None = None,
) -> str:
    """A token for one room and role, valid for `ttl_s` seconds from `now`; ValueError for
    what a server would refuse (bad room or name, or longer than `lifetimes` allow: by default
    the server's defaults). `jti` is random unless given (the emergency call tickets derive it,
    so a person keeps one peer_id)."""
    if not secret:
        raise ValueError("a secret is needed to sign tokens")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    check_claim_values(room, role, name)
    check_lifetime(role, ttl_s, lifetimes or TokenLifetimes())
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


def verify_token(
    secret: str,
    token: str,
    now: float | None = None,
    lifetimes: TokenLifetimes | None = None,
) -> TokenClaims:
    """The token's claims if its encoding, signature, version, fields and expiry are good, and
    (with `lifetimes`) it is not valid for longer than its role may be; else TokenError."""
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
    if not JTI_PATTERN.fullmatch(claims.jti):
        raise _invalid("the token's id is missing or not in the expected format")
    current = time.time() if now is None else now
    if current >= claims.exp:
        raise TokenError("token_expired", "the token has expired; ask the clinic for a new link")
    if lifetimes is not None:
        try:
            check_lifetime(claims.role, claims.exp - current - LIFETIME_SLACK_S, lifetimes)
        except ValueError as exc:
            raise _invalid(f"the token lives too long: {exc}") from None
    return claims


def token_id(token: str) -> str:
    """The id (`jti`) a token carries, read without checking its signature (to revoke it: a
    forged token's id on the list does no harm). ValueError if it is not a token."""
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise ValueError("this is not a join token (two parts separated by a dot)")
    try:
        payload = json.loads(_b64decode(token.split(".")[0]))
    except (binascii.Error, ValueError, UnicodeError):
        raise ValueError("this is not a join token (its first part is not a payload)") from None
    jti = payload.get("jti") if isinstance(payload, dict) else None
    if not isinstance(jti, str) or not JTI_PATTERN.fullmatch(jti):
        raise ValueError("this token carries no id")
    return jti
