"""The help screen's words for each moment of a help request (HelpFlow decides the moment).

Written for a frightened person: short sentences, the number to call in the sentence itself,
never a bare "please wait". Every state that cannot promise a clinician says so and names the
crisis line; the numbers themselves are always on the screen beside these words.
"""

from __future__ import annotations

from app.emergency.help_flow import CrisisWords, HelpFlow, HelpView, Phase, clock_text

CALLING = "Calling the on-call clinician…"
STILL_TRYING = "Still trying to reach a clinician…"
KEEP_OPEN = "Keep this window open: if a clinician answers, the video call opens here."
PRACTICE_NO_CLINICIAN = (
    "This is practice mode, on this computer only: no clinician is on call here, and no one "
    "is being called."
)
PRACTICE_RUN_NOTE = (
    "Practice run: the on-call clinician is simulated and no one is really being called. "
    "In a real emergency, call the numbers on this card."
)


def describe(flow: HelpFlow) -> HelpView:
    """The view for the flow as it is now (the timer is read from the flow's clock)."""
    words = flow.words
    emergency = words.emergency_number
    timer = clock_text(flow.elapsed())
    phase = flow.phase
    lead, plan, cancel, retrying = False, False, phase.open, False
    if phase is Phase.IDLE:
        headline = "If you need help now, call the numbers on this card."
        detail = ""
    elif phase is Phase.PRACTICE:
        headline = words.call_now
        detail = (
            f"{PRACTICE_NO_CLINICIAN} If you are in immediate danger, call {emergency}. "
            "To see how the help button works with your clinic, use “Practice the help "
            "button”."
        )
        lead, plan = True, True
    elif phase is Phase.NO_CODE:
        headline = words.call_now
        detail = (
            "Tandem cannot call your clinic's on-call clinician from this computer yet: it "
            "does not have your join code. It remembers the code once you join a session with "
            f"it. If you are in immediate danger, call {emergency}."
        )
        lead, plan = True, True
    elif phase is Phase.CONNECTING:
        headline = f"{CALLING} {timer}"
        detail = f"Connecting to your clinic. {words.beside}, if you need it now."
    elif phase is Phase.RINGING:
        headline, detail = _ringing(flow.level, timer, words, flow.rung)
        lead = flow.level >= 2
    elif phase is Phase.UNANSWERED:
        headline = words.call_now_or_danger
        detail = (
            "No on-call clinician has answered yet. Tandem keeps calling them, and your clinic "
            f"has been alerted. {KEEP_OPEN} Waiting {timer}."
        )
        lead, plan, retrying = True, True, True
    elif phase is Phase.OFFLINE:
        headline = f"Tandem cannot reach your clinic. {words.call_now}"
        detail = (
            f"In immediate danger, call {emergency}. Your computer may be offline, or the "
            "clinic's server is not answering. Tandem keeps trying in the background and calls "
            f"the on-call clinician as soon as it gets through. Trying for {timer}."
        )
        lead, plan, retrying = True, True, True
    elif phase is Phase.ACCEPTED:
        who = flow.clinician or "The on-call clinician"
        headline = f"{who} answered. The video call is opening…"
        detail = "Stay where you are; you will see and hear them in a moment."
    elif phase is Phase.REFUSED:
        headline = words.call_now
        detail = (
            "Your clinic did not accept the join code saved on this computer, so Tandem cannot "
            f"call the on-call clinician. In immediate danger, call {emergency}. Ask your "
            "clinic for a new join code when you can."
        )
        lead, plan = True, True
    elif phase is Phase.DECLINED:
        headline = words.call_now
        detail = (
            "Your clinic's server did not take another request for help just now (there were "
            f"several in a short time). In immediate danger, call {emergency}. You can press "
            "“Get help now” again in a few minutes."
        )
        lead, plan = True, True
    elif phase is Phase.CANCELLED:
        headline = "Your request for help is cancelled."
        detail = "If you need help again, press “Get help now” at any time."
    else:  # Phase.ENDED
        headline = "The on-call call has ended."
        detail = (
            "Your clinic will follow up with you. If you need help again, press “Get help now” "
            "or call the numbers on this card."
        )
    if flow.practice_run:
        detail = f"{PRACTICE_RUN_NOTE} {detail}".strip()
    return HelpView(
        phase=phase,
        headline=headline,
        detail=detail,
        lead_with_numbers=lead,
        show_plan=plan,
        can_cancel=cancel,
        retrying=retrying,
        practice_run=flow.practice_run,
        clinician=flow.clinician,
        level=flow.level,
    )


def _ringing(level: int, timer: str, words: CrisisWords, rung: int | None) -> tuple[str, str]:
    if level >= 2:
        return (
            f"{STILL_TRYING} {timer}",
            f"Please {words.call_now[0].lower()}{words.call_now[1:]} Tandem keeps calling every "
            f"on-call clinician. {KEEP_OPEN}",
        )
    if level == 1:
        return (
            f"{CALLING} {timer}",
            "No one has answered yet, so Tandem is calling them again and the backup "
            f"clinician too. {words.beside}, if you need it now.",
        )
    if rung == 0:
        return (
            f"{CALLING} {timer}",
            "No on-call clinician is free this very moment; Tandem keeps calling the whole "
            f"on-call team. If you need to talk to someone right away, call {words.talk_number}.",
        )
    who = (
        f"{rung} on-call clinicians are being called now."
        if rung is not None and rung > 1
        else "Your clinic's on-call clinician is being called now."
    )
    return (f"{CALLING} {timer}", f"{who} {words.beside}, if you need it now.")


def partner_prompt(name: str | None) -> str:
    """The other partner's app when a help request opens: one click joins the same case."""
    who = (name or "").strip() or "Your partner"
    return f"{who} asked for help — join now"
