"""Rankings count real service only: signing in and leaving earns no place, and a
period in which nobody served ranks nobody."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg

from ledger.application import Ledger
from ledger.domain.values import CST, Context, MemberKind, Rating, Role, UnitKind
from projections.queries import Metric, member_ranking, member_totals, unit_ranking
from projections.queries.units import MemberMetric
from projections.runner import ReadSide

ADMIN = Context("admin", Role.ADMIN)
START = datetime(2026, 3, 2, 9, tzinfo=CST)


def team(ledger: Ledger, community: UUID, name: str, size: int) -> tuple[UUID, list[UUID]]:
    unit = ledger.register_unit(name, UnitKind.ORGAN, ADMIN, communities=[community]).id
    members = []
    for n in range(size):
        member = ledger.register_member(
            MemberKind.PARTY_MEMBER, f"{name}{n}", community, ADMIN, unit_id=unit
        ).id
        ledger.report_member(member, START.date(), ADMIN)
        members.append(member)
    return unit, members


def serve(
    ledger: Ledger, community: UUID, members: list[UUID], minutes: int, rating: Rating
) -> None:
    """Everyone on one four-hour hard task, each staying ``minutes``."""
    task = ledger.publish_task(
        community, "防汛抢险", "应急保障", START, START + timedelta(hours=4), 10, ADMIN
    ).id
    for member in members:
        service = ledger.claim_task(task, member, ADMIN).id
        ledger.check_in(service, ADMIN, at=START)
        ledger.check_out(service, ADMIN, at=START + timedelta(minutes=minutes))
        ledger.rate_service(service, rating, ADMIN)


async def test_sign_in_and_leave_outranks_steady_hard_work_on_no_indicator(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = ledger.register_street("排名街道", ADMIN).id
    community = ledger.register_community(street, "排名社区", ADMIN).id
    posers, posing = team(ledger, community, "摆拍单位", 4)
    workers, working = team(ledger, community, "实干单位", 2)
    serve(ledger, community, posing, 10, Rating.EXCELLENT)  # ten minutes, rated 很好
    serve(ledger, community, working, 240, Rating.GOOD)
    read_side.catch_up()

    for metric in Metric:
        rows = await unit_ranking(db, "2026-03", metric=metric, community_id=community)
        by_unit = {row["unit_id"]: row for row in rows}
        poser, worker = by_unit[posers], by_unit[workers]
        assert poser[metric.value] <= worker[metric.value], metric
        assert poser["rank"] >= worker["rank"], metric
    [poser] = await unit_ranking(
        db, "2026", metric=Metric.SERVICES, community_id=community, after=1
    )
    assert (poser["unit_id"], poser["services"], poser["hard_share"]) == (posers, 0, 0)
    assert poser["average_rating"] == 0 and poser["served"] == 0
    summary = await member_totals(db, posing[0])
    assert summary is not None and summary["services"] == 0

    for metric in MemberMetric:
        ranked = await member_ranking(db, "2026-03", metric=metric, community_id=community)
        # The two steady workers tie (equal service): one rank, positions by member id.
        assert [(r["member_id"], r["rank"], r["position"]) for r in ranked] == [
            (member, 1, position) for position, member in enumerate(sorted(working), 1)
        ]
    [first, _] = await member_ranking(db, "2026", unit_id=workers)
    assert (first["hours"], first["points"], first["services"]) == (
        Decimal("4.0"),
        Decimal("8.0"),
        1,
    )
    assert await member_ranking(db, "2026", unit_id=posers) == []


async def test_a_period_without_service_ranks_nobody(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = ledger.register_street("空期街道", ADMIN).id
    community = ledger.register_community(street, "空期社区", ADMIN).id
    team(ledger, community, "空期单位", 3)
    read_side.catch_up()
    for period in ("2024", "2026-Q4", "2026-12"):
        for metric in Metric:
            assert await unit_ranking(db, period, metric=metric) == [], (period, metric)
        assert await member_ranking(db, period) == []
    # Members who reported but never served rank nowhere, whatever their report rate.
    assert await unit_ranking(db, "2026-03", community_id=community) == []
