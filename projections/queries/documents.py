"""The SQL of the documents: the annual letters' pairs and members, a certificate's
services, the certificates issued, and the ten best service projects (read models:
``projections.dossiers``, ``projections.documents``, ``projections.members``)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from uuid import UUID

import asyncpg

from projections.queries.paging import page_size

# A party member counts for a letter when reported to the community they live in.
LETTER_SCOPE = "p.kind = 'PARTY_MEMBER' AND p.reported_on IS NOT NULL AND p.unit_id IS NOT NULL"

STREET_PAIRS_SQL = f"""
SELECT p.community_id, c.name AS community, p.unit_id, u.name AS unit, count(*) AS members
FROM dossier_people p
JOIN dossier_names c ON c.id = p.community_id
JOIN dossier_names u ON u.id = p.unit_id
WHERE {LETTER_SCOPE}
  AND ($1::uuid IS NULL OR p.community_id IN (SELECT id FROM document_places WHERE street_id = $1))
  AND ($2::uuid IS NULL OR p.community_id = $2)
  AND ($3::uuid IS NULL OR p.unit_id = $3)
GROUP BY p.community_id, c.name, p.unit_id, u.name
ORDER BY c.name, p.community_id, u.name, p.unit_id
"""

LETTER_MEMBERS_SQL = f"""
SELECT p.member_id, t.name, p.reported_on, r.grade, r.comment, r.reviewed_by,
       r.position AS review_position,
       count(s.service_id) FILTER (WHERE s.reversed_position IS NULL) AS services,
       coalesce(sum(s.hours) FILTER (WHERE s.reversed_position IS NULL), 0) AS hours,
       coalesce(sum(s.points) FILTER (WHERE s.reversed_position IS NULL), 0) AS points
FROM dossier_people p
JOIN member_totals t ON t.member_id = p.member_id
LEFT JOIN dossier_reviews r ON r.member_id = p.member_id AND r.year = $3
LEFT JOIN dossier_services s
       ON s.member_id = p.member_id AND s.year = $3 AND s.rated_position IS NOT NULL
WHERE {LETTER_SCOPE} AND p.community_id = $1 AND p.unit_id = $2
GROUP BY p.member_id, t.name, p.reported_on, r.grade, r.comment, r.reviewed_by, r.position
ORDER BY t.name, p.member_id
"""

STREET_OF_SQL = "SELECT street_id FROM document_places WHERE id = $1"
CERTIFIABLE_SQL = """
SELECT rated_position FROM dossier_services
WHERE member_id = $1 AND day BETWEEN $2 AND $3
  AND rated_position IS NOT NULL AND reversed_position IS NULL
ORDER BY rated_position
"""

CERTIFICATES_SQL = """
SELECT * FROM document_certificates WHERE member_id = $1 ORDER BY position DESC LIMIT $2
"""


class ProjectMeasure(Enum):
    """What a community ranks its service projects (tasks) by for 十佳实事项目."""

    POINTS = "points"
    HOURS = "hours"
    PARTICIPANTS = "participants"
    AVERAGE_RATING = "average_rating"


PROJECTS_SQL = """
WITH projects AS (
    SELECT t.task_id, t.title, t.category, min(s.day) AS day,
           count(DISTINCT s.member_id) AS participants,
           count(*) AS services,
           sum(s.hours) AS hours, sum(s.points) AS points,
           round(avg(CASE s.rating WHEN 'EXCELLENT' THEN 3 WHEN 'GOOD' THEN 2 ELSE 1 END), 2)
               AS average_rating,
           array_agg(s.rated_position ORDER BY s.rated_position) AS positions
    FROM dossier_services s JOIN dossier_tasks t ON t.task_id = s.task_id
    WHERE s.community_id = $1 AND s.year = $2
      AND s.rated_position IS NOT NULL AND s.reversed_position IS NULL
    GROUP BY t.task_id, t.title, t.category
)
SELECT *, rank() OVER (ORDER BY {measure} DESC) AS rank FROM projects
ORDER BY {measure} DESC, task_id LIMIT $3
"""


async def street_pairs(
    conn: asyncpg.Connection,
    street_id: UUID | None,
    *,
    community_id: UUID | None = None,
    unit_id: UUID | None = None,
) -> list[asyncpg.Record]:
    """Every community × unit of the street (of every street: None) with a reported party
    member of the unit living in the community (one annual letter each), optionally of
    one community or unit."""
    return list(await conn.fetch(STREET_PAIRS_SQL, street_id, community_id, unit_id))


async def letter_members(
    conn: asyncpg.Connection, community_id: UUID, unit_id: UUID, year: int
) -> list[asyncpg.Record]:
    """The reported party members of the unit living in the community, with the year's
    review and their counted services, hours and points."""
    return list(await conn.fetch(LETTER_MEMBERS_SQL, community_id, unit_id, year))


async def street_of(conn: asyncpg.Connection, community_id: UUID) -> UUID | None:
    street: UUID | None = await conn.fetchval(STREET_OF_SQL, community_id)
    return street


async def certifiable_positions(
    conn: asyncpg.Connection, member_id: UUID, start: date, end: date
) -> list[int]:
    """The notification ids of the member's rated, unreversed services of days in the period."""
    return [r[0] for r in await conn.fetch(CERTIFIABLE_SQL, member_id, start, end)]


async def member_certificates(
    conn: asyncpg.Connection, member_id: UUID, first: int = 50
) -> list[asyncpg.Record]:
    return list(await conn.fetch(CERTIFICATES_SQL, member_id, page_size(first)))


async def best_projects(
    conn: asyncpg.Connection,
    community_id: UUID,
    year: int,
    measure: ProjectMeasure = ProjectMeasure.POINTS,
    first: int = 10,
) -> list[asyncpg.Record]:
    """十佳实事项目: the community's tasks of the year ranked by ``measure`` (reversed
    services left out), each with the notification ids of its services' ratings."""
    sql = PROJECTS_SQL.format(measure=ProjectMeasure(measure).value)
    return list(await conn.fetch(sql, community_id, year, page_size(first)))
