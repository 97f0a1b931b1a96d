"""The pure core: understanding what callers say, with nothing but the standard library.

Modules here take text and reference values (a date, an aware datetime, a time zone) and return
plain values: no Flask, Redis, RQ, Twilio, SQLAlchemy or wall clock inside
(``tests/test_core_purity.py`` checks the imports).

- ``spoken_values``: dates, times, days, digit strings and yes/no from speech or keys, and the
  ``<Gather>`` hints and speech model for each kind of answer.
- ``crisis``: suicide, self-harm, harm to others, danger and medical emergencies in any words.
- ``intents``: a free sentence at a menu matched to the menu's intents, with the request's details.
"""
