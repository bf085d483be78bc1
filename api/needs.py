"""Residents' needs (群众点单): raised by a member on their phone or by a community
worker, accepted, dispatched, closed and rated (回访), each step named and timed.

Scope: a community reads and runs its own community's needs; a member raises needs
for themself, where they live, reads only those and rates them once closed. A need
out of scope answers exactly as an unknown one."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import strawberry

from api.commands import Key, home_of, run_command
from api.context import Info, RequestContext
from api.types import CommandResult
from ledger.domain.errors import LedgerError
from ledger.domain.values import Role, Satisfaction
from ledger.domain.work import Need as NeedAggregate
from ledger.domain.work import NeedStatus
from projections.queries import needs as queries
from projections.queries.names import Wanted, role_word

strawberry.enum(NeedStatus, description="需求状态:待受理/已受理/已派单/已办结/已回访")
strawberry.enum(Satisfaction, description="回访满意度:满意/基本满意/不满意")


@strawberry.type(description="需求的一步:何时、何人、进入何种状态")
class NeedStep:
    at: datetime = strawberry.field(description="时间(北京时间)")
    status_name: str = strawberry.field(description="这一步之后的状态")
    by_name: str = strawberry.field(description="经办人(居民本人,或社区令牌的名称)")
    note: str | None = strawberry.field(description="派单的任务、办结说明或回访意见")


@strawberry.type(description="群众点单:居民提出的需求及其办理经过")
class Need:
    need_id: UUID
    community_id: UUID
    community_name: str
    grid_name: str | None
    category: str | None
    description: str
    place: str | None = strawberry.field(description="服务地点")
    raised_by_name: str = strawberry.field(description="需求提出人")
    raised_at: datetime = strawberry.field(description="提出时间(北京时间)")
    status: NeedStatus
    status_name: str
    task_id: UUID | None = strawberry.field(description="最近一次派单的任务")
    task_title: str | None
    closing_note: str | None = strawberry.field(description="办结说明")
    satisfaction: Satisfaction | None
    satisfaction_name: str | None
    satisfaction_comment: str | None
    steps: list[NeedStep] = strawberry.field(description="办理经过,按时间先后")


async def _needs(ctx: RequestContext, rows: list[asyncpg.Record]) -> list[Need]:
    """The needs of these rows with their steps: two more queries, whatever the count."""
    steps = await queries.need_steps(ctx.pool, [r["need_id"] for r in rows])
    wanted = Wanted()
    for found in steps.values():
        for step in found:
            wanted.actor(step["actor"])
    names = await ctx.names(wanted)

    def by(step: asyncpg.Record, raised_by: str) -> str:
        if step["role"] == Role.MEMBER.value:
            return raised_by  # only the member who raised a need acts on it
        return names.actor(step["actor"]) or role_word(step["role"]) or ""

    needs = []
    for r in rows:
        status = NeedStatus[r["status"]]
        verdict = None if r["satisfaction"] is None else Satisfaction[r["satisfaction"]]
        needs.append(
            Need(
                need_id=r["need_id"],
                community_id=r["community_id"],
                community_name=r["community_name"] or "",
                grid_name=r["grid_name"],
                category=r["category"],
                description=r["description"],
                place=r["place"],
                raised_by_name=r["raised_by"],
                raised_at=r["raised_at"],
                status=status,
                status_name=status.value,
                task_id=r["task_id"],
                task_title=r["task_title"],
                closing_note=r["closing_note"],
                satisfaction=verdict,
                satisfaction_name=None if verdict is None else verdict.value,
                satisfaction_comment=r["satisfaction_comment"],
                steps=[
                    NeedStep(
                        at=s["at"],
                        status_name=NeedStatus[s["status"]].value,
                        by_name=by(s, r["raised_by"]),
                        note=s["note"],
                    )
                    for s in steps[r["need_id"]]
                ],
            )
        )
    return needs


def _member(ctx: RequestContext) -> UUID | None:
    """The member a member token acts for (None: not a member token)."""
    if ctx.principal is None or ctx.role is not Role.MEMBER:
        return None
    return UUID(str(next(iter(ctx.principal.scope))))  # the token table's own UUID type


def _reads(ctx: RequestContext, row: asyncpg.Record) -> bool:
    member = _member(ctx)
    own = member is not None and member == row["member_id"]
    return own or ctx.reads_community(row["community_id"])


@strawberry.type
class NeedsQuery:
    @strawberry.field(description="社区的群众需求,新提出的在前;下一页给出上一页最后一项的 needId")
    async def needs(
        self,
        info: Info,
        community_id: UUID,
        status: NeedStatus | None = None,
        first: int = 50,
        after: UUID | None = None,
        wait_for: int | None = None,
    ) -> list[Need]:
        ctx = info.context
        ctx.require(ctx.reads_community(community_id), "该社区的需求")
        await ctx.wait_for(wait_for)
        rows = await queries.community_needs(
            ctx.pool, community_id, status, first=first, after=after
        )
        return await _needs(ctx, rows)

    @strawberry.field(
        description="一项需求及其办理经过(所在社区、提出需求的成员本人、管理员;"
        "无权查看的与不存在的一样答复为空)"
    )
    async def need(self, info: Info, id: UUID, wait_for: int | None = None) -> Need | None:
        ctx = info.context
        ctx.require(ctx.principal is not None, "需求")
        await ctx.wait_for(wait_for)
        row = await queries.need(ctx.pool, id)
        if row is None or not _reads(ctx, row):
            return None
        return (await _needs(ctx, [row]))[0]

    @strawberry.field(description="我提出的需求(成员令牌),新提出的在前")
    async def my_needs(
        self, info: Info, first: int = 20, wait_for: int | None = None
    ) -> list[Need]:
        ctx = info.context
        member = _member(ctx)
        ctx.require(member is not None, "我的需求(须用成员令牌)")
        assert member is not None
        await ctx.wait_for(wait_for)
        return await _needs(ctx, await queries.member_needs(ctx.pool, member, first))


async def _need(ctx: RequestContext, need_id: UUID) -> NeedAggregate | None:
    try:
        return await ctx.write(ctx.ledger.get_need, need_id)
    except LedgerError:
        return None


async def _run_need(
    ctx: RequestContext,
    need_id: UUID,
    what: str,
    command: str,
    *args: object,
    key: str | None,
    member_may: bool = False,
) -> Any:
    """A command on a need by its community (or, where ``member_may``, the member who
    raised it); an unknown need and one out of scope get the same answer."""
    need = await _need(ctx, need_id)
    community = None if need is None else need.community_id
    raiser = None if need is None else need.member_id
    own = member_may and raiser is not None and _member(ctx) == raiser
    allowed = ctx.runs_community(community) or own
    return await run_command(
        ctx, allowed, what, getattr(ctx.ledger, command), need_id, *args, key=key
    )


@strawberry.type
class NeedsMutation:
    @strawberry.mutation(
        description="群众点单:成员令牌为本人在所住社区提出(提出人即本人,raisedBy 不用);"
        "社区令牌代居民登记(须给出 raisedBy)"
    )
    async def raise_need(
        self,
        info: Info,
        community_id: UUID,
        description: str,
        raised_by: str | None = None,
        grid_id: UUID | None = None,
        category: str | None = None,
        place: str | None = None,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        member = _member(ctx)
        if member is not None:
            home = await home_of(ctx, ctx.ledger.get_member, member)
            allowed, raised_by = home == community_id, None
        else:
            allowed = ctx.runs_community(community_id)
        return await run_command(
            ctx,
            allowed,
            "在该社区登记需求",
            ctx.ledger.raise_need,
            community_id,
            raised_by,
            description,
            grid_id=grid_id,
            category=category,
            place=place,
            member_id=member,
            key=key,
        )

    @strawberry.mutation(description="受理需求")
    async def accept_need(self, info: Info, need_id: UUID, key: Key = None) -> CommandResult:
        return await _run_need(info.context, need_id, "受理该需求", "accept_need", key=key)

    @strawberry.mutation(
        description="派单:把需求派给本社区已发布的任务(发布任务时给出 needId 也会派单)"
    )
    async def dispatch_need(
        self, info: Info, need_id: UUID, task_id: UUID, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        task = await home_of(ctx, ctx.ledger.get_task, task_id)
        if not ctx.runs_community(task):  # another community's task is as good as unknown
            return await run_command(ctx, False, "派单", ctx.ledger.dispatch_need)
        return await _run_need(ctx, need_id, "派单", "dispatch_need", task_id, key=key)

    @strawberry.mutation(description="办结需求,写明办理结果;已办结的需求答复 NEED_ALREADY_CLOSED")
    async def close_need(
        self, info: Info, need_id: UUID, note: str, key: Key = None
    ) -> CommandResult:
        return await _run_need(info.context, need_id, "办结该需求", "close_need", note, key=key)

    @strawberry.mutation(
        description="回访:需求办结后,提出需求的成员本人评价是否满意,"
        "或社区记录居民电话、当面给出的评价(记录人记入事件)"
    )
    async def rate_need(
        self,
        info: Info,
        need_id: UUID,
        satisfaction: Satisfaction,
        comment: str | None = None,
        key: Key = None,
    ) -> CommandResult:
        return await _run_need(
            info.context,
            need_id,
            "评价该需求",
            "rate_need",
            satisfaction,
            comment,
            key=key,
            member_may=True,
        )
