"""Reading the read models (asyncpg): the only SQL the API runs.

One module per read model, named after it: ``units`` (the unit ranking), ``members``,
``dossiers``, ``boards`` (tasks, services awaiting rating, the points store) and
``entries`` (the ledger's legs and balances); ``paging`` holds the page cap. Every
query reads the read models' views, never the event store (but for ``HEAD``, the
log's position), and does its ordering, ranking and paging in SQL.
"""

from __future__ import annotations

import asyncpg

from projections.queries.boards import (
    Board,
    community_board,
    open_tasks,
    redemption,
    store_items,
)
from projections.queries.dossiers import Dossier, Standing, dossier
from projections.queries.entries import account_entries, balance_as_of, entries_after
from projections.queries.members import member_summary, member_totals, member_years, members_page
from projections.queries.paging import MAX_PAGE, page_size
from projections.queries.units import (
    METRICS,
    MemberMetric,
    Metric,
    UnknownMetric,
    check_period,
    member_ranking,
    ranking_weights,
    unit_ranking,
)

HEAD = "SELECT max(notification_id) FROM ledger_events"
"""The log's head position: how far the read models have to go."""
PING = "SELECT 1"


async def ping(conn: asyncpg.Connection, *, timeout: float) -> None:
    """Whether the connection still answers (raises if not)."""
    await conn.fetchval(PING, timeout=timeout)


async def head_position(conn: asyncpg.Connection | asyncpg.Pool, *, timeout: float) -> int:
    """The log's head position (0 for an empty log)."""
    return int(await conn.fetchval(HEAD, timeout=timeout) or 0)


__all__ = [
    "HEAD",
    "MAX_PAGE",
    "METRICS",
    "PING",
    "Board",
    "Dossier",
    "MemberMetric",
    "Metric",
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
    "ranking_weights",
    "redemption",
    "store_items",
    "unit_ranking",
]
