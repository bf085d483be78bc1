"""The points store (积分超市): goods, redemptions at kiosks, cancellations."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import strawberry

from api.commands import home_of, run_command
from api.context import Info, NotAllowed
from api.errors import forbidden, problem
from api.types import (
    CommandResult,
    Item,
    RedeemResult,
    Redemption,
    RedemptionReceipt,
)
from ledger.domain.errors import LedgerError
from ledger.domain.values import Role
from projections import queries


@strawberry.input
class RedemptionLineInput:
    item_id: UUID
    quantity: int


@strawberry.type
class StoreQuery:
    @strawberry.field(description="社区积分超市的商品")
    async def store_catalogue(self, info: Info, community_id: UUID) -> list[Item]:
        ctx = info.context
        ctx.require(
            ctx.reads_community(community_id) or ctx.scoped(Role.KIOSK, community_id), "该超市"
        )
        return [Item.from_row(r) for r in await queries.store_items(ctx.pool, community_id)]

    @strawberry.field(description="一笔兑换")
    async def redemption(
        self, info: Info, id: UUID, wait_for: int | None = None
    ) -> Redemption | None:
        ctx = info.context
        await ctx.wait_for(wait_for)
        row = await queries.redemption(ctx.pool, id)
        if row is None and ctx.reads_everything():
            return None
        if row is None or not (
            ctx.reads_community(row["community_id"]) or ctx.scoped(Role.KIOSK, row["community_id"])
        ):
            raise NotAllowed("这笔兑换")  # unknown and out of scope alike
        community = row["community_id"]
        return Redemption(
            redemption_id=row["redemption_id"],
            community_id=community,
            total=row["total"],
            goods=row["goods"],
            cancelled=row["cancelled"],
        )


@strawberry.type
class StoreMutation:
    @strawberry.mutation(description="积分超市上架商品")
    async def list_item(
        self, info: Info, community_id: UUID, name: str, price: Decimal
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
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
        home = await home_of(ctx, ctx.ledger.get_item, item_id)
        return await run_command(
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
        home = await home_of(ctx, ctx.ledger.get_item, item_id)
        return await run_command(
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
        kiosk = ctx.principal.actor_id  # the token, never a header, scopes the key
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
            if ctx.metrics is not None:
                ctx.metrics.redemptions.labels(error.code).inc()
            return problem(error)
        if ctx.metrics is not None:
            ctx.metrics.redemptions.labels("replayed" if receipt.replayed else "applied").inc()
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
        home = await home_of(ctx, ctx.ledger.get_redemption, redemption_id)
        return await run_command(
            ctx,
            ctx.runs_community(home),
            "取消该兑换",
            ctx.ledger.cancel_redemption,
            redemption_id,
            reason,
        )
