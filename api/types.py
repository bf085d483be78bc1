"""The GraphQL types the API returns, made from read-model rows.

About 350 lines: the types several features share (members, their years and
dossiers, rankings, ledger entries) live together so that each is declared once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Self
from uuid import UUID

import asyncpg
import strawberry
from strawberry.dataloader import DataLoader

from api.context import Info
from api.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientPoints,
    InvalidInput,
    InvalidTransition,
    KioskMayNotCancel,
    NotFound,
    OutOfStock,
    Rejected,
    TaskFull,
    UnknownMember,
)
from documents.labels import CLASS_NAMES
from ledger.domain.member import mask_name, reads_full_names
from ledger.domain.values import (
    CategoryClass,
    CauseKind,
    Grade,
    MemberKind,
    Rating,
    Role,
    UnitKind,
    hours_from_minutes,
    member_account,
)
from ledger.domain.work import ServiceStatus, TaskStatus
from projections import queries
from projections.queries.boards import claimants, member_services
from projections.queries.names import Names, Wanted, names
from projections.tokens import member_tokens

# The domain's enums (and the read side's ranking metric), registered as GraphQL
# enums by member name.
strawberry.enum(MemberKind, description="成员类别")
strawberry.enum(UnitKind, description="单位类别")
strawberry.enum(Rating, description="一事一评:很好/好/一般")
strawberry.enum(Grade, description="年度评价等级")
strawberry.enum(TaskStatus, description="任务状态:招募中/已关闭/已取消")
strawberry.enum(
    ServiceStatus,
    description="服务状态:已认领/已签到/已签退/已评价/已冲正/已释放/未签退已关闭/已退出",
)
strawberry.enum(CauseKind, description="积分变动的起因:服务、兑换、取消兑换、冲正、过期")
strawberry.enum(queries.Metric, description="单位排名的指标:考核指标、合计或加权综合分")


class FromRow:
    """A type whose fields are columns of a read-model row."""

    @classmethod
    def from_row(cls, row: asyncpg.Record, **converted: Any) -> Self:
        """``converted`` gives the fields that are not the column as it is (an enum)."""
        columns = (name for name in cls.__annotations__ if name not in converted)
        return cls(**{name: row[name] for name in columns} | converted)


@strawberry.type(description="命令结果:对象编号与事件通知编号(用于读己之写)")
class Receipt:
    id: UUID
    position: int | None = strawberry.field(description="最后一个事件的通知编号")
    created: list[UUID] = strawberry.field(
        default_factory=list, description="同时创建的其他对象(如登记社区时的各网格,按给出的顺序)"
    )
    replayed: bool = strawberry.field(
        default=False, description="同一请求编号(key)的重试:原样返回首次结果,未再执行"
    )


@strawberry.type(description="兑换小票的一行")
class ReceiptLine:
    item_id: UUID
    name: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@strawberry.type(description="兑换结果(小票);同一请求的重试原样返回首次小票")
class RedemptionReceipt:
    id: UUID
    position: int | None
    total: Decimal
    balance: Decimal = strawberry.field(description="兑换后余额(同 balanceAfter)")
    replayed: bool = strawberry.field(description="同一请求的重试:返回首次结果,未再扣减")
    balance_after: Decimal | None = strawberry.field(default=None, description="兑换后余额")
    lines: list[ReceiptLine] = strawberry.field(default_factory=list)
    member_id: UUID | None = None
    member: str | None = strawberry.field(default=None, description="成员脱敏姓名")
    store_id: UUID | None = strawberry.field(default=None, description="超市(社区)编号")
    kiosk: str | None = strawberry.field(
        default=None, description="兑换终端的机器标识(供程序使用;给人看的是 kioskName)"
    )
    kiosk_name: str | None = strawberry.field(default=None, description="兑换终端的名称")
    number: str | None = strawberry.field(
        default=None, description="小票单号:兑换日(北京时间)与 8 位数字,如 1207-39201187"
    )
    at: datetime | None = strawberry.field(default=None, description="兑换时间")


Problems = (
    InsufficientPoints
    | OutOfStock
    | UnknownMember
    | NotFound
    | TaskFull
    | InvalidTransition
    | IdempotencyKeyReused
    | Forbidden
    | InvalidInput
    | Conflict
    | KioskMayNotCancel
    | Rejected
)
CommandResult = Annotated[Receipt | Problems, strawberry.union("CommandResult")]
RedeemResult = Annotated[RedemptionReceipt | Problems, strawberry.union("RedeemResult")]


@strawberry.type(description="成员某年的服务(计时与积分)")
class MemberYear(FromRow):
    year: int
    services: int
    hours: Decimal
    points: Decimal
    routine_hours: Decimal
    skilled_hours: Decimal
    hard_hours: Decimal
    annual_floor_hours: Decimal
    meets_floor: bool = strawberry.field(description="是否达到年度服务时长下限")

    @classmethod
    def from_summary(cls, row: asyncpg.Record, year: int) -> Self:
        """The year's figures of ``queries.member_summary``'s row."""
        return cls(
            year=year,
            services=row["year_services"],
            hours=row["year_hours"],
            points=row["year_points"],
            routine_hours=row["routine_hours"],
            skilled_hours=row["skilled_hours"],
            hard_hours=row["hard_hours"],
            annual_floor_hours=row["annual_floor_hours"],
            meets_floor=row["meets_floor"],
        )


async def _load_years(pool: asyncpg.Pool, keys: list[tuple[UUID, int]]) -> list[MemberYear]:
    return [MemberYear.from_row(r) for r in await queries.member_years(pool, keys)]


def year_loader(info: Info) -> DataLoader[tuple[UUID, int], MemberYear]:
    """One query for the year figures of every member on a page."""
    loaders = info.context.loaders
    if "years" not in loaders:
        pool = info.context.pool
        loaders["years"] = DataLoader(lambda keys: _load_years(pool, list(keys)))
    loader: DataLoader[tuple[UUID, int], MemberYear] = loaders["years"]
    return loader


@strawberry.type(description="积分流水(复式记账的一腿)")
class LedgerEntry:
    position: int = strawberry.field(description="事件通知编号")
    leg: int
    account: str
    account_name: str = strawberry.field(
        description="账户名称(成员姓名,或某社区的积分发放、积分超市)"
    )
    amount: Decimal
    balance: Decimal = strawberry.field(description="该账户此后的余额")
    counter_account: str
    counter_account_name: str = strawberry.field(description="对方账户名称")
    cause_kind: CauseKind
    cause_id: UUID | None
    task_title: str | None = strawberry.field(description="服务或冲正所属任务的标题")
    description: str = strawberry.field(description="说明,如 服务「汛期巡查」、兑换 大米×1")
    policy_version: int
    event: str
    at: datetime = strawberry.field(description="记账时间")
    value_at: datetime = strawberry.field(
        description="发生时间:积分所属的时刻(计分为服务开始之时),按此计入某日余额与期间"
    )

    @staticmethod
    def wanted(rows: Iterable[asyncpg.Record]) -> Wanted:
        """What the entries' names are looked up for."""
        wanted = Wanted()
        for r in rows:
            wanted.account(r["account"], r["counter_account"]).cause(r["cause_kind"], r["cause_id"])
        return wanted

    @classmethod
    def from_row(cls, row: asyncpg.Record, names: Names) -> Self:
        kind = CauseKind(row["cause_kind"])
        servant = kind in (CauseKind.SERVICE, CauseKind.REVERSAL)
        return cls(
            position=row["position"],
            leg=row["leg"],
            account=row["account"],
            account_name=names.account(row["account"]),
            amount=row["amount"],
            balance=row["balance"],
            counter_account=row["counter_account"],
            counter_account_name=names.account(row["counter_account"]),
            cause_kind=kind,
            cause_id=row["cause_id"],
            task_title=names.service_task(row["cause_id"]) if servant else None,
            description=names.cause(kind, row["cause_id"]),
            policy_version=row["policy_version"],
            event=row["event"],
            at=row["at"],
            value_at=row["value_at"],
        )


async def ledger_entries(info: Info, rows: list[asyncpg.Record]) -> list[LedgerEntry]:
    """Entries named for the reader: one lookup for the page."""
    names = await info.context.names(LedgerEntry.wanted(rows))
    return [LedgerEntry.from_row(r, names) for r in rows]


@strawberry.type(description="成员用一次性登录码登录过的手机")
class SignedInDevice:
    token_id: str = strawberry.field(description="令牌编号(撤销登录时用)")
    device: str = strawberry.field(description="手机名称")
    signed_in_at: datetime
    revoked: bool


@strawberry.type
class Member:
    id: UUID
    name: str = strawberry.field(description="姓名(积分超市终端与审计人员看到的是脱敏姓名)")
    kind: str
    unit_id: UUID | None
    community_id: UUID
    grid_id: UUID | None
    reported_on: date | None = strawberry.field(description="双报到日期")
    balance: Decimal = strawberry.field(description="可用积分")
    earned_points: Decimal = strawberry.field(description="累计获得积分(兑换不减少)")
    earned_hours: Decimal
    services: int
    excellent: int
    good: int
    fair: int
    last_service_at: datetime | None

    @classmethod
    def from_row(cls, r: asyncpg.Record, role: Role | None) -> Self:
        name = r["name"] if reads_full_names(role) else mask_name(r["name"])
        return cls(
            id=r["member_id"],
            name=name,
            kind=r["kind"],
            unit_id=r["unit_id"],
            community_id=r["community_id"],
            grid_id=r["grid_id"],
            reported_on=r["reported_on"],
            balance=r["balance"],
            earned_points=r["earned_points"],
            earned_hours=r["earned_hours"],
            services=r["services"],
            excellent=r["excellent"],
            good=r["good"],
            fair=r["fair"],
            last_service_at=r["last_service_at"],
        )

    @strawberry.field(description="某年的服务时长、积分与年度下限")
    async def year(self, info: Info, year: int) -> MemberYear:
        info.context.require(info.context.role is not Role.KIOSK, "服务时长与积分")
        return await year_loader(info).load((self.id, year))

    @strawberry.field(description="积分流水,新在前;after 为上一页最后的 position")
    async def history(
        self, info: Info, first: int = 20, after: int | None = None
    ) -> list[LedgerEntry]:
        # A kiosk needs a balance to redeem against, not a resident's history.
        info.context.require(info.context.role is not Role.KIOSK, "积分流水")
        pool, account = info.context.pool, member_account(self.id)
        rows = await queries.account_entries(pool, account, first=first, before=after)
        return await ledger_entries(info, rows)

    def _require_own_or_community(self, info: Info, what: str) -> None:
        ctx = info.context
        ctx.require(
            ctx.reads_everything()
            or ctx.scoped(Role.COMMUNITY, self.community_id)
            or ctx.scoped(Role.MEMBER, self.id),
            what,
        )

    @strawberry.field(description="已登录的手机(成员本人、其居住社区与管理员可读)")
    async def devices(self, info: Info) -> list[SignedInDevice]:
        self._require_own_or_community(info, "该成员的登录设备")
        rows = await member_tokens(info.context.pool, self.id)
        return [
            SignedInDevice(
                token_id=str(r["id"]),
                device=r["name"],
                signed_in_at=r["created_at"],
                revoked=r["revoked_at"] is not None,
            )
            for r in rows
        ]

    @strawberry.field(
        description="本人的服务,按任务开始时间新在前(成员本人、其居住社区与管理员可读)"
    )
    async def service_records(self, info: Info, first: int = 50) -> list[MemberService]:
        self._require_own_or_community(info, "该成员的服务")
        rows = await member_services(info.context.pool, self.id, first)
        return [MemberService.from_row(r) for r in rows]

    @strawberry.field(description="评先评优证据材料")
    async def dossier(self, info: Info, year: int) -> Dossier | None:
        info.context.require(info.context.role is not Role.KIOSK, "证据材料")
        found = await queries.dossier(info.context.pool, self.id, year)
        return None if found is None else Dossier.from_query(found)


# The read layer's dataclass is the GraphQL type: declared once.
strawberry.type(queries.Standing, description="名次:percentile 为排名不低于本人者所占百分比")


@strawberry.type(description="一次服务纪实,附来源事件编号")
class DossierService:
    service_id: UUID
    day: date
    task: str
    category: str
    community: str | None
    hours: Decimal
    rating: str
    points: Decimal
    confirmed_by: str | None
    rated_by: str
    policy_version: int
    rated_position: int = strawberry.field(description="评价事件的通知编号")
    reversed_position: int | None
    reversal_reason: str | None
    checked_in_at: datetime
    checked_out_at: datetime
    check_in_entered_by: str | None = strawberry.field(
        description="按纸质签到表录入签到时间的工作人员;空:服务器时间"
    )
    check_out_entered_by: str | None = strawberry.field(
        description="按纸质签到表录入签退时间的工作人员;空:服务器时间"
    )
    corrections: int = strawberry.field(description="更正次数(每次冲正原计分并重新计分)")
    corrected_position: int | None = strawberry.field(
        description="最近一次更正后计分事件的通知编号"
    )
    correction_reason: str | None
    correction_approved_by: str | None


@strawberry.type(description="评先评优证据材料")
class Dossier:
    member_id: UUID
    year: int
    name_masked: str
    kind: str
    unit: str | None
    community: str | None
    reported_on: date | None
    services: list[DossierService]
    hours: Decimal
    points: Decimal
    review_grade: str | None
    review_comment: str | None
    in_unit: queries.Standing | None
    in_community: queries.Standing | None

    @classmethod
    def from_query(cls, d: queries.Dossier) -> Self:
        fields = DossierService.__annotations__
        return cls(
            member_id=d.member_id,
            year=d.year,
            name_masked=d.name_masked,
            kind=d.kind,
            unit=d.unit,
            community=d.community,
            reported_on=d.reported_on,
            services=[DossierService(**{f: s[f] for f in fields}) for s in d.services],
            hours=d.hours,
            points=d.points,
            review_grade=d.review["grade"] if d.review else None,
            review_comment=d.review["comment"] if d.review else None,
            in_unit=d.in_unit,
            in_community=d.in_community,
        )


@strawberry.type(description="单位排名中的一行")
class UnitRank(FromRow):
    position: int
    rank: int
    units: int
    unit_id: UUID
    name: str
    kind: str
    members: int
    reported: int
    served: int
    services: int
    hours: Decimal
    points: Decimal
    hard_services: int
    report_rate: Decimal
    participation_rate: Decimal
    hours_per_member: Decimal
    points_per_member: Decimal
    hard_share: Decimal
    average_rating: Decimal
    floor_rate: Decimal
    composite: Decimal


@strawberry.type(description="成员排名中的一行(只计有计时的服务)")
class MemberRank(FromRow):
    position: int
    rank: int
    member_id: UUID
    member_name: str = strawberry.field(description="姓名(审计人员看到的是脱敏姓名)")
    unit_id: UUID | None
    unit_name: str | None
    community_id: UUID
    community_name: str = strawberry.field(description="居住社区")
    services: int
    hours: Decimal
    points: Decimal
    hard_services: int
    hard_share: Decimal
    average_rating: Decimal
    composite: Decimal

    @staticmethod
    def wanted(rows: Iterable[asyncpg.Record]) -> Wanted:
        wanted = Wanted()
        for r in rows:
            wanted.member(r["member_id"]).place(r["unit_id"], r["community_id"])
        return wanted

    @classmethod
    def named(cls, row: asyncpg.Record, names: Names) -> Self:
        return cls.from_row(
            row,
            member_name=names.member(row["member_id"]),
            unit_name=names.place(row["unit_id"]),
            community_name=names.place(row["community_id"]),
        )


async def _load_place_names(pool: asyncpg.Pool, ids: list[UUID]) -> list[str | None]:
    found = await names(pool, Wanted().place(*ids), full=False)
    return [found.place(i) for i in ids]


def place_name_loader(info: Info) -> DataLoader[UUID, str | None]:
    """One query for the names of the communities and grids on a page."""
    loaders = info.context.loaders
    if "places" not in loaders:
        pool = info.context.pool
        loaders["places"] = DataLoader(lambda keys: _load_place_names(pool, list(keys)))
    loader: DataLoader[UUID, str | None] = loaders["places"]
    return loader


def class_name(category_class: str | None) -> str:
    return "未分类" if category_class is None else CLASS_NAMES[CategoryClass(category_class)]


@strawberry.type(description="认领任务的成员及其服务纪实")
class Claimant:
    service_id: UUID
    member_id: UUID
    member_name: str
    status: ServiceStatus
    status_name: str = strawberry.field(description="服务状态(中文)")
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    presence_verified: bool = strawberry.field(description="签到或签退时出示过现场签到码")
    hours: Decimal | None
    rating: Rating | None
    points: Decimal | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Self:
        status = ServiceStatus[row["status"]]
        return cls(
            service_id=row["service_id"],
            member_id=row["member_id"],
            member_name=row["member_name"] or "(未知成员)",
            status=status,
            status_name=status.value,
            checked_in_at=row["checked_in_at"],
            checked_out_at=row["checked_out_at"],
            presence_verified=row["presence_verified"],
            hours=row["hours"],
            rating=None if row["rating"] is None else Rating[row["rating"]],
            points=row["points"],
        )


@strawberry.type(description="成员本人的一次服务:任务、时间、状态、时长、评价与积分")
class MemberService:
    service_id: UUID
    task_id: UUID
    task_title: str
    community_name: str
    place: str | None = strawberry.field(description="服务地点")
    starts_at: datetime
    ends_at: datetime
    status: ServiceStatus
    status_name: str = strawberry.field(description="服务状态(中文)")
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    presence_verified: bool = strawberry.field(description="签到或签退时出示过现场签到码")
    hours: Decimal | None
    rating: Rating | None
    rating_name: str | None = strawberry.field(description="评价(中文):很好/好/一般")
    points: Decimal | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Self:
        status = ServiceStatus[row["status"]]
        rating = None if row["rating"] is None else Rating[row["rating"]]
        return cls(
            service_id=row["service_id"],
            task_id=row["task_id"],
            task_title=row["task_title"],
            community_name=row["community_name"] or "",
            place=row["place"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            status=status,
            status_name=status.value,
            checked_in_at=row["checked_in_at"],
            checked_out_at=row["checked_out_at"],
            presence_verified=row["presence_verified"],
            hours=row["hours"],
            rating=rating,
            rating_name=None if rating is None else rating.value,
            points=row["points"],
        )


@strawberry.type
class Task(FromRow):
    task_id: UUID
    community_id: UUID
    grid_id: UUID | None
    title: str
    category: str
    category_class: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    claims: int
    status: TaskStatus
    place: str | None = strawberry.field(description="服务地点")

    @classmethod
    def from_row(cls, row: asyncpg.Record, **converted: Any) -> Self:
        status = TaskStatus[row["status"]]  # the read model keeps the member's name
        return super().from_row(row, status=status, **converted)

    @strawberry.field(description="社区名称")
    async def community_name(self, info: Info) -> str:
        return await place_name_loader(info).load(self.community_id) or ""

    @strawberry.field(description="网格名称")
    async def grid_name(self, info: Info) -> str | None:
        if self.grid_id is None:
            return None
        return await place_name_loader(info).load(self.grid_id)

    @strawberry.field(description="难度分类(中文):日常服务/专业服务/急难险重")
    def category_class_name(self) -> str:
        return class_name(self.category_class)

    @strawberry.field(description="剩余名额")
    def places_left(self) -> int:
        return max(0, self.capacity - self.claims)

    @strawberry.field(description="本社区现行积分规则是否要求成员本人签到时出示现场签到码")
    async def site_code_required(self, info: Info) -> bool:
        ctx = info.context
        if "rule_book" not in ctx.loaders:  # read once a request, for every task on the page
            ctx.loaders["rule_book"] = await ctx.write(ctx.ledger.rule_book)
        rules = ctx.loaders["rule_book"].current_for(self.community_id)
        return bool(rules.site_code_required)

    @strawberry.field(description="认领的成员(仅本社区与管理员可读)")
    async def claimants(self, info: Info) -> list[Claimant]:
        info.context.require(info.context.reads_community(self.community_id), "该任务的认领成员")
        return [Claimant.from_row(r) for r in await claimants(info.context.pool, self.task_id)]


@strawberry.type(description="积分超市商品")
class Item(FromRow):
    item_id: UUID
    community_id: UUID
    name: str
    price: Decimal
    stock: int


@strawberry.type(description="已签退、等待一事一评的服务")
class PendingService:
    service_id: UUID
    task_id: UUID
    task_title: str
    member_id: UUID
    member_name: str = strawberry.field(description="姓名(审计人员看到的是脱敏姓名)")
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    hours: Decimal | None = strawberry.field(
        description="签到至签退的时长(整分钟折算,舍到 0.1 小时);计分时另按积分规则核定"
    )

    @staticmethod
    def wanted(rows: Iterable[asyncpg.Record]) -> Wanted:
        wanted = Wanted()
        for r in rows:
            wanted.member(r["member_id"]).task(r["task_id"])
        return wanted

    @classmethod
    def named(cls, row: asyncpg.Record, names: Names) -> Self:
        start, end = row["checked_in_at"], row["checked_out_at"]
        served = None if start is None or end is None else (end - start) // timedelta(minutes=1)
        return cls(
            service_id=row["service_id"],
            task_id=row["task_id"],
            task_title=names.task(row["task_id"]),
            member_id=row["member_id"],
            member_name=names.member(row["member_id"]),
            checked_in_at=start,
            checked_out_at=end,
            hours=None if served is None else hours_from_minutes(max(served, 0)),
        )


@strawberry.type
class UnitService:
    unit_id: UUID
    name: str | None
    services: int
    hours: Decimal
    points: Decimal


@strawberry.type(description="居民满意率:已回访的需求按满意度计数")
class NeedSatisfaction:
    rated: int = strawberry.field(description="已回访(评价)的需求数")
    satisfied: int = strawberry.field(description="满意")
    basically_satisfied: int = strawberry.field(description="基本满意")
    dissatisfied: int = strawberry.field(description="不满意")
    rate: Decimal | None = strawberry.field(
        description="满意率:(满意 + 基本满意)÷ 已回访,四位小数;尚无回访时为空"
    )

    @classmethod
    def of(cls, count: queries.SatisfactionCount) -> Self:
        return cls(
            rated=count.rated,
            satisfied=count.satisfied,
            basically_satisfied=count.basically_satisfied,
            dissatisfied=count.dissatisfied,
            rate=count.rate,
        )


@strawberry.type(description="积分超市物品的捐赠:捐赠方与各物品捐赠的合计件数")
class Donation:
    donor: str
    item_name: str
    quantity: int


@strawberry.type(description="社区看板")
class CommunityBoard:
    open_tasks: list[Task]
    understaffed: list[Task] = strawberry.field(description="已开始但未满员的任务")
    hard_untaken: list[Task] = strawberry.field(description="无人认领的难事(麻烦事应者寥寥)")
    awaiting_rating: list[PendingService] = strawberry.field(
        description="已签退、等待一事一评的服务,先签退的在前"
    )
    items: list[Item]
    donations: list[Donation] = strawberry.field(description="积分超市物品的捐赠方,按捐赠方")
    redemptions: int
    redeemed_points: Decimal
    by_unit: list[UnitService]
    satisfaction: NeedSatisfaction = strawberry.field(description="居民满意率(群众点单的回访)")


@strawberry.type(description="兑换记录")
class Redemption:
    redemption_id: UUID
    community_id: UUID
    total: Decimal
    goods: int
    cancelled: bool
    id: UUID | None = None
    position: int | None = None
    lines: list[ReceiptLine] = strawberry.field(default_factory=list)
    balance_after: Decimal | None = strawberry.field(default=None, description="兑换后余额")
    member_id: UUID | None = None
    member: str | None = strawberry.field(default=None, description="成员脱敏姓名")
    store_id: UUID | None = strawberry.field(default=None, description="超市(社区)编号")
    kiosk: str | None = strawberry.field(
        default=None, description="兑换终端的机器标识(供程序使用;给人看的是 kioskName)"
    )
    kiosk_name: str | None = strawberry.field(default=None, description="兑换终端的名称")
    number: str | None = strawberry.field(
        default=None, description="小票单号:兑换日(北京时间)与 8 位数字,如 1207-39201187"
    )
    at: datetime | None = strawberry.field(default=None, description="兑换时间")
    replayed: bool = strawberry.field(default=False, description="查询所得,总为 false")
