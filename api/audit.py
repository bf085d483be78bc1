"""The books for auditors: ledger entries, balances as of a time, the rule book."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import strawberry

from api.commands import is_admin, run_command
from api.context import Info
from api.errors import forbidden, problem
from api.types import (
    CommandResult,
    LedgerEntry,
)
from ledger.domain.errors import LedgerError
from ledger.domain.policy import PointsPolicy
from ledger.domain.values import Role
from projections import queries
from projections.runner import VIEWS_CHANNEL


@strawberry.type
class AuditQuery:
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
            min(max(first, 1), queries.MAX_PAGE),
        )
        return [LedgerEntry.from_row(r) for r in rows]

    @strawberry.field(description="某账户在某一时刻的余额")
    async def balance(self, info: Info, account: str, as_of: datetime | None = None) -> Decimal:
        ctx = info.context
        ctx.require(_reads_account(info, account), "该账户")
        return await queries.balance_as_of(ctx.pool, account, as_of or datetime.now(UTC))


@strawberry.type
class AuditMutation:
    @strawberry.mutation(description="发布新版积分规则(JSON,字段同 ledger policy show)")
    async def publish_policy(
        self, info: Info, policy: strawberry.scalars.JSON, note: str
    ) -> CommandResult:
        ctx = info.context
        if not is_admin(ctx):
            return forbidden("发布积分规则")
        try:
            parsed = PointsPolicy.from_data(cast(dict[str, Any], policy))
        except LedgerError as error:
            return problem(error)
        return await run_command(ctx, True, "发布积分规则", ctx.ledger.publish_policy, parsed, note)


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


BATCH = 500
IDLE_SECONDS = 1.0


@strawberry.type
class AuditSubscription:
    @strawberry.subscription(description="position 之后的每一条积分流水,按顺序推送")
    async def ledger_entries(self, info: Info, after: int = 0) -> AsyncGenerator[LedgerEntry, None]:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "全部积分流水")
        woken = asyncio.Event()

        def wake(*_: Any) -> None:
            woken.set()

        async with ctx.pool.acquire() as conn:
            await conn.add_listener(VIEWS_CHANNEL, wake)
            try:
                while True:
                    rows = await conn.fetch(
                        "SELECT * FROM ledger_entries WHERE position > $1 "
                        "ORDER BY position, leg LIMIT $2",
                        after,
                        BATCH,
                    )
                    for row in rows:
                        yield LedgerEntry.from_row(row)
                        after = row["position"]
                    if len(rows) < BATCH:
                        woken.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(woken.wait(), IDLE_SECONDS)
            finally:
                await conn.remove_listener(VIEWS_CHANNEL, wake)
