"""One emergency case as a pure state machine: ringing, escalation levels, accept, cancel, end.

No I/O and no asyncio: the caller asks `next_due()` when to call `advance()` and reads the
clock it injected (`now`), so tests drive minutes of escalation in milliseconds. Who is rung
follows docs/emergency.md: tier 1 first (tier 2 at once if no tier 1 is available), tiers 1 and
2 at level 1, everyone available from level 2 on; level 3 is "unanswered", and ringing goes on.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

FIRST_LINE = 1
BACKUP = 2
UNANSWERED_LEVEL = 3
DEFAULT_FOLLOW_UP_S = 24 * 3600.0
MAX_FOLLOW_UP_S = 7 * 24 * 3600.0
OUTCOMES = frozenset({"safe", "referred", "emergency_services", "no_contact", "other"})


class CaseState(enum.StrEnum):
    RINGING = "ringing"
    ACCEPTED = "accepted"
    UNANSWERED = "unanswered"
    ENDED = "ended"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset({CaseState.RINGING, CaseState.ACCEPTED, CaseState.UNANSWERED})
RINGING_STATES = frozenset({CaseState.RINGING, CaseState.UNANSWERED})


class AcceptResult(enum.Enum):
    ACCEPTED = "accepted"  # this clinician holds the case now
    TAKEN = "taken"  # another clinician was first
    CLOSED = "closed"  # cancelled or ended before the accept
    NOT_RUNG = "not_rung"  # this clinician was never rung for the case


class CancelResult(enum.Enum):
    CANCELLED = "cancelled"  # it was still ringing: the case is closed
    TELL_CLINICIAN = "tell_clinician"  # accepted: recorded, the clinician ends the case
    CLOSED = "closed"  # already closed: nothing to do


class EscalationError(Exception):
    """A step the case cannot take now (the message says why, for the error to the client)."""


@dataclass(frozen=True)
class Timings:
    """Seconds from the request to each escalation level (`[emergency]` in the server config)."""

    ring_again_s: float = 30.0
    everyone_s: float = 60.0
    unanswered_s: float = 90.0

    def offsets(self) -> tuple[float, float, float]:
        return (self.ring_again_s, self.everyone_s, self.unanswered_s)

    def check(self) -> None:
        """Raise ValueError unless the levels come in order, each after a positive wait."""
        values = self.offsets()
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError("ring_again_s, everyone_s and unanswered_s must be positive")
        if not values[0] < values[1] < values[2]:
            raise ValueError("ring_again_s < everyone_s < unanswered_s is required")

    def level_after(self, waited_s: float) -> int:
        return sum(1 for offset in self.offsets() if waited_s >= offset)


class Escalation:
    """The state of one case and who has been rung for it. `now` is a unix-seconds clock."""

    def __init__(
        self,
        requested_at: float,
        timings: Timings,
        now: Callable[[], float],
        *,
        state: CaseState = CaseState.RINGING,
        level: int = 0,
        clinician: str | None = None,
    ) -> None:
        self.requested_at = requested_at
        self.timings = timings
        self._now = now
        self.state = state
        self.level = level
        self.clinician = clinician
        self.rung: dict[str, int] = {}  # clinician name -> tier, everyone rung so far

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_ringing(self) -> bool:
        return self.state in RINGING_STATES

    def waited_s(self) -> float:
        return max(0.0, self._now() - self.requested_at)

    def next_due(self) -> float | None:
        """When the next level is reached (unix s), or None when no level is left to reach."""
        if not self.is_ringing or self.level >= UNANSWERED_LEVEL:
            return None
        return self.requested_at + self.timings.offsets()[self.level]

    def advance(self) -> list[int]:
        """The levels reached since the last call, in order (several after a server restart)."""
        if not self.is_ringing:
            return []
        target = self.timings.level_after(self.waited_s())
        reached = list(range(self.level + 1, target + 1))
        if reached:
            self._set(level=target)
            if target >= UNANSWERED_LEVEL:
                self._set(state=CaseState.UNANSWERED)
        return reached

    def targets(self, available: Mapping[str, int]) -> dict[str, int]:
        """Whom to ring at the current level, from the clinicians available now (name -> tier)."""
        if not self.is_ringing:
            return {}
        if self.level >= 1:  # level 1: tiers 1 and 2; level 2 on: everyone (the same two tiers)
            return dict(available)
        first_line = {name: t for name, t in available.items() if t == FIRST_LINE}
        return first_line or {name: t for name, t in available.items() if t == BACKUP}

    def ring(self, available: Mapping[str, int]) -> dict[str, int]:
        """Everyone to ring now at this level; they count as rung from here on."""
        chosen = self.targets(available)
        self.rung.update(chosen)
        return chosen

    def ring_newcomer(self, name: str, available: Mapping[str, int]) -> int | None:
        """A clinician who just became available: its tier if this case rings it at once."""
        tier = self.targets(available).get(name)
        if tier is not None:
            self.rung[name] = tier
        return tier

    def ringing_tier(self, available: Mapping[str, int]) -> int:
        """The highest tier a couple is told is being rung: 2 when a backup clinician is among
        those rung now, else 1 (at level 1 the backup tier is asked in, but with none of it
        available only first-line clinicians ring)."""
        targets = self.targets(available)
        return BACKUP if BACKUP in targets.values() else FIRST_LINE

    def accept(self, name: str) -> AcceptResult:
        """The first accept wins; a clinician must have been rung for the case."""
        if not self.is_open:
            return AcceptResult.CLOSED
        if self.state is CaseState.ACCEPTED:
            return AcceptResult.TAKEN
        if name not in self.rung:
            return AcceptResult.NOT_RUNG
        self.clinician = name
        self._set(state=CaseState.ACCEPTED)
        return AcceptResult.ACCEPTED

    def cancel(self) -> CancelResult:
        """The couple says they are safe now."""
        if self.is_ringing:
            self._set(state=CaseState.CANCELLED)
            return CancelResult.CANCELLED
        if self.state is CaseState.ACCEPTED:
            return CancelResult.TELL_CLINICIAN
        return CancelResult.CLOSED

    def end(self, name: str, outcome: str, follow_up_due: float | None = None) -> float:
        """The clinician holding the case closes it; returns the follow-up due (unix s)."""
        if self.state is not CaseState.ACCEPTED or self.clinician != name:
            raise EscalationError("only the clinician holding the case can end it")
        if outcome not in OUTCOMES:
            raise EscalationError(f"outcome must be one of {', '.join(sorted(OUTCOMES))}")
        now = self._now()
        due = now + DEFAULT_FOLLOW_UP_S if follow_up_due is None else follow_up_due
        if not (math.isfinite(due) and now < due <= now + MAX_FOLLOW_UP_S):
            raise EscalationError("follow_up_due must be in the future and at most 7 days away")
        self._set(state=CaseState.ENDED)
        return due

    def _set(self, *, state: CaseState | None = None, level: int | None = None) -> None:
        old = (self.state, self.level)
        if state is not None:
            self.state = state
        if level is not None:
            self.level = level
        log.debug("case %s/%d -> %s/%d", old[0], old[1], self.state, self.level)
