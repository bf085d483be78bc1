"""The SQL of the anti-formalism signals (形式主义预警), for a community or a unit over a
period, each listing the records behind it.

They read three read models: the community boards (services, refused check-ins,
tasks), the unit rankings (who served how often) and the member totals (the annual
floor). Thresholds of the rotation signal are here, their one home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

import asyncpg

from ledger.domain.policy import PointsPolicy
from ledger.domain.values import CST, CategoryClass, MemberKind
from ledger.domain.work import ServiceStatus, TaskStatus
from projections.queries.paging import MAX_PAGE
from projections.queries.units import check_period

ROTATION_MIN_MEMBERS = 5
"""A unit is looked at for rotation (一天一轮换) when at least this many of its members
served in the period..."""
ROTATION_ONE_OFF_SHARE = Decimal("0.8")
"""...and at least this share of them served only once."""

_IN_SCOPE = """
  AND ($3::uuid IS NULL OR {community} = $3)
  AND ($4::uuid IS NULL OR {unit} = $4)
"""
SIGNED_IN_AND_LEFT_SQL = f"""
SELECT s.service_id, s.member_id, s.unit_id, s.community_id, s.task_id, t.title, t.category,
       s.checked_in_at, s.checked_out_at, t.starts_at, t.ends_at, count(*) OVER () AS total
FROM board_services s JOIN board_tasks t ON t.task_id = s.task_id
WHERE s.status = $5 AND s.signed_in_and_left AND s.day >= $1 AND s.day < $2
{_IN_SCOPE.format(community="s.community_id", unit="s.unit_id")}
ORDER BY s.day, s.service_id LIMIT $6
"""
REFUSED_SQL = f"""
SELECT r.*, count(*) OVER () AS total FROM board_refusals r
WHERE r.at >= $1 AND r.at < $2
{_IN_SCOPE.format(community="r.community_id", unit="r.unit_id")}
ORDER BY r.at, r.position LIMIT $5
"""
ROTATION_SQL = """
WITH p AS (
    SELECT unit_id, member_id, services FROM ranking_member_periods
    WHERE period = $1 AND services > 0
      AND ($2::uuid IS NULL OR unit_id IN (
          SELECT unit_id FROM ranking_pairs WHERE community_id = $2))
      AND ($3::uuid IS NULL OR unit_id = $3)
), u AS (
    SELECT unit_id, count(*) AS members, count(*) FILTER (WHERE services = 1) AS one_off,
           sum(services) AS services,
           array_agg(member_id ORDER BY services, member_id) AS member_ids,
           array_agg(services ORDER BY services, member_id) AS member_services
    FROM p GROUP BY unit_id
)
SELECT u.*, (one_off::numeric / members)::numeric(12, 4) AS one_off_share,
       count(*) OVER () AS total
FROM u WHERE members >= $4 AND one_off >= $5 * members
ORDER BY one_off_share DESC, unit_id LIMIT $6
"""
HARD_UNTAKEN_SQL = """
SELECT t.*, count(*) OVER () AS total FROM board_tasks t
WHERE t.category_class = $5 AND t.claims = 0 AND t.status <> $6
  AND t.starts_at >= $1 AND t.starts_at < $2
  AND ($3::uuid IS NULL OR t.community_id = $3)
  AND ($4::uuid IS NULL OR t.community_id IN (
      SELECT community_id FROM ranking_pairs WHERE unit_id = $4))
ORDER BY t.starts_at, t.task_id LIMIT $7
"""
UNDER_FLOOR_SQL = """
SELECT t.member_id, t.unit_id, t.community_id, coalesce(y.hours, 0) AS hours,
       coalesce(p.annual_floor_hours, $5) AS annual_floor_hours, count(*) OVER () AS total
FROM member_totals t
LEFT JOIN member_years y ON y.member_id = t.member_id AND y.year = $1
LEFT JOIN member_policy p ON p.id = 1
WHERE t.kind = $2 AND t.reported_on IS NOT NULL
  AND ($3::uuid IS NULL OR t.community_id = $3)
  AND ($4::uuid IS NULL OR t.unit_id = $4)
  AND coalesce(y.hours, 0) < coalesce(p.annual_floor_hours, $5)
ORDER BY hours, t.member_id LIMIT $6
"""


@dataclass(frozen=True)
class Signals:
    period: str
    signed_in_and_left: list[asyncpg.Record]
    refused_times: list[asyncpg.Record]
    rotation: list[asyncpg.Record]
    hard_untaken: list[asyncpg.Record]
    under_floor: list[asyncpg.Record]
    """Reported party members under the annual floor: for a year only."""


def period_days(period: str) -> tuple[date, date]:
    """The first day of a period and the first day after it (CST)."""
    kind = check_period(period)
    year = int(period[:4])
    if kind == "year":
        return date(year, 1, 1), date(year + 1, 1, 1)
    first_month = 3 * (int(period[6]) - 1) + 1 if kind == "quarter" else int(period[5:])
    months = 3 if kind == "quarter" else 1
    after = first_month + months
    end = date(year + 1, 1, 1) if after > 12 else date(year, after, 1)
    return date(year, first_month, 1), end


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), CST)


async def formalism_signals(
    conn: asyncpg.Connection,
    period: str,
    *,
    community_id: UUID | None = None,
    unit_id: UUID | None = None,
) -> Signals:
    """The signals of a community (where the service happened, or the units paired with
    it) or of a unit (its members, wherever they served), each list at most a page
    with its ``total``."""
    first, after = period_days(period)
    scope = (community_id, unit_id)
    starts, ends = _instant(first), _instant(after)
    floor = PointsPolicy().annual_floor_hours
    return Signals(
        period=period,
        signed_in_and_left=list(
            await conn.fetch(
                SIGNED_IN_AND_LEFT_SQL, first, after, *scope, ServiceStatus.RATED.name, MAX_PAGE
            )
        ),
        refused_times=list(await conn.fetch(REFUSED_SQL, starts, ends, *scope, MAX_PAGE)),
        rotation=list(
            await conn.fetch(
                ROTATION_SQL,
                period,
                *scope,
                ROTATION_MIN_MEMBERS,
                ROTATION_ONE_OFF_SHARE,
                MAX_PAGE,
            )
        ),
        hard_untaken=list(
            await conn.fetch(
                HARD_UNTAKEN_SQL,
                starts,
                ends,
                *scope,
                CategoryClass.HARD.value,
                TaskStatus.CANCELLED.name,
                MAX_PAGE,
            )
        ),
        under_floor=list(
            await conn.fetch(
                UNDER_FLOOR_SQL, first.year, MemberKind.PARTY_MEMBER.name, *scope, floor, MAX_PAGE
            )
        )
        if len(period) == 4
        else [],
    )
