"""Members: their totals, history and dossiers; registration, 双报到, moves, annual reviews."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import strawberry
from graphql import FieldNode, IntValueNode, VariableNode

from api.commands import Key, home_of, is_admin, refusal, run_command
from api.context import Info, RequestContext
from api.errors import Conflict, Problem, forbidden, problem
from api.qr import qr_svg
from api.types import (
    CommandResult,
    Member,
    MemberYear,
    Problems,
    year_loader,
)
from ledger.domain.codes import PHONE_CODE_SECONDS
from ledger.domain.codes import UnknownCode as UnknownCodeError
from ledger.domain.errors import DuplicateMember, LedgerError
from ledger.domain.member import mask_name
from ledger.domain.values import Grade, MemberKind, Role
from projections import queries
from projections.queries.members import member_by_code


@strawberry.type(description="积分码无效、已作废、已过期,或不是本社区的成员(一律如此答复)")
class UnknownCode(Problem):
    pass


@strawberry.type(description="积分超市终端按积分码找到的成员")
class KioskMember:
    member_id: UUID = strawberry.field(description="成员编号(兑换时用)")
    masked_name: str = strawberry.field(description="脱敏姓名")
    balance: Decimal = strawberry.field(description="可用积分")


@strawberry.type(description="新发放的积分卡:卡上的码只在此告知一次,账本只保存其密钥哈希")
class IssuedCard:
    member_id: UUID
    code: str = strawberry.field(description="印在卡上的码(二维码内容)")
    position: int | None = strawberry.field(description="最后一个事件的通知编号")


@strawberry.type(description="手机上出示的短时积分码")
class KioskCode:
    code: str = strawberry.field(description="二维码内容")
    expires_at: datetime = strawberry.field(description="失效时间")
    valid_seconds: int = strawberry.field(description="有效秒数")

    @strawberry.field(description="二维码图像(SVG),供手机页面显示")
    def qr_svg(self) -> str:
        return qr_svg(self.code, fluid=True)


MemberByCodeResult = Annotated[KioskMember | UnknownCode, strawberry.union("MemberByCodeResult")]
IssueCardResult = Annotated[IssuedCard | Problems, strawberry.union("IssueCardResult")]
KioskCodeResult = Annotated[KioskCode | Problems, strawberry.union("KioskCodeResult")]


def _asked_year(info: Info) -> int | None:
    """The one year the query asks of this member (``year(year: …)`` selected on it
    directly), if one: a literal, or a variable's value. Read from the field's own
    nodes, not from ``info.selected_fields``, which converts the whole selection."""
    asked: set[object] = set()
    for node in info._raw_info.field_nodes:
        for field in node.selection_set.selections if node.selection_set else ():
            if not isinstance(field, FieldNode) or field.name.value != "year":
                continue
            value = next((a.value for a in field.arguments or () if a.name.value == "year"), None)
            if isinstance(value, VariableNode):
                asked.add(info.variable_values.get(value.name.value))
            else:
                asked.add(int(value.value) if isinstance(value, IntValueNode) else None)
    if len(asked) != 1:
        return None
    (year,) = asked
    return year if isinstance(year, int) else None


@strawberry.type
class MembersQuery:
    @strawberry.field(description="一名成员(积分超市终端只能查本社区居民)")
    async def member(self, info: Info, id: UUID, wait_for: int | None = None) -> Member | None:
        ctx = info.context
        await ctx.wait_for(wait_for)
        year = _asked_year(info)
        if year is None:
            row = await queries.member_totals(ctx.pool, id)
        else:  # the member and the year they ask for in one statement
            row = await queries.member_summary(ctx.pool, id, year)
            if row is not None:
                year_loader(info).prime((id, year), MemberYear.from_summary(row, year))
        # A token that may not read every member learns nothing of ids outside its
        # scope: an unknown id and another community's member are refused alike.
        if row is None and ctx.reads_everything():
            return None
        ctx.require(row is not None and ctx.reads_member(row), "该成员的信息")
        return Member.from_row(row, ctx.role)

    @strawberry.field(description="按社区、网格、单位、类别筛选成员;below_floor_in 为年份")
    async def members(
        self,
        info: Info,
        community_id: UUID | None = None,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
        kind: MemberKind | None = None,
        below_floor_in: int | None = None,
        first: int = 50,
        after: UUID | None = None,
        wait_for: int | None = None,
    ) -> list[Member]:
        ctx = info.context
        ctx.require(
            ctx.reads_everything()
            or (community_id is not None and ctx.scoped(Role.COMMUNITY, community_id))
            or (unit_id is not None and ctx.scoped(Role.UNIT, unit_id)),
            "这些成员",
        )
        await ctx.wait_for(wait_for)
        rows = await queries.members_page(
            ctx.pool,
            community_id=community_id,
            grid_id=grid_id,
            unit_id=unit_id,
            kind=kind,
            below_floor_in=below_floor_in,
            first=first,
            after=after,
        )
        return [Member.from_row(r, ctx.role) for r in rows]

    @strawberry.field(
        description="积分超市终端按积分码(积分卡或手机)查找本社区成员;"
        "无效、作废、过期或他社区的码一律答复 UnknownCode"
    )
    async def member_by_code(
        self, info: Info, code: str, wait_for: int | None = None
    ) -> MemberByCodeResult:
        ctx = info.context
        ctx.require(ctx.role in (Role.ADMIN, Role.COMMUNITY, Role.KIOSK), "按积分码查找成员")
        ctx.keep_answer = False  # a phone code expires by the clock, not by an event
        unknown = UnknownCode(code=UnknownCodeError.code, message=UnknownCodeError().message)
        try:
            lookup = ctx.ledger.read_code(code)
        except LedgerError:
            return unknown
        await ctx.wait_for(wait_for)
        row = await member_by_code(ctx.pool, code_hash=lookup.code_hash, reference=lookup.reference)
        if row is None or not (
            ctx.role is Role.ADMIN
            or ctx.scoped(Role.COMMUNITY, row["community_id"])
            or ctx.scoped(Role.KIOSK, row["community_id"])
        ):
            return unknown
        return KioskMember(
            member_id=row["member_id"], masked_name=mask_name(row["name"]), balance=row["balance"]
        )


async def _refine_registration(ctx: RequestContext, error: LedgerError) -> Any:
    """A national ID already registered is named with its member only to a token that
    may read that member: anyone else learns no id and no community."""
    if isinstance(error, DuplicateMember):
        row = await queries.member_totals(ctx.pool, error.details["id"])
        if row is None or not ctx.reads_member(row):
            return Conflict(code="CONFLICT", message="无法用该身份证号登记,请联系街道管理员核实")
    return problem(error)


@strawberry.type
class MembersMutation:
    @strawberry.mutation(description="登记成员(身份证号只以密钥哈希保存)")
    async def register_member(
        self,
        info: Info,
        kind: MemberKind,
        name: str,
        community_id: UUID,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
        phone: str | None = None,
        national_id: str | None = None,
        branch: str | None = None,
        team: str | None = None,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            ctx.runs_community(community_id),
            "在该社区登记成员",
            ctx.ledger.register_member,
            kind,
            name,
            community_id,
            grid_id=grid_id,
            unit_id=unit_id,
            phone=phone,
            national_id=national_id,
            branch=branch,
            team=team,
            refine=functools.partial(_refine_registration, ctx),
            key=key,
        )

    @strawberry.mutation(
        description="发放或补发积分卡(管理员,或社区为本社区居民);旧卡的码与手机积分码随即失效"
    )
    async def issue_member_card(self, info: Info, member_id: UUID) -> IssueCardResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_member, member_id)
        if ctx.principal is None or not ctx.runs_community(home):
            return forbidden("为该成员发放积分卡")
        try:
            issued = await ctx.write(ctx.ledger.issue_card, member_id, ctx=ctx.actor())
        except LedgerError as error:
            return refusal(ctx, error, "为该成员发放积分卡")
        return IssuedCard(member_id=issued.id, code=issued.code, position=issued.position)

    @strawberry.mutation(
        description=f"成员在手机上取一个短时积分码({PHONE_CODE_SECONDS} 秒内有效),"
        "不写入任何记录;码含失效时间(精确到秒),故稍后再取即得新码"
    )
    async def my_kiosk_code(self, info: Info) -> KioskCodeResult:
        ctx = info.context
        principal = ctx.principal
        if principal is None or principal.role is not Role.MEMBER or len(principal.scope) != 1:
            return forbidden("取手机积分码(仅成员本人)")
        (member_id,) = principal.scope
        try:
            made = await ctx.write(ctx.ledger.phone_code, member_id)
        except LedgerError as error:
            return problem(error)
        return KioskCode(
            code=made.code, expires_at=made.expires_at, valid_seconds=PHONE_CODE_SECONDS
        )

    @strawberry.mutation(description="成员向居住社区报到(双报到,党员一方)")
    async def report_member(
        self, info: Info, member_id: UUID, on: date, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_member, member_id)
        allowed = ctx.runs_community(home) or ctx.scoped(Role.MEMBER, member_id)
        return await run_command(
            ctx,
            allowed,
            "为该成员报到",
            ctx.ledger.report_member,
            member_id,
            on,
            key=key,
        )

    @strawberry.mutation(description="成员调动单位或搬迁(历史保留)")
    async def move_member(
        self,
        info: Info,
        member_id: UUID,
        unit_id: UUID | None = None,
        community_id: UUID | None = None,
        grid_id: UUID | None = None,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            is_admin(ctx),
            "调动成员",
            ctx.ledger.move_member,
            member_id,
            unit_id=unit_id,
            community_id=community_id,
            grid_id=grid_id,
            key=key,
        )

    @strawberry.mutation(
        description="更正登记有误的成员信息(姓名、手机、网格、单位;未给出的不变),"
        "写明原因,记为一个更正事件"
    )
    async def correct_member(
        self,
        info: Info,
        member_id: UUID,
        reason: str,
        name: str | None = None,
        phone: str | None = None,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_member, member_id)
        return await run_command(
            ctx,
            ctx.runs_community(home),
            "更正该成员的信息",
            ctx.ledger.correct_member,
            member_id,
            reason,
            name=name,
            phone=phone,
            grid_id=grid_id,
            unit_id=unit_id,
            key=key,
        )

    @strawberry.mutation(description="年度评价(社区对报到党员)")
    async def review_member(
        self,
        info: Info,
        community_id: UUID,
        member_id: UUID,
        year: int,
        grade: Grade,
        comment: str,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        return await run_command(
            ctx,
            ctx.runs_community(community_id),
            "评价该社区的党员",
            ctx.ledger.review_member,
            community_id,
            member_id,
            year,
            grade,
            comment,
            key=key,
        )
