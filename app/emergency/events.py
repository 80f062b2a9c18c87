"""What the emergency clients tell their listener (the desktop app, the headless commands).

Plain frozen values, delivered on the asyncio loop that runs the client, in the order things
happened. The couple's side (`EmergencyClient`) and the clinician's side (`OncallClient`) share
the connection events (`Connected` is the couple's, `OncallConnected` the clinician's; both get
`Offline`, `Refused`, `Declined` and `Ended`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.emergency.models import CallTicket, Case, CaseCard, Plan

# --- both sides ---------------------------------------------------------------------------------

# Why the client is offline (Offline.reason).
OFFLINE_UNREACHABLE = "unreachable"  # no connection: refused, no route, no name, TLS failed
OFFLINE_TIMEOUT = "timeout"  # no answer in time (connecting, or the heartbeat went silent)
OFFLINE_LOST = "lost"  # the connection closed under us
OFFLINE_PROTOCOL = "protocol"  # the server did not answer in the emergency protocol
OFFLINE_UNSUPPORTED = "unsupported"  # a server without emergency connect (HTTP 404)
OFFLINE_SERVER_ERROR = "server_error"  # the server closed with an error that may pass


@dataclass(frozen=True)
class Offline:
    """Not connected to the server: `retry_in_s` until the next attempt (0: an attempt is
    under way but has not been answered yet). The client keeps trying until closed."""

    reason: str
    retry_in_s: float


@dataclass(frozen=True)
class Refused:
    """The server refused us for good (token_invalid, token_expired, token_wrong_role,
    version_unsupported): the client stops. `message` is the server's words."""

    code: str
    message: str


@dataclass(frozen=True)
class Declined:
    """The server declined one request and the connection goes on (rate_limited,
    unknown_case, case_taken, not_available, bad_message, too_large)."""

    code: str
    message: str


@dataclass(frozen=True)
class Ended:
    """The case is over: `by` "clinician" or "couple", `outcome` as recorded."""

    case_id: str
    by: str
    outcome: str


# --- the couple's side --------------------------------------------------------------------------


@dataclass(frozen=True)
class Connected:
    """Connected (again): the couple's safety plan and open case as the server knows them."""

    plan: Plan | None
    case: Case | None


@dataclass(frozen=True)
class CaseChanged:
    case: Case


@dataclass(frozen=True)
class Ringing:
    """`count` clinicians of `tier` (1 first line, 2 backup) are being rung now."""

    case_id: str
    tier: int
    count: int


@dataclass(frozen=True)
class Escalated:
    """Level 1: rung again with the backup tier; 2: everyone available (say to call the crisis
    line now); 3: unanswered."""

    case_id: str
    level: int


@dataclass(frozen=True)
class Accepted:
    """A clinician took the case: join the call with `ticket` (app.emergency.call)."""

    case_id: str
    clinician: str
    ticket: CallTicket


@dataclass(frozen=True)
class Unanswered:
    """Nobody answered in time: lead with the crisis line; the case keeps ringing."""

    case_id: str


@dataclass(frozen=True)
class RaisedBy:
    """The other partner raised the alarm: "Alex asked for help — join now"."""

    case_id: str
    name: str = field(repr=False)


@dataclass(frozen=True)
class PlanChanged:
    plan: Plan


CoupleEvent = (
    Connected
    | Offline
    | Refused
    | Declined
    | CaseChanged
    | Ringing
    | Escalated
    | Accepted
    | Unanswered
    | Ended
    | RaisedBy
    | PlanChanged
)


# --- the clinician's side -----------------------------------------------------------------------


@dataclass(frozen=True)
class OncallConnected:
    """Connected (again) as `name` of `tier`; `cases` are the open cases this clinician sees.
    A new connection starts away: the client asks again for the availability last chosen."""

    name: str = field(repr=False)
    tier: int
    available: bool
    cases: tuple[CaseCard, ...]


@dataclass(frozen=True)
class AvailabilityChanged:
    available: bool


@dataclass(frozen=True)
class Ring:
    """A case rings for us; `ms_since_request` by the server's clock."""

    case_id: str
    tier: int
    ms_since_request: float
    card: CaseCard


@dataclass(frozen=True)
class CaseAccepted:
    """We hold the case: its card (with the plan) and the ticket to the call."""

    card: CaseCard
    ticket: CallTicket

    @property
    def case_id(self) -> str:
        return self.card.case_id


@dataclass(frozen=True)
class CaseUpdated:
    """A case we see changed (the couple's location, a partner joining, a new plan)."""

    card: CaseCard


@dataclass(frozen=True)
class CaseTaken:
    """Another clinician took the case (`by`; None when our accept came too late and the
    server did not say who)."""

    case_id: str
    by: str | None


@dataclass(frozen=True)
class CaseCancelled:
    """The couple cancelled a case that was ringing: stop ringing."""

    case_id: str


@dataclass(frozen=True)
class CoupleCancelled:
    """The couple said "I'm safe now" on the case we hold: we end it with an outcome."""

    case_id: str


OncallEvent = (
    OncallConnected
    | Offline
    | Refused
    | Declined
    | AvailabilityChanged
    | Ring
    | CaseAccepted
    | CaseUpdated
    | CaseTaken
    | CaseCancelled
    | CoupleCancelled
    | Ended
)

CoupleListener = Callable[[CoupleEvent], None]
OncallListener = Callable[[OncallEvent], None]
