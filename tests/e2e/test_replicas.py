"""Reads on a streaming standby: a primary and a hot standby made from the embedded
server's own binaries (``pg_basebackup -R``), the server told of the standby.

Reads go to the standby; a read that waits for a write is answered only with that
write in it; a standby behind past the bound, or stopped, leaves the reads to the
primary, and ``/readyz`` says which."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from ledger import database
from ledger.application import Ledger
from ledger.database import EmbeddedServer, eventsourcing_env
from ledger.domain.values import Context, MemberKind, Role
from tests.e2e.conftest import Server, running_server

ADMIN = Context(actor_id="test", role=Role.ADMIN)
MAX_LAG = 3
MEMBER = "query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { name } }"


@pytest.fixture(scope="module")
def standby(pg_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    replica = pg_server.standby(tmp_path_factory.mktemp("standby") / "pgdata")
    yield replica
    replica.stop()


@pytest.fixture(scope="module")
def replicated(
    database_url: str, standby: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    name = str(psycopg.conninfo.conninfo_to_dict(database_url)["dbname"])
    standby_url = database.database_url(standby.url(), name)
    env = {"LEDGER_READ_REPLICAS": standby_url, "LEDGER_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG)}
    with running_server(database_url, tmp_path_factory.mktemp("replicated"), env=env) as server:
        yield server, standby_url


def ready(server: Server) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{server.base}/readyz", timeout=5).json()
    return answer


def eventually(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def register(server: Server, name: str) -> tuple[UUID, int]:
    """A member written straight to the ledger (the primary): their id and position."""
    ledger = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"replicas")
    try:
        street = ledger.register_street(f"{name}街道", ADMIN).id
        community = ledger.register_community(street, f"{name}社区", ADMIN).id
        receipt = ledger.register_member(MemberKind.RESIDENT, name, community, ADMIN)
    finally:
        ledger.close()
    return receipt.id, receipt.position


def in_primary_read_model(server: Server, member: UUID) -> bool:
    with psycopg.connect(server.database_url) as conn:
        found = conn.execute("SELECT 1 FROM member_totals WHERE member_id = %s", (member,))
        return found.fetchone() is not None


def set_replay(standby_url: str, paused: bool) -> None:
    with psycopg.connect(standby_url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


def test_the_standby_is_in_rotation_and_answers_reads(replicated: tuple[Server, str]) -> None:
    server, _ = replicated
    eventually(
        lambda: ready(server).get("replicas", [{}])[0].get("in_rotation") is True, "rotation"
    )
    [replica] = ready(server)["replicas"]
    assert replica["error"] is None and replica["lag_seconds"] <= MAX_LAG
    member, position = register(server, "甲")
    read = server.gql(server.admin, MEMBER, m=str(member), w=position)
    assert read["data"]["member"] == {"name": "甲"}


def test_a_read_without_waiting_comes_from_the_standby_and_a_waiting_one_sees_the_write(
    replicated: tuple[Server, str],
) -> None:
    """With the standby's replay paused, a write reaches the primary's read models but
    not the standby: a plain read (from the standby) does not see it yet, a read that
    waits for it does (from the primary, as the standby cannot catch up)."""
    server, standby_url = replicated
    set_replay(standby_url, paused=True)
    try:
        member, position = register(server, "乙")
        eventually(lambda: in_primary_read_model(server, member), "the primary's read model")
        plain = server.gql(server.admin, MEMBER, m=str(member))
        assert plain["data"]["member"] is None  # the standby, a moment behind
        waited = server.gql(server.admin, MEMBER, m=str(member), w=position)
        assert waited["data"]["member"] == {"name": "乙"}

        # Behind past the bound: out of rotation, and plain reads go to the primary.
        eventually(lambda: not ready(server)["replicas"][0]["in_rotation"], "out of rotation")
        assert ready(server)["status"] == "ready"  # the primary still serves
        again = server.gql(server.admin, MEMBER, m=str(member))
        assert again["data"]["member"] == {"name": "乙"}
    finally:
        set_replay(standby_url, paused=False)
    eventually(lambda: ready(server)["replicas"][0]["in_rotation"], "back in rotation")


def test_reads_fail_over_to_the_primary_when_the_standby_stops(
    replicated: tuple[Server, str], standby: EmbeddedServer
) -> None:
    server, _ = replicated
    member, position = register(server, "丙")
    assert server.gql(server.admin, MEMBER, m=str(member), w=position)["data"]["member"]
    standby.stop()
    for n in range(20):  # at once and from then on: every read answered by the primary
        read = server.gql(server.admin, f"{MEMBER} # {n}", m=str(member))  # none kept
        assert read["data"]["member"] == {"name": "丙"}, read
    eventually(lambda: ready(server)["replicas"][0]["error"] is not None, "the stop is seen")
    status = ready(server)
    assert status["status"] == "ready" and status["replicas"][0]["in_rotation"] is False
