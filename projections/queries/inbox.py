"""The SQL of the member's inbox (read model: ``projections.inbox``): their own messages
and the tasks published where they live since they registered, newest first."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from projections.queries.paging import page_size

INBOX_SQL = """
(SELECT position, at, title, body FROM inbox_messages
 WHERE member_id = $1 ORDER BY position DESC LIMIT $2)
UNION ALL
(SELECT b.position, b.at, b.title, b.body
 FROM inbox_members m JOIN inbox_broadcasts b ON b.community_id = m.community_id
 WHERE m.member_id = $1 AND b.position > m.since
   AND (b.grid_id IS NULL OR b.grid_id = m.grid_id)
 ORDER BY b.position DESC LIMIT $2)
ORDER BY position DESC LIMIT $2
"""
"""Each side takes at most a page by its index, newest first; the page is the newest of both."""


async def inbox(
    conn: asyncpg.Connection | asyncpg.Pool, member_id: UUID, first: int = 30
) -> list[asyncpg.Record]:
    return list(await conn.fetch(INBOX_SQL, member_id, page_size(first)))
