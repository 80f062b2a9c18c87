"""The backup-server rule on a fake clock: join, loss, alternation, no flapping back, the couple."""

from __future__ import annotations

import pytest

from app.call.retry import RetrySchedule
from app.call.server_choice import ServerChooser, Welcome, display_url

PRIMARY = "https://clinic.example:8443"
BACKUP = "https://backup.clinic.example:8443"


def attempts_while_lost(
    chooser: ServerChooser,
    lost_at: float,
    *,
    answers: str | None = None,
    answers_from: float = 0.0,
    limit: int = 20,
) -> list[tuple[float, str]]:
    """The socket is lost at `lost_at`; each attempt follows the retry schedule and fails at once
    unless its server is `answers` (from `answers_from` on). Returns (time, server) for every
    attempt made."""
    chooser.lost(lost_at)
    schedule = RetrySchedule()
    now, tried = lost_at, list[tuple[float, str]]()
    while len(tried) < limit and (delay := schedule.next_delay(now)) is not None:
        now += delay
        server = chooser.next_server(now)
        tried.append((round(now, 6), server))
        if server == answers and now >= answers_from:
            chooser.welcomed(server, 1)
            break
        chooser.join_failed(server)
    return tried


def on_primary_with_others() -> ServerChooser:
    chooser = ServerChooser(PRIMARY, BACKUP)
    assert chooser.next_server(0.0) == PRIMARY
    assert chooser.welcomed(PRIMARY, 2) == Welcome(None, None)
    return chooser


# --- display_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://clinic.example:8443/base?token=secret#x", "https://clinic.example:8443"),
        ("https://user:pw@clinic.example/", "https://clinic.example:443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("WSS://Clinic.Example/ws", "wss://clinic.example:443"),
        ("ws://[::1]:9000/ws", "ws://[::1]:9000"),
        ("gopher://host", "gopher://host"),
        ("clinic.example:8443", "invalid"),
        ("https://", "invalid"),
        ("https://host:notaport", "invalid"),
        ("", "invalid"),
    ],
)
def test_display_url_is_scheme_host_and_port_only(url: str, shown: str) -> None:
    assert display_url(url) == shown


# --- without a backup ------------------------------------------------------------------------


def test_without_a_backup_it_is_always_the_primary() -> None:
    chooser = ServerChooser(PRIMARY)
    assert chooser.next_server(0.0) == PRIMARY
    chooser.join_failed(PRIMARY)
    assert chooser.next_server(1.0) == PRIMARY
    assert [s for _, s in attempts_while_lost(chooser, 10.0)] == [PRIMARY] * 20
    assert not chooser.on_backup


def test_a_backup_that_is_the_primary_is_no_backup() -> None:
    assert ServerChooser(PRIMARY, PRIMARY).backup is None
    assert ServerChooser(PRIMARY, "").backup is None


def test_without_a_backup_being_alone_looks_nowhere() -> None:
    chooser = ServerChooser(PRIMARY)
    chooser.welcomed(PRIMARY, 1)
    assert chooser.welcomed(PRIMARY, 0) == Welcome(None, None)
    assert chooser.peer_left("timeout", 0) is None


# --- at join ---------------------------------------------------------------------------------


def test_at_join_the_primary_then_the_backup_then_each_in_turn() -> None:
    chooser = ServerChooser(PRIMARY, BACKUP)
    tried = []
    for second in range(5):
        server = chooser.next_server(float(second))
        tried.append(server)
        chooser.join_failed(server)
    assert tried == [PRIMARY, BACKUP, PRIMARY, BACKUP, PRIMARY]


def test_joined_on_the_backup_stays_there() -> None:
    chooser = ServerChooser(PRIMARY, BACKUP)
    chooser.join_failed(chooser.next_server(0.0))
    assert chooser.next_server(0.5) == BACKUP
    assert chooser.welcomed(BACKUP, 0) == Welcome(None, None)  # a first join is no switch
    assert chooser.on_backup
    assert [s for _, s in attempts_while_lost(chooser, 100.0)] == [BACKUP] * 20


def test_asking_twice_without_a_failure_gives_the_same_server() -> None:
    chooser = ServerChooser(PRIMARY, BACKUP)
    assert chooser.next_server(0.0) == chooser.next_server(0.0) == PRIMARY


# --- after the socket is lost -----------------------------------------------------------------


def test_the_primary_first_then_the_backup_within_five_seconds() -> None:
    chooser = on_primary_with_others()
    tried = attempts_while_lost(chooser, 60.0, answers=BACKUP)
    assert tried == [(60.0, PRIMARY), (60.3, PRIMARY), (61.5, PRIMARY), (64.2, BACKUP)]
    assert chooser.on_backup


def test_a_primary_that_comes_back_in_the_first_seconds_is_kept() -> None:
    chooser = on_primary_with_others()
    tried = attempts_while_lost(chooser, 60.0, answers=PRIMARY, answers_from=61.0)
    assert tried[-1] == (61.5, PRIMARY)
    assert chooser.current == PRIMARY
    assert not chooser.on_backup
    # A later loss starts the first seconds afresh.
    assert attempts_while_lost(chooser, 500.0, answers=BACKUP)[:3] == [
        (500.0, PRIMARY),
        (500.3, PRIMARY),
        (501.5, PRIMARY),
    ]


def test_with_neither_answering_the_servers_alternate_from_the_backup() -> None:
    chooser = on_primary_with_others()
    servers = [s for _, s in attempts_while_lost(chooser, 60.0, limit=9)]
    assert servers == [PRIMARY] * 3 + [BACKUP, PRIMARY] * 3


def test_the_primary_back_after_the_first_seconds_keeps_the_call_there() -> None:
    chooser = on_primary_with_others()
    tried = attempts_while_lost(chooser, 60.0, answers=PRIMARY, answers_from=70.0)
    assert [s for _, s in tried] == [PRIMARY] * 3 + [BACKUP, PRIMARY, BACKUP, PRIMARY]
    assert tried[-1] == (83.0, PRIMARY)  # attempts at 64.2 (B), 69 (P, still down), 76 (B)
    assert chooser.current == PRIMARY
    assert not chooser.on_backup


def test_repeated_losses_keep_the_first_time() -> None:
    chooser = on_primary_with_others()
    chooser.lost(60.0)
    chooser.lost(62.9)
    chooser.join_failed(PRIMARY)
    assert chooser.next_server(62.9) == PRIMARY
    assert chooser.next_server(63.0) == BACKUP


def test_the_window_for_the_primary_is_configurable() -> None:
    chooser = ServerChooser(PRIMARY, BACKUP, primary_first_s=1.0)
    chooser.welcomed(PRIMARY, 1)
    tried = attempts_while_lost(chooser, 0.0, answers=BACKUP)
    assert tried == [(0.0, PRIMARY), (0.3, PRIMARY), (1.5, BACKUP)]


# --- no flapping back ---------------------------------------------------------------------------


def test_moved_to_the_backup_it_says_from_where_and_never_goes_back() -> None:
    chooser = on_primary_with_others()
    chooser.lost(60.0)
    chooser.join_failed(chooser.next_server(60.0))
    assert chooser.next_server(63.0) == BACKUP
    assert chooser.welcomed(BACKUP, 0) == Welcome(switched_from=PRIMARY, look_on=None)
    assert chooser.on_backup
    # Alone there, the others were on the primary before: still the backup (they will come).
    assert chooser.peer_left("timeout", 0) is None
    assert [s for _, s in attempts_while_lost(chooser, 200.0)] == [BACKUP] * 20
    assert chooser.next_server(10_000.0) == BACKUP


def test_welcomed_again_on_the_same_server_is_no_switch() -> None:
    chooser = on_primary_with_others()
    assert chooser.welcomed(PRIMARY, 1) == Welcome(None, None)


# --- keeping the couple together --------------------------------------------------------------


def test_alone_on_the_primary_after_others_were_there_looks_on_the_backup_once() -> None:
    chooser = on_primary_with_others()
    chooser.lost(60.0)  # back on the primary at once, but the others are not there
    assert chooser.welcomed(PRIMARY, 0) == Welcome(None, look_on=BACKUP)
    assert chooser.next_server(63.0) == BACKUP
    assert chooser.welcomed(BACKUP, 2) == Welcome(switched_from=PRIMARY, look_on=None)
    assert chooser.on_backup


def test_the_look_on_the_backup_failing_goes_back_to_the_primary_and_stays() -> None:
    chooser = on_primary_with_others()
    assert chooser.welcomed(PRIMARY, 0).look_on == BACKUP
    chooser.join_failed(chooser.next_server(70.0))
    assert chooser.next_server(70.3) == PRIMARY
    assert chooser.welcomed(PRIMARY, 0) == Welcome(None, None)  # looked once: now it waits
    assert chooser.peer_left("timeout", 0) is None


def test_alone_at_the_very_first_welcome_waits_for_the_others() -> None:
    chooser = ServerChooser(PRIMARY, BACKUP)
    assert chooser.welcomed(PRIMARY, 0) == Welcome(None, None)
    assert chooser.next_server(1.0) == PRIMARY


def test_someone_who_arrived_later_counts_as_having_been_there() -> None:
    chooser = ServerChooser(PRIMARY, BACKUP)
    chooser.welcomed(PRIMARY, 0)
    chooser.peer_joined()
    assert chooser.welcomed(PRIMARY, 0).look_on == BACKUP


def test_the_last_other_timing_out_looks_on_the_backup() -> None:
    chooser = on_primary_with_others()
    assert chooser.peer_left("timeout", 1) is None  # someone is still here
    assert chooser.peer_left("timeout", 0) == BACKUP
    assert chooser.next_server(100.0) == BACKUP


@pytest.mark.parametrize("reason", ["failed", "replaced"])
def test_other_departures_are_not_a_reason_to_look_elsewhere(reason: str) -> None:
    chooser = on_primary_with_others()
    assert chooser.peer_left(reason, 0) is None
    assert chooser.next_server(100.0) == PRIMARY


def test_everyone_leaving_on_purpose_leaves_nobody_to_look_for() -> None:
    chooser = on_primary_with_others()
    assert chooser.peer_left("left", 0) is None
    assert chooser.welcomed(PRIMARY, 0) == Welcome(None, None)


def test_a_departure_before_any_welcome_looks_nowhere() -> None:
    chooser = ServerChooser(PRIMARY, BACKUP)
    chooser.peer_joined()
    assert chooser.peer_left("timeout", 0) is None


def test_both_partners_following_the_rule_end_on_one_server() -> None:
    """A's path to the primary dies (B's does not): A moves to the backup after its first
    seconds; B, left alone on the primary when A's grace period runs out, looks there too."""
    a, b = on_primary_with_others(), on_primary_with_others()
    tried = attempts_while_lost(a, 60.0, answers=BACKUP)
    assert tried[-1] == (64.2, BACKUP)
    look = b.peer_left("timeout", 0)  # the server's grace (30 s) for A ran out
    assert look == BACKUP
    assert b.next_server(91.0) == BACKUP
    assert b.welcomed(BACKUP, 1) == Welcome(switched_from=PRIMARY, look_on=None)
    assert a.current == b.current == BACKUP
