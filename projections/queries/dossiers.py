"""The SQL of the evidence dossiers (read model: ``projections.dossiers``): a member's
services of a year with the events behind them, their review, and their standing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

PERSON_SQL = """
SELECT p.*, u.name AS unit, c.name AS community FROM dossier_people p
LEFT JOIN dossier_names u ON u.id = p.unit_id
LEFT JOIN dossier_names c ON c.id = p.community_id
WHERE p.member_id = $1
"""

DOSSIER_SERVICES_SQL = """
SELECT s.service_id, s.day, t.title AS task, t.category, s.hours, s.rating, s.points,
       s.confirmed_by, s.confirmed_role, s.rated_by, s.rated_role, s.policy_version,
       s.rated_position,
       s.reversed_position, s.reversal_reason, s.checked_in_at, s.checked_out_at,
       s.check_in_entered_by, s.check_out_entered_by,
       s.corrections, s.corrected_position, s.correction_reason, s.correction_approved_by,
       c.name AS community
FROM dossier_services s
JOIN dossier_tasks t ON t.task_id = s.task_id
LEFT JOIN dossier_names c ON c.id = s.community_id
WHERE s.member_id = $1 AND s.year = $2 AND s.rated_position IS NOT NULL
ORDER BY s.day, s.rated_position
"""

REVIEW_SQL = "SELECT * FROM dossier_reviews WHERE member_id = $1 AND year = $2"

STANDING_SQL = """
WITH mine AS (
    SELECT coalesce((SELECT points FROM dossier_years WHERE member_id = $1 AND year = $2), 0) AS p,
           coalesce((SELECT hours FROM dossier_years WHERE member_id = $1 AND year = $2), 0) AS h
), standing AS (
    SELECT 1 + (SELECT count(*) FROM dossier_years y, mine
                WHERE y.{group} = $3 AND y.year = $2 AND (y.points, y.hours) > (mine.p, mine.h))
             AS rank,
           (SELECT count(*) FROM dossier_people WHERE {group} = $3) AS size
)
SELECT rank, size, round(100.0 * (size - rank + 1) / size, 1) AS percentile FROM standing
"""
"""Ranked by points, then hours, among the people of the unit or community (those
without service that year count as 0): equal figures share a rank."""


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


async def dossier(
    conn: asyncpg.Connection | asyncpg.Pool, member_id: UUID, year: int
) -> Dossier | None:
    """评先评优 evidence: every service of the year with the events behind it (its
    statements on one connection, taken from the pool once)."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as one:
            return await dossier(one, member_id, year)
    person = await conn.fetchrow(PERSON_SQL, member_id)
    if person is None:
        return None
    services = list(await conn.fetch(DOSSIER_SERVICES_SQL, member_id, year))
    counted = [s for s in services if s["reversed_position"] is None]
    review = await conn.fetchrow(REVIEW_SQL, member_id, year)
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
