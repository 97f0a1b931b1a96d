"""The flow language: flow files (and the practice file they run with) read, checked and kept loaded.

Parsing, graph checks, problem wording, loading a whole directory and the running store;
the published JSON schemas in ``schemas/``.  The values it builds are the core's flow model
(``ivr.core.flow``).
"""
