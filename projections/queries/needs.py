"""The SQL of residents' needs (read model: ``projections.needs``): a community's needs,
newest first, one need, a member's own, their steps, and the satisfaction rate.

Statuses and verdicts are the domain's enums, passed as parameters in the form the read
model stores them (the member's name)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import asyncpg

from ledger.domain.values import Satisfaction
from ledger.domain.work import NeedStatus
from projections.queries.paging import page_size

_NEED = """
SELECT n.*, c.name AS community_name, g.name AS grid_name, t.name AS task_title
FROM need_needs n
LEFT JOIN need_names c ON c.id = n.community_id
LEFT JOIN need_names g ON g.id = n.grid_id
LEFT JOIN need_names t ON t.id = n.task_id
"""
NEED_SQL = _NEED + "WHERE n.need_id = $1"
COMMUNITY_NEEDS_SQL = (
    _NEED
    + """WHERE n.community_id = $1 AND ($2::text IS NULL OR n.status = $2)
  AND ($3::uuid IS NULL OR n.position < (SELECT position FROM need_needs WHERE need_id = $3))
ORDER BY n.position DESC LIMIT $4"""
)
"""Newest first; the next page goes on after the last need of the page before."""
MEMBER_NEEDS_SQL = _NEED + "WHERE n.member_id = $1 ORDER BY n.position DESC LIMIT $2"
STEPS_SQL = """
SELECT * FROM need_steps WHERE need_id = ANY($1::uuid[]) ORDER BY need_id, position
"""
SATISFACTION_SQL = """
SELECT count(*) FILTER (WHERE satisfaction = $2) AS satisfied,
       count(*) FILTER (WHERE satisfaction = $3) AS basically_satisfied,
       count(*) FILTER (WHERE satisfaction = $4) AS dissatisfied
FROM need_needs WHERE community_id = $1 AND status = $5
"""


async def need(conn: asyncpg.Connection | asyncpg.Pool, need_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(NEED_SQL, need_id)


async def community_needs(
    conn: asyncpg.Connection | asyncpg.Pool,
    community_id: UUID,
    status: NeedStatus | None = None,
    *,
    first: int = 50,
    after: UUID | None = None,
) -> list[asyncpg.Record]:
    """A community's needs (in one state, if given), newest first."""
    state = None if status is None else status.name
    return list(await conn.fetch(COMMUNITY_NEEDS_SQL, community_id, state, after, page_size(first)))


async def member_needs(
    conn: asyncpg.Connection | asyncpg.Pool, member_id: UUID, first: int = 20
) -> list[asyncpg.Record]:
    """The needs a member raised for themself, newest first."""
    return list(await conn.fetch(MEMBER_NEEDS_SQL, member_id, page_size(first)))


async def need_steps(
    conn: asyncpg.Connection | asyncpg.Pool, need_ids: list[UUID]
) -> dict[UUID, list[asyncpg.Record]]:
    """Each need's steps, in order."""
    steps: dict[UUID, list[asyncpg.Record]] = {i: [] for i in need_ids}
    for row in await conn.fetch(STEPS_SQL, need_ids):
        steps[row["need_id"]].append(row)
    return steps


@dataclass(frozen=True)
class SatisfactionCount:
    """居民满意率: the needs rated (回访) in a community, by verdict; ``rate`` the share
    satisfied or basically satisfied (None: none rated yet)."""

    satisfied: int
    basically_satisfied: int
    dissatisfied: int

    @property
    def rated(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def rate(self) -> Decimal | None:
        if not self.rated:
            return None
        share = Decimal(self.satisfied + self.basically_satisfied) / self.rated
        return share.quantize(Decimal("0.0001"))


async def satisfaction(
    conn: asyncpg.Connection | asyncpg.Pool, community_id: UUID
) -> SatisfactionCount:
    row = await conn.fetchrow(
        SATISFACTION_SQL,
        community_id,
        Satisfaction.SATISFIED.name,
        Satisfaction.BASICALLY_SATISFIED.name,
        Satisfaction.DISSATISFIED.name,
        NeedStatus.REVISITED.name,
    )
    assert row is not None  # an aggregate always answers one row
    return SatisfactionCount(row["satisfied"], row["basically_satisfied"], row["dissatisfied"])
