"""Points count when their service happened, not when it was recorded: a balance as of
a date, the auditor's replay at that date and an export of the period all agree; an
import of a past year counts in that year; and both moments are shown to auditors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import psycopg
import pytest

import audit
from entrypoints.bootstrap import Services, bootstrap
from ledger.domain.account import Account
from ledger.domain.member import hash_national_id, member_id_for
from ledger.domain.values import CST, Context, MemberKind, Rating, Role, member_account
from ledger.importer import import_services, read_rows
from ledger.settings import Settings
from projections.queries import balance_as_of
from tests.support import earn

ADMIN = Context(actor_id="test", role=Role.ADMIN)
EVER = datetime(2000, 1, 1, tzinfo=UTC)
SIGNS = {"Credited": 1, "Refunded": 1, "Debited": -1, "Reversed": -1, "Expired": -1}


@pytest.fixture(scope="module")
def services(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    folder = tmp_path_factory.mktemp("value-dates")
    settings = Settings(
        database_url=database_url,
        data_dir=folder / "data",
        id_hash_key=b"test-id-hash-key",
        signing_key=bytes(range(32)),
        checkpoint_log=folder / "outside" / "checkpoints.jsonl",
    )
    with bootstrap(settings) as made:
        made.read_side.open()
        yield made


@pytest.fixture(scope="module")
def late(services: Services) -> dict[str, Any]:
    """A service served 40 days ago, recorded (and later corrected) today."""
    ledger = services.ledger
    recorded_from = datetime.now(UTC)
    street = ledger.register_street("迟录街道", ADMIN).id
    community = ledger.register_community(street, "迟录社区", ADMIN).id
    member = ledger.register_member(MemberKind.RESIDENT, "晚登记", community, ADMIN).id
    day = (recorded_from - timedelta(days=40)).astimezone(CST).date()
    start = datetime.combine(day, time(9), CST)
    earn(ledger, community, member, start, ADMIN)  # 4 h hard, 很好: 9.6
    services.read_side.catch_up()
    return {"member": member, "start": start, "recorded_from": recorded_from}


def balance(url: str, account: str, at: datetime) -> Decimal:
    async def read() -> Decimal:
        conn = await asyncpg.connect(url)
        try:
            return await balance_as_of(conn, account, at)
        finally:
            await conn.close()

    return asyncio.run(read())


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def moved(lines: list[dict[str, Any]]) -> Decimal:
    """The points an export's account events moved, from their stored states."""
    total = Decimal(0)
    for line in lines[1:]:
        kind = line["topic"].rsplit(".", 1)[1]
        if kind in SIGNS:
            total += SIGNS[kind] * Decimal(json.loads(line["state"])["amount"]["_data_"])
    return total


def test_a_service_recorded_today_counts_in_the_balance_as_of_the_days_it_happened(
    services: Services, late: dict[str, Any]
) -> None:
    account, start = member_account(late["member"]), late["start"]
    twenty_days_ago = datetime.now(UTC) - timedelta(days=20)
    assert balance(services.url, account, twenty_days_ago) == Decimal("9.6")
    assert balance(services.url, account, start) == Decimal("9.6")
    assert balance(services.url, account, start - timedelta(microseconds=1)) == 0
    # The other side of the movement, the community's issuance, is dated the same.
    with psycopg.connect(services.url) as conn:
        legs = conn.execute(
            "SELECT account, amount, at, value_at FROM ledger_entries "
            "WHERE member_id = %s ORDER BY position, leg",
            (late["member"],),
        ).fetchall()
    assert {leg[3] for leg in legs} == {start}
    assert all(leg[2] >= late["recorded_from"] for leg in legs)
    issuance = next(leg[0] for leg in legs if leg[0] != account)
    assert balance(services.url, issuance, twenty_days_ago) == Decimal("-9.6")


def test_the_auditors_replay_at_that_date_agrees_with_the_balance(
    services: Services, late: dict[str, Any]
) -> None:
    at = datetime.now(UTC) - timedelta(days=20)
    state = audit.replay_member(services.ledger, late["member"], at)
    assert (state.balance, state.earned_points, state.movements) == (Decimal("9.6"),) * 2 + (1,)
    before = audit.replay_member(services.ledger, late["member"], late["start"] - timedelta(days=1))
    assert (before.balance, before.movements) == (0, 0)
    done = cli(services.url, "audit", "replay", str(late["member"]), "--at", at.isoformat())
    assert done.returncode == 0, done.stderr
    assert "可用积分 9.6" in done.stdout and "一致" in done.stdout and "不一致" not in done.stdout


def test_an_export_of_the_period_holds_the_service_and_agrees_with_the_balance(
    services: Services, late: dict[str, Any]
) -> None:
    member = late["member"]
    aggregates = [member, Account.create_id(member)]
    at = datetime.now(UTC) - timedelta(days=20)
    then = list(audit.export(services.ledger, services.read_side, aggregates, EVER, at))
    assert moved(then) == balance(services.url, member_account(member), at) == Decimal("9.6")
    (credited,) = [line for line in then[1:] if line["topic"].endswith("Account.Credited")]
    assert datetime.fromisoformat(credited["value_at"]) == late["start"]
    assert datetime.fromisoformat(credited["recorded_at"]) >= late["recorded_from"]
    # Registered and opened today: in today's period, without the service of 40 days ago.
    today = list(
        audit.export(
            services.ledger,
            services.read_side,
            aggregates,
            late["recorded_from"],
            at + timedelta(days=21),
        )
    )
    topics = {line["topic"].rsplit(":", 1)[1] for line in today[1:]}
    assert {"Member.Registered", "Account.Opened"} <= topics
    assert "Account.Credited" not in topics


def test_a_correction_today_belongs_to_the_day_of_the_service(
    services: Services, late: dict[str, Any]
) -> None:
    ledger, member, start = services.ledger, late["member"], late["start"]
    service = next(
        line.cause.split(":", 1)[1]
        for line in audit.history(ledger, member)
        if line.event == "Account.Credited"
    )
    ledger.correct_service(UUID(service), "评价有误", "街道党工委", ADMIN, rating=Rating.GOOD)
    services.read_side.catch_up()
    corrected = ledger.get_account(member).balance
    assert corrected < Decimal("9.6")
    account = member_account(member)
    assert balance(services.url, account, start + timedelta(days=1)) == corrected
    assert audit.replay_member(ledger, member, start + timedelta(days=1)).balance == corrected
    lines = audit.history(ledger, member)
    reversal = next(line for line in lines if line.event == "Account.Reversed")
    assert reversal.value_at == start and reversal.at >= late["recorded_from"]
    registered = lines[0]
    assert registered.event == "Member.Registered" and registered.value_at is None


def test_an_import_of_a_past_year_counts_in_that_year(services: Services, tmp_path: Path) -> None:
    year = datetime.now(CST).year - 1
    header = "记录编号,姓名,身份证号,手机,类别,单位,社区,街道,服务类别,日期,开始,结束,时长,评价"
    rows = [
        f"P1,纸质甲,110105198001010029,,群众,,纸质社区,纸质街道,应急保障,{year}-03-02,09:00,11:00,,很好",
        f"P2,纸质甲,110105198001010029,,群众,,纸质社区,纸质街道,应急保障,{year}-11-20,09:00,12:00,,好",
    ]
    source = tmp_path / "paper.csv"
    source.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    imported = import_services(services.ledger, read_rows(source), "paper.csv")
    assert imported.imported == 2 and not imported.bad
    services.read_side.catch_up()
    member = member_id_for(hash_national_id("110105198001010029", services.ledger.id_hash_key))
    earned = services.ledger.get_account(member).balance
    assert earned > 0
    account = member_account(member)
    opening = datetime(year, 1, 1, tzinfo=CST)
    closing = datetime(year + 1, 1, 1, tzinfo=CST) - timedelta(microseconds=1)
    march = datetime(year, 4, 1, tzinfo=CST)
    assert balance(services.url, account, opening) == 0
    assert 0 < balance(services.url, account, march) < earned
    assert balance(services.url, account, closing) == earned
    assert audit.replay_member(services.ledger, member, closing).balance == earned
    flows = audit.conservation(services.ledger, opening, closing)
    assert flows.holds
    issued = sum((c.issued for c in flows.communities.values()), Decimal(0))
    assert issued >= earned
