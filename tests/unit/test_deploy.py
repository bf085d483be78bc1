"""The deployment files parse and wire PostgreSQL, the API server and the projection worker."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_postgres_the_api_and_the_projection_worker():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "postgres-replica", "grant", "api", "nginx", "projector"}
    assert services["postgres-replica"]["profiles"] == ["replica"]  # only when asked for
    assert "pg_basebackup" in " ".join(services["postgres-replica"]["command"])
    assert services["api"]["environment"]["LEDGER_READ_REPLICAS"] == "${LEDGER_READ_REPLICAS:-}"
    assert services["postgres"]["image"].startswith("postgres:")
    assert {"pgdata", "checkpoints"} <= set(compose["volumes"])
    assert services["projector"]["command"] == ["ledger", "project"]
    assert "--no-follow" in services["api"]["command"]  # the worker follows the log instead
    assert services["grant"]["command"][:3] == ["ledger", "db", "grant"]
    assert services["grant"]["environment"]["DATABASE_URL"].startswith("postgresql://ledger:")
    assert services["grant"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, role in (("api", "ledger_app"), ("projector", "ledger_projector")):
        service = services[name]
        assert "healthcheck" in service
        env = service["environment"]
        assert env["DATABASE_URL"].startswith(f"postgresql://{role}:")  # never the owner
        assert env["LEDGER_CREATE_TABLES"] == "0"
        assert {"LEDGER_ID_HASH_KEY", "LEDGER_SIGNING_KEY", "LEDGER_PUBLIC_KEY"} <= set(env)
        assert env["LEDGER_CHECKPOINT_LOG"].startswith("/checkpoints/")  # outside the database
        assert "checkpoints:/checkpoints" in service["volumes"]
        assert service["depends_on"]["grant"]["condition"] == "service_completed_successfully"


def test_the_image_serves_the_ledger():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert 'CMD ["ledger", "serve"' in dockerfile


def test_the_image_holds_every_package_and_a_chinese_font():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("ledger", "projections", "audit", "documents", "api", "entrypoints"):
        assert f"COPY {package} {package}" in dockerfile, package
    assert "fonts-noto-cjk" in dockerfile
