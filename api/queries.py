"""Queries: read models only, each checked against the caller's scope."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import strawberry

from api.context import BadArgument, Info
from api.types import (
    CommunityBoard,
    Item,
    LedgerEntry,
    Member,
    PendingService,
    Redemption,
    Task,
    UnitRank,
    UnitService,
)
from ledger.domain.values import Role
from projections import queries

MEMBERS_SQL = """
SELECT t.* FROM member_totals t
WHERE ($1::uuid IS NULL OR t.community_id = $1)
  AND ($2::uuid IS NULL OR t.grid_id = $2)
  AND ($3::uuid IS NULL OR t.unit_id = $3)
  AND ($4::text IS NULL OR t.kind = $4)
  AND ($5::int IS NULL OR coalesce((
        SELECT y.hours FROM member_years y WHERE y.member_id = t.member_id AND y.year = $5), 0)
      < coalesce((SELECT annual_floor_hours FROM member_policy WHERE id = 1), 20))
  AND t.member_id > $6
ORDER BY t.member_id
LIMIT $7
"""
FIRST_ID = UUID(int=0)


def _page(first: int) -> int:
    return min(max(first, 1), queries.MAX_PAGE)


@strawberry.type
class Query:
    @strawberry.field(description="一名成员(积分超市终端只能查本社区居民)")
    async def member(self, info: Info, id: UUID, wait_for: int | None = None) -> Member | None:
        ctx = info.context
        await ctx.wait_for(wait_for)
        row = await ctx.pool.fetchrow("SELECT * FROM member_totals WHERE member_id = $1", id)
        if row is None:
            return None
        ctx.require(ctx.reads_member(row), "该成员的信息")
        return Member.from_row(row, ctx.role)

    @strawberry.field(description="按社区、网格、单位、类别筛选成员;below_floor_in 为年份")
    async def members(
        self,
        info: Info,
        community_id: UUID | None = None,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
        kind: str | None = None,
        below_floor_in: int | None = None,
        first: int = 50,
        after: UUID | None = None,
        wait_for: int | None = None,
    ) -> list[Member]:
        ctx = info.context
        ctx.require(
            ctx.reads_everything()
            or (community_id is not None and ctx.scoped(Role.COMMUNITY, community_id))
            or (unit_id is not None and ctx.scoped(Role.UNIT, unit_id)),
            "这些成员",
        )
        await ctx.wait_for(wait_for)
        rows = await ctx.pool.fetch(
            MEMBERS_SQL,
            community_id,
            grid_id,
            unit_id,
            kind,
            below_floor_in,
            after or FIRST_ID,
            _page(first),
        )
        return [Member.from_row(r, ctx.role) for r in rows]

    @strawberry.field(
        description="单位排名:period 如 2026、2026-Q2、2026-05;metric 为指标或 composite"
    )
    async def unit_ranking(
        self,
        info: Info,
        period: str,
        metric: str = "composite",
        community_id: UUID | None = None,
        first: int = 50,
        after: int = 0,
        wait_for: int | None = None,
    ) -> list[UnitRank]:
        ctx = info.context
        ctx.require(ctx.reads_rankings(), "单位排名")
        await ctx.wait_for(wait_for)

        def compute() -> Any:
            return queries.unit_ranking(
                ctx.pool,
                period,
                metric=metric,
                community_id=community_id,
                first=first,
                after=after,
            )

        try:
            if wait_for is None:
                key = ("unit_ranking", period, metric, community_id, first, after)
                rows = await ctx.cache.get(key, compute)
            else:  # just after a write: read past the cache
                rows = await compute()
        except queries.UnknownMetric:
            raise BadArgument(f"没有指标 {metric};可选:{'、'.join(queries.METRICS)}") from None
        except ValueError:
            raise BadArgument(f"期间 {period} 格式不对,应如 2026、2026-Q2、2026-05") from None
        return [UnitRank.from_row(r) for r in rows]

    @strawberry.field(description="社区看板")
    async def community_board(
        self, info: Info, community_id: UUID, wait_for: int | None = None
    ) -> CommunityBoard:
        ctx = info.context
        ctx.require(ctx.reads_community(community_id), "该社区的看板")
        await ctx.wait_for(wait_for)
        board = await queries.community_board(ctx.pool, community_id, datetime.now(UTC))
        return CommunityBoard(
            open_tasks=[Task.from_row(r) for r in board.open_tasks],
            understaffed=[Task.from_row(r) for r in board.understaffed],
            hard_untaken=[Task.from_row(r) for r in board.hard_untaken],
            awaiting_rating=[
                PendingService(
                    service_id=r["service_id"],
                    task_id=r["task_id"],
                    member_id=r["member_id"],
                    checked_out_at=r["checked_out_at"],
                )
                for r in board.awaiting_rating
            ],
            items=[Item.from_row(r) for r in board.items],
            redemptions=board.store["redemptions"] if board.store else 0,
            redeemed_points=board.store["points"] if board.store else Decimal(0),
            by_unit=[
                UnitService(
                    unit_id=r["unit_id"],
                    name=r["name"],
                    services=r["services"],
                    hours=r["hours"],
                    points=r["points"],
                )
                for r in board.by_unit
            ],
        )

    @strawberry.field(description="可认领的任务,按开始时间")
    async def open_tasks(
        self, info: Info, community_id: UUID, first: int = 50, after: datetime | None = None
    ) -> list[Task]:
        ctx = info.context
        ctx.require(ctx.principal is not None, "任务")
        rows = await ctx.pool.fetch(
            "SELECT * FROM board_tasks WHERE community_id = $1 AND status = 'OPEN' "
            "AND claims < capacity AND ends_at > now() AND starts_at > $2 "
            "ORDER BY starts_at, task_id LIMIT $3",
            community_id,
            after or datetime(1970, 1, 1, tzinfo=UTC),
            _page(first),
        )
        return [Task.from_row(r) for r in rows]

    @strawberry.field(description="社区积分超市的商品")
    async def store_catalogue(self, info: Info, community_id: UUID) -> list[Item]:
        ctx = info.context
        ctx.require(
            ctx.reads_community(community_id) or ctx.scoped(Role.KIOSK, community_id), "该超市"
        )
        rows = await ctx.pool.fetch(
            "SELECT * FROM board_items WHERE community_id = $1 ORDER BY name, item_id",
            community_id,
        )
        return [Item.from_row(r) for r in rows]

    @strawberry.field(description="一笔兑换")
    async def redemption(
        self, info: Info, id: UUID, wait_for: int | None = None
    ) -> Redemption | None:
        ctx = info.context
        await ctx.wait_for(wait_for)
        row = await ctx.pool.fetchrow(
            "SELECT * FROM board_redemptions WHERE redemption_id = $1", id
        )
        if row is None:
            return None
        community = row["community_id"]
        ctx.require(ctx.reads_community(community) or ctx.scoped(Role.KIOSK, community), "这笔兑换")
        return Redemption(
            redemption_id=row["redemption_id"],
            community_id=community,
            total=row["total"],
            goods=row["goods"],
            cancelled=row["cancelled"],
        )

    @strawberry.field(description="某账户的流水,新在前;after 为上一页最后的 position")
    async def ledger_entries(
        self,
        info: Info,
        account: str,
        first: int = 50,
        after: int | None = None,
        wait_for: int | None = None,
    ) -> list[LedgerEntry]:
        ctx = info.context
        ctx.require(_reads_account(info, account), "该账户")
        await ctx.wait_for(wait_for)
        rows = await ctx.pool.fetch(
            "SELECT * FROM ledger_entries WHERE account = $1 AND position < $2 "
            "ORDER BY position DESC LIMIT $3",
            account,
            after or 2**62,
            _page(first),
        )
        return [LedgerEntry.from_row(r) for r in rows]

    @strawberry.field(description="某账户在某一时刻的余额")
    async def balance(self, info: Info, account: str, as_of: datetime | None = None) -> Decimal:
        ctx = info.context
        ctx.require(_reads_account(info, account), "该账户")
        return await queries.balance_as_of(ctx.pool, account, as_of or datetime.now(UTC))


def _reads_account(info: Info, account: str) -> bool:
    ctx = info.context
    if ctx.reads_everything():
        return True
    kind, _, ident = account.partition(":")
    try:
        owner = UUID(ident)
    except ValueError:
        return False
    return (kind == "member" and ctx.scoped(Role.MEMBER, owner)) or (
        kind in ("issuance", "store") and ctx.scoped(Role.COMMUNITY, owner)
    )
