"""Reading the read models (asyncpg): the only SQL the API runs.

One module per read model, named after it: ``units`` (the unit ranking), ``members``,
``dossiers``, ``boards`` (tasks, services awaiting rating, the points store),
``entries`` (the ledger's legs and balances), ``needs`` (residents' needs and the
satisfaction rate) and ``inbox`` (members' messages); ``paging`` holds the page cap, and
``names`` names the ids of all of them for people (masked as the reader requires). Every
query reads the read models' views, never the event store (but for ``HEAD``, the
log's position), and does its ordering, ranking and paging in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from projections.queries.boards import (
    Board,
    community_board,
    open_tasks,
    redemption,
    store_items,
    tasks_starting,
)
from projections.queries.dossiers import Dossier, Standing, dossier
from projections.queries.entries import account_entries, balance_as_of, entries_after
from projections.queries.members import member_summary, member_totals, member_years, members_page
from projections.queries.needs import SatisfactionCount, satisfaction
from projections.queries.paging import MAX_PAGE, page_size
from projections.queries.units import (
    METRICS,
    MemberMetric,
    Metric,
    UnknownMetric,
    check_period,
    member_ranking,
    unit_ranking,
)

HEAD = "SELECT max(notification_id) FROM ledger_events"
"""The log's head position: how far the read models have to go."""
PING = "SELECT 1"
WRITTEN_WAL = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
"""How far the primary has written its WAL, in bytes."""
REPLAYED_WAL = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
"""How far a standby has replayed the primary's WAL (NULL on a primary)."""


async def ping(conn: asyncpg.Connection, *, timeout: float) -> None:
    """Whether the connection still answers (raises if not)."""
    await conn.fetchval(PING, timeout=timeout)


async def head_position(conn: asyncpg.Connection | asyncpg.Pool, *, timeout: float) -> int:
    """The log's head position (0 for an empty log)."""
    return int(await conn.fetchval(HEAD, timeout=timeout) or 0)


async def written_wal(conn: asyncpg.Connection | asyncpg.Pool, timeout: float) -> int:
    """The primary's WAL position (bytes)."""
    return int(await conn.fetchval(WRITTEN_WAL, timeout=timeout))


async def positions(
    conn: asyncpg.Connection | asyncpg.Pool, tracking: Sequence[str], application: str
) -> list[int]:
    """Where each read model is: the last position recorded in each of the ``tracking``
    tables (schema-qualified and quoted names, from ``ReadSide.tracking_tables``)."""
    selects = [
        f"SELECT coalesce(max(notification_id), 0) FROM {table} WHERE application_name = $1"
        for table in tracking
    ]
    if not selects:
        return []
    return [int(row[0]) for row in await conn.fetch(" UNION ALL ".join(selects), application)]


async def replayed_wal(conn: asyncpg.Connection | asyncpg.Pool, timeout: float) -> int | None:
    """The WAL position a standby has replayed (bytes); None on a primary."""
    replayed = await conn.fetchval(REPLAYED_WAL, timeout=timeout)
    return None if replayed is None else int(replayed)


__all__ = [
    "HEAD",
    "MAX_PAGE",
    "METRICS",
    "PING",
    "Board",
    "Dossier",
    "MemberMetric",
    "Metric",
    "SatisfactionCount",
    "Standing",
    "UnknownMetric",
    "account_entries",
    "balance_as_of",
    "check_period",
    "community_board",
    "dossier",
    "entries_after",
    "head_position",
    "member_ranking",
    "member_summary",
    "member_totals",
    "member_years",
    "members_page",
    "open_tasks",
    "page_size",
    "ping",
    "positions",
    "redemption",
    "replayed_wal",
    "satisfaction",
    "store_items",
    "tasks_starting",
    "unit_ranking",
    "written_wal",
]
