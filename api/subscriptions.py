"""Subscriptions: new ledger entries after a position, for auditors and dashboards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from api.context import Info
from api.types import LedgerEntry
from projections.runner import VIEWS_CHANNEL

BATCH = 500
IDLE_SECONDS = 1.0


@strawberry.type
class Subscription:
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
