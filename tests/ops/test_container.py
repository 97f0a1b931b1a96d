"""The container image definition and the compose file (ivr/ops/files): non-root, a health check, Redis with a
volume and its append-only file, and every role started only once what it needs is healthy."""
from __future__ import annotations

import json
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from redis import Redis
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from ivr.dev.redis_server import server_binary

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
    assert data["secrets"] == {"redis_password": {"environment": "REDIS_PASSWORD"}}
    assert redis["secrets"] == ["redis_password"]
    assert "environment" not in redis
    for field in ("command", "entrypoint"):
        assert "REDIS_PASSWORD" not in json.dumps(redis[field]) and "--requirepass" not in json.dumps(redis[field])
    assert "REDIS_PASSWORD" not in json.dumps(redis["healthcheck"])
    # Only two places name the variable: the secret's source and the app roles' REDIS_URL (left: see below).
    assert text.count("${REDIS_PASSWORD") == 1 and "environment: REDIS_PASSWORD" in text


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
