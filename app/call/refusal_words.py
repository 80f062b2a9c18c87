"""What a person is told when the session server refuses them or the call breaks, by error code.

The server's own `message` is written for whoever reads logs ("the token is for another room");
the person at home needs to know what happened in everyday words and what to do next. Codes
are stable (docs/protocol.md and the engine's own, see app.call.events.CallError); the headless
participant keeps printing the code and the server's message.

Every sentence names the next step. The call page adds the way out after it (`way_out`: "try
again from the equipment check, or join by phone on <the number>", unless trying again cannot
help), so the sentences here do not repeat it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_ASK_CLINIC = "Please ask your clinic for a new join code."
_NOT_UNDERSTOOD = (
    "Tandem and your clinic's server did not understand each other. "
    "Please update Tandem, or call your clinic."
)

_WORDS: dict[str, str] = {
    # --- the session server's refusals (docs/protocol.md, "Errors") ---
    "token_invalid": f"Your join code was not accepted. It may be incomplete. {_ASK_CLINIC}",
    "token_expired": f"Your join code has expired. {_ASK_CLINIC}",
    "token_wrong_room": f"Your join code is for a different session. {_ASK_CLINIC}",
    "token_wrong_role": (
        f"Your join code is meant for someone else's part in the session. {_ASK_CLINIC}"
    ),
    "room_full": (
        "Your session is already full. If you or your partner joined on another device, "
        "please use that one, or call your clinic."
    ),
    "version_unsupported": (
        "This version of Tandem is too old for your clinic's server. "
        "Please update Tandem, or call your clinic."
    ),
    "join_timeout": (
        "Joining took too long because the connection is slow. Please try again in a moment."
    ),
    "replaced": (
        "Your join code was just used to join the session on another device, so Tandem "
        "disconnected you here. If that was you, carry on on the other device. If it was not "
        "you, call your clinic now: they can stop that code and give you a new one."
    ),
    "token_revoked": (
        f"Your clinic has withdrawn this join code, so it no longer works. {_ASK_CLINIC}"
    ),
    # Non-fatal: the engine only logs these during a call; words in case one ends a join.
    "bad_message": _NOT_UNDERSTOOD,
    "too_large": _NOT_UNDERSTOOD,
    "unknown_type": _NOT_UNDERSTOOD,
    "unknown_peer": (
        "One of the others left the session as Tandem tried to reach them. "
        "Please wait a moment for them to come back."
    ),
    "not_joined": "Tandem lost its place in the session. Please try again in a moment.",
    "rate_limited": (
        "Tandem sent messages faster than your clinic's server accepts. "
        "Please wait a moment; the session goes on."
    ),
    # --- the call engine's own codes (app.call.events.CallError) ---
    "server_unreachable": (
        "Tandem could not reach your clinic. Please check that you are connected to the "
        "internet, then try again."
    ),
    "server_untrusted": (
        "Tandem did not connect because the session server's certificate is not trusted on "
        "this computer. Please call your clinic: their IT team can set up Tandem to trust it, "
        "or tell you if something is wrong with the network you are on."
    ),
    "server_not_https": (
        "Tandem did not connect because the session server's address starts with https://, "
        "but the server there does not use a secure connection. Please check the address, or "
        "call your clinic."
    ),
    "server_closed": "Your clinic's server closed the connection. Please try again in a moment.",
    "server_lost": (
        "The connection to your session was lost. Please check your internet connection, "
        "then join again."
    ),
    "protocol_error": _NOT_UNDERSTOOD,
    "peer_unreachable": (
        "Tandem could not connect you to one of the others in the session. "
        "They may have a network problem; the session goes on for everyone else."
    ),
}

JOIN_BY_PHONE = "join by phone"  # the way by phone when no number is known to name
GENERAL_WAY_OUT = "You can try again from the equipment check, or join by phone."
_GENERAL = "You can try again from the equipment check, or {phone}."
# Where trying again would not help, or would push someone else out, the page says so instead.
_WAY_OUT: dict[str, str] = {
    "replaced": (
        "Tandem will not reconnect by itself: joining again here would disconnect the other "
        "device. You can also {phone}."
    ),
    "token_revoked": "You can {phone} meanwhile.",
    "token_expired": "You can {phone} meanwhile.",
    "server_untrusted": "You can {phone} meanwhile.",
    "server_not_https": "You can {phone} meanwhile.",
}


def by_phone(dial_in: str | None, clinic: str | None) -> str:
    """The way by phone with its number in it: a promise of "join by phone" without a number
    leaves a stressed person searching. The dial-in number first, else the clinic's phone."""
    if dial_in:
        return f"join by phone on {dial_in}"
    if clinic:
        return f"call your clinic on {clinic}"
    return "call your clinic on the number your care team gave you"


DEFAULT_WORDS = (
    "Something went wrong and Tandem could not keep you in the session. "
    "Please try again in a moment, or call your clinic."
)

PLAIN_WORDS: Mapping[str, str] = MappingProxyType(_WORDS)
"""Every known error code -> what a person is told."""


def way_out(code: str | None, phone: str = JOIN_BY_PHONE) -> str:
    """What the call page says after the sentence for `code`: the next step that can work.

    `phone` is the way by phone (`by_phone`), which the page fills in from the profile."""
    return _WAY_OUT.get(code or "", _GENERAL).format(phone=phone)


def plain_words(code: str) -> str:
    """The sentence a person is shown for `code`; DEFAULT_WORDS for a code this version lacks
    (a newer server's), never the server's own technical message."""
    return PLAIN_WORDS.get(code, DEFAULT_WORDS)
