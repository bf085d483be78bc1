"""The SQL of the member totals (read model: ``projections.members``): one member,
a page of members, a member's year against the annual floor.

The floor is the published rule book's, or the default book's before any is
published: the number itself lives in ``ledger.domain.policy`` only.

A balance read here is what is spendable now: the recorded balance less the points
of the years already due to expire (China Standard Time), whether or not the expiry
run has recorded that yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from ledger.domain.policy import PointsPolicy
from ledger.domain.values import CST, MemberKind
from projections.queries.paging import MAX_PAGE, page_size

# $1 the year now (CST), $2 the default book's expiry_years_after.
BALANCE = """
t.recorded_balance - coalesce((
    SELECT sum(l.amount) FROM member_lots l
    WHERE l.member_id = t.member_id AND l.year + coalesce(
        (SELECT expiry_years_after FROM member_policy WHERE id = 1), $2) < $1), 0) AS balance
"""

MEMBER_TOTALS_SQL = f"SELECT t.*, {BALANCE} FROM member_totals t WHERE t.member_id = $3"

MEMBERS_PAGE_SQL = f"""
SELECT t.*, {BALANCE} FROM member_totals t
WHERE ($3::uuid IS NULL OR t.community_id = $3)
  AND ($4::uuid IS NULL OR t.grid_id = $4)
  AND ($5::uuid IS NULL OR t.unit_id = $5)
  AND ($6::text IS NULL OR t.kind = $6)
  AND ($7::int IS NULL OR coalesce((
        SELECT y.hours FROM member_years y WHERE y.member_id = t.member_id AND y.year = $7), 0)
      < coalesce((SELECT annual_floor_hours FROM member_policy WHERE id = 1), $8))
  AND t.member_id > $9
ORDER BY t.member_id
LIMIT $10
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

MEMBER_SUMMARY_SQL = f"""
SELECT t.*, {BALANCE}, y.year, coalesce(y.services, 0) AS year_services,
       coalesce(y.hours, 0) AS year_hours, coalesce(y.points, 0) AS year_points,
       coalesce(y.routine_hours, 0) AS routine_hours, coalesce(y.skilled_hours, 0) AS skilled_hours,
       coalesce(y.hard_hours, 0) AS hard_hours,
       coalesce(p.annual_floor_hours, $5) AS annual_floor_hours,
       coalesce(y.hours, 0) >= coalesce(p.annual_floor_hours, $5) AS meets_floor
FROM member_totals t
LEFT JOIN member_years y ON y.member_id = t.member_id AND y.year = $4
LEFT JOIN member_policy p ON p.id = 1
WHERE t.member_id = $3
"""

MEMBER_BY_CODE_SQL = f"""
SELECT t.member_id, t.name, t.community_id, {BALANCE}
FROM member_codes c JOIN member_totals t ON t.member_id = c.member_id
WHERE c.{{column}} = $3
"""
MEMBER_BY_CARD_SQL = MEMBER_BY_CODE_SQL.format(column="code_hash")
MEMBER_BY_REFERENCE_SQL = MEMBER_BY_CODE_SQL.format(column="reference")


_DEFAULT_BOOK = PointsPolicy()
"""The default rule book, made once: its numbers stand in before any book is published."""


def _default_floor() -> Decimal:
    return _DEFAULT_BOOK.annual_floor_hours


def _balance_args() -> tuple[int, int]:
    """The year now (CST) and the default book's expiry rule: the arguments of ``BALANCE``."""
    return datetime.now(UTC).astimezone(CST).year, _DEFAULT_BOOK.expiry_years_after


async def member_totals(conn: asyncpg.Connection, member_id: UUID) -> asyncpg.Record | None:
    """One member's totals (balance, earned record, ratings, where they belong)."""
    return await conn.fetchrow(MEMBER_TOTALS_SQL, *_balance_args(), member_id)


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
            *_balance_args(),
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


async def every_member(
    conn: asyncpg.Connection,
    *,
    community_id: UUID | None = None,
    unit_id: UUID | None = None,
    kind: MemberKind | None = None,
    below_floor_in: int | None = None,
) -> list[asyncpg.Record]:
    """Every member matching the filters (as ``members_page``), read page by page."""
    found: list[asyncpg.Record] = []
    after = None
    while page := await members_page(
        conn,
        community_id=community_id,
        unit_id=unit_id,
        kind=kind,
        below_floor_in=below_floor_in,
        first=MAX_PAGE,
        after=after,
    ):
        found += page
        after = page[-1]["member_id"]
    return found


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
    return await conn.fetchrow(
        MEMBER_SUMMARY_SQL, *_balance_args(), member_id, year, _default_floor()
    )


async def member_by_code(
    conn: asyncpg.Connection, *, code_hash: str | None = None, reference: str | None = None
) -> asyncpg.Record | None:
    """The member whose current card has this code hash, or whose phone codes carry
    this reference (name, home community, balance); a superseded card finds nothing."""
    if code_hash is not None:
        return await conn.fetchrow(MEMBER_BY_CARD_SQL, *_balance_args(), code_hash)
    if reference is not None:
        return await conn.fetchrow(MEMBER_BY_REFERENCE_SQL, *_balance_args(), reference)
    return None
