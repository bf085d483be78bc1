"""Expiry runs by itself: once at start and daily just after midnight (CST), idempotent and
safe from two processes at once; `ledger expire` runs it by hand."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest

from entrypoints.expiry import expire_now, next_run, run_daily
from ledger.application import Ledger
from ledger.domain.errors import ExpiryInFuture
from ledger.domain.values import Context, MemberKind, Role
from tests.support import earn

ADMIN = Context(actor_id="test", role=Role.ADMIN)
CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime(2026, 12, 31, 23, 0, tzinfo=CST), datetime(2027, 1, 1, 0, 5, tzinfo=CST)),
        (datetime(2027, 1, 1, 0, 4, tzinfo=CST), datetime(2027, 1, 1, 0, 5, tzinfo=CST)),
        (datetime(2027, 1, 1, 0, 5, tzinfo=CST), datetime(2027, 1, 2, 0, 5, tzinfo=CST)),
        (datetime(2026, 12, 31, 16, 10, tzinfo=UTC), datetime(2027, 1, 2, 0, 5, tzinfo=CST)),
    ],
)
def test_the_daily_run_is_just_after_midnight_china_time(
    after: datetime, expected: datetime
) -> None:
    assert next_run(after) == expected


def member_with_old_points(ledger: Ledger, name: str) -> UUID:
    """9.6 points earned on 1 May 2024: they expire at the end of 2025."""
    street = ledger.register_street(f"{name}街道", ADMIN).id
    community = ledger.register_community(street, f"{name}社区", ADMIN).id
    member = ledger.register_member(MemberKind.RESIDENT, name, community, ADMIN).id
    start = datetime(2024, 5, 1, 9, tzinfo=CST)
    earn(ledger, community, member, start, ADMIN)
    return member


def test_two_runs_at_once_expire_each_point_once(ledger: Ledger) -> None:
    members = [member_with_old_points(ledger, name) for name in ("甲", "乙", "丙")]
    runs = [threading.Thread(target=expire_now, args=(ledger,)) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    for member in members:
        account = ledger.get_account(member)
        assert account.balance == 0
        assert account.earned_points == Decimal("9.6")  # the earned record stays
    assert expire_now(ledger) == 0  # nothing left to expire


def test_the_daily_runner_expires_at_start_and_stops_when_told(ledger: Ledger) -> None:
    member = member_with_old_points(ledger, "丁")
    stop = threading.Event()
    runner = threading.Thread(target=run_daily, args=(ledger, stop))
    runner.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while ledger.get_account(member).balance != 0:
            assert datetime.now(UTC) < deadline, "the start-up run did not expire the points"
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_the_command_expires_as_of_a_given_moment(ledger: Ledger, database_url: str) -> None:
    member = member_with_old_points(ledger, "戊")
    env = {**os.environ, "DATABASE_URL": database_url}

    def expire(at: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "expire", "--as-of", at],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    assert "0 个账户" in expire("2025-12-31T23:59:00+08:00")
    assert ledger.get_account(member).balance == Decimal("9.6")
    assert "个账户有积分过期" in expire("2026-01-01T00:05:00+08:00")
    ledger.loader.forget()  # another process saved the account
    assert ledger.get_account(member).balance == 0


def test_the_command_refuses_a_moment_still_to_come_and_moves_nothing(
    ledger: Ledger, database_url: str
) -> None:
    """Points earned last year expire at the end of this one: a run as of the first
    minutes of next year, asked for today, would take them now, irreversibly."""
    street = ledger.register_street("己街道", ADMIN).id
    community = ledger.register_community(street, "己社区", ADMIN).id
    member = ledger.register_member(MemberKind.RESIDENT, "己", community, ADMIN).id
    this_year = datetime.now(CST).year
    earn(ledger, community, member, datetime(this_year - 1, 6, 1, 9, tzinfo=CST), ADMIN)
    ahead = datetime(this_year + 1, 1, 1, 0, 10, tzinfo=CST)
    assert ledger.get_account(member).due_lots(ahead, ledger.current_policy())
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "expire", "--as-of", ahead.isoformat()],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "晚于账本当前时间" in done.stderr and "未作任何变动" in done.stderr
    assert f"{this_year + 1}-01-01 00:10:00" in done.stderr  # China Standard Time
    ledger.loader.forget()
    assert ledger.get_account(member).balance == Decimal("9.6")
    with pytest.raises(ExpiryInFuture):
        ledger.expire_account(member, ahead, ADMIN)
    assert ledger.get_account(member).version == 2  # opened and credited, nothing more
