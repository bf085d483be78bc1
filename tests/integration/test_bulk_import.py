"""A large file imported by worker processes comes to what the commands one row at a
time come to: the same rows imported, the same bad rows, the same aggregates and
points, and nothing twice when the file comes again."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.utils import get_topic

from ledger import database
from ledger.application import Ledger
from ledger.database import EmbeddedServer, drop_database, ensure_database, eventsourcing_env
from ledger.domain.account import Account
from ledger.domain.values import CST, stable_id
from ledger.importer import BATCH_ROWS, HEADERS, ImportResult, import_services, read_rows

WORKERS = 2
KEY = b"bulk-import-key"


def row(record: str, name: str, phone: str, unit: str, community: str, *when: str) -> list[str]:
    return [record, name, "", phone, "党员", unit, community, "果园街道", "巡逻", *when]


def rows() -> Iterator[list[str]]:
    """Three batches for two workers: 120 members of 6 communities and 9 units, each
    serving on their own days; among them rows the commands refuse (a service that
    overlaps the member's own, a Party member without a unit) and rows the parser
    refuses."""
    for n in range(BATCH_ROWS * WORKERS * 2 + 300):
        member, k = n % 120, n // 120
        day = f"2025-{1 + k % 12:02d}-{1 + (member + k // 12) % 28:02d}"
        if n % 211 == 7:
            day = "2025-13-01"  # the parser refuses it
        start, end = ("08:00", "10:00") if n % 2 else ("14:00", "16:00")
        rating = "很好" if n % 3 else "一般"
        phone, unit, community = f"139{member:08d}", f"单位{member % 9}", f"社区{member % 6}"
        yield row(f"B{n:05d}", f"成员{member}", phone, unit, community, day, start, end, "", rating)
    # The only row of 社区孤: its Party member has no unit, so 社区孤 must not exist.
    yield row("B99999", "孤", "13999999999", "", "社区孤", "2025-03-03", "09:00", "10:00", "", "好")
    # The same member three times at the same hours of the same day: two overlap.
    for n in range(3):
        when = ("2025-02-20", "08:00", "10:00", "", "好")
        yield row(f"O{n}", "成员7", f"139{7:08d}", "单位7", "社区1", *when)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bulk") / "bulk.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(list(HEADERS))
        writer.writerows(rows())
    return path


def fresh(pg_server: EmbeddedServer) -> str:
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    return url


def stored(url: str) -> list[tuple[UUID, int, str]]:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT originator_id, originator_version, topic FROM ledger_events "
            "ORDER BY originator_id, originator_version"
        ).fetchall()
    return [(row[0], row[1], row[2]) for row in found]


def accounts(ledger: Ledger, ids: set[UUID]) -> dict[UUID, tuple[Decimal, Decimal]]:
    found = {}
    for account_id in ids:
        account = ledger.repository.get(account_id)
        assert isinstance(account, Account)
        found[account_id] = (account.earned_points, account.earned_hours)
    return found


def credits(ledger: Ledger) -> list[Any]:
    """Every award the ledger stored, as read back."""
    topic = get_topic(Account.Credited)  # type: ignore[attr-defined]
    stored = ledger.recorder.select_notifications(1, 1_000_000, topics=[topic])
    return [ledger.mapper.to_domain_event(n) for n in stored]


def run(url: str, source: Path, workers: int) -> tuple[ImportResult, Ledger]:
    ledger = Ledger(eventsourcing_env(url), id_hash_key=KEY)
    return import_services(ledger, read_rows(source), source.name, workers=workers), ledger


def test_workers_import_what_the_commands_import_row_by_row(
    pg_server: EmbeddedServer, source: Path
) -> None:
    one, many = fresh(pg_server), fresh(pg_server)
    try:
        by_one, ledger_one = run(one, source, 1)
        by_many, ledger_many = run(many, source, WORKERS)
        try:
            assert by_many.imported > BATCH_ROWS * WORKERS * 2
            assert (by_many.imported, by_many.already) == (by_one.imported, by_one.already)
            assert by_many.bad == by_one.bad == sorted(by_one.bad)
            reasons = [reason for _, reason in by_many.bad]
            assert any("重叠" in r for r in reasons) and any("日期" in r for r in reasons)
            assert any("单位" in r for r in reasons)

            events = stored(many)
            assert events == stored(one)
            assert len({(i, v) for i, v, _ in events}) == len(events)
            lone = stable_id("import-community", "果园街道", "社区孤")
            assert lone not in {i for i, _, _ in events}

            account_ids = {i for i, _, topic in events if topic.endswith("Account.Opened")}
            assert account_ids
            assert accounts(ledger_many, account_ids) == accounts(ledger_one, account_ids)
            awards = credits(ledger_many)
            assert len(awards) == by_many.imported
            # Each counts on its service's day of 2025, not on the day of the import.
            assert all(a.value_at.astimezone(CST).date() == a.day for a in awards)
            assert {a.day.year for a in awards} == {2025}
            assert all(a.value_at < a.timestamp for a in awards)

            again, ledger_again = run(many, source, WORKERS)
            ledger_again.close()
            assert (again.imported, again.already) == (0, by_many.imported)
            assert stored(many) == events
        finally:
            ledger_one.close()
            ledger_many.close()
    finally:
        drop_database(one)
        drop_database(many)
