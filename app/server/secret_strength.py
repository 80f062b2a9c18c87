"""Whether a token secret is strong enough to sign join tokens with.

Anyone who holds one token holds a message and its HMAC: with a weak secret they can try
candidates offline, as fast as their hardware allows, until one signs it the same, and then
mint a clinician's token for any room. So the server refuses a secret that is short or plainly
not random, unless told it is for development (`--allow-weak-secret`, loopback only).

What is checked is an estimate, not a proof: at least MIN_SECRET_BYTES of UTF-8, enough
distinct characters, no short pattern repeated, not mostly a run (abcd, 1234, aaaa), and an
entropy estimate from the characters' own frequencies of at least MIN_ESTIMATED_BITS. Random
output passes with a wide margin: `openssl rand -hex 16` (32 characters, 128 random bits; its
estimate is rarely under 100 bits), `python -c "import secrets; print(secrets.token_urlsafe(32))"`.
"""

from __future__ import annotations

import math
from collections import Counter

MIN_SECRET_BYTES = 32
# 32 random hex characters use fewer than 8 of the 16 digits with a chance of 4e-8 (fewer
# than 10: 1e-4, which refused one random secret in ten thousand).
MIN_DISTINCT_CHARS = 8
# A 32-character random hex string (128 random bits) estimates at 100-125 bits this way; a
# word padded with one repeated character, or a 2-4 character pattern repeated, far lower.
MIN_ESTIMATED_BITS = 80.0
MAX_PATTERN = 64

HOW_TO_MAKE_ONE = (
    'make one with: python3 -c "import secrets; print(secrets.token_urlsafe(32))" '
    "(or openssl rand -hex 32)"
)


def estimated_bits(secret: str) -> float:
    """Shannon entropy of the secret's own character frequencies, times its length."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    total = len(secret)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_char * total


def _shortest_period(secret: str) -> int:
    """The length of the shortest pattern that, repeated, spells the whole secret (patterns of
    up to MAX_PATTERN characters: a longer one is as strong as the pattern itself)."""
    for period in range(1, min(len(secret) // 2, MAX_PATTERN) + 1):
        if all(secret[i] == secret[i - period] for i in range(period, len(secret))):
            return period
    return len(secret)


def _mostly_runs(secret: str) -> bool:
    """More than half of neighbouring characters are the same or one apart (aaaa, abcd, 4321)."""
    steps = sum(1 for a, b in zip(secret, secret[1:], strict=False) if abs(ord(a) - ord(b)) <= 1)
    return steps * 2 > len(secret) - 1


def secret_problem(secret: str) -> str | None:
    """Why `secret` is too weak to sign tokens with, in words for whoever configures the server;
    None when it looks strong enough."""
    size = len(secret.encode("utf-8", errors="surrogatepass"))
    if size < MIN_SECRET_BYTES:
        return f"the token secret is too short ({size} bytes; at least {MIN_SECRET_BYTES})"
    if len(set(secret)) < MIN_DISTINCT_CHARS or _shortest_period(secret) <= len(secret) // 2:
        return "the token secret repeats a few characters instead of being random"
    if _mostly_runs(secret):
        return "the token secret is mostly a run of neighbouring characters, not random"
    if estimated_bits(secret) < MIN_ESTIMATED_BITS:
        return "the token secret does not look random enough (too many repeated characters)"
    return None
