"""Outbound follow-ups and reminders: the pure foundation.

Data in, data out; no Flask, Redis, RQ, Twilio or database here, and no clock (``now`` is passed in).

- :mod:`.rules`   — ``flows/outbound.yaml`` → :class:`~.rules.OutboundRules` (schema-checked, every problem at once)
- :mod:`.lint`    — the discretion lint for outbound words and the caller name (CNAM)
- :mod:`.zones`   — the client's time zones, quiet hours, holidays and closures, across DST
- :mod:`.facts`   — what the planner is told: clients, appointments, past touches, replies, opt-outs
- :mod:`.planner` — ``plan(facts, rules, now)`` → touches; ``still_eligible`` at the moment of sending
- :mod:`.wording` — the words of a touch, rendered in the client's local time

docs/outbound.md describes the rules file and what the I/O layer builds on top.
"""
