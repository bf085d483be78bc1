"""Members: their totals, history and dossiers; registration, 双报到, moves, annual reviews."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any
from uuid import UUID

import strawberry

from api.commands import home_of, is_admin, run_command
from api.context import Info, RequestContext
from api.errors import Conflict, problem
from api.types import (
    CommandResult,
    Member,
)
from ledger.domain.errors import DuplicateMember, LedgerError
from ledger.domain.values import Grade, MemberKind, Role
from projections import queries


@strawberry.type
class MembersQuery:
    @strawberry.field(description="一名成员(积分超市终端只能查本社区居民)")
    async def member(self, info: Info, id: UUID, wait_for: int | None = None) -> Member | None:
        ctx = info.context
        await ctx.wait_for(wait_for)
        row = await queries.member_totals(ctx.pool, id)
        # A token that may not read every member learns nothing of ids outside its
        # scope: an unknown id and another community's member are refused alike.
        if row is None and ctx.reads_everything():
            return None
        ctx.require(row is not None and ctx.reads_member(row), "该成员的信息")
        return Member.from_row(row, ctx.role)

    @strawberry.field(description="按社区、网格、单位、类别筛选成员;below_floor_in 为年份")
    async def members(
        self,
        info: Info,
        community_id: UUID | None = None,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
        kind: MemberKind | None = None,
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
        rows = await queries.members_page(
            ctx.pool,
            community_id=community_id,
            grid_id=grid_id,
            unit_id=unit_id,
            kind=kind,
            below_floor_in=below_floor_in,
            first=first,
            after=after,
        )
        return [Member.from_row(r, ctx.role) for r in rows]


async def _refine_registration(ctx: RequestContext, error: LedgerError) -> Any:
    """A national ID already registered is named with its member only to a token that
    may read that member: anyone else learns no id and no community."""
    if isinstance(error, DuplicateMember):
        row = await queries.member_totals(ctx.pool, error.details["id"])
        if row is None or not ctx.reads_member(row):
            return Conflict(code="CONFLICT", message="无法用该身份证号登记,请联系街道管理员核实")
    return problem(error)


@strawberry.type
class MembersMutation:
    @strawberry.mutation(description="登记成员(身份证号只以密钥哈希保存)")
    async def register_member(
        self,
        info: Info,
        kind: MemberKind,
        name: str,
        community_id: UUID,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
        phone: str | None = None,
        national_id: str | None = None,
        branch: str | None = None,
        team: str | None = None,
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            ctx.runs_community(community_id),
            "在该社区登记成员",
            ctx.ledger.register_member,
            kind,
            name,
            community_id,
            grid_id=grid_id,
            unit_id=unit_id,
            phone=phone,
            national_id=national_id,
            branch=branch,
            team=team,
            refine=functools.partial(_refine_registration, ctx),
        )

    @strawberry.mutation(description="成员向居住社区报到(双报到,党员一方)")
    async def report_member(self, info: Info, member_id: UUID, on: date) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_member, member_id)
        allowed = ctx.runs_community(home) or ctx.scoped(Role.MEMBER, member_id)
        return await run_command(
            ctx, allowed, "为该成员报到", ctx.ledger.report_member, member_id, on
        )

    @strawberry.mutation(description="成员调动单位或搬迁(历史保留)")
    async def move_member(
        self,
        info: Info,
        member_id: UUID,
        unit_id: UUID | None = None,
        community_id: UUID | None = None,
        grid_id: UUID | None = None,
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            is_admin(ctx),
            "调动成员",
            ctx.ledger.move_member,
            member_id,
            unit_id=unit_id,
            community_id=community_id,
            grid_id=grid_id,
        )

    @strawberry.mutation(description="年度评价(社区对报到党员)")
    async def review_member(
        self,
        info: Info,
        community_id: UUID,
        member_id: UUID,
        year: int,
        grade: Grade,
        comment: str,
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            ctx.runs_community(community_id),
            "评价该社区的党员",
            ctx.ledger.review_member,
            community_id,
            member_id,
            year,
            grade,
            comment,
        )
