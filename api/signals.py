"""Anti-formalism signals (形式主义预警) for a community's board and for a unit, each
listing the records behind it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
import strawberry

from api.context import BadArgument, Info
from api.types import FromRow, Task
from ledger.domain.values import Role
from projections.queries.names import Names, Wanted
from projections.queries.signals import Signals, formalism_signals


@strawberry.type(description="签到即走:出勤不足计划时长、未计时长和积分的服务")
class SignedInAndLeft(FromRow):
    service_id: UUID
    member_id: UUID
    member_name: str
    unit_id: UUID | None
    unit_name: str | None
    community_id: UUID
    community_name: str
    task_id: UUID
    title: str
    category: str
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    starts_at: datetime
    ends_at: datetime


@strawberry.type(description="因时间被拒的签到或签退(超出任务时间、与另一服务重叠)")
class RefusedTime(FromRow):
    position: int
    service_id: UUID
    member_id: UUID
    member_name: str
    unit_id: UUID | None
    unit_name: str | None
    community_id: UUID
    community_name: str
    action: str
    at: datetime
    code: str
    reason: str


@strawberry.type
class MemberServices:
    member_id: UUID
    member_name: str
    services: int


@strawberry.type(description="一天一轮换:本期服务过的成员多数只服务一次的单位")
class RotationSignal:
    unit_id: UUID
    unit_name: str
    members: int = strawberry.field(description="本期有计时服务的成员数")
    one_off: int = strawberry.field(description="其中只服务一次的成员数")
    services: int
    one_off_share: Decimal
    member_services: list[MemberServices] = strawberry.field(description="各成员的服务次数")

    @classmethod
    def from_row(cls, row: asyncpg.Record, names: Names) -> RotationSignal:
        return cls(
            unit_id=row["unit_id"],
            unit_name=names.place(row["unit_id"]),
            members=row["members"],
            one_off=row["one_off"],
            services=row["services"],
            one_off_share=row["one_off_share"],
            member_services=[
                MemberServices(member_id=m, member_name=names.member(m), services=n)
                for m, n in zip(row["member_ids"], row["member_services"], strict=True)
            ],
        )


@strawberry.type(description="年度服务时长未达底线的已报到党员")
class FloorShortfall(FromRow):
    member_id: UUID
    member_name: str
    unit_id: UUID | None
    unit_name: str | None
    community_id: UUID
    community_name: str
    hours: Decimal
    annual_floor_hours: Decimal


@strawberry.type(description="形式主义预警,每项列出其后的记录(每项至多一页,total 为总数)")
class FormalismSignals:
    period: str
    signed_in_and_left: list[SignedInAndLeft]
    signed_in_and_left_total: int
    refused_times: list[RefusedTime]
    refused_times_total: int
    rotation: list[RotationSignal]
    rotation_total: int
    hard_untaken: list[Task] = strawberry.field(description="本期开始、无人认领的难事")
    hard_untaken_total: int
    under_floor: list[FloorShortfall] = strawberry.field(description="仅当期间为一年时")
    under_floor_total: int


def _total(rows: list[asyncpg.Record]) -> int:
    return int(rows[0]["total"]) if rows else 0


def _wanted(found: Signals) -> Wanted:
    """Every member, unit and community the signals list, for one lookup."""
    wanted = Wanted()
    for row in (*found.signed_in_and_left, *found.refused_times, *found.under_floor):
        wanted.member(row["member_id"]).place(row["unit_id"], row["community_id"])
    for row in found.rotation:
        wanted.place(row["unit_id"]).member(*row["member_ids"])
    return wanted


def _people(row: asyncpg.Record, names: Names) -> dict[str, str | None]:
    """The names beside a row's member, unit and community."""
    return {
        "member_name": names.member(row["member_id"]),
        "unit_name": names.place(row["unit_id"]),
        "community_name": names.place(row["community_id"]),
    }


@strawberry.type
class SignalsQuery:
    @strawberry.field(
        description="形式主义预警:社区(服务发生地,或其结对单位)或单位(其成员),"
        "period 如 2026、2026-Q2、2026-05"
    )
    async def formalism_signals(
        self,
        info: Info,
        period: str,
        community_id: UUID | None = None,
        unit_id: UUID | None = None,
        wait_for: int | None = None,
    ) -> FormalismSignals:
        ctx = info.context
        if (community_id is None) == (unit_id is None):
            raise BadArgument("communityId 与 unitId 须给出且只给出一个")
        ctx.require(
            ctx.reads_community(community_id)
            if community_id is not None
            else ctx.reads_everything() or ctx.scoped(Role.UNIT, unit_id),
            "该范围的预警",
        )
        await ctx.wait_for(wait_for)
        try:
            found = await formalism_signals(
                ctx.pool, period, community_id=community_id, unit_id=unit_id
            )
        except ValueError:
            raise BadArgument(f"期间 {period} 格式不对,应如 2026、2026-Q2、2026-05") from None
        names = await ctx.names(_wanted(found))
        return FormalismSignals(
            period=period,
            signed_in_and_left=[
                SignedInAndLeft.from_row(r, **_people(r, names)) for r in found.signed_in_and_left
            ],
            signed_in_and_left_total=_total(found.signed_in_and_left),
            refused_times=[
                RefusedTime.from_row(r, **_people(r, names)) for r in found.refused_times
            ],
            refused_times_total=_total(found.refused_times),
            rotation=[RotationSignal.from_row(r, names) for r in found.rotation],
            rotation_total=_total(found.rotation),
            hard_untaken=[Task.from_row(r) for r in found.hard_untaken],
            hard_untaken_total=_total(found.hard_untaken),
            under_floor=[
                FloorShortfall.from_row(r, **_people(r, names)) for r in found.under_floor
            ],
            under_floor_total=_total(found.under_floor),
        )
