"""Units: registration, pairing with communities, 双报到 (unit side) and rankings."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import strawberry

from api.commands import Key, is_admin, run_command
from api.context import BadArgument, Info, RequestContext
from api.types import (
    CommandResult,
    MemberRank,
    UnitRank,
)
from ledger.domain.values import Role, UnitKind
from projections import queries


def require_member_ranking(
    ctx: RequestContext, street_id: UUID | None, community_id: UUID | None, unit_id: UUID | None
) -> None:
    """Who may see a member ranking: everyone's for admins and auditors, a community its
    residents', a unit its members'; one scope at most."""
    if sum(x is not None for x in (street_id, community_id, unit_id)) > 1:
        raise BadArgument("streetId、communityId、unitId 至多给出一个")
    ctx.require(
        ctx.reads_everything()
        or ctx.scoped(Role.COMMUNITY, community_id)
        or ctx.scoped(Role.UNIT, unit_id),
        "该范围的成员排名",
    )


@strawberry.type
class UnitsQuery:
    @strawberry.field(
        description="单位排名:period 如 2026、2026-Q2、2026-05;metric 为指标或 composite"
    )
    async def unit_ranking(
        self,
        info: Info,
        period: str,
        metric: queries.Metric = queries.Metric.COMPOSITE,
        community_id: UUID | None = None,
        first: int = 50,
        after: int = 0,
        wait_for: int | None = None,
    ) -> list[UnitRank]:
        ctx = info.context
        ctx.require(ctx.reads_unit_ranking(community_id), "该范围的单位排名")
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
        except ValueError:
            raise BadArgument(f"期间 {period} 格式不对,应如 2026、2026-Q2、2026-05") from None
        return [UnitRank.from_row(r) for r in rows]

    @strawberry.field(
        description="成员排名:全部(管理员、审计)、某街道、某社区(居住地)或某单位;"
        "metric 为 POINTS、HOURS 或 COMPOSITE;只排本期有计时服务的成员,并列同名次"
    )
    async def member_ranking(
        self,
        info: Info,
        period: str,
        metric: queries.MemberMetric = queries.MemberMetric.COMPOSITE,
        street_id: UUID | None = None,
        community_id: UUID | None = None,
        unit_id: UUID | None = None,
        first: int = 50,
        after: int = 0,
        wait_for: int | None = None,
    ) -> list[MemberRank]:
        ctx = info.context
        require_member_ranking(ctx, street_id, community_id, unit_id)
        await ctx.wait_for(wait_for)
        try:
            rows = await queries.member_ranking(
                ctx.pool,
                period,
                metric=metric,
                street_id=street_id,
                community_id=community_id,
                unit_id=unit_id,
                first=first,
                after=after,
            )
        except ValueError:
            raise BadArgument(f"期间 {period} 格式不对,应如 2026、2026-Q2、2026-05") from None
        names = await ctx.names(MemberRank.wanted(rows))
        return [MemberRank.named(r, names) for r in rows]


@strawberry.type
class UnitsMutation:
    @strawberry.mutation(description="登记单位及其对口联系社区")
    async def register_unit(
        self,
        info: Info,
        name: str,
        kind: UnitKind,
        communities: list[UUID] | None = None,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            is_admin(ctx),
            "登记单位",
            ctx.ledger.register_unit,
            name,
            kind,
            communities=communities or [],
            key=key,
        )

    @strawberry.mutation(description="单位与社区结对")
    async def pair_unit(
        self, info: Info, unit_id: UUID, community_id: UUID, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            is_admin(ctx),
            "结对",
            ctx.ledger.pair_unit,
            unit_id,
            community_id,
            key=key,
        )

    @strawberry.mutation(description="单位为对口社区组建下沉工作队")
    async def form_team(
        self, info: Info, unit_id: UUID, community_id: UUID, name: str, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        form = ctx.ledger.form_team
        allowed = ctx.runs_community(community_id)
        return await run_command(
            ctx, allowed, "组建工作队", form, unit_id, community_id, name, key=key
        )

    @strawberry.mutation(description="单位向对口社区报到(双报到,单位一方)")
    async def report_unit(
        self, info: Info, unit_id: UUID, community_id: UUID, on: date, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            ctx.runs_community(community_id),
            "登记单位报到",
            ctx.ledger.report_unit,
            unit_id,
            community_id,
            on,
            key=key,
        )
