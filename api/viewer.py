"""Who the token is: a page learns its role and scope from the server, never from itself
(a kiosk page finds its store this way)."""

from __future__ import annotations

from uuid import UUID

import strawberry

from api.context import Info, NotAllowed
from ledger.domain.values import Role

strawberry.enum(Role, description="令牌角色")


@strawberry.type(description="当前令牌:角色与范围")
class Viewer:
    role: Role
    scope: list[UUID] = strawberry.field(description="社区、单位或成员编号(管理员、审计为空)")


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="当前令牌的角色与范围")
    async def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        if principal is None:
            raise NotAllowed("令牌信息")
        return Viewer(role=principal.role, scope=sorted(principal.scope))
