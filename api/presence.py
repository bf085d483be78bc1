"""Sign-in by one-time code (一次性登录码), the site code screen (现场签到码), and what a
member does for themself on their phone: withdraw a claim; a community edits a task
nobody has claimed yet."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Annotated
from uuid import UUID

import asyncpg
import strawberry

from api.auth import hash_token
from api.commands import Key, home_of, run_command
from api.context import Info, RequestContext
from api.errors import forbidden, problem
from api.qr import qr_svg
from api.types import CommandResult, Problems, Receipt
from ledger.application.signin import IssuedSignIn
from ledger.domain.errors import LedgerError, SignInCodeShownOnce, UnknownDevice
from ledger.domain.presence import SITE_CODE_PERIOD_SECONDS, Location
from ledger.domain.signin import SIGN_IN_CODE_HOURS
from ledger.domain.values import Context as Actor
from ledger.domain.values import Role
from projections.tokens import is_member_token, revoke_member_token, store_member_token


@strawberry.type(
    description=f"一次性登录码:社区在柜台出示(二维码)或打印给成员,{SIGN_IN_CODE_HOURS} 小时内有效,"
    "只能用一次"
)
class SignInCode:
    code: str = strawberry.field(description="登录码(8 位,不含 0、O、1、I)")
    member_name: str
    expires_at: datetime

    @strawberry.field(description="登录码的二维码(SVG)")
    def qr_svg(self) -> str:
        return qr_svg(self.code, fluid=True)


@strawberry.type(description="手机用一次性登录码换得的成员令牌(只显示这一次)")
class MemberSession:
    token: str
    member_id: UUID
    member_name: str
    community_name: str
    device: str


@strawberry.type(description="现场签到码:每 60 秒更换,前后各宽限一段时间")
class SiteCode:
    task_id: UUID
    task_title: str
    code: str = strawberry.field(description="6 位数字;二维码内容与之相同")
    valid_until: datetime = strawberry.field(
        description="屏幕显示此码到这一时刻,随后换新码(已记下的码此后几分钟内仍可用)"
    )
    period_seconds: int = strawberry.field(description="换码间隔(秒)")

    @strawberry.field(description="签到码的二维码(SVG)")
    def qr_svg(self) -> str:
        return qr_svg(self.code, fluid=True)


@strawberry.input(description="手机定位(WGS-84 经纬度与精度)")
class SiteLocation:
    latitude: float
    longitude: float
    accuracy_meters: float = strawberry.field(description="定位精度(米),须大于 0 且不超过 5000")

    def checked(self) -> Location:
        return Location.create(self.latitude, self.longitude, self.accuracy_meters)


IssueSignInResult = Annotated[SignInCode | Problems, strawberry.union("IssueSignInResult")]
ActivateSignInResult = Annotated[MemberSession | Problems, strawberry.union("ActivateSignInResult")]
SiteCodeResult = Annotated[SiteCode | Problems, strawberry.union("SiteCodeResult")]

TOKEN_PREFIX = "lt_"


def _primary(ctx: RequestContext) -> asyncpg.Pool:
    """Credentials are written to, and checked on, the primary."""
    return ctx.pool if ctx.reads is None else ctx.reads.primary


def location_of(where: SiteLocation | None) -> Location | None:
    """The phone's location, checked (``InvalidInput`` when absurd or outside China)."""
    return None if where is None else where.checked()


@strawberry.type
class PresenceQuery:
    @strawberry.field(description="现场签到码(任务所在社区与管理员;不写入任何记录)")
    async def site_code(self, info: Info, task_id: UUID) -> SiteCodeResult:
        ctx = info.context
        ctx.keep_answer = False  # the clock decides the answer
        home = await home_of(ctx, ctx.ledger.get_task, task_id)
        if not ctx.runs_community(home):
            return forbidden("出示该任务的签到码")
        try:
            task = await ctx.write(ctx.ledger.read_task, task_id)
            shown = await ctx.write(ctx.ledger.site_code, task_id)
        except LedgerError as error:
            return problem(error)
        return SiteCode(
            task_id=task_id,
            task_title=task.title,
            code=shown.code,
            valid_until=shown.next_at,
            period_seconds=SITE_CODE_PERIOD_SECONDS,
        )


@strawberry.type
class PresenceMutation:
    @strawberry.mutation(description="为本社区居民发放一次性登录码(社区或管理员);码只在此显示一次")
    async def issue_sign_in(
        self, info: Info, member_id: UUID, key: Key = None
    ) -> IssueSignInResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_member, member_id)
        return await run_command(
            ctx,
            ctx.runs_community(home),
            "为该成员发放登录码",
            ctx.ledger.issue_sign_in,
            member_id,
            key=key,
            shown=_sign_in_code,
        )

    @strawberry.mutation(
        description="手机用一次性登录码登录(无需令牌):换得本机的成员令牌;"
        "码无效、已用过或已过期一律答复 SIGN_IN_CODE_INVALID"
    )
    async def activate_sign_in(self, info: Info, code: str, device: str) -> ActivateSignInResult:
        ctx = info.context
        ctx.keep_answer = False
        token_id = uuid.uuid4()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        actor = Actor(
            actor_id=f"token:{token_id}",
            role=Role.MEMBER,
            device=ctx.device,
            correlation_id=ctx.correlation_id,
        )
        try:
            done = await ctx.write(ctx.ledger.activate_sign_in, code, token_id, device, actor)
        except LedgerError as error:
            return problem(error)
        await store_member_token(
            _primary(ctx), token_id, hash_token(token), done.member_id, done.device
        )
        return MemberSession(
            token=token,
            member_id=done.member_id,
            member_name=done.member_name,
            community_name=done.community_name,
            device=done.device,
        )

    @strawberry.mutation(description="撤销一台手机的登录(成员本人、其居住社区或管理员)")
    async def revoke_sign_in(
        self, info: Info, member_id: UUID, token_id: str, key: Key = None
    ) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_member, member_id)
        allowed = ctx.runs_community(home) or ctx.scoped(Role.MEMBER, member_id)
        if not allowed:
            return forbidden("撤销该成员的登录")
        try:
            token = UUID(token_id)
        except ValueError:
            return problem(UnknownDevice(id=token_id))
        pool = _primary(ctx)
        if not await is_member_token(pool, token, member_id):
            return problem(UnknownDevice(id=token_id))
        result = await run_command(
            ctx, True, "撤销该成员的登录", ctx.ledger.revoke_sign_in, member_id, token, key=key
        )
        if isinstance(result, Receipt):
            await revoke_member_token(pool, token, member_id)
        return result

    @strawberry.mutation(description="修改任务(社区或管理员):只在无人认领时可改;未给出的项保持不变")
    async def edit_task(
        self,
        info: Info,
        task_id: UUID,
        title: str | None = None,
        category: str | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        capacity: int | None = None,
        place: str | None = None,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        home = await home_of(ctx, ctx.ledger.get_task, task_id)
        return await run_command(
            ctx,
            ctx.runs_community(home),
            "修改该任务",
            ctx.ledger.edit_task,
            task_id,
            title=title,
            category=category,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            place=place,
            key=key,
        )

    @strawberry.mutation(
        description="成员本人退出已认领的任务(任务开始之前;之后答复 CLAIM_WITHDRAWAL_TOO_LATE)"
    )
    async def withdraw_claim(self, info: Info, service_id: UUID, key: Key = None) -> CommandResult:
        ctx = info.context
        try:
            service = await ctx.write(ctx.ledger.get_service, service_id)
        except LedgerError:
            return forbidden("退出该任务")
        return await run_command(
            ctx,
            ctx.scoped(Role.MEMBER, service.member_id),
            "退出该任务",
            ctx.ledger.withdraw_claim,
            service_id,
            key=key,
        )


def _sign_in_code(issued: object) -> SignInCode | Problems:
    """The code, the first time; a retry of the same request cannot show it again."""
    if not isinstance(issued, IssuedSignIn):
        return problem(SignInCodeShownOnce())
    return SignInCode(
        code=issued.code,
        member_name=issued.member_name,
        expires_at=issued.expires_at,
    )
