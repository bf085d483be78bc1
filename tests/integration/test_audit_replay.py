"""Auditors replay: balances at any moment, and every award re-checked against the rules."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from ledger.application import Ledger
from ledger.simulation import Generator, History, Scale
from projections import audit
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
            "SELECT balance FROM ledger_entries WHERE account = %s AND at <= %s "
            "ORDER BY at DESC, position DESC LIMIT 1",
            (f"member:{member}", at),
        ).fetchone()
    return Decimal(0) if row is None else Decimal(row[0])


def test_replay_at_a_moment_agrees_with_the_ledger_entries(
    ledger: Ledger, history: History, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        moments = [
            r[0] for r in conn.execute("SELECT at FROM ledger_entries ORDER BY position").fetchall()
        ]
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
