"""The objects of docs/emergency.md as typed values: a case, a clinician's case card, a safety
plan and the ticket to a case's call. `app.emergency.protocol` builds them from server messages
(and refuses malformed ones); the events carry them to the UI and the headless commands."""

from __future__ import annotations

from dataclasses import dataclass, field

CASE_STATES = frozenset({"ringing", "accepted", "unanswered", "ended", "cancelled"})
# A case in one of these states may still reach a clinician (an unanswered case keeps ringing).
OPEN_STATES = frozenset({"ringing", "accepted", "unanswered"})
OUTCOMES = ("safe", "referred", "emergency_services", "no_contact", "other")


@dataclass(frozen=True)
class Plan:
    """The couple's safety plan as the clinic wrote it (Markdown). Never logged."""

    text: str = field(repr=False)
    updated_at: float  # unix seconds, the server's clock


@dataclass(frozen=True)
class CallTicket:
    """What joins the case's emergency room on `/ws`: the server, the room and a token minted
    for this case (valid 2 h). The token stays out of repr, so it never reaches a log."""

    server: str
    room: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class Case:
    case_id: str
    state: str  # one of CASE_STATES
    requested_at: float  # unix seconds, the server's clock
    waited_s: float
    level: int  # escalation level 0..3
    clinician: str | None
    location: str | None = field(repr=False)  # never logged

    @property
    def open(self) -> bool:
        """Still ringing or in a call: a new request joins it rather than opening another."""
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class CaseCard:
    """A case as the on-call clinician sees it: the couple's names, and the plan once
    accepted."""

    case: Case
    couple_names: tuple[str, ...] = field(repr=False)
    plan: Plan | None = None

    @property
    def case_id(self) -> str:
        return self.case.case_id
