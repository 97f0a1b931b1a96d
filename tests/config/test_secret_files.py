"""Secrets given as files (``<NAME>_FILE``, ivr.secret_files), read once by ``load_settings``: each secret setting,
the file's permissions, its line ending, the refusals (named by setting and path, never by value)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from ivr.config import Settings, load_settings
from ivr.exceptions import ConfigError
from ivr.secret_files import SECRET_NAMES, secret_file_paths, secrets_in_environment

VALUE = "s3cret-Value-9q/+="
# Each secret setting, the Settings field it fills, and a value it accepts.
SECRETS = {
    "TWILIO_AUTH_TOKEN": ("twilio_auth_token", "a" * 32),
    "DATABASE_URL": ("database_url", "postgresql+psycopg://quietline:pw@db.internal:5432/quietline"),
    "DATABASE_PASSWORD": ("database_password", VALUE),
    "REDIS_URL": ("redis_url", "redis://:pw@redis.internal:6379/0"),
    "REDIS_PASSWORD": ("redis_password", VALUE),
    "IVR_DATA_KEY": ("data_key", "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="),
    "IVR_RECORDINGS_KEY": ("recordings_key", "cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmE="),
    "SECRET_KEY": ("secret_key", "k" * 40),
    "IVR_VIDEO_WEBHOOK_SECRET": ("video_webhook_secret", VALUE),
    "SMTP_PASSWORD": ("smtp_password", VALUE),
}
# What the URL settings need beside their password to be usable.
BASE_ENV = {"REDIS_URL": "redis://redis.internal:6379/0",
            "DATABASE_URL": "postgresql+psycopg://quietline@db.internal:5432/quietline"}


def secret_file(tmp_path: Path, text: str | bytes, mode: int = 0o600, name: str = "secret") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)
    return path


def test_every_secret_setting_has_a_file_form():
    assert set(SECRET_NAMES) == set(SECRETS)
    assert "IVR_BACKUP_PUBLIC_KEY" not in SECRET_NAMES  # a public key is no secret


@pytest.mark.parametrize("name", sorted(SECRETS))
@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_each_secret_is_read_from_its_file_with_one_line_ending_stripped(tmp_path, name, ending):
    field, value = SECRETS[name]
    path = secret_file(tmp_path, value + ending, 0o400)
    env = {k: v for k, v in BASE_ENV.items() if k != name} | {f"{name}_FILE": str(path)}
    settings = load_settings(env)
    if name == "REDIS_PASSWORD":
        assert settings.redis_url == "redis://:s3cret-Value-9q%2F%2B%3D@redis.internal:6379/0"
        assert Redis_password(settings.redis_url) == VALUE
    elif name == "DATABASE_PASSWORD":
        assert settings.database_url == "postgresql+psycopg://quietline:s3cret-Value-9q%2F%2B%3D@db.internal:5432/quietline"
        assert make_url(settings.database_url).password == VALUE
    else:
        assert getattr(settings, field) == value
    assert value not in repr(settings)


def Redis_password(url: str) -> str | None:
    from redis.connection import parse_url
    return parse_url(url).get("password")


def test_the_password_goes_into_a_unix_socket_redis_url_as_its_query(tmp_path):
    path = secret_file(tmp_path, "pw with space&amp\n")
    settings = load_settings({"REDIS_URL": "unix:///run/redis/redis.sock?db=2", "REDIS_PASSWORD_FILE": str(path)})
    assert settings.redis_url == "unix:///run/redis/redis.sock?db=2&password=pw%20with%20space%26amp"
    assert Redis_password(settings.redis_url) == "pw with space&amp"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o606, 0o610, 0o601])
def test_a_file_its_group_or_others_may_use_is_refused_naming_setting_and_path_not_value(tmp_path, mode):
    path = secret_file(tmp_path, VALUE, mode)
    with pytest.raises(ConfigError) as caught:
        load_settings({"TWILIO_AUTH_TOKEN_FILE": str(path)})
    message = str(caught.value)
    assert message == (f"TWILIO_AUTH_TOKEN_FILE ({path}) is {mode:04o}: its group or other users may read it; "
                       f"make it 0400 or 0600 (chmod go= {path})")
    assert VALUE not in message


@pytest.mark.parametrize("mode", [0o400, 0o600, 0o700])
def test_a_file_only_its_owner_may_read_is_accepted(tmp_path, mode):
    path = secret_file(tmp_path, VALUE, mode)
    assert load_settings({"SMTP_PASSWORD_FILE": str(path)}).smtp_password == VALUE


def test_in_systemd_s_credentials_folder_only_bits_for_others_refuse_a_file(tmp_path):
    """systemd may give the service user read access to a credential through a POSIX ACL, whose mask stat shows as
    the group bits (0440): in $CREDENTIALS_DIRECTORY, a folder private to the service, that is accepted."""
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o500)
    path = secret_file(credentials, VALUE, 0o440, "twilio_auth_token")
    env = {"TWILIO_AUTH_TOKEN_FILE": f"{credentials}/twilio_auth_token", "CREDENTIALS_DIRECTORY": str(credentials)}
    assert load_settings(env).twilio_auth_token == VALUE
    path.chmod(0o444)
    with pytest.raises(ConfigError, match=r"is 0444: its group or other users may read it"):
        load_settings(env)
    path.chmod(0o440)
    with pytest.raises(ConfigError, match=r"is 0440"):  # the same file, the folder not systemd's
        load_settings({"TWILIO_AUTH_TOKEN_FILE": str(path)})


def test_a_file_variable_set_to_blanks_is_refused():
    with pytest.raises(ConfigError) as caught:
        load_settings({"SECRET_KEY_FILE": "  "})
    assert str(caught.value) == "SECRET_KEY_FILE is set but empty: give the path of the file holding SECRET_KEY"


def test_name_and_name_file_both_set_is_refused(tmp_path):
    path = secret_file(tmp_path, VALUE)
    with pytest.raises(ConfigError) as caught:
        load_settings({"SECRET_KEY": "x" * 40, "SECRET_KEY_FILE": str(path)})
    assert str(caught.value) == ("both SECRET_KEY and SECRET_KEY_FILE are set: keep only SECRET_KEY_FILE (the file) "
                                 "and remove SECRET_KEY from the environment")


def test_an_empty_name_beside_its_file_is_the_file(tmp_path):
    """Compose's env_file and systemd's EnvironmentFile write ``NAME=`` for an unset value: that is no value."""
    path = secret_file(tmp_path, VALUE)
    assert load_settings({"SMTP_PASSWORD": "", "SMTP_PASSWORD_FILE": str(path)}).smtp_password == VALUE


@pytest.mark.parametrize("content, why", [
    ("", "is empty: put the value of IVR_VIDEO_WEBHOOK_SECRET in it"),
    ("\n", "is empty: put the value of IVR_VIDEO_WEBHOOK_SECRET in it"),
    ("\r\n", "is empty: put the value of IVR_VIDEO_WEBHOOK_SECRET in it"),
    (VALUE + "\n\n", "holds more than one line: put the value of IVR_VIDEO_WEBHOOK_SECRET alone in it "
                     "(one trailing line ending is allowed)"),
    (VALUE + "\nsecond", "holds more than one line: put the value of IVR_VIDEO_WEBHOOK_SECRET alone in it "
                         "(one trailing line ending is allowed)"),
    (VALUE + "\r", "holds more than one line: put the value of IVR_VIDEO_WEBHOOK_SECRET alone in it "
                   "(one trailing line ending is allowed)"),
    (b"\xff\xfe" + VALUE.encode(), "is not UTF-8 text"),
])
def test_an_empty_or_many_line_or_binary_file_is_refused(tmp_path, content, why):
    path = secret_file(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        load_settings({"IVR_VIDEO_WEBHOOK_SECRET_FILE": str(path)})
    assert str(caught.value) == f"IVR_VIDEO_WEBHOOK_SECRET_FILE ({path}) {why}"
    assert VALUE not in str(caught.value)


def test_a_file_saved_by_a_windows_editor_gives_the_value_alone(tmp_path):
    """Notepad's UTF-8: a byte-order mark first and CRLF last; neither is part of the secret."""
    path = secret_file(tmp_path, b"\xef\xbb\xbf" + VALUE.encode() + b"\r\n")
    assert load_settings({"SMTP_PASSWORD_FILE": str(path)}).smtp_password == VALUE


def test_a_path_pointing_nowhere_is_refused(tmp_path):
    missing = tmp_path / "run" / "secrets" / "twilio_auth_token"
    with pytest.raises(ConfigError) as caught:
        load_settings({"TWILIO_AUTH_TOKEN_FILE": str(missing)})
    assert str(caught.value) == f"TWILIO_AUTH_TOKEN_FILE ({missing}): no such file"


def test_a_folder_or_an_unreadable_file_is_refused(tmp_path):
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_URL_FILE": str(folder)})
    assert str(caught.value) == f"DATABASE_URL_FILE ({folder}) is not a regular file"
    if os.geteuid() != 0:  # root reads any file
        path = secret_file(tmp_path, VALUE, 0o000)
        with pytest.raises(ConfigError) as caught:
            load_settings({"DATABASE_URL_FILE": str(path)})
        assert str(caught.value) == f"DATABASE_URL_FILE ({path}) cannot be opened: Permission denied"


def test_a_symbolic_link_is_judged_by_the_file_it_names(tmp_path):
    """Kubernetes and compose mount secrets through links; the target's mode is what others could read."""
    target = secret_file(tmp_path, VALUE, 0o644, "target")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(ConfigError, match=r"is 0644"):
        load_settings({"SMTP_PASSWORD_FILE": str(link)})
    target.chmod(0o600)
    assert load_settings({"SMTP_PASSWORD_FILE": str(link)}).smtp_password == VALUE


def test_a_url_holding_a_password_and_a_password_setting_is_refused(tmp_path):
    path = secret_file(tmp_path, VALUE)
    with pytest.raises(ConfigError) as caught:
        load_settings({"REDIS_URL": "redis://:old@redis:6379/0", "REDIS_PASSWORD_FILE": str(path)})
    assert str(caught.value) == ("REDIS_URL has a password and REDIS_PASSWORD is set too: keep only REDIS_PASSWORD "
                                 "(or its _FILE) and take the password out of REDIS_URL")
    with pytest.raises(ConfigError, match="REDIS_URL has a password"):
        load_settings({"REDIS_URL": "unix:///r.sock?password=old", "REDIS_PASSWORD": VALUE})
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_PASSWORD_FILE": str(path)})  # the default: a SQLite file
    assert str(caught.value) == "DATABASE_PASSWORD is set but DATABASE_URL is a SQLite file, which has no password"


def test_the_file_is_read_once_when_the_settings_are_loaded(tmp_path):
    path = secret_file(tmp_path, VALUE)
    settings = load_settings({"SECRET_KEY_FILE": str(path)} | {"SECRET_KEY": ""})
    path.write_text("changed-after-start" * 3)
    assert settings.secret_key == VALUE


def test_no_secret_setting_is_in_the_settings_repr():
    """Settings may be printed (a traceback, a debug log): no secret field is in their repr, whatever the source."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    for name, (field, _value) in SECRETS.items():
        assert fields[field].repr is False, name


def test_which_secrets_sit_in_an_environment_and_which_are_files():
    env = {"TWILIO_AUTH_TOKEN": "t", "SECRET_KEY": "", "REDIS_PASSWORD_FILE": "/run/secrets/redis_password",
           "PUBLIC_BASE_URL": "https://x.example", "IVR_DATA_KEY": "k"}
    assert secrets_in_environment(env) == ["TWILIO_AUTH_TOKEN", "IVR_DATA_KEY"]
    assert secret_file_paths(env) == {"REDIS_PASSWORD_FILE": "/run/secrets/redis_password"}
