"""Helpers shared by the tests: constants, builders and drivers. Not test modules; fixtures are in tests/plugins."""
