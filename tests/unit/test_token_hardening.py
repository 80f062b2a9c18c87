"""Join tokens against hostile input: one spelling per token, text claims, lifetimes per role,
and token ids (app/server/tokens.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from app.server.tokens import (
    LIFETIME_SLACK_S,
    TokenError,
    TokenLifetimes,
    mint_token,
    token_id,
    verify_token,
)

SECRET = "unit-test-secret-0123456789abcdef"
NOW = 1_800_000_000.0
DAY = 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed_body(body: str) -> str:
    """A token whose signature is right for `body`, whatever `body` is."""
    return f"{body}.{_b64(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())}"


def _payload_token(**claims: object) -> str:
    payload = {"v": 1, "room": "r1", "role": "partner", "name": "Sam", "exp": int(NOW) + 60}
    payload.update({"jti": "abc", **claims})
    return _signed_body(_b64(json.dumps(payload).encode()))


def _code(token: str, now: float = NOW, lifetimes: TokenLifetimes | None = None) -> str:
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, token, now=now, lifetimes=lifetimes)
    return info.value.code


GOOD = mint_token(SECRET, "room-7", "partner", "Sam", 600, now=NOW)


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _forgiving_decode(text: str) -> bytes:
    """How the server decoded a token part before: padding added, everything else forgiven."""
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def _respellings(token: str) -> list[str]:
    """Other spellings of the same signature bytes."""
    body, signature = token.split(".")
    # The signature is 32 bytes: its last character carries 2 unused low bits.
    index = ALPHABET.index(signature[-1])
    stray_bits = signature[:-1] + ALPHABET[index ^ 1]
    return [
        f"{body}.{signature}=",  # padding
        f"{body}.{signature}==",
        f"{body}.{signature}!!",  # junk after it, dropped by the decoder
        f"{body}.{signature[:5]}!!{signature[5:]}",  # junk inside it
        f"{body}.{signature}\n\n",
        f"{body}.{stray_bits}",
    ]


def test_the_minted_spelling_is_accepted() -> None:
    assert verify_token(SECRET, GOOD, now=NOW).room == "room-7"


@pytest.mark.parametrize("respelled", _respellings(GOOD))
def test_every_other_spelling_of_a_token_is_invalid(respelled: str) -> None:
    assert respelled != GOOD
    # The same signature bytes: the forgiving decoder took each of these as the same token.
    assert _forgiving_decode(respelled.split(".")[1]) == _forgiving_decode(GOOD.split(".")[1])
    assert _code(respelled) == "token_invalid"


def test_a_token_with_the_standard_alphabet_is_invalid() -> None:
    # Mint until the signature has a - or _ in it (each character has a 2/64 chance).
    for _ in range(200):
        token = mint_token(SECRET, "r", "partner", "A", 60, now=NOW)
        if "-" in token or "_" in token:
            break
    standard = token.replace("-", "+").replace("_", "/")
    assert standard != token
    body, signature = standard.split(".")
    assert _forgiving_decode(signature) == _forgiving_decode(token.split(".")[1])
    assert _code(standard) == "token_invalid"


@pytest.mark.parametrize(
    ("room", "name"),
    [
        ("\udcff\udcfe", "Sam"),  # what a command line makes of bytes that are not UTF-8
        ("room\x00", "Sam"),
        ("room", "Sam\nAlex"),
        ("room", "\x1b[31mSam"),
        ("room", "Sam\udc80"),
    ],
)
def test_room_and_name_must_be_text_at_mint(room: str, name: str) -> None:
    with pytest.raises(ValueError, match="text"):
        mint_token(SECRET, room, "partner", name, 60)


@pytest.mark.parametrize(
    "claims",
    [
        {"room": "\udcff"},  # json.dumps escapes it as \udcff, json.loads gives it back
        {"name": "a\u0007b"},
        {"jti": "has space"},
        {"jti": "x" * 65},
        {"jti": "é"},
    ],
)
def test_signed_tokens_with_bad_text_are_invalid(claims: dict[str, object]) -> None:
    assert _code(_payload_token(**claims)) == "token_invalid"


def test_text_within_the_limits_is_fine() -> None:
    token = mint_token(SECRET, "Zimmer 7 — Paar", "partner", "Zoë 🙂", 60, now=NOW)
    claims = verify_token(SECRET, token, now=NOW)
    assert (claims.room, claims.name) == ("Zimmer 7 — Paar", "Zoë 🙂")


# Lifetimes


def test_default_lifetimes_by_role() -> None:
    lifetimes = TokenLifetimes()
    assert (lifetimes.partner, lifetimes.therapist, lifetimes.oncall) == (180 * DAY, 43200, 43200)


@pytest.mark.parametrize(
    ("role", "ttl", "ok"),
    [
        ("partner", 180 * DAY, True),
        ("partner", 180 * DAY + 1, False),
        ("therapist", 12 * 3600, True),
        ("therapist", 12 * 3600 + 1, False),
        ("oncall", 1000 * 365 * DAY, False),  # the year 3026
    ],
)
def test_mint_refuses_longer_than_the_role_may_live(role: str, ttl: int, ok: bool) -> None:
    if ok:
        verify_token(SECRET, mint_token(SECRET, "r", role, "A", ttl, now=NOW), now=NOW)
    else:
        with pytest.raises(ValueError, match="at most"):
            mint_token(SECRET, "r", role, "A", ttl, now=NOW)


def test_the_server_refuses_a_token_signed_to_live_too_long() -> None:
    """Minted with the secret but without the limits (another tool, an old build)."""
    far = _payload_token(role="therapist", exp=int(NOW) + 1000 * 365 * DAY)
    assert _code(far, lifetimes=TokenLifetimes()) == "token_invalid"
    # Without limits (the resume path of an expired token) it is only checked as signed.
    assert verify_token(SECRET, far, now=NOW).role == "therapist"


def test_a_clock_a_little_ahead_at_minting_is_forgiven() -> None:
    lifetimes = TokenLifetimes(therapist=3600)
    ahead = mint_token(SECRET, "r", "therapist", "A", 3600, now=NOW + LIFETIME_SLACK_S)
    assert verify_token(SECRET, ahead, now=NOW, lifetimes=lifetimes).role == "therapist"
    too_far = mint_token(SECRET, "r", "therapist", "A", 3600, now=NOW + LIFETIME_SLACK_S + 5)
    assert _code(too_far, lifetimes=lifetimes) == "token_invalid"


def test_mint_follows_the_lifetimes_it_is_given() -> None:
    short = TokenLifetimes(partner=60)
    with pytest.raises(ValueError):
        mint_token(SECRET, "r", "partner", "A", 61, lifetimes=short)
    mint_token(SECRET, "r", "partner", "A", 60, lifetimes=short)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"admin": 60}, "unknown role admin"),
        ({"partner": "180d"}, "partner must be a positive whole number"),
        ({"partner": 0}, "positive"),
        ({"partner": True}, "whole number"),
        ({"partner": 1.5}, "whole number"),
    ],
)
def test_lifetimes_table_is_checked(table: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        TokenLifetimes.from_table(table)


def test_lifetimes_table_keeps_defaults_for_roles_it_leaves_out() -> None:
    assert TokenLifetimes.from_table({"partner": 90 * DAY}) == TokenLifetimes(partner=90 * DAY)


# token_id (for `tandem token revoke --token`)


def test_token_id_reads_the_id_without_the_secret() -> None:
    assert token_id(GOOD) == verify_token(SECRET, GOOD, now=NOW).jti
    assert token_id(f"  {GOOD}\n") == token_id(GOOD)  # pasted from a terminal


@pytest.mark.parametrize(
    "text", ["", "abc", "a.b", _b64(b"[1]") + ".x", _b64(b'{"jti": 7}') + ".x"]
)
def test_token_id_of_something_else_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="token"):
        token_id(text)
