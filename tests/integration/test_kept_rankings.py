"""The composite rankings of the current year, quarter and month are kept by the read
model as events move them: every page read from what is kept is the page the ranking's
own statement works out over the same rows, after each kind of event that moves one."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from ledger.application import Ledger
from ledger.domain.policy import RANKING_INDICATORS
from ledger.domain.values import CST, Context, MemberKind, Rating, Role, UnitKind
from projections.queries import unit_ranking
from projections.queries.units import ALL_UNITS, RANKING_SQL, Metric, _default_weights
from projections.runner import ReadSide
from projections.units import STANDINGS, periods

ADMIN = Context("admin", Role.ADMIN)
NOW = datetime.now(CST)
CURRENT = periods(NOW.date())
DAY = (NOW - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


async def worked_out(db: asyncpg.Connection, period: str, scope: UUID) -> list[dict[str, Any]]:
    """The whole ranking as its statement works it out now."""
    community = None if scope == ALL_UNITS else scope
    weights = _default_weights(RANKING_INDICATORS)
    rows = await db.fetch(RANKING_SQL[Metric.COMPOSITE], period, community, *weights, 0, None)
    return [dict(r) for r in rows]


async def kept_scopes(db: asyncpg.Connection) -> set[tuple[str, UUID]]:
    rows = await db.fetch("SELECT period, scope FROM ranking_standing_sets")
    return {(r["period"], r["scope"]) for r in rows}


async def assert_kept_as_worked_out(db: asyncpg.Connection, scopes: list[UUID]) -> int:
    """Every current period's ranking of every scope, paged three ways, is kept and is
    what the statement gives; the number of rows compared."""
    compared = 0
    for period in CURRENT:
        for scope in scopes:
            assert (period, scope) in await kept_scopes(db)
            whole = await worked_out(db, period, scope)
            community = None if scope == ALL_UNITS else scope
            kept = [dict(r) for r in await unit_ranking(db, period, community_id=community)]
            assert kept == whole, (period, scope)
            assert [list(r) for r in kept] == [list(r) for r in whole]  # the columns' order
            for after, first in ((1, 2), (len(whole), 5)):
                page = await unit_ranking(
                    db, period, community_id=community, first=first, after=after
                )
                assert [dict(r) for r in page] == whole[after : after + first]
            compared += len(whole)
    return compared


def serve(ledger: Ledger, community: UUID, member: UUID, minutes: int, rating: Rating) -> UUID:
    task = ledger.publish_task(
        community, "巡逻", "应急保障", DAY, DAY + timedelta(hours=4), 10, ADMIN
    ).id
    service = ledger.claim_task(task, member, ADMIN).id
    ledger.check_in(service, ADMIN, at=DAY)
    ledger.check_out(service, ADMIN, at=DAY + timedelta(minutes=minutes))
    ledger.rate_service(service, rating, ADMIN)
    return service


def member(ledger: Ledger, unit: UUID, home: UUID) -> UUID:
    found = ledger.register_member(MemberKind.PARTY_MEMBER, "李四", home, ADMIN, unit_id=unit).id
    ledger.report_member(found, DAY.date(), ADMIN)
    return found


async def test_kept_rankings_follow_every_event_that_moves_them(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = ledger.register_street("排名街道", ADMIN).id
    east, west = (ledger.register_community(street, n, ADMIN).id for n in ("东社区", "西社区"))
    units = [
        ledger.register_unit(f"单位{n}", UnitKind.ORGAN, ADMIN, communities=paired).id
        for n, paired in enumerate([[east], [east, west], [west], [east]])
    ]
    # Those who serve in the east live there (a member serves where they live).
    people = [member(ledger, unit, east if n < 6 else west) for n, unit in enumerate(units * 2)]
    services = [
        serve(ledger, east, person, 30 + 40 * n, list(Rating)[n % 3])
        for n, person in enumerate(people[:6])
    ]
    read_side.catch_up()
    scopes = [ALL_UNITS, east, west]
    assert await assert_kept_as_worked_out(db, scopes) > 0

    member(ledger, units[3], east)  # a unit's members, and so its rates, change
    read_side.catch_up()
    await assert_kept_as_worked_out(db, scopes)

    serve(ledger, west, people[7], 240, Rating.EXCELLENT)
    ledger.reverse_service(services[0], "录入错误", "街道办", ADMIN)
    read_side.catch_up()
    await assert_kept_as_worked_out(db, scopes)

    ledger.pair_unit(units[2], east, ADMIN)  # the east's ranking gains a unit
    later = ledger.register_unit("新单位", UnitKind.ORGAN, ADMIN, communities=[west]).id
    read_side.catch_up()
    await assert_kept_as_worked_out(db, scopes)
    ranked = [r["unit_id"] for r in await unit_ranking(db, CURRENT[0], community_id=east)]
    assert units[2] in ranked and later not in ranked

    current = ledger.current_policy()
    weights = dict.fromkeys(RANKING_INDICATORS, Decimal(0)) | {"hard_share": Decimal(1)}
    book = dataclasses.replace(current, version=current.version + 1, ranking_weights=weights)
    ledger.publish_policy(book, "考核权重调整", ADMIN)  # every ranking is weighed anew
    read_side.catch_up()
    await assert_kept_as_worked_out(db, scopes)


async def test_only_the_current_periods_are_kept(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    read_side.catch_up()
    kept = await kept_scopes(db)
    assert kept and {period for period, _ in kept} == set(CURRENT)
    year_before = str(NOW.year - 1)
    assert await unit_ranking(db, year_before) == []  # worked out: nobody served then


async def test_a_rebuilt_generation_keeps_them_as_the_live_one_did(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    read_side.catch_up()
    before = {
        scope: [dict(r) for r in await unit_ranking(db, CURRENT[0], community_id=scope)]
        for scope in (None, *(s for _, s in await kept_scopes(db) if s != ALL_UNITS))
    }
    read_side.rebuild("unit_rankings")
    for scope, rows in before.items():
        after = [dict(r) for r in await unit_ranking(db, CURRENT[0], community_id=scope)]
        assert after == rows
    assert {p for p, _ in await kept_scopes(db)} == set(CURRENT)


async def test_a_new_period_is_kept_once_the_runner_is_idle(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_side.catch_up()
    later = periods((NOW + timedelta(days=100)).date())  # another quarter and month
    monkeypatch.setattr("projections.units._current_periods", lambda: later)
    for model in read_side.live.values():
        model.idle()
    assert {period for period, _ in await kept_scopes(db)} == set(later)
    for period in later:
        assert (period, ALL_UNITS) in await kept_scopes(db)
        assert [dict(r) for r in await unit_ranking(db, period)] == await worked_out(
            db, period, ALL_UNITS
        )
    monkeypatch.undo()
    for model in read_side.live.values():
        model.idle()
    assert {period for period, _ in await kept_scopes(db)} == set(CURRENT)


async def test_a_process_that_starts_following_keeps_only_what_moved(
    ledger: Ledger, database_url: str, db: asyncpg.Connection
) -> None:
    """What was kept is whole for its periods: a new process (a restarted server) works
    out again only the rankings its first batch moves, not all of them."""
    street = ledger.register_street("重启街道", ADMIN).id
    east, west = (ledger.register_community(street, n, ADMIN).id for n in ("东", "西"))
    here = ledger.register_unit("东单位", UnitKind.ORGAN, ADMIN, communities=[east]).id
    there = ledger.register_unit("西单位", UnitKind.ORGAN, ADMIN, communities=[west]).id
    serve(ledger, west, member(ledger, there, west), 240, Rating.FAIR)
    first = ReadSide(ledger)
    first.open()
    first.catch_up()
    table = first.live["unit_rankings"].view.physical(STANDINGS)  # a view has no ctid
    rows = f"SELECT ctid, * FROM {table} WHERE scope = $1 ORDER BY period, position"
    west_before = await db.fetch(rows, west)
    assert west_before

    serve(ledger, east, member(ledger, here, east), 240, Rating.GOOD)  # moves east and all
    again = ReadSide(ledger)
    again.open()
    again.catch_up()
    assert await db.fetch(rows, west) == west_before  # the same rows, not written again
    await assert_kept_as_worked_out(db, [ALL_UNITS, east, west])
