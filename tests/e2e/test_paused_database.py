"""PostgreSQL paused (its processes stopped, its connections left open, as a stalled
disk or a frozen virtual machine leaves them): a read that waits for the read models
answers ``UNAVAILABLE`` within the wait's bound, and a planned read within the statement
timeout, not when the database wakes up."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from psycopg import connect

from api.app import DB_TIMEOUT_SECONDS
from api.context import MAX_WAIT_SECONDS
from ledger.application import Ledger
from ledger.database import EmbeddedServer, ensure_database, eventsourcing_env
from ledger.domain.values import Context, MemberKind, Role
from tests.e2e.conftest import Server, running_server

PAUSE_SECONDS = 20.0
SLACK = 3.0
READ = "query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { name } }"
PLAIN = "query($m: UUID!) { member(id: $m) { name } }"
"""Planned once answered (docs/decisions/0030): the next member's read goes by the plan."""


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    pgdata = tmp_path / "pgdata"
    url = EmbeddedServer(pgdata).url("paused")
    ensure_database(url)
    try:
        yield pgdata, url
    finally:
        EmbeddedServer(pgdata).stop()


@contextlib.contextmanager
def paused(pgdata: Path) -> Iterator[None]:
    """Every process of the server stopped (SIGSTOP) until the block ends."""
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    processes = [postmaster, *postmaster.children(recursive=True)]
    for process in processes:
        process.suspend()
    try:
        yield
    finally:
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()


def read(server: Server, member: str, position: int | None = None) -> httpx.Response:
    query, variables = (
        (PLAIN, {"m": member}) if position is None else (READ, {"m": member, "w": position})
    )
    return httpx.post(
        f"{server.base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {server.admin}"},
        timeout=PAUSE_SECONDS + 10,
    )


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def codes(answer: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in answer.json()["errors"]]


def test_a_wait_for_read_during_a_pause_answers_unavailable_within_its_bound(
    own_database: tuple[Path, str], tmp_path: Path
) -> None:
    pgdata, url = own_database
    admin = Context(actor_id="test", role=Role.ADMIN)
    ledger = Ledger(eventsourcing_env(url), id_hash_key=b"paused")
    try:
        street = ledger.register_street("果园街道", admin).id
        community = ledger.register_community(street, "果园社区", admin).id
        member = str(ledger.register_member(MemberKind.RESIDENT, "王五", community, admin).id)
        other = str(ledger.register_member(MemberKind.RESIDENT, "赵六", community, admin).id)
    finally:
        ledger.close()
    with connect(url) as conn:
        head = conn.execute("SELECT max(notification_id) FROM ledger_events").fetchone()
    assert head is not None
    with running_server(url, tmp_path) as server:
        before = read(server, member, head[0])  # the token is known (and kept) from here
        assert before.json() == {"data": {"member": {"name": "王五"}}}, before.text
        assert read(server, member).json() == {"data": {"member": {"name": "王五"}}}
        with paused(pgdata), ThreadPoolExecutor(2) as pool:
            started = time.monotonic()
            waiting = pool.submit(timed, lambda: read(server, member, head[0]))
            planned = pool.submit(timed, lambda: read(server, other))
            (waited, wait_seconds), (plain, plain_seconds) = waiting.result(), planned.result()
            time.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - started)))
        assert codes(waited) == ["UNAVAILABLE"], waited.text
        assert wait_seconds < MAX_WAIT_SECONDS + SLACK, wait_seconds
        assert codes(plain) == ["UNAVAILABLE"], plain.text
        assert plain_seconds < DB_TIMEOUT_SECONDS + SLACK, plain_seconds
        deadline = time.monotonic() + 30
        while "errors" in (after := read(server, member, head[0]).json()):
            assert time.monotonic() < deadline, after
            time.sleep(0.5)
        assert after == {"data": {"member": {"name": "王五"}}}
        assert read(server, other).json() == {"data": {"member": {"name": "赵六"}}}
        log = server.log.read_text()
    assert '"level": "ERROR"' not in log, log  # an outage, not a failure of the server
