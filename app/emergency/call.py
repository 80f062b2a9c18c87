"""The case's call: an ordinary call of `app.call` (the same engine, the same continuity),
joined with the ticket the server gave on accept (docs/emergency.md, CallTicket)."""

from __future__ import annotations

from app.call.setup import CallSetup, clinic_call
from app.emergency.models import CallTicket


def ticket_call(ticket: CallTicket, backup_url: str | None = None) -> CallSetup:
    """The CallSetup that joins the case's emergency room (loopback ICE when the server is on
    this machine, as for any clinic call)."""
    return clinic_call(ticket.server, ticket.token, backup_url)
