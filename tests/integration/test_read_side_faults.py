"""One event, one failing handler, a database restart or another process's rebuild
cannot stop the read side."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
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
from projections.base import ReadModel
from projections.members import MEMBER_TOTALS, MemberTotals
from projections.runner import GenerationSwitched, ReadSide

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


def test_the_runner_survives_a_database_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
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
        read_side.wait(app.recorder.max_notification_id() or 0, timeout=30)
        EmbeddedServer(pgdata).stop()
        with caplog.at_level(logging.WARNING, logger="projections.runner"):
            # While the server is away a reader's call fails (the pool's wait is
            # bounded) instead of hanging, and the runner says it is waiting.
            outcome: list[BaseException] = []

            def read_lag() -> None:
                try:
                    read_side.lag()
                except BaseException as error:
                    outcome.append(error)

            reader = threading.Thread(target=read_lag, daemon=True)
            reader.start()
            reader.join(timeout=20)  # the pool waits 5 s; the library's retries ten times that
            assert not reader.is_alive(), "a read waited on while the database was away"
            assert len(outcome) == 1 and is_outage(outcome[0]), outcome
            deadline = time.monotonic() + 20
            while not any("database unavailable" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "the runner did not notice the outage"
                time.sleep(0.1)
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


def test_a_handler_that_breaks_a_key_of_its_own_table_is_quarantined_not_retried_for_ever(
    ledger: tuple[str, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, app = ledger
    home = community(app)
    unlucky = app.register_member(MemberKind.RESIDENT, "王五", home, ADMIN).id
    app.register_member(MemberKind.RESIDENT, "赵六", home, ADMIN)
    registered = MemberTotals.on_registered

    def writes_twice(self: MemberTotals, event: Any, originator: UUID, position: int) -> None:
        registered(self, event, originator, position)
        if originator == unlucky:  # one key twice: a unique violation, not a race
            rows = self.rows["member_totals"]
            row = rows.get(originator)
            assert row is not None
            for _ in range(2):
                rows.append(tuple(row[c] for c in MEMBER_TOTALS.column_names))

    monkeypatch.setattr(MemberTotals, "on_registered", writes_twice)
    read_side = ReadSide(app)
    opening = threading.Thread(target=read_side.open, daemon=True)
    opening.start()
    opening.join(timeout=60)
    assert not opening.is_alive(), "the read side tried the same batch again and again"
    (held,) = read_side.quarantined()
    assert (held.model, held.originator_id) == ("member_totals", str(unlucky))
    assert held.error.startswith("IntegrityError"), held.error
    assert names(url) == {"赵六"}


def test_one_bad_event_among_many_is_found_by_halving_the_batch(
    ledger: tuple[str, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, app = ledger
    home = community(app)
    for n in range(40):
        app.register_member(MemberKind.RESIDENT, f"居民{n}", home, ADMIN)
    poisoned = poisoned_member(app, home)
    for n in range(40, 80):
        app.register_member(MemberKind.RESIDENT, f"居民{n}", home, ADMIN)
    batches: list[int] = []

    def counted(self: MemberTotals, events: Iterable[tuple[Any, int]], tracking: Any) -> None:
        events = list(events)
        batches.append(len(events))
        ReadModel.process_batch(self, events, tracking)

    monkeypatch.setattr(MemberTotals, "process_batch", counted)
    read_side = ReadSide(app)
    read_side.open()
    assert {q.position for q in read_side.quarantined()} == {poisoned}
    assert names(url) == {f"居民{n}" for n in range(80)}
    events = batches[0]
    assert events > 80  # every registration, in one batch
    # One transaction per event would be as many as the events; halving needs two
    # per level down to the bad one.
    assert len(batches) <= 2 * events.bit_length() + 2, batches


def test_a_runner_writing_to_a_generation_another_process_replaces_follows_the_new_one(
    ledger: tuple[str, Ledger], caplog: pytest.LogCaptureFixture
) -> None:
    url, app = ledger
    home = community(app)
    app.register_member(MemberKind.RESIDENT, "张三", home, ADMIN)
    other = Ledger(eventsourcing_env(url), id_hash_key=b"faults")
    follower, builder = ReadSide(app), ReadSide(other)
    follower.open()
    stale = follower.live["member_totals"]
    apply = stale.process_batch
    rebuilt = threading.Event()

    def rebuilt_meanwhile(events: Iterable[tuple[Any, int]], tracking: Any) -> None:
        if not rebuilt.is_set():  # another process switches and drops this generation
            builder.rebuild("member_totals")
            rebuilt.set()
        apply(events, tracking)

    stale.process_batch = rebuilt_meanwhile  # type: ignore[method-assign]
    stop = threading.Event()
    runner = threading.Thread(target=follower.run, args=(stop,), kwargs={"idle_wait": 0.2})
    try:
        with caplog.at_level(logging.INFO, logger="projections.runner"):
            runner.start()
            app.register_member(MemberKind.RESIDENT, "李四", home, ADMIN)
            follower.wait(app.recorder.max_notification_id() or 0, timeout=30)
        assert rebuilt.is_set()
        assert (
            follower.live["member_totals"].view.prefix == builder.live["member_totals"].view.prefix
        )
        assert names(url) == {"张三", "李四"}
        assert follower.quarantined() == []
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        assert runner.is_alive()
    finally:
        stop.set()
        runner.join(timeout=30)
        other.close()


def test_a_generation_dropped_between_batches_is_followed_not_reported_as_a_failure(
    ledger: tuple[str, Ledger],
) -> None:
    url, app = ledger
    home = community(app)
    app.register_member(MemberKind.RESIDENT, "王五", home, ADMIN)
    other = Ledger(eventsourcing_env(url), id_hash_key=b"faults")
    try:
        follower, builder = ReadSide(app), ReadSide(other)
        follower.open()
        follower.catch_up()
        builder.rebuild("member_totals")  # switched and the old generation dropped
        app.register_member(MemberKind.RESIDENT, "赵六", home, ADMIN)
        with pytest.raises(GenerationSwitched):
            follower.catch_up()
        follower.open()
        follower.catch_up()
        assert names(url) == {"王五", "赵六"}
    finally:
        other.close()


def test_two_processes_opening_a_new_read_side_at_once_build_each_generation_once(
    ledger: tuple[str, Ledger],
) -> None:
    url, app = ledger
    home = community(app)
    for n in range(20):
        app.register_member(MemberKind.RESIDENT, f"居民{n}", home, ADMIN)
    other = Ledger(eventsourcing_env(url), id_hash_key=b"faults")
    sides = [ReadSide(app, batch_size=7), ReadSide(other, batch_size=7)]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def open_side(side: ReadSide) -> None:
        start.wait()
        try:
            side.open()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_side, args=(side,)) for side in sides]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        first, second = ({n: m.view.prefix for n, m in s.live.items()} for s in sides)
        assert first == second
        assert all(prefix.endswith("_g1") for prefix in first.values())
        assert names(url) == {f"居民{n}" for n in range(20)}
        head = app.recorder.max_notification_id() or 0
        assert all(side.lag()[0] == 0 for side in sides), head
        with psycopg.connect(url) as conn:
            built = {
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE tablename LIKE 'rm\\_%\\_tracking'"
                )
            }
        assert built == {f"{prefix}_tracking" for prefix in first.values()}
    finally:
        other.close()
