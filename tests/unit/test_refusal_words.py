"""The words a person is shown for each error code, and that no code the server or the engine
can send is left without them. The code lists are read from the code itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.call.refusal_words import (
    DEFAULT_WORDS,
    GENERAL_WAY_OUT,
    PLAIN_WORDS,
    by_phone,
    plain_words,
    way_out,
)
from app.net.signaling_protocol import ERROR_CODES

ROOT = Path(__file__).resolve().parents[2]
NEW_CODE = "Please ask your clinic for a new join code."
NOT_UNDERSTOOD = (
    "Tandem and your clinic's server did not understand each other. "
    "Please update Tandem, or call your clinic."
)

EXPECTED = {
    "token_invalid": f"Your join code was not accepted. It may be incomplete. {NEW_CODE}",
    "token_expired": f"Your join code has expired. {NEW_CODE}",
    "token_wrong_room": f"Your join code is for a different session. {NEW_CODE}",
    "token_wrong_role": (
        f"Your join code is meant for someone else's part in the session. {NEW_CODE}"
    ),
    "room_full": "Your session is already full. If you or your partner joined on another device, "
    "please use that one, or call your clinic.",
    "version_unsupported": "This version of Tandem is too old for your clinic's server. "
    "Please update Tandem, or call your clinic.",
    "join_timeout": "Joining took too long because the connection is slow. "
    "Please try again in a moment.",
    "replaced": "Your join code was just used to join the session on another device, so Tandem "
    "disconnected you here. If that was you, carry on on the other device. If it was not you, "
    "call your clinic now: they can stop that code and give you a new one.",
    "token_revoked": f"Your clinic has withdrawn this join code, so it no longer works. {NEW_CODE}",
    "server_not_https": "Tandem did not connect because the session server's address starts "
    "with https://, but the server there does not use a secure connection. Please check the "
    "address, or call your clinic.",
    "server_untrusted": "Tandem did not connect because the session server's certificate is not "
    "trusted on this computer. Please call your clinic: their IT team can set up Tandem to trust "
    "it, or tell you if something is wrong with the network you are on.",
    "bad_message": NOT_UNDERSTOOD,
    "too_large": NOT_UNDERSTOOD,
    "unknown_type": NOT_UNDERSTOOD,
    "unknown_peer": "One of the others left the session as Tandem tried to reach them. "
    "Please wait a moment for them to come back.",
    "not_joined": "Tandem lost its place in the session. Please try again in a moment.",
    "rate_limited": "Tandem sent messages faster than your clinic's server accepts. "
    "Please wait a moment; the session goes on.",
    "server_unreachable": "Tandem could not reach your clinic. Please check that you are "
    "connected to the internet, then try again.",
    "server_closed": "Your clinic's server closed the connection. Please try again in a moment.",
    "server_lost": "The connection to your session was lost. Please check your internet "
    "connection, then join again.",
    "protocol_error": NOT_UNDERSTOOD,
    "peer_unreachable": "Tandem could not connect you to one of the others in the session. "
    "They may have a network problem; the session goes on for everyone else.",
}


def literal_codes(path: Path, callee: str, position: int) -> set[str]:
    """The string literals passed as argument `position` to calls of `callee` in `path`."""
    codes: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or len(node.args) <= position:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        arg = node.args[position]
        if name == callee and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            codes.add(arg.value)
    return codes


def server_codes() -> set[str]:
    """Every code the server can send: the protocol's list, plus every literal code it raises."""
    sources = [*(ROOT / "app" / "server").glob("*.py"), ROOT / "app/net/signaling_protocol.py"]
    raised = set().union(
        *(literal_codes(p, callee, 0) for p in sources for callee in ("MessageError", "TokenError"))
    )
    return set(ERROR_CODES) | raised


def engine_codes() -> set[str]:
    """Every code the call engine's parts emit (the engine, its signaling and its links)."""
    call = ROOT / "app/call"
    sources = [
        call / "engine.py",
        call / "signaling_session.py",
        call / "signaling_keeper.py",
        call / "peer_links.py",
    ]
    return set().union(
        *(
            literal_codes(path, "_fail_join", 0)
            | literal_codes(path, "_fail_call", 0)
            | literal_codes(path, "JoinRefused", 0)
            | literal_codes(path, "Failure", 0)
            | literal_codes(path, "CallError", 1)
            for path in sources
        )
    )


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_exact_words_per_code(code: str) -> None:
    assert plain_words(code) == EXPECTED[code]


def test_every_code_the_server_can_send_has_words() -> None:
    codes = server_codes()
    assert {"token_expired", "room_full", "join_timeout"} <= codes  # the scan found the raises
    assert codes <= set(ERROR_CODES)  # the server raises no code the protocol does not list
    assert codes - set(PLAIN_WORDS) == set()


def test_every_code_the_engine_emits_has_words() -> None:
    codes = engine_codes()
    assert {"server_unreachable", "server_lost", "peer_unreachable"} <= codes
    assert codes - set(PLAIN_WORDS) == set()


def test_the_table_holds_only_known_codes() -> None:
    assert set(PLAIN_WORDS) == server_codes() | engine_codes() == set(EXPECTED)


def test_an_unknown_code_gets_the_default_never_a_technical_message() -> None:
    assert plain_words("some_future_code") == DEFAULT_WORDS
    assert "clinic" in DEFAULT_WORDS


def test_the_words_are_for_people() -> None:
    for code, words in PLAIN_WORDS.items():
        assert "token" not in words.lower() and "_" not in words, code
        assert words.endswith("."), code


def test_the_way_out_never_invites_a_fight_over_the_seat() -> None:
    """After `replaced`, "try again" would push the other device out, which would push back:
    the page says Tandem will not reconnect, and what joining again here would do."""
    assert "will not reconnect" in way_out("replaced")
    assert "disconnect the other device" in way_out("replaced")
    assert "try again" not in way_out("replaced").lower()
    for code in ("token_revoked", "token_expired", "server_untrusted", "server_not_https"):
        assert "try again" not in way_out(code).lower() and "phone" in way_out(code)
    assert way_out("server_lost") == way_out(None) == GENERAL_WAY_OUT


@pytest.mark.parametrize(
    ("dial_in", "clinic", "phone"),
    [
        ("+1 555 0123,,4567#", "+1 555 0100", "join by phone on +1 555 0123,,4567#"),
        (None, "+1 555 0100", "call your clinic on +1 555 0100"),
        (None, None, "call your clinic on the number your care team gave you"),
    ],
)
def test_the_way_by_phone_always_names_a_number(
    dial_in: str | None, clinic: str | None, phone: str
) -> None:
    """Item 9 of issue 10: "join by phone" was promised with no number to dial."""
    assert by_phone(dial_in, clinic) == phone
    for code in (None, "token_invalid", "replaced", "token_revoked"):
        text = way_out(code, by_phone(dial_in, clinic))
        assert phone in text and text.endswith(".")
        if dial_in is None:
            assert "join by phone" not in text
