"""Emergency connect's limits and checks: new cases per couple, messages per connection, the
client messages' schemas and the `[emergency]` settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.net.signaling_protocol import MessageError
from app.server.emergency import messages as m
from app.server.emergency.cases import CaseRateLimit, couple_key
from app.server.emergency.escalation import Timings
from app.server.emergency.settings import EmergencySettings, from_table, load_table
from app.server.emergency.tickets import (
    EMERGENCY_ROOM_PREFIX,
    is_couple_room,
    new_case_id,
    ticket_jti,
)
from app.server.emergency.ws import TokenBucket

# New cases per couple


def test_three_new_cases_per_couple_in_ten_minutes() -> None:
    limit = CaseRateLimit()
    assert [limit.allow("couple-a", t) for t in (0.0, 10.0, 20.0, 30.0)] == [
        True,
        True,
        True,
        False,
    ]
    assert limit.allow("couple-b", 30.0)  # another couple has its own count
    assert not limit.allow("couple-a", 599.9)
    assert limit.allow("couple-a", 600.0)  # the first one left the window
    assert not limit.allow("couple-a", 601.0)


def test_the_limit_forgets_couples_whose_window_is_empty() -> None:
    limit = CaseRateLimit(limit=1, window_s=60.0)
    assert limit.allow("couple-a", 0.0)
    limit.prune(59.0)
    assert not limit.allow("couple-a", 59.0)
    limit.prune(120.0)
    assert limit._opened == {}


# Messages per connection


def test_a_connection_gets_a_burst_then_a_steady_rate() -> None:
    bucket = TokenBucket(rate=5.0, burst=3)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(0.1)
    assert bucket.take(0.2)  # one message per 0.2 s
    assert not bucket.take(0.2)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # capped


# Client messages


def _parse(**fields: Any) -> m.ClientMessage:
    return m.parse(json.dumps(fields))


def test_every_client_message_parses() -> None:
    assert _parse(type="hello", v=1, token="t", **{"as": "couple"}) == m.Hello(1, "t", "couple")
    assert _parse(type="emergency") == m.Emergency(None)
    assert _parse(type="emergency", location="  Home ") == m.Emergency("Home")
    assert _parse(type="emergency", location="   ") == m.Emergency(None)
    assert _parse(type="cancel", case_id="c1") == m.Cancel("c1")
    assert _parse(type="availability", available=False) == m.Availability(False)
    assert _parse(type="accept", case_id="c1") == m.Accept("c1")
    assert _parse(type="connected", case_id="c1") == m.Connected("c1")
    assert _parse(type="ping") == m.Ping()
    assert _parse(type="end", case_id="c1", outcome="safe") == m.End("c1", "safe", None, "")
    assert _parse(
        type="end", case_id="c1", outcome="other", follow_up_due=5, note="Seen."
    ) == m.End("c1", "other", 5.0, "Seen.")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"type": "dance"}, "unknown message type"),
        ({"type": "hello", "v": 1, "token": "t"}, "missing field 'as'"),
        ({"type": "hello", "v": 1, "token": "t", "as": "therapist"}, "'as' must be"),
        ({"type": "hello", "v": True, "token": "t", "as": "couple"}, "'v' has the wrong type"),
        ({"type": "availability", "available": 1}, "'available' has the wrong type"),
        ({"type": "emergency", "location": "x" * 201}, "limited to 200"),
        ({"type": "emergency", "location": 5}, "'location' has the wrong type"),
        ({"type": "cancel", "case_id": ""}, "not a case id"),
        ({"type": "accept", "case_id": "c" * 65}, "not a case id"),
        ({"type": "end", "case_id": "c1", "outcome": "fine"}, "'outcome' must be one of"),
        ({"type": "end", "case_id": "c1", "outcome": "safe", "note": "n" * 2001}, "limited"),
        ({"type": "end", "case_id": "c1", "outcome": "safe", "follow_up_due": "x"}, "wrong"),
    ],
)
def test_bad_client_messages_are_refused_in_words(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(MessageError, match=words) as refused:
        m.parse(json.dumps(fields))
    assert (refused.value.code, refused.value.fatal) == ("bad_message", False)


def test_non_finite_follow_up_and_oversized_messages_are_refused() -> None:
    with pytest.raises(MessageError, match="follow_up_due"):
        m.parse('{"type": "end", "case_id": "c1", "outcome": "safe", "follow_up_due": NaN}')
    with pytest.raises(MessageError) as refused:
        m.parse(json.dumps({"type": "ping", "pad": "x" * m.MAX_CLIENT_MESSAGE_BYTES}))
    assert refused.value.code == "too_large"
    for text in ("not json", "[1]", '{"type": 5}'):
        with pytest.raises(MessageError) as bad:
            m.parse(text)
        assert bad.value.code == "bad_message"


# Keys, rooms and case ids


def test_couple_keys_and_ticket_ids_are_keyed_and_stable() -> None:
    assert couple_key("s1", "room") == couple_key("s1", "room")
    assert couple_key("s1", "room") != couple_key("s2", "room")
    assert len(couple_key("s1", "room")) == 32
    assert ticket_jti("s", "case", "jti-a") == ticket_jti("s", "case", "jti-a")
    assert ticket_jti("s", "case", "jti-a") != ticket_jti("s", "case2", "jti-a")
    assert "=" not in ticket_jti("s", "case", "jti-a")
    ids = {new_case_id() for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 16 for i in ids)


def test_only_a_couples_room_stands_for_a_couple() -> None:
    assert is_couple_room("couple-1")
    assert not is_couple_room("oncall")
    assert not is_couple_room(EMERGENCY_ROOM_PREFIX + "abc")


# Settings


def test_the_emergency_table_sets_every_setting(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        "[emergency]\nring_again_s = 10\neveryone_s = 20.5\nunanswered_s = 45\n"
        'webhook_url = "https://pager.example.org/hook"\nbackup_tier = ["Dr Park"]\n'
    )
    settings = from_table(load_table(path))
    assert settings == EmergencySettings(
        Timings(10.0, 20.5, 45.0), "https://pager.example.org/hook", ("Dr Park",)
    )
    assert (settings.tier_of("Dr Park"), settings.tier_of("Dr Lee")) == (2, 1)
    assert from_table(load_table(None)) == EmergencySettings()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ring_again_s = 0", "must be positive"),
        ('ring_again_s = "30"', "ring_again_s must be a number of seconds"),
        ("everyone_s = true", "everyone_s must be a number of seconds"),
        ("everyone_s = nan", "everyone_s must be a number of seconds"),
        ("unanswered_s = 50", "ring_again_s < everyone_s < unanswered_s"),
        ('webhook_url = "ftp://x"', "webhook_url must start with http"),
        ("webhook_url = 5", "webhook_url must be a string"),
        ('backup_tier = "Dr Park"', "backup_tier must be a list of names"),
        ("ring_after = 3", "unknown setting ring_after in [emergency]"),
    ],
)
def test_a_bad_emergency_setting_is_named(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f"[emergency]\n{text}\n")
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        from_table(load_table(path))


def test_an_unreadable_config_or_a_non_table_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the config file"):
        load_table(tmp_path / "missing.toml")
    path = tmp_path / "server.toml"
    path.write_text('emergency = "on"\n')
    with pytest.raises(ValueError, match="must be a table"):
        load_table(path)
