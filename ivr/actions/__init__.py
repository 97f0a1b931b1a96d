"""Actions a flow's ``action`` step may name: the registry (names, declared outcomes, code), the built-ins
(``builtin``), the practice's (``practice``: callers, appointments, links, cards) and the set an
installation runs with (``catalog.default_registry``).  Flows name actions; they never become code."""
