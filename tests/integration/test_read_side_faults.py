"""One event, one failing handler, a database restart or another process's rebuild
cannot stop the read side."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from ledger import database
from ledger.application import Ledger
from ledger.database import EmbeddedServer, ensure_database, eventsourcing_env, is_outage
from ledger.domain.account import Account
from ledger.domain.member import Member
from ledger.domain.values import Context, MemberKind, Role
from projections.members import MemberTotals
from projections.runner import ReadSide

ADMIN = Context(actor_id="test", role=Role.ADMIN)


@pytest.fixture
def ledger(pg_server: EmbeddedServer) -> Iterator[tuple[str, Ledger]]:
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    app = Ledger(eventsourcing_env(url), id_hash_key=b"faults")
    yield url, app
    app.close()
    database.drop_database(url)


def community(app: Ledger) -> UUID:
    street = app.register_street("果园街道", ADMIN).id
    return app.register_community(street, "果园社区", ADMIN).id


def poisoned_member(app: Ledger, community_id: UUID) -> int:
    """A registration PostgreSQL text cannot hold, written past the commands' checks
    (as an older version of the software, or an insider, could have written it)."""
    member = Member(
        id=uuid4(),
        kind=MemberKind.RESIDENT,
        name="a\x00b",
        phone_masked=None,
        id_hash=None,
        unit_id=None,
        community_id=community_id,
        grid_id=None,
        ctx=ADMIN,
    )
    before = app.recorder.max_notification_id() or 0
    app.save(member, Account(member.id, ctx=ADMIN))
    return before + 1  # the registration; the account's opening follows it


def names(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM member_totals")}


def test_an_event_no_table_can_hold_is_quarantined_and_later_events_flow(
    ledger: tuple[str, Ledger],
) -> None:
    url, app = ledger
    home = community(app)
    poisoned = poisoned_member(app, home)
    app.register_member(MemberKind.RESIDENT, "李四", home, ADMIN)
    read_side = ReadSide(app)
    read_side.open()
    read_side.catch_up()

    held = read_side.quarantined()
    assert {q.position for q in held} == {poisoned}
    assert "member_totals" in {q.model for q in held}
    assert all(q.topic.endswith("Member.Registered") for q in held)
    assert all("0x00" in q.error or "NUL" in q.error or "\\x00" in q.error for q in held), held
    assert names(url) == {"李四"}
    assert read_side.lag()[0] == 0

    read_side.rebuild("member_totals")
    assert {q.position for q in read_side.quarantined() if q.model == "member_totals"} == {poisoned}
    assert names(url) == {"李四"}


def test_a_handler_that_fails_on_one_event_does_not_stop_the_others(
    ledger: tuple[str, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, app = ledger
    home = community(app)
    unlucky = app.register_member(MemberKind.RESIDENT, "王五", home, ADMIN).id
    app.register_member(MemberKind.RESIDENT, "赵六", home, ADMIN)
    registered = MemberTotals.on_registered

    def fails_for_one(self: MemberTotals, event: Any, originator: UUID, position: int) -> None:
        if originator == unlucky:
            raise KeyError("a bug in one handler")
        registered(self, event, originator, position)

    monkeypatch.setattr(MemberTotals, "on_registered", fails_for_one)
    read_side = ReadSide(app)
    read_side.open()
    (held,) = read_side.quarantined()
    assert (held.model, held.originator_id) == ("member_totals", str(unlucky))
    assert "KeyError" in held.error
    assert names(url) == {"赵六"}


def test_the_runner_survives_a_database_restart(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    EmbeddedServer(pgdata)
    url = database.database_url(EmbeddedServer(pgdata).url(), "restart")
    ensure_database(url)
    app = Ledger(eventsourcing_env(url), id_hash_key=b"restart")
    read_side = ReadSide(app)
    stop = threading.Event()
    runner = threading.Thread(target=read_side.run, args=(stop,), kwargs={"idle_wait": 0.2})
    try:
        home = community(app)
        runner.start()
        EmbeddedServer(pgdata).stop()
        time.sleep(3)
        assert runner.is_alive()
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
        head = app.recorder.max_notification_id() or 0
        read_side.wait(head, timeout=30)
        assert runner.is_alive()
        assert "重启后" in names(url)
    finally:
        stop.set()
        runner.join(timeout=30)
        app.close()
        EmbeddedServer(pgdata).stop()
    assert not runner.is_alive()


def test_a_reader_follows_a_rebuild_made_by_another_process(
    ledger: tuple[str, Ledger],
) -> None:
    url, app = ledger
    home = community(app)
    app.register_member(MemberKind.RESIDENT, "张三", home, ADMIN)
    other = Ledger(eventsourcing_env(url), id_hash_key=b"faults")
    try:
        reader, builder = ReadSide(app), ReadSide(other)
        reader.open()
        builder.open()
        before = {m.view.prefix for m in reader.live.values()}
        builder.rebuild(*builder.model_classes)
        head = app.recorder.max_notification_id() or 0
        reader.wait(head, timeout=5)
        assert reader.lag()[0] == 0
        assert {m.view.prefix for m in reader.live.values()} == {
            m.view.prefix for m in builder.live.values()
        }
        assert before.isdisjoint(m.view.prefix for m in reader.live.values())
    finally:
        other.close()
