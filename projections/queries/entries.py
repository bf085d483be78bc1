"""The SQL of the ledger entries (read model: ``projections.entries``): an account's
legs, newest first; every leg after a position, in order; a balance as of a moment
(by the moments the movements belong to, not when they were recorded)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import asyncpg

from projections.queries.paging import page_size

ACCOUNT_ENTRIES_SQL = """
SELECT * FROM ledger_entries WHERE account = $1 AND position < $2
ORDER BY position DESC LIMIT $3
"""
ENTRIES_AFTER_SQL = """
SELECT * FROM ledger_entries WHERE position > $1
ORDER BY position, leg LIMIT $2
"""
BALANCE_AS_OF_SQL = """
SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account = $1 AND value_at <= $2
"""
AFTER_EVERY_POSITION = 2**62
"""Beyond any notification id: where the first page of an account's entries starts."""


async def account_entries(
    conn: asyncpg.Connection, account: str, *, first: int = 20, before: int | None = None
) -> list[asyncpg.Record]:
    """An account's entries, newest first; pages go on ``before`` the position of the
    last entry of the page before."""
    return list(
        await conn.fetch(
            ACCOUNT_ENTRIES_SQL, account, before or AFTER_EVERY_POSITION, page_size(first)
        )
    )


async def entries_after(
    conn: asyncpg.Connection, position: int, limit: int
) -> list[asyncpg.Record]:
    """Every account's entries after ``position``, in the order they were made (for a
    follower that must not miss one, so not capped at a page)."""
    return list(await conn.fetch(ENTRIES_AFTER_SQL, position, limit))


async def balance_as_of(conn: asyncpg.Connection, account: str, at: datetime) -> Decimal:
    """The account's balance as of ``at``: every movement that belongs to a moment up
    to it, whenever it was recorded (a service recorded today for last month counts
    last month)."""
    return Decimal(await conn.fetchval(BALANCE_AS_OF_SQL, account, at))
