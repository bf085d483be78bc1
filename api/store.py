"""The points store (积分超市): goods, redemptions at kiosks, cancellations."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg
import strawberry

from api.commands import Key, home_of, refusal, run_command
from api.context import Info, NotAllowed, RequestContext
from api.errors import forbidden
from api.types import (
    CommandResult,
    Item,
    ReceiptLine,
    RedeemResult,
    Redemption,
    RedemptionReceipt,
)
from ledger.application.store import KioskReceipt
from ledger.domain.errors import LedgerError
from ledger.domain.store import receipt_number
from ledger.domain.values import CST, Role, local_date, now
from projections import queries
from projections.queries.boards import kiosk_day, recent_redemptions, redemption_lines
from projections.queries.names import Wanted, names
from projections.queries.paging import MAX_PAGE


@strawberry.input
class RedemptionLineInput:
    item_id: UUID
    quantity: int


async def _receipt(ctx: RequestContext, receipt: KioskReceipt) -> RedemptionReceipt:
    """The receipt as the kiosk sees it: the member's name masked, from the read model."""
    wanted = Wanted().member(receipt.member_id).kiosk(receipt.kiosk)
    named = await names(ctx.pool, wanted, full=False)
    assert receipt.at is not None  # a kiosk's receipt always says when
    return RedemptionReceipt(
        id=receipt.id,
        position=receipt.position,
        total=receipt.total,
        balance=receipt.balance,
        replayed=receipt.replayed,
        balance_after=receipt.balance,
        lines=[
            ReceiptLine(
                item_id=line.item_id,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
            )
            for line in receipt.lines
        ],
        member_id=receipt.member_id,
        member=named.member(receipt.member_id),
        store_id=receipt.store_id,
        kiosk=receipt.kiosk,
        kiosk_name=named.kiosk(receipt.kiosk),
        number=receipt_number(receipt.id, receipt.at),
        at=receipt.at,
    )


async def _redemptions(ctx: RequestContext, rows: list[asyncpg.Record]) -> list[Redemption]:
    """Redemptions with their lines, the member's name masked (never the full name)."""
    lines = await redemption_lines(ctx.pool, [r["redemption_id"] for r in rows])
    wanted = Wanted().member(*(r["member_id"] for r in rows)).kiosk(*(r["kiosk"] for r in rows))
    named = await names(ctx.pool, wanted, full=False)
    result = []
    for row in rows:
        member_id = row["member_id"]
        result.append(
            Redemption(
                redemption_id=row["redemption_id"],
                community_id=row["community_id"],
                total=row["total"],
                goods=row["goods"],
                cancelled=row["cancelled"],
                id=row["redemption_id"],
                position=row["position"],
                lines=[
                    ReceiptLine(
                        item_id=line["item_id"],
                        name=line["name"],
                        quantity=line["quantity"],
                        unit_price=line["unit_price"],
                        amount=line["amount"],
                    )
                    for line in lines
                    if line["redemption_id"] == row["redemption_id"]
                ],
                balance_after=row["balance_after"],
                member_id=member_id,
                member=named.member(member_id),
                store_id=row["community_id"],
                kiosk=row["kiosk"],
                kiosk_name=named.kiosk(row["kiosk"]),
                number=receipt_number(row["redemption_id"], row["at"]),
                at=row["at"],
            )
        )
    return result


@strawberry.type(description="一种物品在一日内兑出的数量")
class DayGoods:
    name: str
    quantity: int
    points: Decimal


@strawberry.type(description="终端日结:本终端一日(北京时间)的兑换")
class KioskDay:
    day: date
    kiosk_name: str | None = strawberry.field(description="本终端的名称")
    redemptions: int = strawberry.field(description="兑换笔数(不含已取消的)")
    cancelled: int = strawberry.field(description="已取消的笔数")
    points: Decimal = strawberry.field(description="兑出积分(不含已取消的)")
    goods: list[DayGoods] = strawberry.field(description="兑出物品,按名称(不含已取消的)")
    receipts: list[Redemption] = strawberry.field(
        description=f"当日各笔兑换(含已取消的),新的在前,至多 {MAX_PAGE} 笔;按单号查找"
    )


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
        [found] = await _redemptions(ctx, [row])
        return found

    @strawberry.field(description="成员最近的兑换(新的在前)")
    async def recent_redemptions(
        self, info: Info, member_id: UUID, first: int = 10, wait_for: int | None = None
    ) -> list[Redemption]:
        ctx = info.context
        await ctx.wait_for(wait_for)
        member = await queries.member_totals(ctx.pool, member_id)
        home = None if member is None else member["community_id"]
        if member is None or not (ctx.reads_community(home) or ctx.scoped(Role.KIOSK, home)):
            if member is None and ctx.reads_everything():
                return []
            raise NotAllowed("该成员的兑换")  # unknown and out of scope alike
        rows = await recent_redemptions(ctx.pool, member_id, first)
        return await _redemptions(ctx, rows)

    @strawberry.field(
        description="终端日结:本终端一日(北京时间,默认今天)的兑换笔数、取消、积分与物品"
    )
    async def kiosk_day(
        self, info: Info, day: date | None = None, wait_for: int | None = None
    ) -> KioskDay:
        ctx = info.context
        principal = ctx.principal
        if principal is None or ctx.role is not Role.KIOSK:
            raise NotAllowed("终端日结")
        await ctx.wait_for(wait_for)
        [store] = principal.scope
        day = local_date(now()) if day is None else day
        start = datetime.combine(day, time(0), CST)
        kiosk = principal.key_scope
        rows = await kiosk_day(ctx.pool, store, kiosk, start, start + timedelta(days=1))
        named = await names(ctx.pool, Wanted().kiosk(kiosk), full=False)
        return KioskDay(
            day=day,
            kiosk_name=named.kiosk(kiosk),
            redemptions=rows.totals["redemptions"],
            cancelled=rows.totals["cancelled"],
            points=rows.totals["points"],
            goods=[
                DayGoods(name=g["name"], quantity=g["quantity"], points=g["points"])
                for g in rows.goods
            ],
            receipts=await _redemptions(ctx, rows.redemptions),
        )


@strawberry.type
class StoreMutation:
    @strawberry.mutation(description="积分超市上架商品")
    async def list_item(
        self, info: Info, community_id: UUID, name: str, price: Decimal, key: Key = None
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
            key=key,
        )

    @strawberry.mutation(description="商品入库(写明捐赠方)")
    async def restock_item(
        self, info: Info, item_id: UUID, quantity: int, donor: str, key: Key = None
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
            key=key,
        )

    @strawberry.mutation(description="调整商品所需积分")
    async def reprice_item(
        self, info: Info, item_id: UUID, price: Decimal, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_item, item_id)
        return await run_command(
            ctx,
            ctx.runs_community(home),
            "管理该超市",
            ctx.ledger.reprice_item,
            item_id,
            price,
            key=key,
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
        # The token's device (or the token itself), never a header, scopes the key.
        kiosk = ctx.principal.key_scope
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
            return refusal(ctx, error, "在该超市兑换")
        if ctx.metrics is not None:
            ctx.metrics.redemptions.labels("replayed" if receipt.replayed else "applied").inc()
        return await _receipt(ctx, receipt)

    @strawberry.mutation(
        description="取消兑换:退回积分和商品(须写明原因)。社区工作人员可取消本社区的任何兑换;"
        "终端只能取消本终端当天(北京时间)办理的兑换"
    )
    async def cancel_redemption(
        self, info: Info, redemption_id: UUID, reason: str, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_redemption, redemption_id)
        at_kiosk = ctx.scoped(Role.KIOSK, home)
        return await run_command(
            ctx,
            ctx.runs_community(home) or at_kiosk,
            "取消该兑换",
            ctx.ledger.cancel_redemption,
            redemption_id,
            reason,
            key=key,
            kiosk=ctx.principal.key_scope if at_kiosk and ctx.principal else None,
        )
