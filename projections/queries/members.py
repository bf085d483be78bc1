"""The SQL of the member totals (read model: ``projections.members``): one member,
a page of members, a member's year against the annual floor.

The floor is the published rule book's, or the default book's before any is
published: the number itself lives in ``ledger.domain.policy`` only.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import asyncpg

from ledger.domain.policy import PointsPolicy
from ledger.domain.values import MemberKind
from projections.queries.paging import page_size

MEMBER_TOTALS_SQL = "SELECT * FROM member_totals WHERE member_id = $1"

MEMBERS_PAGE_SQL = """
SELECT t.* FROM member_totals t
WHERE ($1::uuid IS NULL OR t.community_id = $1)
  AND ($2::uuid IS NULL OR t.grid_id = $2)
  AND ($3::uuid IS NULL OR t.unit_id = $3)
  AND ($4::text IS NULL OR t.kind = $4)
  AND ($5::int IS NULL OR coalesce((
        SELECT y.hours FROM member_years y WHERE y.member_id = t.member_id AND y.year = $5), 0)
      < coalesce((SELECT annual_floor_hours FROM member_policy WHERE id = 1), $6))
  AND t.member_id > $7
ORDER BY t.member_id
LIMIT $8
"""

MEMBER_YEARS_SQL = """
SELECT k.member_id, k.year,
       coalesce(y.services, 0) AS services, coalesce(y.hours, 0) AS hours,
       coalesce(y.points, 0) AS points, coalesce(y.routine_hours, 0) AS routine_hours,
       coalesce(y.skilled_hours, 0) AS skilled_hours, coalesce(y.hard_hours, 0) AS hard_hours,
       coalesce(p.annual_floor_hours, $3) AS annual_floor_hours,
       coalesce(y.hours, 0) >= coalesce(p.annual_floor_hours, $3) AS meets_floor
FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS k(member_id, year, n)
LEFT JOIN member_years y ON y.member_id = k.member_id AND y.year = k.year
LEFT JOIN member_policy p ON p.id = 1
ORDER BY k.n
"""

MEMBER_SUMMARY_SQL = """
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

MEMBER_BY_CODE_SQL = """
SELECT t.member_id, t.name, t.community_id, t.balance
FROM member_codes c JOIN member_totals t ON t.member_id = c.member_id
WHERE c.{column} = $1
"""
MEMBER_BY_CARD_SQL = MEMBER_BY_CODE_SQL.format(column="code_hash")
MEMBER_BY_REFERENCE_SQL = MEMBER_BY_CODE_SQL.format(column="reference")


def _default_floor() -> Decimal:
    return PointsPolicy().annual_floor_hours


async def member_totals(conn: asyncpg.Connection, member_id: UUID) -> asyncpg.Record | None:
    """One member's totals (balance, earned record, ratings, where they belong)."""
    return await conn.fetchrow(MEMBER_TOTALS_SQL, member_id)


async def members_page(
    conn: asyncpg.Connection,
    *,
    community_id: UUID | None = None,
    grid_id: UUID | None = None,
    unit_id: UUID | None = None,
    kind: MemberKind | None = None,
    below_floor_in: int | None = None,
    first: int = 50,
    after: UUID | None = None,
) -> list[asyncpg.Record]:
    """Members matching every filter given, by id; ``below_floor_in`` (a year) keeps
    those short of the annual floor that year, and pages go on ``after`` a member id."""
    return list(
        await conn.fetch(
            MEMBERS_PAGE_SQL,
            community_id,
            grid_id,
            unit_id,
            None if kind is None else kind.name,
            below_floor_in,
            _default_floor(),
            after or UUID(int=0),
            page_size(first),
        )
    )


async def member_years(
    conn: asyncpg.Connection, keys: list[tuple[UUID, int]]
) -> list[asyncpg.Record]:
    """The figures of each (member, year) in ``keys``, in that order: zeros for a year
    without service, and whether the year meets the annual floor."""
    return list(
        await conn.fetch(
            MEMBER_YEARS_SQL, [k[0] for k in keys], [k[1] for k in keys], _default_floor()
        )
    )


async def member_summary(
    conn: asyncpg.Connection, member_id: UUID, year: int
) -> asyncpg.Record | None:
    """A member's totals with the given year's figures and the annual floor flag."""
    return await conn.fetchrow(MEMBER_SUMMARY_SQL, member_id, year, _default_floor())


async def member_by_code(
    conn: asyncpg.Connection, *, code_hash: str | None = None, reference: str | None = None
) -> asyncpg.Record | None:
    """The member whose current card has this code hash, or whose phone codes carry
    this reference (name, home community, balance); a superseded card finds nothing."""
    if code_hash is not None:
        return await conn.fetchrow(MEMBER_BY_CARD_SQL, code_hash)
    if reference is not None:
        return await conn.fetchrow(MEMBER_BY_REFERENCE_SQL, reference)
    return None
