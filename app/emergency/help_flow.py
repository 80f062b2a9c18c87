"""What the couple's help screen says, from the click on "Get help now" to the end of the case.

A plain state machine with an injected clock (`now`, monotonic seconds): the desktop app feeds
it the click, the emergency connection's events (docs/emergency.md) and a tick; it answers with
a `HelpView`, the words and switches the screen renders. Nothing here waits, connects or draws.

The rules a frightened person relies on live here:
- the live status and the crisis numbers are shown together from the first second;
- no answer from the clinic within `OFFLINE_AFTER_S` means "offline": the card leads with the
  crisis line and the couple's safety plan, and says that Tandem keeps trying;
- escalation level 2 says plainly to call the crisis line now; unanswered leads with the crisis
  line and the local emergency number;
- practice mode never pretends that a clinician is on call.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

OFFLINE_AFTER_S = 1.5  # the crisis card must lead within 2 s when the clinic cannot be reached


class Phase(enum.Enum):
    IDLE = "idle"  # nothing asked for
    PRACTICE = "practice"  # "Get help now" in practice mode: the real numbers, no clinician
    NO_CODE = "no_code"  # clinic mode, but no join code on this computer to say who we are
    CONNECTING = "connecting"  # asked; the clinic's answer is not in yet
    RINGING = "ringing"  # the on-call roster is being rung (levels 0-2)
    UNANSWERED = "unanswered"  # nobody answered in time; it keeps ringing
    OFFLINE = "offline"  # the clinic cannot be reached; retrying in the background
    ACCEPTED = "accepted"  # a clinician took the case: the call opens
    REFUSED = "refused"  # the clinic did not accept the join code
    DECLINED = "declined"  # the clinic declined a new request (too many in a short time)
    CANCELLED = "cancelled"  # "I'm safe now"
    ENDED = "ended"  # the clinician ended the case

    @property
    def open(self) -> bool:
        """A request is on its way or being handled: pressing again joins it."""
        # A set built after the class: members are not usable inside their own class body.
        return self in _OPEN


_OPEN = frozenset(
    {Phase.CONNECTING, Phase.RINGING, Phase.UNANSWERED, Phase.OFFLINE, Phase.ACCEPTED}
)
_TICKING = frozenset({Phase.CONNECTING, Phase.RINGING, Phase.UNANSWERED, Phase.OFFLINE})


class Press(enum.Enum):
    """What the app should do after a press of "Get help now"."""

    REQUEST = "request"  # send an emergency request (a new case, or join the open one)
    SHOW = "show"  # only show the card (no request possible, or one is already queued)


@dataclass(frozen=True)
class CrisisWords:
    """The numbers the wording names, from the clinic profile.

    `crisis_line` is "" when no crisis line works where the couple lives (the profile's
    `crisis_line_here`): the words then send them to the clinic's phone, else the emergency
    number, and never name a line that cannot be dialled there.
    """

    crisis_line: str = "988"
    emergency_number: str = "911"
    clinic_phone: str = ""

    @property
    def call_now(self) -> str:
        """The one sentence that says whom to call right now, with the number in it."""
        if self.crisis_line:
            return f"Call the crisis line now: {self.crisis_line}."
        if self.clinic_phone:
            return f"Call your clinic now: {self.clinic_phone}."
        return f"Call {self.emergency_number} now."

    @property
    def call_now_or_danger(self) -> str:
        """`call_now`, then the emergency number unless that is already the one named."""
        if not self.crisis_line and not self.clinic_phone:
            return self.call_now
        return f"{self.call_now} In immediate danger, call {self.emergency_number}."

    @property
    def talk_number(self) -> str:
        """The number to call to talk to someone right away."""
        return self.crisis_line or self.clinic_phone or self.emergency_number

    @property
    def beside(self) -> str:
        """What sits beside the status on the card, named for a person who may need it now."""
        if self.crisis_line:
            return "The crisis line is beside this"
        return "The numbers are beside this"


@dataclass(frozen=True)
class HelpView:
    """What the help screen shows now. The numbers themselves are always shown beside it."""

    phase: Phase
    headline: str
    detail: str
    lead_with_numbers: bool  # the crisis line and emergency number come first
    show_plan: bool  # the couple's own safety plan (cached on this computer)
    can_cancel: bool  # "I'm safe now, cancel"
    retrying: bool  # Tandem keeps trying in the background, and says so
    practice_run: bool  # the simulated flow ("Practice the help button")
    clinician: str | None = None
    level: int = 0  # escalation level (0-3)

    @property
    def moment(self) -> tuple[Phase, int, bool]:
        """Changes when what the screen says changes, not with the ticking timer: a screen
        reader is told each new moment once."""
        return (self.phase, self.level, self.practice_run)


def clock_text(seconds: float) -> str:
    """0:07, 1:35, 1:02:03: the time since the request, as a person reads a timer."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


class HelpFlow:
    """One couple's help request as this app sees it. `practice_mode`: no clinician exists;
    `has_code`: a join code is remembered (else no request can be made)."""

    def __init__(
        self,
        words: CrisisWords,
        now: Callable[[], float],
        *,
        practice_mode: bool = False,
        has_code: bool = True,
    ) -> None:
        self.words = words
        self._now = now
        self.practice_mode = practice_mode
        self.has_code = has_code
        self.phase = Phase.IDLE
        self.practice_run = False
        self.level = 0
        self.rung: int | None = None  # how many clinicians are being rung now (None: not known)
        self.case_id: str | None = None
        self.clinician: str | None = None
        self.outcome = ""
        self.ended_by = ""
        self._started: float | None = None

    # --- the couple's actions ------------------------------------------------------------
    def press(self) -> Press:
        """ "Get help now": start at once, or join the request already open."""
        if self.practice_mode:
            # Never pretend: a real press in practice mode ends any practice run and shows the
            # real numbers (the app stops the simulated clinician).
            self._reset()
            self.practice_run = False
            self.phase = Phase.PRACTICE
            return Press.SHOW
        if self.phase.open:
            return Press.REQUEST  # join the same case (and update the location)
        self._reset()
        self.practice_run = False
        if not self.has_code:
            self.phase = Phase.NO_CODE
            return Press.SHOW
        self._start()
        return Press.REQUEST

    def practise(self) -> Press:
        """ "Practice the help button": the whole flow against a simulated on-call clinician."""
        if self.phase.open:
            return Press.REQUEST if self.practice_run else Press.SHOW
        self._reset()
        self.practice_run = True
        self._start()
        return Press.REQUEST

    def cancel(self) -> str | None:
        """ "I'm safe now, cancel": the case to cancel on the server (None: none was opened)."""
        if not self.phase.open:
            return None
        self.phase = Phase.CANCELLED
        return self.case_id

    def tick(self) -> bool:
        """Time passed; True when the phase changed (no answer in time means offline)."""
        if self.phase is Phase.CONNECTING and self.elapsed() >= OFFLINE_AFTER_S:
            self.phase = Phase.OFFLINE
            return True
        return False

    # --- the connection's events -----------------------------------------------------------
    def unreachable(self) -> None:
        """The clinic's server cannot be reached (refused, timed out, the computer offline)."""
        if self.phase in (Phase.CONNECTING, Phase.RINGING, Phase.UNANSWERED):
            self.phase = Phase.OFFLINE

    def refused(self) -> None:
        """The clinic refused the join code (invalid, expired, wrong role)."""
        if self.phase.open:
            self.phase = Phase.REFUSED

    def case(
        self,
        case_id: str,
        state: str,
        level: int = 0,
        clinician: str | None = None,
        waited_s: float = 0.0,
    ) -> None:
        """A `case` from the server (also the open case in `hello_ok`)."""
        if not self.phase.open or (self.case_id not in (None, case_id)):
            return
        self.case_id = case_id
        self._started = min(self._started or self._now(), self._now() - max(0.0, waited_s))
        self.level = max(self.level, level)
        if state == "ringing":
            if self.phase is not Phase.UNANSWERED:
                self.phase = Phase.UNANSWERED if self.level >= 3 else Phase.RINGING
        elif state == "unanswered":
            self.phase = Phase.UNANSWERED
        elif state == "accepted":
            self.accepted(clinician or self.clinician or "")
        elif state in ("ended", "cancelled"):
            self.phase = Phase.CANCELLED if state == "cancelled" else Phase.ENDED

    def ringing(self, count: int) -> None:
        """`count` clinicians are being rung now (the status says so)."""
        if self.phase in (Phase.CONNECTING, Phase.OFFLINE, Phase.RINGING):
            self.rung = max(0, count)
            self.phase = Phase.RINGING

    def declined(self) -> None:
        """The server declined the request (rate limited) and no case is open for us."""
        if self.phase is Phase.CONNECTING or (self.phase.open and self.case_id is None):
            self.phase = Phase.DECLINED

    def escalated(self, level: int) -> None:
        if self.phase in (Phase.RINGING, Phase.CONNECTING, Phase.OFFLINE):
            self.level = max(self.level, level)
            self.phase = Phase.UNANSWERED if level >= 3 else Phase.RINGING

    def unanswered(self) -> None:
        if self.phase in (Phase.RINGING, Phase.CONNECTING, Phase.OFFLINE):
            self.level = 3
            self.phase = Phase.UNANSWERED

    def accepted(self, clinician: str) -> None:
        if self.phase.open:
            self.phase = Phase.ACCEPTED
            self.clinician = clinician.strip() or "The on-call clinician"

    def ended(self, by: str, outcome: str = "") -> None:
        if self.phase.open:
            self.phase = Phase.CANCELLED if by == "couple" else Phase.ENDED
            self.ended_by, self.outcome = by, outcome

    # --- reading -------------------------------------------------------------------------
    def elapsed(self) -> float:
        return 0.0 if self._started is None else max(0.0, self._now() - self._started)

    @property
    def ticking(self) -> bool:
        """The status shows a running timer (the app ticks while this is true)."""
        return self.phase in _TICKING

    # --- internals -----------------------------------------------------------------------
    def _start(self) -> None:
        self.phase = Phase.CONNECTING
        self._started = self._now()

    def _reset(self) -> None:
        self.level = 0
        self.rung = None
        self.case_id = None
        self.clinician = None
        self.outcome = self.ended_by = ""
        self._started = None
