"""Streets, communities and their work: boards, tasks and claims (派单、接单; needs: api.needs)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import anyio
import strawberry

from api.commands import Key, home_of, is_admin, run_command
from api.context import BadArgument, Info, RequestContext
from api.errors import problem
from api.types import (
    CommandResult,
    CommunityBoard,
    Donation,
    Item,
    NeedSatisfaction,
    PendingService,
    Task,
    UnitService,
)
from ledger.domain.errors import InvalidInput, NotFound
from ledger.domain.values import Role
from projections import queries


async def sees_tasks(ctx: RequestContext, community_id: UUID) -> bool:
    """A community's tasks are public to those who may take them (its residents, the
    members of its paired units) and to those who run or audit it; not to a kiosk."""
    principal = ctx.principal
    if principal is not None and principal.role is Role.MEMBER:
        (member_id,) = principal.scope
        try:
            return await ctx.write(ctx.ledger.serves_in, member_id, community_id)
        except NotFound:
            return False
    return ctx.reads_community(community_id)


@strawberry.type
class CommunitiesQuery:
    @strawberry.field(description="社区看板")
    async def community_board(
        self, info: Info, community_id: UUID, wait_for: int | None = None
    ) -> CommunityBoard:
        ctx = info.context
        ctx.require(ctx.reads_community(community_id), "该社区的看板")
        await ctx.wait_for(wait_for)
        board = await queries.community_board(ctx.pool, community_id, datetime.now(UTC))
        names = await ctx.names(PendingService.wanted(board.awaiting_rating))
        rated = await queries.satisfaction(ctx.pool, community_id)
        return CommunityBoard(
            open_tasks=[Task.from_row(r) for r in board.open_tasks],
            understaffed=[Task.from_row(r) for r in board.understaffed],
            hard_untaken=[Task.from_row(r) for r in board.hard_untaken],
            awaiting_rating=[PendingService.named(r, names) for r in board.awaiting_rating],
            items=[Item.from_row(r) for r in board.items],
            donations=[
                Donation(donor=r["donor"], item_name=r["item_name"], quantity=r["quantity"])
                for r in board.donations
            ],
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
            satisfaction=NeedSatisfaction.of(rated),
        )

    @strawberry.field(
        description="可认领的任务,按开始时间再按编号;下一页给出上一页最后一项的 startsAt 与 taskId"
    )
    async def open_tasks(
        self,
        info: Info,
        community_id: UUID,
        first: int = 50,
        after_starts_at: datetime | None = None,
        after_task_id: UUID | None = None,
    ) -> list[Task]:
        ctx = info.context
        ctx.require(await sees_tasks(ctx, community_id), "该社区的任务")
        after = None
        if after_starts_at is not None and after_task_id is not None:
            after = (after_starts_at, after_task_id)
        elif after_starts_at is not None or after_task_id is not None:
            raise BadArgument("afterStartsAt 与 afterTaskId 须一同给出")
        rows = await queries.open_tasks(
            ctx.pool, community_id, datetime.now(UTC), first=first, after=after
        )
        return [Task.from_row(r) for r in rows]

    @strawberry.field(
        description="社区的任务(任何状态):开始时间在 [startsFrom, startsBefore) 内,按开始时间"
    )
    async def tasks(
        self,
        info: Info,
        community_id: UUID,
        starts_from: datetime,
        starts_before: datetime,
        first: int = 100,
        wait_for: int | None = None,
    ) -> list[Task]:
        ctx = info.context
        ctx.require(ctx.reads_community(community_id), "该社区的任务")
        await ctx.wait_for(wait_for)
        rows = await queries.tasks_starting(
            ctx.pool, community_id, starts_from, starts_before, first
        )
        return [Task.from_row(r) for r in rows]

    @strawberry.field(description="现行积分规则的服务类别(发布任务时从中选用),按难度分类排列")
    async def task_categories(self, info: Info) -> list[str]:
        ctx = info.context
        ctx.require(ctx.principal is not None, "服务类别")
        policy = await anyio.to_thread.run_sync(ctx.ledger.current_policy)
        return list(policy.categories)


@strawberry.type
class CommunitiesMutation:
    @strawberry.mutation(description="登记街道")
    async def register_street(self, info: Info, name: str, key: Key = None) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx, is_admin(ctx), "登记街道", ctx.ledger.register_street, name, key=key
        )

    @strawberry.mutation(description="登记社区及其网格")
    async def register_community(
        self,
        info: Info,
        street_id: UUID,
        name: str,
        grids: list[str] | None = None,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            is_admin(ctx),
            "登记社区",
            ctx.ledger.register_community,
            street_id,
            name,
            grids=grids or [],
            key=key,
        )

    @strawberry.mutation(description="为社区增加网格")
    async def add_grid(
        self, info: Info, community_id: UUID, name: str, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            ctx.runs_community(community_id),
            "管理该社区",
            ctx.ledger.add_grid,
            community_id,
            name,
            key=key,
        )

    @strawberry.mutation(description="社区派单:发布任务")
    async def publish_task(
        self,
        info: Info,
        community_id: UUID,
        title: str,
        category: str,
        starts_at: datetime,
        ends_at: datetime,
        capacity: int,
        grid_id: UUID | None = None,
        need_id: UUID | None = None,
        key: Key = None,
        place: Annotated[str | None, strawberry.argument(description="服务地点")] = None,
        latitude: Annotated[
            float | None, strawberry.argument(description="服务地点纬度(与经度一同给出)")
        ] = None,
        longitude: Annotated[float | None, strawberry.argument(description="服务地点经度")] = None,
    ) -> CommandResult:
        ctx = info.context
        if (latitude is None) != (longitude is None):
            return problem(InvalidInput(reason="服务地点的纬度与经度须一同给出"))
        point = None if latitude is None or longitude is None else (latitude, longitude)
        return await run_command(
            ctx,
            ctx.runs_community(community_id),
            "在该社区发布任务",
            ctx.ledger.publish_task,
            community_id,
            title,
            category,
            starts_at,
            ends_at,
            capacity,
            grid_id=grid_id,
            need_id=need_id,
            place=place,
            point=point,
            key=key,
        )

    @strawberry.mutation(description="取消任务(释放认领)")
    async def cancel_task(
        self, info: Info, task_id: UUID, reason: str, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_task, task_id)
        return await run_command(
            ctx,
            ctx.runs_community(home),
            "取消该任务",
            ctx.ledger.cancel_task,
            task_id,
            reason,
            key=key,
        )

    @strawberry.mutation(description="关闭任务(不再接受认领)")
    async def close_task(self, info: Info, task_id: UUID, key: Key = None) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_task, task_id)
        return await run_command(
            ctx,
            ctx.runs_community(home),
            "关闭该任务",
            ctx.ledger.close_task,
            task_id,
            key=key,
        )

    @strawberry.mutation(description="党员接单:认领任务")
    async def claim_task(
        self, info: Info, task_id: UUID, member_id: UUID, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_task, task_id)
        allowed = ctx.runs_community(home) or ctx.scoped(Role.MEMBER, member_id)
        return await run_command(
            ctx,
            allowed,
            "认领该任务",
            ctx.ledger.claim_task,
            task_id,
            member_id,
            key=key,
        )
