"""Emergency connect on the session server (docs/emergency.md): the on-call roster, cases with
their escalation, the append-only records and the couples' safety plans, served at
`/emergency/ws`. Qt-free; the escalation is a pure state machine with an injected clock."""
