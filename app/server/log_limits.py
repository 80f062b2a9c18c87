"""Rate limits on repeated log records, so hostile traffic cannot fill a disk with logs.

An attacker controls how often some lines are written: a refusal per connection, asyncio's
"socket.accept() out of system resource" traceback per pending connection (megabytes a second
when descriptors run out). `RepeatFilter` lets a few records of each kind through per window
and counts the rest; the next record of that kind let through says how many were left out.

A kind is the logger, the level, the first line of the message template (never the formatted
message, so changing arguments do not make new kinds) and the exception type. Records with a
traceback are far larger, so fewer of them pass.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

WINDOW_S = 60.0
# Plain records of one kind per window: five a second on average, so the joins of a clinic's
# busy hour (a few hundred within minutes) are all logged, while a flood of refusals writes at
# most ~50 MB a day instead of tens of MB a minute.
PER_WINDOW = 300
TRACEBACKS_PER_WINDOW = 3  # records that carry a traceback
MAX_KINDS = 512  # kinds remembered; the least recently seen is forgotten first

Key = tuple[str, int, str, str]


@dataclass
class _Count:
    window_start: float
    passed: int = 0
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Drops records of one kind beyond a per-window quota; says so on the next that passes."""

    def __init__(
        self,
        window_s: float = WINDOW_S,
        per_window: int = PER_WINDOW,
        tracebacks_per_window: int = TRACEBACKS_PER_WINDOW,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self.per_window = per_window
        self.tracebacks_per_window = tracebacks_per_window
        self.now = now
        self._kinds: OrderedDict[Key, _Count] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        key = _kind(record)
        now = self.now()
        count = self._kinds.get(key)
        if count is None:
            count = self._kinds[key] = _Count(now)
            while len(self._kinds) > MAX_KINDS:
                self._kinds.popitem(last=False)
        self._kinds.move_to_end(key)
        suppressed_before = 0
        if now - count.window_start >= self.window_s:
            suppressed_before = count.suppressed
            count.window_start, count.passed, count.suppressed = now, 0, 0
        quota = self.tracebacks_per_window if record.exc_info else self.per_window
        if count.passed >= quota:
            count.suppressed += 1
            return False
        count.passed += 1
        notes = []
        if suppressed_before:
            notes.append(f"{suppressed_before} similar messages suppressed before this one")
        if count.passed == quota:
            notes.append(f"further similar messages suppressed for {self.window_s:.0f} s")
        if notes:  # words and numbers only: no %-placeholder for the template's arguments
            record.msg = f"{record.msg} [{'; '.join(notes)}]"
        return True


def _kind(record: logging.LogRecord) -> Key:
    template = str(record.msg).split("\n", 1)[0][:200]
    exc_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
    return (record.name, record.levelno, template, exc_type)


def install(handlers: Iterable[logging.Handler] | None = None) -> list[RepeatFilter]:
    """Put a RepeatFilter on each of `handlers` (default: the root logger's), where every
    logger's records arrive, asyncio's and aiohttp's included. One each: a filter counts the
    records its handler is offered. A handler that has one already keeps it."""
    limiters = []
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if any(isinstance(existing, RepeatFilter) for existing in handler.filters):
            continue
        limiter = RepeatFilter()
        handler.addFilter(limiter)
        limiters.append(limiter)
    return limiters
