"""The SQL of the community boards (read model: ``projections.boards``): open tasks,
services awaiting rating, the points store's goods and redemptions, service by unit.

Statuses and difficulty classes are the domain's enums, passed as parameters in the
form the read model stores them (the member's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from ledger.domain.values import CategoryClass
from ledger.domain.work import ServiceStatus, TaskStatus
from projections.queries.paging import MAX_PAGE, page_size

_TASKS_WITH_STATUS = "SELECT * FROM board_tasks WHERE community_id = $1 AND status = $2"
_BY_START = " ORDER BY starts_at, task_id LIMIT $4"

BOARD_OPEN_TASKS_SQL = _TASKS_WITH_STATUS + " AND ends_at > $3" + _BY_START
UNDERSTAFFED_SQL = (
    _TASKS_WITH_STATUS + " AND starts_at <= $3 AND ends_at > $3 AND claims < capacity" + _BY_START
)
UNTAKEN_OF_CLASS_SQL = (
    _TASKS_WITH_STATUS + " AND category_class = $5 AND claims = 0 AND ends_at > $3" + _BY_START
)
SERVICES_WITH_STATUS_SQL = """
SELECT * FROM board_services WHERE community_id = $1 AND status = $2
ORDER BY checked_out_at, service_id LIMIT $3
"""
ITEMS_SQL = "SELECT * FROM board_items WHERE community_id = $1 ORDER BY name, item_id"
DONATIONS_SQL = """
SELECT d.donor, i.name AS item_name, d.quantity
FROM board_donations d JOIN board_items i USING (item_id)
WHERE d.community_id = $1 ORDER BY d.donor, i.name, d.item_id
"""
STORE_SQL = "SELECT * FROM board_stores WHERE community_id = $1"
BY_UNIT_SQL = """
SELECT b.*, u.name FROM board_units b
LEFT JOIN ranking_units u ON u.unit_id = b.unit_id
WHERE b.community_id = $1 ORDER BY b.hours DESC, b.unit_id
"""
REDEMPTION_SQL = "SELECT * FROM board_redemptions WHERE redemption_id = $1"
RECENT_REDEMPTIONS_SQL = """
SELECT * FROM board_redemptions WHERE member_id = $1
ORDER BY at DESC, position DESC LIMIT $2
"""
REDEMPTION_LINES_SQL = """
SELECT * FROM board_redemption_lines WHERE redemption_id = ANY($1::uuid[])
ORDER BY redemption_id, line
"""
_KIOSK_DAY = "community_id = $1 AND kiosk = $2 AND at >= $3 AND at < $4"
KIOSK_DAY_SQL = f"""
SELECT count(*) FILTER (WHERE NOT cancelled) AS redemptions,
       count(*) FILTER (WHERE cancelled) AS cancelled,
       coalesce(sum(total) FILTER (WHERE NOT cancelled), 0) AS points
FROM board_redemptions WHERE {_KIOSK_DAY}
"""
KIOSK_DAY_GOODS_SQL = """
SELECT l.name, sum(l.quantity) AS quantity, sum(l.amount) AS points
FROM board_redemptions r JOIN board_redemption_lines l USING (redemption_id)
WHERE r.community_id = $1 AND r.kiosk = $2 AND r.at >= $3 AND r.at < $4 AND NOT r.cancelled
GROUP BY l.name ORDER BY l.name
"""
KIOSK_DAY_REDEMPTIONS_SQL = f"""
SELECT * FROM board_redemptions WHERE {_KIOSK_DAY}
ORDER BY at DESC, position DESC LIMIT $5
"""
"""One kiosk's day (日结): its redemptions in the store between two instants."""

OPEN_TASKS_PAGE_SQL = """
SELECT * FROM board_tasks
WHERE community_id = $1 AND status = $2 AND claims < capacity AND ends_at > $3
  AND ($4::timestamptz IS NULL OR (starts_at, task_id) > ($4, $5::uuid))
ORDER BY starts_at, task_id
LIMIT $6
"""
"""Keyset paging on (start, id): tasks starting at the same moment as the last of a
page are on the next page, not skipped."""

TASKS_STARTING_SQL = """
SELECT * FROM board_tasks
WHERE community_id = $1 AND starts_at >= $2 AND starts_at < $3
ORDER BY starts_at, task_id
LIMIT $4
"""
TASK_SQL = "SELECT * FROM board_tasks WHERE task_id = $1"
CLAIMANTS_SQL = """
SELECT s.*, m.name AS member_name FROM board_services s
LEFT JOIN member_totals m ON m.member_id = s.member_id
WHERE s.task_id = $1 AND s.status <> ALL($2::text[])
ORDER BY m.name, s.service_id
"""
"""Who holds or held a place on a task (not those who withdrew or were released)."""
MEMBER_SERVICES_SQL = """
SELECT s.*, t.title AS task_title, t.place, t.starts_at, t.ends_at, c.name AS community_name
FROM board_services s JOIN board_tasks t ON t.task_id = s.task_id
LEFT JOIN board_places c ON c.id = s.community_id
WHERE s.member_id = $1
ORDER BY t.starts_at DESC, s.service_id LIMIT $2
"""


@dataclass(frozen=True)
class Board:
    open_tasks: list[asyncpg.Record]
    understaffed: list[asyncpg.Record]
    hard_untaken: list[asyncpg.Record]
    awaiting_rating: list[asyncpg.Record]
    items: list[asyncpg.Record]
    donations: list[asyncpg.Record]
    store: asyncpg.Record | None
    by_unit: list[asyncpg.Record]


async def community_board(conn: asyncpg.Connection, community_id: UUID, now: datetime) -> Board:
    """What a community has to do and to offer at ``now``, each list at most a page."""
    is_open = (community_id, TaskStatus.OPEN.name, now, MAX_PAGE)
    return Board(
        open_tasks=list(await conn.fetch(BOARD_OPEN_TASKS_SQL, *is_open)),
        understaffed=list(await conn.fetch(UNDERSTAFFED_SQL, *is_open)),
        hard_untaken=list(
            await conn.fetch(UNTAKEN_OF_CLASS_SQL, *is_open, CategoryClass.HARD.value)
        ),
        awaiting_rating=list(
            await conn.fetch(
                SERVICES_WITH_STATUS_SQL, community_id, ServiceStatus.CHECKED_OUT.name, MAX_PAGE
            )
        ),
        items=await store_items(conn, community_id),
        donations=list(await conn.fetch(DONATIONS_SQL, community_id)),
        store=await conn.fetchrow(STORE_SQL, community_id),
        by_unit=list(await conn.fetch(BY_UNIT_SQL, community_id)),
    )


async def open_tasks(
    conn: asyncpg.Connection,
    community_id: UUID,
    now: datetime,
    *,
    first: int = 50,
    after: tuple[datetime, UUID] | None = None,
) -> list[asyncpg.Record]:
    """Tasks a member can still claim, by start then id; pages go on ``after`` the
    (start, task id) of the last task of the page before."""
    starts_at, task_id = after or (None, None)
    return list(
        await conn.fetch(
            OPEN_TASKS_PAGE_SQL,
            community_id,
            TaskStatus.OPEN.name,
            now,
            starts_at,
            task_id,
            page_size(first),
        )
    )


async def tasks_starting(
    conn: asyncpg.Connection, community_id: UUID, start: datetime, end: datetime, first: int
) -> list[asyncpg.Record]:
    """A community's tasks of every status starting in [start, end), by start then id."""
    return list(await conn.fetch(TASKS_STARTING_SQL, community_id, start, end, page_size(first)))


async def store_items(conn: asyncpg.Connection, community_id: UUID) -> list[asyncpg.Record]:
    """The goods of a community's points store, by name."""
    return list(await conn.fetch(ITEMS_SQL, community_id))


async def redemption(conn: asyncpg.Connection, redemption_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(REDEMPTION_SQL, redemption_id)


async def recent_redemptions(
    conn: asyncpg.Connection, member_id: UUID, first: int
) -> list[asyncpg.Record]:
    """A member's redemptions, newest first."""
    return list(await conn.fetch(RECENT_REDEMPTIONS_SQL, member_id, page_size(first)))


async def redemption_lines(
    conn: asyncpg.Connection, redemption_ids: list[UUID]
) -> list[asyncpg.Record]:
    """The lines of these redemptions, in their order."""
    return list(await conn.fetch(REDEMPTION_LINES_SQL, redemption_ids))


@dataclass(frozen=True)
class KioskDayRows:
    totals: asyncpg.Record
    goods: list[asyncpg.Record]
    redemptions: list[asyncpg.Record]


async def kiosk_day(
    conn: asyncpg.Connection | asyncpg.Pool,
    community_id: UUID,
    kiosk: str,
    start: datetime,
    end: datetime,
) -> KioskDayRows:
    """A kiosk's redemptions made in ``[start, end)``: counts and points (cancelled
    ones apart), goods by name, and the redemptions themselves, newest first."""
    args = (community_id, kiosk, start, end)
    totals = await conn.fetchrow(KIOSK_DAY_SQL, *args)
    assert totals is not None  # an aggregate always answers one row
    return KioskDayRows(
        totals,
        list(await conn.fetch(KIOSK_DAY_GOODS_SQL, *args)),
        list(await conn.fetch(KIOSK_DAY_REDEMPTIONS_SQL, *args, MAX_PAGE)),
    )


async def task(conn: asyncpg.Connection | asyncpg.Pool, task_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(TASK_SQL, task_id)


async def claimants(conn: asyncpg.Connection | asyncpg.Pool, task_id: UUID) -> list[asyncpg.Record]:
    """The services of a task's members, with their names (by name)."""
    gone = [ServiceStatus.WITHDRAWN.name, ServiceStatus.RELEASED.name]
    return list(await conn.fetch(CLAIMANTS_SQL, task_id, gone))


async def member_services(
    conn: asyncpg.Connection | asyncpg.Pool, member_id: UUID, first: int
) -> list[asyncpg.Record]:
    """A member's services, the latest task first, with the task's title and place."""
    return list(await conn.fetch(MEMBER_SERVICES_SQL, member_id, page_size(first)))
