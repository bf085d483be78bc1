"""One embedded PostgreSQL server for the whole run; a fresh database per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from entrypoints.bootstrap import bootstrap
from ledger import database
from ledger.application import Ledger
from ledger.database import EmbeddedServer, drop_database, ensure_database
from ledger.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands run by the tests keep their keys and checkpoint logs in the run's own
    folder, never beside the user's data directory (a test may still set its own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEDGER_DATA_DIR", str(tmp_path_factory.mktemp("ledger-data") / "data"))
        yield


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    pgdata: Path = tmp_path_factory.mktemp("embedded") / "pgdata"
    server = EmbeddedServer(pgdata)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def database_url(pg_server: EmbeddedServer) -> Iterator[str]:
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def ledger(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        id_hash_key=b"test-id-hash-key",
        signing_key=bytes(32),
    )
    with bootstrap(settings) as services:
        yield services.ledger
