"""Mutations: every command of the ledger, each scoped to what the caller's token may do.

Every mutation returns the command's receipt (with the notification id of its
events, for read-your-writes) or an expected failure as a union member.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import strawberry

from api.context import Info, RequestContext
from api.errors import forbidden, problem
from api.types import CommandResult, Receipt, RedeemResult, RedemptionReceipt
from ledger.domain.errors import LedgerError
from ledger.domain.policy import PointsPolicy
from ledger.domain.values import Grade, MemberKind, Rating, Role, UnitKind

# The domain's enums, registered as GraphQL enums (by member name).
strawberry.enum(MemberKind, description="成员类别")
strawberry.enum(UnitKind, description="单位类别")
strawberry.enum(Rating, description="一事一评:很好/好/一般")
strawberry.enum(Grade, description="年度评价等级")


@strawberry.input
class RedemptionLineInput:
    item_id: UUID
    quantity: int


async def _run(
    ctx: RequestContext,
    allowed: bool,
    what: str,
    command: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    if ctx.principal is None or not allowed:
        return forbidden(what)
    try:
        receipt = await ctx.write(command, *args, ctx=ctx.actor(), **kwargs)
    except LedgerError as error:
        return problem(error)
    return Receipt(id=receipt.id, position=receipt.position)


async def _home_of(ctx: RequestContext, getter: Callable[[UUID], Any], id_: UUID) -> Any:
    """The community a task, service, item, redemption or member belongs to (None: unknown)."""
    try:
        found = await ctx.write(getter, id_)
    except LedgerError:
        return None
    return getattr(found, "community_id", None) or getattr(found, "store_id", None)


async def _service_command(
    info: Info,
    service_id: UUID,
    what: str,
    command: Callable[..., Any],
    *args: Any,
    member_may: bool = False,
    **kwargs: Any,
) -> Any:
    ctx = info.context
    try:
        service = await ctx.write(ctx.ledger.get_service, service_id)
    except LedgerError as error:
        return problem(error) if ctx.principal is not None else forbidden(what)
    allowed = ctx.runs_community(service.community_id) or (
        member_may and ctx.scoped(Role.MEMBER, service.member_id)
    )
    return await _run(ctx, allowed, what, command, service_id, *args, **kwargs)


def _admin(ctx: RequestContext) -> bool:
    return ctx.role is Role.ADMIN


@strawberry.type
class Mutation:
    # --- organisation ---------------------------------------------------------------

    @strawberry.mutation(description="登记街道")
    async def register_street(self, info: Info, name: str) -> CommandResult:
        ctx = info.context
        return await _run(ctx, _admin(ctx), "登记街道", ctx.ledger.register_street, name)

    @strawberry.mutation(description="登记社区及其网格")
    async def register_community(
        self, info: Info, street_id: UUID, name: str, grids: list[str] | None = None
    ) -> CommandResult:
        ctx = info.context
        return await _run(
            ctx,
            _admin(ctx),
            "登记社区",
            ctx.ledger.register_community,
            street_id,
            name,
            grids=grids or [],
        )

    @strawberry.mutation(description="为社区增加网格")
    async def add_grid(self, info: Info, community_id: UUID, name: str) -> CommandResult:
        ctx = info.context
        return await _run(
            ctx,
            ctx.runs_community(community_id),
            "管理该社区",
            ctx.ledger.add_grid,
            community_id,
            name,
        )

    @strawberry.mutation(description="登记单位及其对口联系社区")
    async def register_unit(
        self,
        info: Info,
        name: str,
        kind: UnitKind,
        communities: list[UUID] | None = None,
    ) -> CommandResult:
        ctx = info.context
        return await _run(
            ctx,
            _admin(ctx),
            "登记单位",
            ctx.ledger.register_unit,
            name,
            kind,
            communities=communities or [],
        )

    @strawberry.mutation(description="单位与社区结对")
    async def pair_unit(self, info: Info, unit_id: UUID, community_id: UUID) -> CommandResult:
        ctx = info.context
        return await _run(ctx, _admin(ctx), "结对", ctx.ledger.pair_unit, unit_id, community_id)

    @strawberry.mutation(description="单位向对口社区报到(双报到,单位一方)")
    async def report_unit(
        self, info: Info, unit_id: UUID, community_id: UUID, on: date
    ) -> CommandResult:
        ctx = info.context
        return await _run(
            ctx,
            ctx.runs_community(community_id),
            "登记单位报到",
            ctx.ledger.report_unit,
            unit_id,
            community_id,
            on,
        )

    # --- members ----------------------------------------------------------------------

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
    ) -> CommandResult:
        ctx = info.context
        return await _run(
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
        )

    @strawberry.mutation(description="成员向居住社区报到(双报到,党员一方)")
    async def report_member(self, info: Info, member_id: UUID, on: date) -> CommandResult:
        ctx = info.context
        home = await _home_of(ctx, ctx.ledger.get_member, member_id)
        allowed = ctx.runs_community(home) or ctx.scoped(Role.MEMBER, member_id)
        return await _run(ctx, allowed, "为该成员报到", ctx.ledger.report_member, member_id, on)

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
        return await _run(
            ctx,
            _admin(ctx),
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
        return await _run(
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

    # --- needs, tasks, services -----------------------------------------------------------

    @strawberry.mutation(description="群众点单")
    async def raise_need(
        self,
        info: Info,
        community_id: UUID,
        raised_by: str,
        description: str,
        grid_id: UUID | None = None,
        category: str | None = None,
    ) -> CommandResult:
        ctx = info.context
        return await _run(
            ctx,
            ctx.runs_community(community_id),
            "在该社区登记需求",
            ctx.ledger.raise_need,
            community_id,
            raised_by,
            description,
            grid_id=grid_id,
            category=category,
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
    ) -> CommandResult:
        ctx = info.context
        return await _run(
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
        )

    @strawberry.mutation(description="取消任务(释放认领)")
    async def cancel_task(self, info: Info, task_id: UUID, reason: str) -> CommandResult:
        ctx = info.context
        home = await _home_of(ctx, ctx.ledger.get_task, task_id)
        return await _run(
            ctx, ctx.runs_community(home), "取消该任务", ctx.ledger.cancel_task, task_id, reason
        )

    @strawberry.mutation(description="关闭任务(不再接受认领)")
    async def close_task(self, info: Info, task_id: UUID) -> CommandResult:
        ctx = info.context
        home = await _home_of(ctx, ctx.ledger.get_task, task_id)
        return await _run(
            ctx, ctx.runs_community(home), "关闭该任务", ctx.ledger.close_task, task_id
        )

    @strawberry.mutation(description="党员接单:认领任务")
    async def claim_task(self, info: Info, task_id: UUID, member_id: UUID) -> CommandResult:
        ctx = info.context
        home = await _home_of(ctx, ctx.ledger.get_task, task_id)
        allowed = ctx.runs_community(home) or ctx.scoped(Role.MEMBER, member_id)
        return await _run(ctx, allowed, "认领该任务", ctx.ledger.claim_task, task_id, member_id)

    @strawberry.mutation(description="签到")
    async def check_in(
        self,
        info: Info,
        service_id: UUID,
        at: datetime | None = None,
        evidence: list[str] | None = None,
    ) -> CommandResult:
        ledger = info.context.ledger
        return await _service_command(
            info,
            service_id,
            "为该服务签到",
            ledger.check_in,
            member_may=True,
            at=at,
            evidence=evidence or [],
        )

    @strawberry.mutation(description="签退")
    async def check_out(
        self,
        info: Info,
        service_id: UUID,
        at: datetime | None = None,
        evidence: list[str] | None = None,
    ) -> CommandResult:
        ledger = info.context.ledger
        return await _service_command(
            info,
            service_id,
            "为该服务签退",
            ledger.check_out,
            member_may=True,
            at=at,
            evidence=evidence or [],
        )

    @strawberry.mutation(description="社区核实服务")
    async def confirm_service(self, info: Info, service_id: UUID) -> CommandResult:
        return await _service_command(
            info, service_id, "核实该服务", info.context.ledger.confirm_service
        )

    @strawberry.mutation(description="一事一评:评价并按积分规则计分")
    async def rate_service(
        self,
        info: Info,
        service_id: UUID,
        rating: Rating,
    ) -> CommandResult:
        return await _service_command(
            info, service_id, "评价该服务", info.context.ledger.rate_service, rating
        )

    @strawberry.mutation(description="冲正错误计分(补偿事件,不删除记录)")
    async def reverse_service(
        self, info: Info, service_id: UUID, reason: str, approved_by: str
    ) -> CommandResult:
        return await _service_command(
            info,
            service_id,
            "冲正该服务",
            info.context.ledger.reverse_service,
            reason,
            approved_by,
        )

    # --- the points store ---------------------------------------------------------------

    @strawberry.mutation(description="积分超市上架商品")
    async def list_item(
        self, info: Info, community_id: UUID, name: str, price: Decimal
    ) -> CommandResult:
        ctx = info.context
        return await _run(
            ctx,
            ctx.runs_community(community_id),
            "管理该超市",
            ctx.ledger.list_item,
            community_id,
            name,
            price,
        )

    @strawberry.mutation(description="商品入库(写明捐赠方)")
    async def restock_item(
        self, info: Info, item_id: UUID, quantity: int, donor: str
    ) -> CommandResult:
        ctx = info.context
        home = await _home_of(ctx, ctx.ledger.get_item, item_id)
        return await _run(
            ctx,
            ctx.runs_community(home),
            "管理该超市",
            ctx.ledger.restock_item,
            item_id,
            quantity,
            donor,
        )

    @strawberry.mutation(description="调整商品所需积分")
    async def reprice_item(self, info: Info, item_id: UUID, price: Decimal) -> CommandResult:
        ctx = info.context
        home = await _home_of(ctx, ctx.ledger.get_item, item_id)
        return await _run(
            ctx, ctx.runs_community(home), "管理该超市", ctx.ledger.reprice_item, item_id, price
        )

    @strawberry.mutation(description="兑换:同一请求编号重试只返回首次结果")
    async def redeem(
        self,
        info: Info,
        store_id: UUID,
        member_id: UUID,
        key: str,
        lines: list[RedemptionLineInput],
    ) -> RedeemResult:
        ctx = info.context
        allowed = ctx.runs_community(store_id) or ctx.scoped(Role.KIOSK, store_id)
        if ctx.principal is None or not allowed:
            return forbidden("在该超市兑换")
        kiosk = ctx.device or ctx.principal.actor_id
        try:
            receipt = await ctx.write(
                ctx.ledger.redeem,
                kiosk,
                key,
                member_id,
                store_id,
                [(line.item_id, line.quantity) for line in lines],
                ctx.actor(),
            )
        except LedgerError as error:
            return problem(error)
        return RedemptionReceipt(
            id=receipt.id,
            position=receipt.position,
            total=receipt.total,
            balance=receipt.balance,
            replayed=receipt.replayed,
        )

    @strawberry.mutation(description="取消兑换:退回积分和商品")
    async def cancel_redemption(
        self, info: Info, redemption_id: UUID, reason: str
    ) -> CommandResult:
        ctx = info.context
        home = await _home_of(ctx, ctx.ledger.get_redemption, redemption_id)
        return await _run(
            ctx,
            ctx.runs_community(home),
            "取消该兑换",
            ctx.ledger.cancel_redemption,
            redemption_id,
            reason,
        )

    # --- the rule book ----------------------------------------------------------------

    @strawberry.mutation(description="发布新版积分规则(JSON,字段同 ledger policy show)")
    async def publish_policy(
        self, info: Info, policy: strawberry.scalars.JSON, note: str
    ) -> CommandResult:
        ctx = info.context
        if not _admin(ctx):
            return forbidden("发布积分规则")
        try:
            parsed = PointsPolicy.from_data(cast(dict[str, Any], policy))
        except LedgerError as error:
            return problem(error)
        return await _run(ctx, True, "发布积分规则", ctx.ledger.publish_policy, parsed, note)
