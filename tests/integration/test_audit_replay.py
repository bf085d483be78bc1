"""Auditors replay: balances at any moment, and every award re-checked against the rules."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import psycopg
import pytest

import audit
from ledger.application import Ledger
from ledger.simulation import Generator, History, Scale
from projections.runner import ReadSide

SMALL = Scale(communities=3, grids=1, units=5, party_members=60, residents=20, days=30)


@pytest.fixture(scope="module")
def history(ledger: Ledger) -> History:
    made = Generator(ledger, SMALL, seed=21).run()
    ReadSide(ledger).open()
    return made


def entries_balance(url: str, member: Any, at: Any) -> Decimal:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(amount), 0) FROM ledger_entries "
            "WHERE account = %s AND value_at <= %s",
            (f"member:{member}", at),
        ).fetchone()
    assert row is not None
    return Decimal(row[0])


def test_replay_at_a_moment_agrees_with_the_ledger_entries(
    ledger: Ledger, history: History, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        found = conn.execute("SELECT value_at FROM ledger_entries ORDER BY position").fetchall()
    moments = [r[0] for r in found]
    rng = random.Random(4)
    chosen = sorted(rng.sample(moments, 20))
    compared = 0
    for at in chosen:
        for member in history.members:
            state = audit.replay_member(ledger, member, at)
            assert state.balance == entries_balance(database_url, member, at), (member, at)
            compared += state.balance != 0
    assert compared > 20


def test_every_award_recomputes_to_the_last_digit(ledger: Ledger, history: History) -> None:
    checked, mismatches = audit.recheck_awards(ledger)
    assert checked == len(history.services) > 50
    assert mismatches == []


def test_a_members_history_traces_every_point_to_its_cause(
    ledger: Ledger, history: History
) -> None:
    member = max(history.members, key=lambda m: ledger.get_account(m).balance)
    lines = audit.history(ledger, member)
    assert lines[0].event == "Member.Registered"
    assert [line.position for line in lines] == sorted(line.position for line in lines)
    moves = [line for line in lines if line.amount is not None]
    assert moves and all(line.actor and line.correlation_id and line.cause for line in moves)
    assert all(line.policy_version is not None for line in moves)
    balance = Decimal(0)
    for line in moves:
        sign = 1 if line.event in ("Account.Credited", "Account.Refunded") else -1
        balance += sign * line.amount  # type: ignore[operator]
        assert line.balance == balance
    assert balance == ledger.get_account(member).balance


def test_points_are_conserved_per_community_for_any_period(
    ledger: Ledger, history: History
) -> None:
    from datetime import UTC, datetime

    whole = audit.conservation(
        ledger, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )
    assert whole.holds
    assert set(whole.communities) <= set(history.communities)
    assert sum(c.issued for c in whole.communities.values()) > 0
    assert sum(c.redeemed for c in whole.communities.values()) > 0
    moments = sorted(line.at for line in audit.history(ledger, history.members[0]))
    middle = audit.conservation(ledger, moments[0], moments[-1])
    assert middle.holds


def test_a_wrong_award_is_listed(ledger: Ledger, history: History, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        position, state = conn.execute(
            "SELECT notification_id, state FROM ledger_events "
            "WHERE topic LIKE '%:Service.Rated' ORDER BY notification_id LIMIT 1 OFFSET 7"
        ).fetchone()  # type: ignore[misc]
        data = json.loads(bytes(state))
        points = data["award"]["_data_"]["points"]
        points["_data_"] = str(Decimal(points["_data_"]) + Decimal("10"))
        conn.execute(
            "UPDATE ledger_events SET state = %s WHERE notification_id = %s",
            (json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), position),
        )
    ledger.loader.forget()
    _, mismatches = audit.recheck_awards(ledger)
    assert [m.position for m in mismatches] == [position]
    (wrong,) = mismatches
    assert wrong.recomputed is not None
    assert wrong.recorded.points == wrong.recomputed.points + 10
