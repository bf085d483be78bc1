"""Reading the read models (asyncpg): rankings, dossiers, boards, totals, balances.

Every query reads the readers' views (never the event store) and does its
ordering, ranking and paging in SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from ledger.domain.policy import RANKING_INDICATORS, PointsPolicy

MAX_PAGE = 200
HEAD = "SELECT max(notification_id) FROM ledger_events"
"""The log's head position: how far the read models have to go."""
METRICS = (*RANKING_INDICATORS, "services", "hours", "points", "composite")


class UnknownMetric(ValueError):
    pass


def check_period(period: str) -> str:
    """'2026' is a year, '2026-Q2' a quarter, '2026-05' a month."""
    if len(period) == 4 and period.isdigit():
        return "year"
    if len(period) == 7 and period[4:6] == "-Q" and period[6] in "1234":
        return "quarter"
    if (
        len(period) == 7
        and period[4] == "-"
        and period[5:].isdigit()
        and 1 <= int(period[5:]) <= 12
    ):
        return "month"
    raise ValueError(period)


UNIT_METRICS_SQL = """
SELECT u.unit_id, u.name, u.kind, u.members, u.reported,
       coalesce(t.served, 0) AS served,
       coalesce(t.services, 0) AS services,
       coalesce(t.hours, 0) AS hours,
       coalesce(t.points, 0) AS points,
       coalesce(t.hard_services, 0) AS hard_services,
       coalesce(u.reported::numeric / nullif(u.members, 0), 0)::numeric(12, 4) AS report_rate,
       coalesce(t.served::numeric / nullif(u.members, 0), 0)::numeric(12, 4) AS participation_rate,
       coalesce(t.hours / nullif(u.members, 0), 0)::numeric(12, 4) AS hours_per_member,
       coalesce(t.points / nullif(u.members, 0), 0)::numeric(12, 4) AS points_per_member,
       coalesce(t.hard_services::numeric / nullif(t.services, 0), 0)::numeric(12, 4) AS hard_share,
       coalesce(t.rating_total::numeric / nullif(t.services, 0), 0)::numeric(12, 4)
           AS average_rating,
       coalesce(t.at_floor::numeric / nullif(u.members, 0), 0)::numeric(12, 4) AS floor_rate
FROM ranking_units u
LEFT JOIN ranking_periods t ON t.unit_id = u.unit_id AND t.period = $1
WHERE $2::uuid IS NULL OR EXISTS (
    SELECT 1 FROM ranking_pairs p WHERE p.unit_id = u.unit_id AND p.community_id = $2)
"""


def _ranking_sql(metric: str) -> str:
    maxima = ", ".join(f"max({name}) AS {name}" for name in RANKING_INDICATORS)
    maxima += ", count(*) AS units"
    composite = " + ".join(
        f"${3 + i}::numeric * coalesce(m.{name} / nullif(x.{name}, 0), 0)"
        for i, name in enumerate(RANKING_INDICATORS)
    )
    return f"""
WITH m AS ({UNIT_METRICS_SQL}), x AS (
    SELECT {maxima} FROM m
), scored AS (
    SELECT m.*, ({composite})::numeric(12, 4) AS composite, x.units FROM m, x
), ranked AS (
    SELECT scored.*,
           row_number() OVER (ORDER BY {metric} DESC, unit_id) AS position,
           rank() OVER (ORDER BY {metric} DESC) AS rank
    FROM scored
)
SELECT * FROM ranked WHERE position > ${3 + len(RANKING_INDICATORS)}
ORDER BY position LIMIT ${4 + len(RANKING_INDICATORS)}
"""


RANKING_SQL = {metric: _ranking_sql(metric) for metric in METRICS}


async def ranking_weights(conn: asyncpg.Connection) -> dict[str, Decimal]:
    weights = await conn.fetchval("SELECT weights FROM ranking_policy WHERE id = 1")
    if weights is None:
        return dict(PointsPolicy().ranking_weights)
    return {k: Decimal(v) for k, v in json.loads(weights).items()}


async def unit_ranking(
    conn: asyncpg.Connection,
    period: str,
    *,
    metric: str = "composite",
    community_id: UUID | None = None,
    first: int = 50,
    after: int = 0,
) -> list[asyncpg.Record]:
    """Units ranked by ``metric`` over ``period``, across all units or among those
    paired with ``community_id``. Equal values share a rank; ``position`` breaks
    ties by unit id, and pages go on ``after`` a position."""
    if metric not in RANKING_SQL:
        raise UnknownMetric(metric)
    check_period(period)
    weights = await ranking_weights(conn)
    params: list[Any] = [period, community_id]
    params += [weights.get(name, Decimal(0)) for name in RANKING_INDICATORS]
    params += [max(after, 0), min(max(first, 1), MAX_PAGE)]
    return list(await conn.fetch(RANKING_SQL[metric], *params))


MEMBER_SQL = """
SELECT t.*, y.year, coalesce(y.services, 0) AS year_services,
       coalesce(y.hours, 0) AS year_hours, coalesce(y.points, 0) AS year_points,
       coalesce(y.routine_hours, 0) AS routine_hours, coalesce(y.skilled_hours, 0) AS skilled_hours,
       coalesce(y.hard_hours, 0) AS hard_hours,
       coalesce(p.annual_floor_hours, $3) AS annual_floor_hours,
       coalesce(y.hours, 0) >= coalesce(p.annual_floor_hours, $3) AS meets_floor
FROM member_totals t
LEFT JOIN member_years y ON y.member_id = t.member_id AND y.year = $2
LEFT JOIN member_policy p ON p.id = 1
WHERE t.member_id = $1
"""


async def member_summary(
    conn: asyncpg.Connection, member_id: UUID, year: int
) -> asyncpg.Record | None:
    """A member's totals with the given year's figures and the annual floor flag."""
    default_floor = PointsPolicy().annual_floor_hours
    return await conn.fetchrow(MEMBER_SQL, member_id, year, default_floor)


BALANCE_AS_OF_SQL = """
SELECT balance FROM ledger_entries
WHERE account = $1 AND at <= $2
ORDER BY at DESC, position DESC LIMIT 1
"""


async def balance_as_of(conn: asyncpg.Connection, account: str, at: datetime) -> Decimal:
    value = await conn.fetchval(BALANCE_AS_OF_SQL, account, at)
    return Decimal(0) if value is None else Decimal(value)


DOSSIER_SERVICES_SQL = """
SELECT s.service_id, s.day, t.title AS task, t.category, s.hours, s.rating, s.points,
       s.confirmed_by, s.rated_by, s.policy_version, s.rated_position,
       s.reversed_position, s.reversal_reason, s.checked_in_at, s.checked_out_at,
       c.name AS community
FROM dossier_services s
JOIN dossier_tasks t ON t.task_id = s.task_id
LEFT JOIN dossier_names c ON c.id = s.community_id
WHERE s.member_id = $1 AND s.year = $2 AND s.rated_position IS NOT NULL
ORDER BY s.day, s.rated_position
"""

STANDING_SQL = """
WITH peers AS (
    SELECT p.member_id,
           coalesce(sum(s.points) FILTER (WHERE s.reversed_position IS NULL), 0) AS points,
           coalesce(sum(s.hours) FILTER (WHERE s.reversed_position IS NULL), 0) AS hours
    FROM dossier_people p
    LEFT JOIN dossier_services s
           ON s.member_id = p.member_id AND s.year = $2 AND s.rated_position IS NOT NULL
    WHERE p.{group} = $3
    GROUP BY p.member_id
), ranked AS (
    SELECT member_id, points, hours,
           rank() OVER (ORDER BY points DESC, hours DESC) AS rank,
           count(*) OVER () AS size
    FROM peers
)
SELECT rank, size, round(100.0 * (size - rank + 1) / size, 1) AS percentile
FROM ranked WHERE member_id = $1
"""


@dataclass(frozen=True)
class Standing:
    rank: int
    size: int
    percentile: Decimal


@dataclass(frozen=True)
class Dossier:
    member_id: UUID
    year: int
    name_masked: str
    kind: str
    unit: str | None
    community: str | None
    reported_on: Any
    services: list[asyncpg.Record]
    hours: Decimal
    points: Decimal
    review: asyncpg.Record | None
    in_unit: Standing | None
    in_community: Standing | None


async def _standing(
    conn: asyncpg.Connection, group: str, member_id: UUID, year: int, group_id: UUID | None
) -> Standing | None:
    if group_id is None:
        return None
    row = await conn.fetchrow(STANDING_SQL.format(group=group), member_id, year, group_id)
    return None if row is None else Standing(row["rank"], row["size"], row["percentile"])


async def dossier(conn: asyncpg.Connection, member_id: UUID, year: int) -> Dossier | None:
    """评先评优 evidence: every service of the year with the events behind it."""
    person = await conn.fetchrow(
        "SELECT p.*, u.name AS unit, c.name AS community FROM dossier_people p "
        "LEFT JOIN dossier_names u ON u.id = p.unit_id "
        "LEFT JOIN dossier_names c ON c.id = p.community_id WHERE p.member_id = $1",
        member_id,
    )
    if person is None:
        return None
    services = list(await conn.fetch(DOSSIER_SERVICES_SQL, member_id, year))
    counted = [s for s in services if s["reversed_position"] is None]
    review = await conn.fetchrow(
        "SELECT * FROM dossier_reviews WHERE member_id = $1 AND year = $2", member_id, year
    )
    return Dossier(
        member_id=member_id,
        year=year,
        name_masked=person["name_masked"],
        kind=person["kind"],
        unit=person["unit"],
        community=person["community"],
        reported_on=person["reported_on"],
        services=services,
        hours=sum((s["hours"] for s in counted), Decimal(0)),
        points=sum((s["points"] for s in counted), Decimal(0)),
        review=review,
        in_unit=await _standing(conn, "unit_id", member_id, year, person["unit_id"]),
        in_community=await _standing(conn, "community_id", member_id, year, person["community_id"]),
    )


@dataclass(frozen=True)
class Board:
    open_tasks: list[asyncpg.Record]
    understaffed: list[asyncpg.Record]
    hard_untaken: list[asyncpg.Record]
    awaiting_rating: list[asyncpg.Record]
    items: list[asyncpg.Record]
    store: asyncpg.Record | None
    by_unit: list[asyncpg.Record]


async def community_board(conn: asyncpg.Connection, community_id: UUID, now: datetime) -> Board:
    open_tasks = "SELECT * FROM board_tasks WHERE community_id = $1 AND status = 'OPEN'"
    return Board(
        open_tasks=list(
            await conn.fetch(
                open_tasks + " AND ends_at > $2 ORDER BY starts_at, task_id LIMIT 200",
                community_id,
                now,
            )
        ),
        understaffed=list(
            await conn.fetch(
                open_tasks + " AND starts_at <= $2 AND ends_at > $2 AND claims < capacity "
                "ORDER BY starts_at, task_id LIMIT 200",
                community_id,
                now,
            )
        ),
        hard_untaken=list(
            await conn.fetch(
                open_tasks + " AND category_class = 'hard' AND claims = 0 AND ends_at > $2 "
                "ORDER BY starts_at, task_id LIMIT 200",
                community_id,
                now,
            )
        ),
        awaiting_rating=list(
            await conn.fetch(
                "SELECT * FROM board_services WHERE community_id = $1 AND status = 'CHECKED_OUT' "
                "ORDER BY checked_out_at, service_id LIMIT 200",
                community_id,
            )
        ),
        items=list(
            await conn.fetch(
                "SELECT * FROM board_items WHERE community_id = $1 ORDER BY name, item_id",
                community_id,
            )
        ),
        store=await conn.fetchrow(
            "SELECT * FROM board_stores WHERE community_id = $1", community_id
        ),
        by_unit=list(
            await conn.fetch(
                "SELECT b.*, u.name FROM board_units b "
                "LEFT JOIN ranking_units u ON u.unit_id = b.unit_id "
                "WHERE b.community_id = $1 ORDER BY b.hours DESC, b.unit_id",
                community_id,
            )
        ),
    )
