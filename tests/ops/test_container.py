"""The container image definition and the compose file (ivr/ops/files): non-root, a health check, Redis with a
volume and its append-only file, and every role started only once what it needs is healthy."""
from __future__ import annotations

from pathlib import Path

import yaml

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
    command = redis["command"]
    for flag, value in (("--appendonly", "yes"), ("--appendfsync", "everysec"), ("--maxmemory-policy", "noeviction")):
        assert command[command.index(flag) + 1] == value
    assert "--requirepass" in command
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
