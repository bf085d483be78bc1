"""The deployment files parse and wire PostgreSQL, the API server and the projection worker."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_postgres_the_api_and_the_projection_worker():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "postgres-replica", "api", "projector"}
    assert services["postgres-replica"]["profiles"] == ["replica"]  # only when asked for
    assert "pg_basebackup" in " ".join(services["postgres-replica"]["command"])
    assert services["api"]["environment"]["LEDGER_READ_REPLICAS"] == "${LEDGER_READ_REPLICAS:-}"
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pgdata" in compose["volumes"]
    assert all("healthcheck" in service for service in services.values())
    assert services["projector"]["command"] == ["ledger", "project"]
    assert "--no-follow" in services["api"]["command"]  # the worker follows the log instead
    for name in ("api", "projector"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://ledger:")
        assert {"LEDGER_ID_HASH_KEY", "LEDGER_SIGNING_KEY"} <= set(env)
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_image_serves_the_ledger():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert 'CMD ["ledger", "serve"' in dockerfile


def test_the_image_holds_every_package_and_a_chinese_font():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("ledger", "projections", "audit", "documents", "api", "entrypoints"):
        assert f"COPY {package} {package}" in dockerfile, package
    assert "fonts-noto-cjk" in dockerfile
