"""The deployment files parse and wire PostgreSQL, the API server and the projection worker."""

import itertools
import json
import re
from pathlib import Path, PurePosixPath

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
        assert "LEDGER_PUBLIC_URL" in env  # certificates' QR codes point to it
        assert {"keys:/keys", "checkpoints:/checkpoints"} <= set(service["volumes"])
        assert service["depends_on"]["grant"]["condition"] == "service_completed_successfully"


def image_defaults() -> tuple[dict[str, str], set[str]]:
    """The Dockerfile's ENV values and its VOLUMEs."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    volumes: set[str] = set()
    for line in text.splitlines():
        instruction, _, rest = line.partition(" ")
        if instruction == "ENV":
            env |= dict(pair.split("=", 1) for pair in rest.split())
        elif instruction == "VOLUME":
            volumes |= set(json.loads(rest) if rest.startswith("[") else rest.split())
    return env, volumes


def test_the_image_keeps_data_signing_key_and_checkpoints_in_three_volumes_of_their_own():
    env, volumes = image_defaults()
    data = PurePosixPath(env["LEDGER_DATA_DIR"])
    keys = PurePosixPath(env["LEDGER_SIGNING_KEY_FILE"]).parent
    log = PurePosixPath(env["LEDGER_CHECKPOINT_LOG"]).parent
    assert {str(data), str(keys), str(log)} == volumes
    for one, other in itertools.permutations((data, keys, log), 2):
        assert not one.is_relative_to(other), (one, other)  # none inside another
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("grant", "api", "projector"):
        mounted = {v.split(":")[1] for v in compose["services"][name]["volumes"]}
        assert str(keys) in mounted, name  # grant makes the key the other two read
    assert f"checkpoints:{log}" in compose["services"]["api"]["volumes"]
    assert "keys" not in str(compose["services"]["postgres"]["volumes"])


def test_compose_asks_only_for_values_made_without_the_ledger():
    """The ID-hash key is random hex (``openssl rand -hex 32``); the signing key is generated
    into its volume, and its public key is read from the image, not from a host install."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert set(re.findall(r"\$\{(\w+):\?", text)) == {"LEDGER_ID_HASH_KEY"}
    assert "docker compose run --rm --no-deps -T api ledger audit key" in text


def test_the_readme_tells_how_to_print_the_public_key_and_set_the_public_url():
    readme = (ROOT / "README.md").read_text()
    deployment = readme.split("## Deployment", 1)[1].split("\n## ", 1)[0]
    assert "LEDGER_PUBLIC_URL" in deployment
    assert "docker compose run --rm --no-deps -T api ledger audit key" in deployment


def test_the_image_serves_the_ledger():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert 'CMD ["ledger", "serve"' in dockerfile


def test_the_image_holds_every_package_and_a_chinese_font():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("ledger", "projections", "audit", "documents", "api", "entrypoints"):
        assert f"COPY {package} {package}" in dockerfile, package
    assert "fonts-noto-cjk" in dockerfile
