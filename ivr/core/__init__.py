"""The pure core: the flow engine and everything it reads, with no I/O inside.

Modules here take data (flows, a call's state, an event, text, an aware ``now``) and return data: no
Flask, Redis, RQ, Twilio, SQLAlchemy, HTTP or wall clock (import contracts in pyproject.toml and
tests/test_contracts.py check it).  Jinja2 (the templates' sandbox), PyYAML (safe YAML) and phonenumbers
(E.164) are its only libraries.  docs/architecture.md lists the modules.

- ``engine``: ``step(flows, call, event, env) -> (call, effects)``; ``flow`` (the step kinds), ``events``,
  ``effects``, ``call_state``, ``templates``.
- ``spoken_output`` (what callers hear), ``spoken_input``, ``spoken_values``, ``intents``, ``crisis``, ``text``
  (what their keys and words mean).
- ``hours`` (the business-hours clock and callback deadlines), ``escalation_policy``, ``priority``.
- ``privacy`` (discretion and masking), ``yamlsafe``, ``phone_numbers``.
"""
