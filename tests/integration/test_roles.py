"""Least privilege: the application appends events but cannot change or delete one; the
projector writes only read models; neither reads the server's files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from entrypoints.bootstrap import bootstrap
from ledger import database
from ledger.database import EmbeddedServer, drop_database, ensure_database
from ledger.domain.values import Context, Role
from ledger.settings import Settings
from projections.roles import grant

APP, PROJECTOR = "ledger_app_test", "ledger_projector_test"
ADMIN = Context(actor_id="admin-1", role=Role.ADMIN)


@pytest.fixture
def granted(pg_server: EmbeddedServer) -> Iterator[str]:
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    grant(url, APP, PROJECTOR, {})
    yield url
    drop_database(url)


def _as(url: str, role: str, folder: Path) -> Settings:
    return Settings(
        database_url=make_conninfo(url, user=role),
        data_dir=folder / role,
        id_hash_key=b"roles",
        signing_key=bytes(32),
        create_tables=False,  # `ledger db grant` made them, as the owner
    )


def _refused(url: str, role: str, statement: str) -> bool:
    with psycopg.connect(make_conninfo(url, user=role), autocommit=True) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


def test_each_role_does_only_its_part(granted: str, tmp_path: Path) -> None:
    with bootstrap(_as(granted, APP, tmp_path)) as app:
        street = app.ledger.register_street("权限街道", ADMIN).id
        app.ledger.register_community(street, "权限社区", ADMIN, grids=["一网格"])
    with bootstrap(_as(granted, PROJECTOR, tmp_path)) as projector:
        projector.read_side.open()
        assert projector.read_side.catch_up() == 0  # built up to the head already
    with psycopg.connect(make_conninfo(granted, user=APP)) as conn:
        count = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        leaves = conn.execute("SELECT count(*) FROM audit_leaves").fetchone()
    assert count is not None and leaves is not None and count[0] == leaves[0] >= 2
    for statement in (
        "UPDATE ledger_events SET state = state",
        "DELETE FROM ledger_events",
        "TRUNCATE ledger_events",
        "DELETE FROM audit_leaves",
        "CREATE TABLE sneaky (a int)",
        "SELECT pg_read_file('PG_VERSION')",
    ):
        assert _refused(granted, APP, statement), statement
    for statement in (
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version + 100, topic, state FROM ledger_events LIMIT 1",
        "UPDATE ledger_events SET state = state",
        "DELETE FROM ledger_events",
        "SELECT pg_read_file('PG_VERSION')",
    ):
        assert _refused(granted, PROJECTOR, statement), statement
