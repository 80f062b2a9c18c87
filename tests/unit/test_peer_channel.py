"""What the data channel reads: small JSON messages of known kinds; anything else is ignored."""

from __future__ import annotations

import json

import pytest

from app.call.peer_channel import MAX_MESSAGE_BYTES, parse
from app.net.signaling_protocol import MAX_CHAT_TEXT_CHARS


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"t":"beat"}', {"t": "beat"}),
        ('{"t":"beat","extra":1}', {"t": "beat"}),
        ('{"t":"chat","id":"n:1","text":"hi"}', {"t": "chat", "id": "n:1", "text": "hi"}),
        ('{"t":"chat_ack","id":"n:1"}', {"t": "chat_ack", "id": "n:1"}),
        ('{"t":"chat_ack","id":"n:1","text":"x"}', {"t": "chat_ack", "id": "n:1"}),
    ],
)
def test_known_messages_are_read(data: str, expected: dict[str, str]) -> None:
    assert parse(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b'{"t":"beat"}',  # binary: we never send it
        "not json",
        "[1, 2]",
        '"beat"',
        '{"t":"chat","id":"n:1"}',  # no text
        '{"t":"chat","id":"n:1","text":5}',
        '{"t":"chat","id":"","text":"hi"}',
        '{"t":"chat_ack","id":' + json.dumps("x" * 65) + "}",
        '{"t":"chat_ack"}',
        '{"t":"mute","id":"n:1"}',  # a kind this version does not know
        '{"t":"chat","id":"n:1","text":"' + "x" * MAX_MESSAGE_BYTES + '"}',
        None,
    ],
)
def test_anything_else_is_ignored(data: object) -> None:
    assert parse(data) is None


def test_a_longest_chat_line_fits_in_any_script() -> None:
    text = "\U0001f600" * MAX_CHAT_TEXT_CHARS  # four bytes each in UTF-8
    data = json.dumps({"t": "chat", "id": "abcdef01:99999", "text": text}, ensure_ascii=False)
    assert parse(data) == {"t": "chat", "id": "abcdef01:99999", "text": text}
