"""Whether a join's token lets it in: signature, lifetime, expiry and the revocation list.

Kept apart from the signaling session so that every rule about tokens at the door sits in one
place; the session only asks `admit` and sends the refusal it raises.
"""

from __future__ import annotations

from app.net.signaling_protocol import MessageError
from app.server.seats import Hub
from app.server.tokens import TokenClaims, TokenError, verify_token


async def admit(hub: Hub, token: str) -> TokenClaims:
    """The token's claims, or MessageError (fatal) with the protocol's code.

    An expired token still resumes a place it holds in its room (a session outlasts its link's
    lifetime, and a network hiccup must not end it); it does not open a new place. A revoked
    token opens nothing, and the list is looked at again first (it may just have changed).
    """
    config = hub.config
    try:
        claims = verify_token(config.secret, token, lifetimes=config.token_lifetimes)
    except TokenError as exc:
        if exc.code != "token_expired":
            raise MessageError(exc.code, exc.message, fatal=True) from None
        claims = verify_token(config.secret, token, now=0.0)  # signed and well formed: checked
        members = await hub.registry.members(claims.room)
        if not any(member.jti == claims.jti for member in members):
            raise MessageError(exc.code, exc.message, fatal=True) from None
    await hub.refresh_revocations()
    if claims.jti in hub.revoked:
        raise MessageError(
            "token_revoked", "this token has been revoked; ask the clinic for a new one", True
        )
    return claims
