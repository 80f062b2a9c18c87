"""Checked reads of one field of a server message: each returns the value or raises
`ProtocolError` naming the field (never its value: it may be a name or a location)."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from typing import Any

_CASE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ProtocolError(Exception):
    """The server sent something that does not follow docs/emergency.md."""


def text(message: dict[str, Any], key: str, limit: int, *, empty: bool = False) -> str:
    value = message.get(key)
    if not isinstance(value, str) or len(value) > limit or (not value and not empty):
        raise ProtocolError(f"'{key}' must be a string of at most {limit} characters")
    return value


def optional_str(message: dict[str, Any], key: str, limit: int) -> str | None:
    return None if message.get(key) is None else text(message, key, limit, empty=True)


def finite(
    message: dict[str, Any],
    key: str,
    *,
    minimum: float = -math.inf,
    maximum: float = math.inf,
) -> float:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"'{key}' must be a number")
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ProtocolError(f"'{key}' is out of range")
    return float(value)


def integer(message: dict[str, Any], key: str, minimum: int, maximum: int) -> int:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ProtocolError(f"'{key}' must be a whole number from {minimum} to {maximum}")
    return value


def choice(message: dict[str, Any], key: str, allowed: Collection[str]) -> str:
    value = message.get(key)
    if not isinstance(value, str) or value not in allowed:
        raise ProtocolError(f"'{key}' must be one of {', '.join(sorted(allowed))}")
    return value


def case_id(message: dict[str, Any]) -> str:
    value = message.get("case_id")
    if not isinstance(value, str) or not _CASE_ID.fullmatch(value):
        raise ProtocolError("'case_id' must be a short url-safe string")
    return value
