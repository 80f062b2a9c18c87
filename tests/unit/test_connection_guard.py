"""The connection guard's books: caps per address and in total, who makes room, pending joins."""

from __future__ import annotations

import logging

import pytest

from app.server.connection_guard import ConnectionGuard, address_key
from app.server.connection_limits import PREJOIN_BYTES, ConnectionLimits


class Conn:
    """A stand-in connection: records what the guard did to it."""

    def __init__(self, name: str, unread: bool = False) -> None:
        self.name = name
        self.unread = unread
        self.evicted: list[str] = []
        self.budgets: list[int | None] = []

    def has_unread(self) -> bool:
        return self.unread

    def evict(self, why: str) -> None:
        self.evicted.append(why)

    def limit_reads(self, budget: int | None) -> None:
        self.budgets.append(budget)

    def __repr__(self) -> str:
        return self.name


def guard_of(**limits: int) -> ConnectionGuard:
    return ConnectionGuard(ConnectionLimits(**limits))


def opened(guard: ConnectionGuard, name: str, address: str, tls_handshake: bool = False) -> Conn:
    """A connection admitted; one still in its TLS handshake is not attached yet."""
    conn = Conn(name)
    assert guard.admit(conn, address, waiting=not tls_handshake), name
    if not tls_handshake:
        guard.attach(conn, ("transport", name))
    return conn


@pytest.mark.allow_log_warnings("app.server.connection_guard")
def test_per_address_cap_refuses_when_every_connection_there_is_busy() -> None:
    guard = guard_of(max_connections_per_address=2)
    first, second = opened(guard, "a1", "10.0.0.1"), opened(guard, "a2", "10.0.0.1")
    guard.headers_done(first)
    guard.headers_done(second)
    assert not guard.admit(Conn("a3"), "10.0.0.1")
    assert guard.events["refused_address"] == 1
    opened(guard, "b1", "10.0.0.2")  # another address is unaffected
    guard.closed(first)
    opened(guard, "a3", "10.0.0.1")  # room again
    assert guard.open_count == 3


def test_per_address_cap_closes_that_address_oldest_waiting_socket() -> None:
    guard = guard_of(max_connections_per_address=2)
    other = opened(guard, "b1", "10.0.0.2")
    oldest, newer = opened(guard, "a1", "10.0.0.1"), opened(guard, "a2", "10.0.0.1")
    third = opened(guard, "a3", "10.0.0.1")
    assert oldest.evicted == ["evicted_waiting"]
    assert newer.evicted == [] and other.evicted == [] and third.evicted == []
    assert guard.open_count == 3


def test_total_cap_closes_the_oldest_waiting_socket_anywhere() -> None:
    guard = guard_of(max_connections=3, max_connections_per_address=0)
    busy = opened(guard, "busy", "10.0.0.1")
    guard.headers_done(busy)
    idle1, idle2 = opened(guard, "idle1", "10.0.0.2"), opened(guard, "idle2", "10.0.0.3")
    newcomer = opened(guard, "new", "10.0.0.4")
    assert idle1.evicted == ["evicted_waiting"] and idle2.evicted == [] and busy.evicted == []
    assert guard.events["evicted_waiting"] == 1 and guard.open_count == 3
    guard.closed(idle1)  # the socket's own close, later: counted once
    assert guard.open_count == 3
    assert newcomer.evicted == []


@pytest.mark.allow_log_warnings("app.server.connection_guard")
def test_total_cap_refuses_when_nobody_is_waiting(caplog: pytest.LogCaptureFixture) -> None:
    guard = guard_of(max_connections=2, max_connections_per_address=0)
    in_handshake = opened(guard, "c1", "10.0.0.1", tls_handshake=True)  # not a candidate
    guard.headers_done(opened(guard, "c2", "10.0.0.2"))
    with caplog.at_level(logging.INFO, logger="app.server.connection_guard"):
        assert not guard.admit(Conn("c3"), "10.0.0.3")
        assert not guard.admit(Conn("c4"), "10.0.0.4")
    assert guard.events["refused_full"] == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "refusing new connections: 2 are open (max_connections); "
        "counts follow every 30 s while it lasts"
    ]  # once, not per refusal; and no address in it
    assert "10.0.0" not in caplog.text
    guard.attach(in_handshake, "its transport")  # handshake done: now it may make room
    assert guard.admit(Conn("c5"), "10.0.0.5") and in_handshake.evicted == ["evicted_waiting"]


@pytest.mark.allow_log_warnings("app.server.connection_guard")
def test_the_open_files_limit_lowers_the_cap(caplog: pytest.LogCaptureFixture) -> None:
    guard = guard_of(max_connections=1000, max_connections_per_address=0)
    guard.use_fd_limit(200)  # 64 kept aside, and one accept burst
    assert guard.ceiling == 120
    guard.use_fd_limit(100_000)
    assert guard.ceiling == 1000
    guard.use_fd_limit(None)
    assert guard.ceiling == 1000
    guard.use_fd_limit(81)
    assert guard.ceiling == 1
    guard.headers_done(opened(guard, "only", "10.0.0.1"))
    assert not guard.admit(Conn("more"), "10.0.0.2")
    assert "all the open-files limit leaves room for" in caplog.text


def test_a_socket_whose_bytes_have_arrived_is_passed_over() -> None:
    """A client admitted a moment ago has sent its request; the server has not read it yet."""
    guard = guard_of(max_connections=3, max_connections_per_address=0)
    fresh = Conn("fresh", unread=True)
    assert guard.admit(fresh, "10.0.0.1")
    idler = opened(guard, "idler", "10.0.0.2")
    opened(guard, "third", "10.0.0.3")
    assert guard.admit(Conn("new"), "10.0.0.4")
    assert fresh.evicted == [] and idler.evicted == ["evicted_waiting"]


def test_when_all_looked_at_have_bytes_waiting_the_oldest_goes() -> None:
    guard = guard_of(max_connections=20, max_connections_per_address=0)
    talkers = [Conn(f"t{i}", unread=True) for i in range(20)]
    for conn in talkers:
        assert guard.admit(conn, "10.0.0.1" if conn.name == "t0" else "10.0.0.2")
    assert guard.admit(Conn("new"), "10.0.0.3")
    assert [c.name for c in talkers if c.evicted] == ["t0"]


def test_headers_done_and_closed_are_safe_to_repeat() -> None:
    guard = guard_of()
    conn = opened(guard, "c", "10.0.0.1")
    for _ in range(2):
        guard.headers_done(conn)
        guard.closed(conn)
    guard.attach(conn, "late")  # a transport for a connection already gone: ignored
    assert guard.open_count == 0


def test_pending_joins_are_capped_oldest_first_and_budgeted() -> None:
    guard = guard_of(max_pending_joins=2)
    conns = [opened(guard, f"ws{i}", "10.0.0.1") for i in range(3)]
    pending = [guard.pending_join(("transport", c.name)) for c in conns]  # type: ignore[arg-type]
    assert [c.evicted for c in conns] == [["pending_join_evicted"], [], []]
    assert guard.pending_join_count == 2
    assert guard.events["pending_join_evicted"] == 1
    assert [c.budgets for c in conns] == [[PREJOIN_BYTES]] * 3
    pending[1].joined()
    assert conns[1].budgets == [PREJOIN_BYTES, None]
    assert guard.pending_join_count == 1
    pending[1].done()  # after joined(): nothing more
    pending[2].done()
    assert guard.pending_join_count == 0


def test_a_pending_join_without_a_guarded_connection_closes_its_transport() -> None:
    """Served by aiohttp's test server, the WebSocket has no GuardedProtocol around it."""

    class Transport:
        closed = False

        def close(self) -> None:
            self.closed = True

    guard = guard_of(max_pending_joins=1)
    first = Transport()
    guard.pending_join(first)  # type: ignore[arg-type]
    guard.pending_join(Transport()).joined()  # type: ignore[arg-type]
    assert first.closed and guard.pending_join_count == 0


@pytest.mark.allow_log_warnings("app.server.connection_guard")
def test_reports_sum_up_and_name_no_address(caplog: pytest.LogCaptureFixture) -> None:
    guard = guard_of(max_connections=1, max_connections_per_address=0)
    with caplog.at_level(logging.INFO, logger="app.server.connection_guard"):
        guard.report()
        assert caplog.records == []  # nothing happened: nothing said
        guard.count("header_timeout")
        guard.count("header_timeout")
        guard.report()
        assert caplog.records[-1].levelno == logging.INFO
        assert (
            "2 closed without a complete request within the header timeout; 0 open now"
            in caplog.records[-1].getMessage()
        )
        guard.headers_done(opened(guard, "c", "192.0.2.7"))
        assert not guard.admit(Conn("d"), "192.0.2.8")  # announced at once (quiet before)
        guard.report()
        assert caplog.records[-1].levelno == logging.WARNING
        assert "1 refused over the server's cap" in caplog.records[-1].getMessage()
        count = len(caplog.records)
        assert not guard.admit(Conn("e"), "192.0.2.9")  # not quiet: waits for the summary
        assert len(caplog.records) == count
        guard.report()
        guard.report()  # a quiet period: the next refusal is announced again
        assert not guard.admit(Conn("f"), "192.0.2.10")
        assert caplog.records[-1].getMessage().startswith("refusing new connections")
    assert "192.0.2" not in caplog.text


@pytest.mark.parametrize(
    ("peername", "key"),
    [
        (("203.0.113.9", 50000), "203.0.113.9"),
        (("2001:db8:1:2:aaaa::1", 50000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:bbbb::7", 50000, 0, 0), "2001:db8:1:2::/64"),
        (("fe80::1%eth0", 50000, 0, 2), "fe80::/64"),
        (("::ffff:198.51.100.4", 50000, 0, 0), "198.51.100.4"),
        ("/run/tandem.sock", "local"),
        (None, "local"),
        (("not-an-address", 1), "not-an-address"),
    ],
)
def test_address_key(peername: object, key: str) -> None:
    assert address_key(peername) == key
