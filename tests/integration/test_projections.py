"""Read models on real PostgreSQL: live equals rebuilt, crashes lose nothing, books balance."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import psycopg
import pytest

from ledger import database
from ledger.application import Ledger
from ledger.database import (
    EmbeddedServer,
    as_uri,
    drop_database,
    ensure_database,
    eventsourcing_env,
)
from ledger.settings import load_settings
from ledger.simulation import Generator, History, Scale
from projections import base, queries
from projections.members import MemberTotals
from projections.queries import balance_as_of
from projections.runner import READ_MODELS, REGISTRY, ReadSide
from projections.tree import Publisher
from tests.integration.readside import assert_same_rows, snapshot

SMALL = Scale(communities=4, grids=2, units=8, party_members=120, residents=40, days=60)


def fresh_database(pg_server: EmbeddedServer) -> str:
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    return url


@pytest.fixture(scope="module")
def lived(pg_server: EmbeddedServer) -> Iterator[tuple[str, Ledger, ReadSide, History]]:
    """A history written while a live runner followed it."""
    url = fresh_database(pg_server)
    writer = Ledger(eventsourcing_env(url))
    follower = Ledger(eventsourcing_env(url))
    read_side = ReadSide(follower, batch_size=97)
    stop = threading.Event()
    thread = threading.Thread(target=read_side.run, args=(stop,), kwargs={"idle_wait": 0.2})
    thread.start()
    try:
        history = Generator(writer, SMALL, seed=3).run()
        head = writer.recorder.max_notification_id() or 0
        assert head > 3000
        deadline = time.monotonic() + 120
        while not read_side.live or any(
            read_side.position(m) < head for m in read_side.live.values()
        ):
            assert time.monotonic() < deadline, "live runner did not catch up"
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
    yield url, writer, read_side, history
    writer.close()
    follower.close()
    drop_database(url)


def test_every_view_after_live_processing_equals_its_rebuild(lived: Any) -> None:
    url, _, read_side, _ = lived
    live = snapshot(url)
    assert sum(len(rows) for rows in live.values()) > 1000
    read_side.rebuild(*(model.name for model in READ_MODELS))
    assert_same_rows(live, snapshot(url))


def test_a_rebuild_whose_kept_rows_outgrow_their_bound_writes_them_as_it_goes(
    lived: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url, _, read_side, _ = lived
    live = snapshot(url)
    monkeypatch.setattr(base, "MAX_CACHED_ROWS", 50)  # far fewer than a read model's rows
    with caplog.at_level(logging.WARNING, logger="projections.runner"):
        read_side.rebuild(*(model.name for model in READ_MODELS))
    assert_same_rows(live, snapshot(url))
    # each read model filled once: none failed while held and was filled again unheld
    assert "rebuild_refill" not in caplog.text


def test_ledger_entries_sum_to_zero_at_every_position(lived: Any) -> None:
    url = lived[0]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT sum(amount) FROM ledger_entries").fetchone() == (0,)
        unbalanced = conn.execute(
            "SELECT position FROM ledger_entries GROUP BY position HAVING sum(amount) <> 0"
        ).fetchall()
        assert unbalanced == []
        legs = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()
        assert legs is not None and legs[0] > 500


def test_each_members_entries_sum_to_the_balance_their_account_holds(lived: Any) -> None:
    url, writer, _, history = lived
    with psycopg.connect(url) as conn:
        sums = dict(
            conn.execute(
                "SELECT member_id, sum(amount) FROM ledger_entries "
                "WHERE account LIKE 'member:%' GROUP BY member_id"
            ).fetchall()
        )
        totals = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT member_id, recorded_balance, earned_points, earned_hours FROM member_totals"
            ).fetchall()
        }
        lots: dict[Any, dict[int, Decimal]] = {}
        for member_id, year, amount in conn.execute(
            "SELECT member_id, year, amount FROM member_lots WHERE amount <> 0"
        ).fetchall():
            lots.setdefault(member_id, {})[year] = amount
    checked = 0
    for member in history.members:
        account = writer.get_account(member)
        assert sums.get(member, Decimal(0)) == account.balance
        assert totals[member] == (account.balance, account.earned_points, account.earned_hours)
        by_year: dict[int, Decimal] = {}
        for (year, _), amount in account.lots.items():
            by_year[year] = by_year.get(year, Decimal(0)) + amount
        assert lots.get(member, {}) == {y: a for y, a in by_year.items() if a}
        checked += account.balance > 0
    assert checked > 10


async def test_a_balance_as_of_a_moment_sums_the_legs_that_belong_to_it(lived: Any) -> None:
    url = lived[0]
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT account FROM ledger_entries "
            "WHERE account LIKE 'member:%' ORDER BY position DESC LIMIT 1 OFFSET 50"
        ).fetchone()
        assert row is not None
        account = row[0]
        legs = conn.execute(
            "SELECT amount, value_at FROM ledger_entries WHERE account = %s", (account,)
        ).fetchall()
        (now,) = conn.execute(
            "SELECT balance FROM ledger_balances WHERE account = %s", (account,)
        ).fetchone() or (None,)
    moments = sorted({moment for _, moment in legs})
    reader = await asyncpg.connect(url)
    try:
        for at in moments:
            summed = sum((amount for amount, moment in legs if moment <= at), Decimal(0))
            assert await balance_as_of(reader, account, at) == summed
            earlier = sum((amount for amount, moment in legs if moment < at), Decimal(0))
            assert await balance_as_of(reader, account, at - timedelta(microseconds=1)) == earlier
        assert await balance_as_of(reader, account, moments[-1]) == now
        assert await balance_as_of(reader, account, moments[0] - timedelta(days=3650)) == 0
    finally:
        await reader.close()
    assert len(moments) > 1


def test_a_killed_runner_restarts_without_counting_twice_or_skipping(
    pg_server: EmbeddedServer, tmp_path: Path
) -> None:
    url = fresh_database(pg_server)
    writer = Ledger(eventsourcing_env(url))
    try:
        generator = Generator(writer, SMALL, seed=5)
        history = generator.setup()
        generator.days(history, 0, 5)
        read_side = ReadSide(writer)
        read_side.open()
        start = read_side.position(read_side.live["dossiers"])
        generator.days(history, 5, 30)
        head = writer.recorder.max_notification_id() or 0
        tracking = f"{read_side.live['dossiers'].view.tracking_table_name}"

        # the worker publishes checkpoints to its log, outside the database; the rebuild
        # below copies them from there into the new generation
        env = {**os.environ, "DATABASE_URL": url, "LEDGER_DATA_DIR": str(tmp_path / "data")}
        killed_at = 0
        with subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "project", "--batch-size", "20"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as worker:
            try:
                deadline = time.monotonic() + 60
                with psycopg.connect(url, autocommit=True) as conn:
                    while time.monotonic() < deadline:
                        row = conn.execute(
                            f'SELECT max(notification_id) FROM "{tracking}"'
                        ).fetchone()
                        killed_at = row[0] if row and row[0] else 0
                        if killed_at > start + (head - start) // 3:
                            break
                        time.sleep(0.02)
            finally:
                worker.send_signal(signal.SIGKILL)
        assert start < killed_at < head, "the worker was not killed half-way"

        resumed = ReadSide(writer, publisher=Publisher.from_settings(load_settings(env)))
        resumed.open()
        resumed.catch_up()
        assert all(resumed.position(m) == head for m in resumed.live.values())
        after_restart = snapshot(url)
        resumed.rebuild(*(model.name for model in READ_MODELS))
        assert_same_rows(after_restart, snapshot(url))
    finally:
        writer.close()
        drop_database(url)


def test_a_new_schema_version_is_built_beside_the_old_then_takes_over(lived: Any) -> None:
    url, _, read_side, _ = lived

    class MemberTotalsV2(MemberTotals):
        name = "member_totals"
        version = MemberTotals.version + 1

    before = snapshot(url)["member_totals"]
    upgraded = ReadSide(read_side.ledger, models=[MemberTotalsV2])
    upgraded.open()
    with psycopg.connect(url) as conn:
        registered = conn.execute(
            f"SELECT version, generation FROM {REGISTRY} WHERE name = 'member_totals'"
        ).fetchone()
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename LIKE 'rm_member_totals_%'"
            ).fetchall()
        }
    assert registered is not None and registered[0] == MemberTotalsV2.version
    assert all(t.startswith(f"rm_member_totals_v{MemberTotalsV2.version}_") for t in tables)
    assert snapshot(url)["member_totals"] == before
    read_side.rebuild("member_totals")  # back to this code's version for the other tests


def test_reads_can_wait_for_a_write_to_reach_every_view(lived: Any) -> None:
    _, writer, read_side, history = lived
    receipt = writer.register_member(history_kind(), "新成员", history.communities[0], admin())
    assert receipt.position is not None
    with pytest.raises(TimeoutError):
        read_side.wait(receipt.position, timeout=0.05)
    read_side.catch_up()
    read_side.wait(receipt.position, timeout=1)
    with psycopg.connect(lived[0]) as conn:
        found = conn.execute(
            "SELECT name FROM member_totals WHERE member_id = %s", (receipt.id,)
        ).fetchone()
    assert found == ("新成员",)


def history_kind() -> Any:
    from ledger.domain.values import MemberKind

    return MemberKind.RESIDENT


def admin() -> Any:
    from ledger.domain.values import Context, Role

    return Context("admin", Role.ADMIN)


def test_ledger_rebuild_rebuilds_one_view_with_a_progress_bar(lived: Any) -> None:
    url = lived[0]
    before = snapshot(url)
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "entrypoints.cli",
            "rebuild",
            "unit_rankings",
            "--batch-size",
            "500",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr and "unit_rankings" in done.stderr
    with psycopg.connect(url) as conn:
        generation = conn.execute(
            f"SELECT generation FROM {REGISTRY} WHERE name = 'unit_rankings'"
        ).fetchone()
    assert generation is not None and generation[0] >= 2
    assert_same_rows(before, snapshot(url))
    wrong = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "rebuild", "no_such_view"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 2 and "没有名为 no_such_view 的读模型" in wrong.stderr


def test_two_runners_following_at_once_count_each_event_once(lived: Any) -> None:
    url, writer, _, history = lived
    before = snapshot(url)
    with writer.batch():
        for member in history.members[:20]:
            if not writer.get_member(member).reported:
                writer.report_member(member, date(2026, 3, 1), admin())
        writer.register_member(history_kind(), "并发者", history.communities[0], admin())
    first, second = ReadSide(writer, batch_size=7), ReadSide(writer, batch_size=11)
    first.open()
    second.open()
    threads = [threading.Thread(target=side.catch_up) for side in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    head = writer.recorder.max_notification_id() or 0
    assert all(first.position(m) == head for m in first.live.values())
    caught_up = snapshot(url)
    assert caught_up != before
    first.rebuild(*(model.name for model in READ_MODELS))
    assert_same_rows(caught_up, snapshot(url))


STANDING_BY_SUMS = """
WITH peers AS (
    SELECT p.member_id,
           coalesce(sum(s.points) FILTER (WHERE s.reversed_position IS NULL), 0) AS points,
           coalesce(sum(s.hours) FILTER (WHERE s.reversed_position IS NULL), 0) AS hours
    FROM dossier_people p
    LEFT JOIN dossier_services s
           ON s.member_id = p.member_id AND s.year = %(year)s AND s.rated_position IS NOT NULL
    WHERE p.{group} = (SELECT {group} FROM dossier_people WHERE member_id = %(member)s)
    GROUP BY p.member_id
), ranked AS (
    SELECT member_id, rank() OVER (ORDER BY points DESC, hours DESC) AS rank,
           count(*) OVER () AS size
    FROM peers
)
SELECT rank, size FROM ranked WHERE member_id = %(member)s
"""
"""A standing summed over every peer's services: what the dossier's kept years must give."""


async def test_a_dossier_standing_from_the_kept_years_equals_one_summed_over_every_peer(
    lived: Any,
) -> None:
    url, _, _, history = lived
    conn = await asyncpg.connect(as_uri(url))
    try:
        with psycopg.connect(url) as sync:
            years = [r[0] for r in sync.execute("SELECT DISTINCT year FROM dossier_years")]
            assert years
            compared = 0
            for member in history.members[:: max(1, len(history.members) // 60)]:
                for year in years:
                    found = await queries.dossier(conn, member, year)
                    assert found is not None
                    for group, standing in (
                        ("unit_id", found.in_unit),
                        ("community_id", found.in_community),
                    ):
                        row = sync.execute(
                            STANDING_BY_SUMS.format(group=group),
                            {"member": member, "year": year},
                        ).fetchone()
                        got = None if standing is None else (standing.rank, standing.size)
                        assert got == (None if row is None else tuple(row)), (member, year, group)
                        compared += standing is not None
    finally:
        await conn.close()
    assert compared > 50
