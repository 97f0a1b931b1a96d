"""Outbound contact, the I/O half: the tables, the facts the planner reads, sending, callbacks and replies.

The pure half (rules, planner, wording) is ``ivr.outbound``; this package puts it to work against the
database, Twilio (``ivr.telephony.twilio_rest``) and RQ (``ivr.jobs``).  docs/outbound.md describes both.
"""
