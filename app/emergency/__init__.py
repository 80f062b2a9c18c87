"""Emergency connect, the client side (Qt-free): docs/emergency.md.

`EmergencyClient` speaks for a couple on `/emergency/ws`, `OncallClient` for an on-call
clinician; both tell a listener what happens as the plain events of `app.emergency.events`.
`PlanCache` keeps the couple's safety plan on this computer for the offline crisis card, and
`LocationMemory` the optional "where are you now" text. The call itself, once a clinician
accepts, is an ordinary call of `app.call` joined with the case's ticket (`ticket_call`).
"""
