"""Service records (服务纪实): check-in and out, confirmation, rating (一事一评), reversal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from api.commands import Key, service_command
from api.context import Info
from api.errors import problem
from api.presence import SiteLocation, location_of
from api.types import (
    CommandResult,
)
from ledger.domain.errors import LedgerError
from ledger.domain.values import Rating

SITE_CODE = strawberry.argument(
    description="现场签到码(扫描或输入现场屏幕上的 6 位数字);社区要求时成员本人签到必填"
)
LOCATION = strawberry.argument(description="手机定位(可选):任务标有坐标时,须在规则规定的距离之内")


@strawberry.type
class ServicesMutation:
    @strawberry.mutation(
        description="签到:成员本人以服务器时间为准(at 与服务器时间相差须在规则允许的误差内);"
        "社区工作人员可按纸质签到表填 at,并记为录入人;现场签到码与定位见各参数"
    )
    async def check_in(
        self,
        info: Info,
        service_id: UUID,
        at: datetime | None = None,
        evidence: list[str] | None = None,
        key: Key = None,
        site_code: Annotated[str | None, SITE_CODE] = None,
        location: Annotated[SiteLocation | None, LOCATION] = None,
    ) -> CommandResult:
        ledger = info.context.ledger
        try:
            where = location_of(location)
        except LedgerError as error:
            return problem(error)
        return await service_command(
            info,
            service_id,
            "为该服务签到",
            ledger.check_in,
            member_may=True,
            at=at,
            evidence=evidence or [],
            site_code=site_code,
            location=where,
            key=key,
        )

    @strawberry.mutation(description="签退:时间规则同签到")
    async def check_out(
        self,
        info: Info,
        service_id: UUID,
        at: datetime | None = None,
        evidence: list[str] | None = None,
        key: Key = None,
        site_code: Annotated[str | None, SITE_CODE] = None,
        location: Annotated[SiteLocation | None, LOCATION] = None,
    ) -> CommandResult:
        ledger = info.context.ledger
        try:
            where = location_of(location)
        except LedgerError as error:
            return problem(error)
        return await service_command(
            info,
            service_id,
            "为该服务签退",
            ledger.check_out,
            member_may=True,
            at=at,
            evidence=evidence or [],
            site_code=site_code,
            location=where,
            key=key,
        )

    @strawberry.mutation(description="社区核实服务")
    async def confirm_service(self, info: Info, service_id: UUID, key: Key = None) -> CommandResult:
        return await service_command(
            info,
            service_id,
            "核实该服务",
            info.context.ledger.confirm_service,
            key=key,
        )

    @strawberry.mutation(description="一事一评:评价并按积分规则计分")
    async def rate_service(
        self,
        info: Info,
        service_id: UUID,
        rating: Rating,
        key: Key = None,
    ) -> CommandResult:
        return await service_command(
            info,
            service_id,
            "评价该服务",
            info.context.ledger.rate_service,
            rating,
            key=key,
        )

    @strawberry.mutation(description="冲正错误计分(补偿事件,不删除记录)")
    async def reverse_service(
        self, info: Info, service_id: UUID, reason: str, approved_by: str, key: Key = None
    ) -> CommandResult:
        return await service_command(
            info,
            service_id,
            "冲正该服务",
            info.context.ledger.reverse_service,
            reason,
            approved_by,
            key=key,
        )

    @strawberry.mutation(
        description="更正已计分服务的时间或评价(补偿事件):冲正原计分,按首次评价时的规则版本重新计分,"
        "两者都写明更正与批准人"
    )
    async def correct_service(
        self,
        info: Info,
        service_id: UUID,
        reason: str,
        approved_by: str,
        rating: Rating | None = None,
        checked_in_at: datetime | None = None,
        checked_out_at: datetime | None = None,
        key: Key = None,
    ) -> CommandResult:
        return await service_command(
            info,
            service_id,
            "更正该服务",
            info.context.ledger.correct_service,
            reason,
            approved_by,
            rating=rating,
            checked_in=checked_in_at,
            checked_out=checked_out_at,
            key=key,
        )
