"""``ledger quarantine`` and ``ledger project`` as an operator runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from ledger import database
from ledger.application import Ledger
from ledger.database import (
    EmbeddedServer,
    ensure_database,
    eventsourcing_env,
    harden_pool,
    is_outage,
)
from ledger.domain.values import MemberKind
from tests.integration.test_read_side_faults import ADMIN, community, names, poisoned_member


def ledger_command(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "LEDGER_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def poisoned(pg_server: EmbeddedServer) -> Iterator[tuple[str, int]]:
    """A ledger with one registration no table can hold, and one after it."""
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    app = Ledger(eventsourcing_env(url), id_hash_key=b"faults")
    try:
        home = community(app)
        position = poisoned_member(app, home)
        app.register_member(MemberKind.RESIDENT, "李四", home, ADMIN)
    finally:
        app.close()
    yield url, position
    database.drop_database(url)


def test_quarantined_events_are_listed_and_a_retry_rebuilds_and_reports_them(
    poisoned: tuple[str, int], tmp_path: Path
) -> None:
    url, position = poisoned
    listed = ledger_command(url, tmp_path, "quarantine", "list")
    assert listed.returncode == 0, listed.stderr
    heading, *lines = listed.stdout.splitlines()
    assert heading.split("\t")[:3] == ["读模型", "位置", "事件类型"]
    assert [line.split("\t")[:2] for line in lines] == [["member_totals", str(position)]]

    as_json = ledger_command(url, tmp_path, "quarantine", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    (held,) = json.loads(as_json.stdout)
    assert (held["model"], held["position"]) == ("member_totals", position)
    assert held["generation"].endswith("_g1") and "NUL" in held["error"]

    retried = ledger_command(url, tmp_path, "quarantine", "retry", "--json")
    assert retried.returncode == 0, retried.stderr
    assert "已重建:member_totals" in retried.stderr
    (again,) = json.loads(retried.stdout)
    assert (again["model"], again["position"]) == ("member_totals", position)
    assert again["generation"].endswith("_g2")  # a new generation, the old one's row gone
    assert names(url) == {"李四"}

    unknown = ledger_command(url, tmp_path, "quarantine", "retry", "no_such_view")
    assert unknown.returncode == 2 and "no_such_view" in unknown.stderr


def test_the_projection_worker_survives_a_database_restart(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    url = database.database_url(EmbeddedServer(pgdata).url(), "worker")
    ensure_database(url)
    app = Ledger(eventsourcing_env(url), id_hash_key=b"worker")
    harden_pool(app.group_recorder.datastore)  # as in the server, whose read side does it
    log = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": url, "LEDGER_DATA_DIR": str(tmp_path / "data")}
    with log.open("w") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "project"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

    def until(what: str, done: object, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not (done() if callable(done) else done):
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{what}\n{log.read_text()[-3000:]}"
            time.sleep(0.2)

    def visible(name: str) -> bool:
        try:
            return name in names(url)
        except psycopg.Error:
            return False

    try:
        home = community(app)
        app.register_member(MemberKind.RESIDENT, "重启前", home, ADMIN)
        until("the worker did not build the read models", lambda: visible("重启前"))
        EmbeddedServer(pgdata).stop()
        until("the worker did not notice", lambda: "database unavailable" in log.read_text())
        EmbeddedServer(pgdata)
        deadline = time.monotonic() + 30
        while True:  # the write side's pool replaces its dropped connections
            try:
                app.register_member(MemberKind.RESIDENT, "重启后", home, ADMIN)
                break
            except Exception as error:
                if not is_outage(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        until("the worker did not catch up by itself", lambda: visible("重启后"))
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=30)
        finally:
            worker.kill()
            app.close()
            EmbeddedServer(pgdata).stop()
    assert code == 0, log.read_text()[-3000:]
