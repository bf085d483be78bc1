"""Who the token is: a page learns its role and scope from the server, never from itself
(a kiosk page finds its store this way)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import strawberry

from api.context import Info, NotAllowed, RequestContext
from ledger.domain.errors import LedgerError
from ledger.domain.values import Role

strawberry.enum(Role, description="令牌角色")


@strawberry.type(description="当前令牌:角色与范围")
class Viewer:
    role: Role
    scope: list[UUID] = strawberry.field(description="社区、单位或成员编号(管理员、审计为空)")
    names: list[str | None] = strawberry.field(
        description="范围内各社区、单位或成员的名称(与 scope 一一对应;积分超市终端据此显示超市名)"
    )


async def _name(ctx: RequestContext, role: Role, id_: UUID) -> str | None:
    getters: dict[Role, Callable[[UUID], Any]] = {
        Role.COMMUNITY: ctx.ledger.get_community,
        Role.KIOSK: ctx.ledger.get_community,
        Role.UNIT: ctx.ledger.get_unit,
        Role.MEMBER: ctx.ledger.get_member,
    }
    getter = getters.get(role)
    if getter is None:
        return None
    try:
        found = await ctx.write(getter, id_)
    except LedgerError:
        return None  # a scope naming nothing the ledger knows
    name: str = found.name
    return name


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="当前令牌的角色与范围")
    async def viewer(self, info: Info) -> Viewer:
        ctx = info.context
        principal = ctx.principal
        if principal is None:
            raise NotAllowed("令牌信息")
        scope = sorted(principal.scope)
        names = [await _name(ctx, principal.role, id_) for id_ in scope]
        return Viewer(role=principal.role, scope=scope, names=names)
