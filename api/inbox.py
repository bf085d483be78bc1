"""The member's inbox (消息): tasks published where they live, their claims, ratings and
points, their needs' progress; in Chinese, with names, in China Standard Time."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import Info
from ledger.domain.values import Role
from projections.queries.inbox import inbox


@strawberry.type(description="一条消息")
class Message:
    id: str = strawberry.field(description="消息编号(同一成员的消息中唯一)")
    at: datetime = strawberry.field(description="时间(北京时间)")
    title: str
    body: str


@strawberry.type
class InboxQuery:
    @strawberry.field(description="我的消息(成员令牌),新的在前")
    async def inbox(
        self, info: Info, first: int = 30, wait_for: int | None = None
    ) -> list[Message]:
        ctx = info.context
        ctx.require(ctx.principal is not None and ctx.role is Role.MEMBER, "消息(须用成员令牌)")
        assert ctx.principal is not None
        await ctx.wait_for(wait_for)
        (member,) = ctx.principal.scope
        return [
            Message(id=str(r["position"]), at=r["at"], title=r["title"], body=r["body"])
            for r in await inbox(ctx.pool, member, first)
        ]
