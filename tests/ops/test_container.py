"""The container image definition and the compose file (ivr/ops/files): non-root, a health check, Redis with a
volume and its append-only file, and every role started only once what it needs is healthy."""
from __future__ import annotations

import json
import re
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from redis import Redis
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from ivr.config import load_settings
from ivr.dev.redis_server import server_binary
from ivr.ops.install import Executor, Layout, parse_env, plan_container_secrets
from ivr.secret_files import SECRET_NAMES

FILES = Path(__file__).resolve().parents[2] / "ivr/ops/files"
ROLES = {"web", "worker-urgent", "worker", "worker-speech", "scheduler"}


def compose() -> dict:
    return yaml.safe_load((FILES / "compose.yaml").read_text())


def test_the_image_runs_as_an_unprivileged_user_with_a_health_check():
    lines = [line.strip() for line in (FILES / "Dockerfile").read_text().splitlines()]
    instructions = [line.split()[0] for line in lines
                    if line and not line.startswith("#") and line.split()[0].isupper()]
    assert "USER" in instructions
    # Nothing runs as root after the switch: USER comes after the last RUN.
    assert max(i for i, word in enumerate(instructions) if word == "RUN") < instructions.index("USER")
    assert "USER quietline" in lines
    healthcheck = next(line for line in lines if line.startswith("HEALTHCHECK"))
    assert "--interval=30s" in healthcheck
    assert "http://127.0.0.1:8000/health?scope=web" in (FILES / "Dockerfile").read_text()


def test_redis_keeps_its_queue_on_a_volume_with_an_append_only_file_and_never_evicts():
    redis = compose()["services"]["redis"]
    [script] = redis["command"]
    for directive in ("appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction"):
        assert f'echo "{directive}"' in script
    assert redis["volumes"] == ["redis-data:/data"]
    assert "healthcheck" in redis and "healthcheck" in compose()["services"]["postgres"]


def test_every_role_waits_for_healthy_redis_and_postgresql_and_the_migrations():
    services = compose()["services"]
    assert ROLES | {"redis", "postgres", "migrate"} == set(services)
    for name in ROLES:
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"},
                                                "postgres": {"condition": "service_healthy"},
                                                "migrate": {"condition": "service_completed_successfully"}}, name
        assert services[name]["restart"] == "always"
        assert services[name]["volumes"] == ["quietline-data:/var/lib/quietline"]
    assert services["migrate"]["command"] == ["python", "-m", "flask", "--app", "app", "db", "upgrade"]
    assert services["migrate"]["depends_on"] == {"redis": {"condition": "service_healthy"},
                                                 "postgres": {"condition": "service_healthy"}}
    assert services["worker-urgent"]["command"] == ["python", "-m", "workers.run", "--queues", "urgent"]
    assert services["worker"]["command"] == ["python", "-m", "workers.run", "--queues", "urgent,calls"]
    assert services["worker-speech"]["command"] == ["python", "-m", "workers.run", "--queues", "speech"]
    assert services["scheduler"]["command"] == ["python", "-m", "workers.scheduler"]
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert set(compose()["volumes"]) == {"redis-data", "postgres-data", "quietline-data"}


def test_the_build_never_sees_secrets_or_local_data():
    ignored = {line for line in (FILES / "Dockerfile.dockerignore").read_text().splitlines()
               if line and not line.startswith("#")}
    assert {".env", "**/.env", "**/quietline.env", ".venv", "instance", "recordings"} <= ignored


def test_the_image_has_pg_dump_and_the_documented_compose_backup_verifies():
    """`backup create` on PostgreSQL runs pg_dump and pg_restore: the image installs Debian's client (15, as
    compose.yaml's server), before the switch to the unprivileged user."""
    dockerfile = (FILES / "Dockerfile").read_text()
    assert "apt-get install -y --no-install-recommends postgresql-client" in dockerfile
    assert dockerfile.index("postgresql-client") < dockerfile.index("USER quietline")
    assert compose()["services"]["postgres"]["image"] == "postgres:15-bookworm"
    deploy = (FILES.parents[2] / "docs/deploy.md").read_text()
    assert ("`docker compose -f ivr/ops/files/compose.yaml run --rm web python -m flask --app app backup create "
            "--verify`") in deploy


def test_redis_s_password_is_never_on_a_command_line_or_in_an_environment():
    """`ps` and `docker inspect` show a container's command, entrypoint and environment: the password is in none of
    them. It reaches Redis as a compose secret (from .env's REDIS_PASSWORD), read inside the container."""
    text = (FILES / "compose.yaml").read_text()
    data = compose()
    redis = data["services"]["redis"]
    assert data["secrets"]["redis_password"] == {"environment": "REDIS_PASSWORD"}
    assert redis["secrets"] == [{"source": "redis_password", "uid": "0", "gid": "0", "mode": "0o400"}]
    assert "environment" not in redis
    for field in ("command", "entrypoint"):
        assert "REDIS_PASSWORD" not in json.dumps(redis[field]) and "--requirepass" not in json.dumps(redis[field])
    assert "REDIS_PASSWORD" not in json.dumps(redis["healthcheck"])
    # One place names the variable: the secret's source (the app roles take it as REDIS_PASSWORD_FILE).
    assert "${REDIS_PASSWORD" not in text and text.count("environment: REDIS_PASSWORD") == 1


def test_the_redis_start_script_writes_a_private_config_a_real_redis_server_runs_with(tmp_path):
    """The compose command's script, run as compose would (``$$`` is a literal ``$``) with its paths moved under
    tmp_path: the config it writes is 0600 and a real redis-server started from it asks for the password, keeps
    an append-only file and never evicts, and its command line (what `ps` shows) holds no password."""
    [script] = compose()["services"]["redis"]["command"]
    password = "compose-secret-Zq81"
    secret = tmp_path / "redis_password"
    secret.write_text(password)
    conf_dir = tmp_path / "conf"
    script = (script.replace("$$", "$").replace("/run/secrets/redis_password", str(secret))
              .replace("/run/redis-quietline", str(conf_dir)))
    lines = script.splitlines()
    assert lines[-1] == f"exec docker-entrypoint.sh redis-server {conf_dir}/redis.conf"
    assert lines[-2] == f"chown -R redis:redis {conf_dir}"
    subprocess.run(["/bin/sh", "-c", "\n".join(lines[:-2])], check=True)
    conf = conf_dir / "redis.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert conf.read_text() == ('appendonly yes\nappendfsync everysec\nmaxmemory-policy noeviction\n'
                                f'requirepass "{password}"\n')
    socket = tmp_path / "r.sock"
    process = subprocess.Popen([server_binary(), str(conf), "--port", "0", "--unixsocket", str(socket),
                                "--dir", str(tmp_path), "--save", ""],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = Redis(unix_socket_path=str(socket), password=password)
        for _ in range(500):
            try:
                conn.ping()
                break
            except (ConnectionError, RedisConnectionError, FileNotFoundError):
                time.sleep(0.02)
        assert conn.config_get("appendonly") == {"appendonly": "yes"}
        assert conn.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        with pytest.raises(AuthenticationError):
            Redis(unix_socket_path=str(socket)).set("k", "v")
        assert password.encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes()
    finally:
        process.terminate()
        process.wait(10)


# --- secrets as files, never in an environment (ivr/secret_files.py) -----------------------------------------------

# Names that hold a secret wherever they appear: the settings' own, and the images' (PostgreSQL's).
SECRET_LOOKING_NAME = re.compile(r"(PASSWORD|TOKEN|SECRET|_KEY|PASSPHRASE|CREDENTIALS?)$")
# A public key; and the URLs, secret only for the password they may hold (the value check below: none here).
NOT_SECRET = {"IVR_BACKUP_PUBLIC_KEY", "REDIS_URL", "DATABASE_URL"}


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _secret_looking(value: str) -> str | None:
    """Why ``value`` looks like a secret, or None."""
    if "${" in value:
        return "interpolates a variable (compose would put its value in the environment)"
    parts = urlsplit(value)
    if parts.scheme and (parts.password or "password=" in parts.query):
        return "a URL with a password"
    if re.fullmatch(r"[A-Za-z0-9+/=_\-]{24,}", value):
        return "a long random-looking string"
    return None


def test_no_service_holds_a_secret_in_its_environment():
    """What `docker inspect` shows: no secret-looking value, and no secret's name unless as <NAME>_FILE."""
    for name, service in compose()["services"].items():
        for key, value in _environment(service).items():
            if key.endswith("_FILE"):  # a path to a mounted secret, nothing else
                assert re.fullmatch(r"/run/secrets/[a-z_]+", value), (name, key, value)
                continue
            assert key in NOT_SECRET or not (key in SECRET_NAMES or SECRET_LOOKING_NAME.search(key)), (name, key)
            assert _secret_looking(value) is None, (name, key, _secret_looking(value))
        for field in ("command", "entrypoint", "healthcheck"):
            text = json.dumps(service.get(field, ""))
            assert "--requirepass" not in text and "${" not in text, (name, field)


def test_the_checker_catches_what_the_old_compose_file_did():
    """The assertions above are not vacuous: the previous app roles' environment fails them."""
    old = {"REDIS_URL": "redis://:${REDIS_PASSWORD:?x}@redis:6379/0",
           "DATABASE_URL": "postgresql+psycopg://quietline:hunter2@postgres:5432/quietline"}
    assert _secret_looking(old["REDIS_URL"]) and _secret_looking(old["DATABASE_URL"]) == "a URL with a password"
    assert _secret_looking("mV3x9QbqzL0c2YtZKpW7eRk1sN4uJ8aH") == "a long random-looking string"
    assert "TWILIO_AUTH_TOKEN" in SECRET_NAMES and SECRET_LOOKING_NAME.search("POSTGRES_PASSWORD")


def test_every_app_role_gets_every_secret_as_a_file_only_it_reads():
    data = compose()
    files = {"REDIS_PASSWORD_FILE": "redis_password", "DATABASE_PASSWORD_FILE": "postgres_password",
             "TWILIO_AUTH_TOKEN_FILE": "twilio_auth_token", "IVR_DATA_KEY_FILE": "data_key",
             "IVR_RECORDINGS_KEY_FILE": "recordings_key", "SECRET_KEY_FILE": "secret_key"}
    for name in ROLES | {"migrate"}:
        service = data["services"][name]
        env = _environment(service)
        assert {k: v for k, v in env.items() if k.endswith("_FILE")} == {
            variable: f"/run/secrets/{source}" for variable, source in files.items()}, name
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["DATABASE_URL"] == "postgresql+psycopg://quietline@postgres:5432/quietline"
        # Owned by the image's user (uid 10001, Dockerfile), 0400: what the settings accept.
        assert service["secrets"] == [{"source": source, "uid": "10001", "gid": "10001", "mode": "0o400"}
                                      for source in files.values()], name
    # Copied in from compose's environment (.env): the only source whose uid and mode compose honours.
    assert {s["environment"] for s in data["secrets"].values()} == {
        "REDIS_PASSWORD", "POSTGRES_PASSWORD", "TWILIO_AUTH_TOKEN", "IVR_DATA_KEY", "IVR_RECORDINGS_KEY", "SECRET_KEY"}
    assert all(set(s) == {"environment"} for s in data["secrets"].values())
    postgres = data["services"]["postgres"]
    assert _environment(postgres)["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert postgres["secrets"] == [{"source": "postgres_password", "uid": "999", "gid": "999", "mode": "0o400"}]
    assert "uid 10001" in (FILES / "Dockerfile").read_text().replace("--uid ", "uid ")


def test_the_app_roles_settings_come_together_from_the_files_compose_mounts(tmp_path):
    """The install's --container-secrets files, then what compose makes of them for an app role: quietline.env and
    the role's `environment:` as its environment, .env's values as 0400 files; the settings read are complete and
    the environment holds no secret."""
    directory = tmp_path / "files"
    directory.mkdir()
    Executor(Layout(), tmp_path / "secrets.log", system=False, echo=lambda line: None).run(
        plan_container_secrets(directory, {".env": None, "quietline.env": None}))
    dotenv = parse_env((directory / ".env").read_text())
    dotenv["TWILIO_AUTH_TOKEN"] = "f" * 32  # what the administrator puts in
    app_env = parse_env((directory / "quietline.env").read_text()) | {"PUBLIC_BASE_URL": "https://phone.example"}
    assert not set(app_env) & set(SECRET_NAMES)
    data = compose()
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    for source, spec in data["secrets"].items():
        path = secrets_dir / source
        path.write_text(dotenv[spec["environment"]])
        path.chmod(int(data["services"]["web"]["secrets"][0]["mode"], 8))
    web = _environment(data["services"]["web"])
    role_env = {k: v.replace("/run/secrets", str(secrets_dir)) for k, v in web.items()}
    settings = load_settings(app_env | role_env | {"IVR_FLOWS_DIR": str(FILES.parents[2] / "flows")})
    settings.validate()
    assert settings.redis_url == f"redis://:{dotenv['REDIS_PASSWORD']}@redis:6379/0"
    assert settings.database_url == (f"postgresql+psycopg://quietline:{dotenv['POSTGRES_PASSWORD']}"
                                     "@postgres:5432/quietline")
    assert (settings.twilio_auth_token, settings.data_key, settings.recordings_key, settings.secret_key) == (
        "f" * 32, dotenv["IVR_DATA_KEY"], dotenv["IVR_RECORDINGS_KEY"], dotenv["SECRET_KEY"])
    for value in dotenv.values():
        assert value not in json.dumps(app_env | role_env)
