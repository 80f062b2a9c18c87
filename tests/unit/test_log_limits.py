"""Repeated log records are rate limited per kind; the next one let through says how many went."""

from __future__ import annotations

import logging
import sys

from app.server.log_limits import MAX_KINDS, RepeatFilter, install


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def record(
    msg: str, *args: object, name: str = "app.server.x", traceback: bool = False
) -> logging.LogRecord:
    exc_info = None
    if traceback:
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args or None, exc_info)


def test_a_kind_passes_its_quota_then_is_counted_and_reported() -> None:
    clock = Clock()
    limiter = RepeatFilter(window_s=60, per_window=3, now=clock)
    passed = [limiter.filter(rec := record("peer %s refused: %s", f"p{i}", "x")) for i in range(10)]
    assert passed == [True] * 3 + [False] * 7
    assert rec.getMessage() == "peer p9 refused: x"  # a suppressed record is left as it was
    clock.t += 59.9
    assert not limiter.filter(record("peer %s refused: %s", "p", "x"))
    clock.t += 0.2  # a new window
    first = record("peer %s refused: %s", "p10", "y")
    assert limiter.filter(first)
    assert first.getMessage() == (
        "peer p10 refused: y [8 similar messages suppressed before this one]"
    )


def test_the_last_record_of_a_quota_says_what_follows() -> None:
    limiter = RepeatFilter(window_s=60, per_window=2, now=Clock())
    records = [record("joined %s", str(i)) for i in range(2)]
    assert all(limiter.filter(r) for r in records)
    assert records[0].getMessage() == "joined 0"
    assert records[1].getMessage() == "joined 1 [further similar messages suppressed for 60 s]"


def test_kinds_are_counted_apart() -> None:
    limiter = RepeatFilter(window_s=60, per_window=1, now=Clock())
    assert limiter.filter(record("one %s", "a"))
    assert limiter.filter(record("two %s", "a"))
    assert limiter.filter(record("one %s", "a", name="app.server.other"))
    assert not limiter.filter(record("one %s", "b"))


def test_tracebacks_have_a_smaller_quota_and_a_multiline_message_is_one_kind() -> None:
    limiter = RepeatFilter(window_s=60, per_window=30, tracebacks_per_window=2, now=Clock())
    # asyncio's message names the socket on its second line, which may differ.
    results = [
        limiter.filter(
            record(f"socket.accept() out of system resource\nsocket: fd={i}", traceback=True)
        )
        for i in range(5)
    ]
    assert results == [True, True, False, False, False]
    # The same words without a traceback are another kind.
    assert limiter.filter(record("socket.accept() out of system resource"))


def test_templates_without_arguments_keep_their_percent_signs() -> None:
    limiter = RepeatFilter(window_s=60, per_window=1, now=Clock())
    rec = record("100% busy")
    assert limiter.filter(rec)
    assert rec.getMessage() == "100% busy [further similar messages suppressed for 60 s]"


def test_memory_is_bounded_by_the_number_of_kinds() -> None:
    limiter = RepeatFilter(window_s=60, per_window=1, now=Clock())
    for i in range(MAX_KINDS + 50):
        assert limiter.filter(record(f"kind {i}"))
    assert len(limiter._kinds) == MAX_KINDS
    assert limiter.filter(record("kind 0"))  # forgotten, so new again


def test_install_puts_one_filter_on_each_handler() -> None:
    handlers = [logging.StreamHandler(), logging.StreamHandler()]
    first = install(handlers)
    assert len(first) == 2 and [h.filters for h in handlers] == [[first[0]], [first[1]]]
    assert install(handlers) == []  # a second call adds nothing
    assert [len(h.filters) for h in handlers] == [1, 1]
