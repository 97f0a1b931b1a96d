"""The dashboard tests' fixtures: a fixed secret key (no instance/secret_key file), cheap password hashes
(argon2's real cost is not under test here) and three staff accounts."""
from __future__ import annotations

import pytest

from ivr import passwords
from tests.helpers.dashboard import (
    OWNER_PASSWORD,
    SECRET,
    STAFF_PASSWORD,
    Person,
    add_user,
)


@pytest.fixture
def settings_overrides(settings_overrides):
    """A fixed secret key: no instance/secret_key file is created by these tests."""
    return {**settings_overrides, "secret_key": SECRET}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """argon2's real cost (~0.3 s a hash) would make this module slow; the parameters are not under test here."""
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)


@pytest.fixture
def people(database) -> dict[str, Person]:
    return {
        "owner": add_user(database, "olive.owner@quietline.test", "Olive Owner", "owner", OWNER_PASSWORD),
        "sam": add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD),
        "tess": add_user(database, "tess.staff@quietline.test", "Tess Staff", "staff", STAFF_PASSWORD),
    }
