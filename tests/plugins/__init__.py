"""Fixtures shared by the tests, registered with ``pytest_plugins`` in tests/conftest.py."""
