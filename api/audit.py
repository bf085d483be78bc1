"""The books for auditors: ledger entries, balances as of a time, the rule book.

About 310 lines: every field an auditor's token reads, with the result types of the
audit services that are not themselves GraphQL types.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, cast
from uuid import UUID

import strawberry

import audit
from api.commands import Key, is_admin, run_command
from api.context import BadArgument, Info
from api.errors import Forbidden, InvalidInput, Rejected, forbidden, problem
from api.types import (
    CommandResult,
    LedgerEntry,
    ledger_entries,
)
from ledger.domain.errors import LedgerError
from ledger.domain.limits import NOTE_MAX_BYTES
from ledger.domain.policy import PointsPolicy
from ledger.domain.text import natural_key
from ledger.domain.values import (
    Role,
    issuance_account,
    member_account,
    member_of,
    store_account,
)
from projections import queries
from projections.notes import Checkpoint, CheckpointLog
from projections.queries.names import Wanted
from projections.runner import VIEWS_CHANNEL


@strawberry.type
class Finding:
    position: int | None = strawberry.field(description="最早受影响的位置(无法确定时为空)")
    kind: str = strawberry.field(
        description="altered / deleted / inserted / tree / truncated / checkpoint / "
        "consistency / unchained / reconciliation"
    )
    kind_name: str = strawberry.field(description="问题的类别(中文)")
    detail: str


@strawberry.type(description="由事件存储重算 Merkle 树、核对签名检查点与账户变动的结果")
class Verification:
    events: int
    leaves: int = strawberry.field(description="树中存储的叶子数")
    checkpoints: int
    head_position: int
    root_hash: str = strawberry.field(description="由全部事件重算的树根(base64)")
    unchained: int
    reconciled: int = strawberry.field(description="与原因事件相符的账户变动笔数")
    intact: bool
    first_bad_position: int | None
    findings: list[Finding]


@strawberry.type(description="签名检查点(C2SP tlog-checkpoint 签名文本):审计方保存并用固定公钥核验")
class SignedCheckpoint:
    tree_size: int
    root_hash: str = strawberry.field(description="树根(base64)")
    note: str = strawberry.field(description="签名文本,原样保存")


@strawberry.type(description="某位置的事件在树中的包含证明(RFC 6962)")
class InclusionProof:
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: str = strawberry.field(description="叶子哈希(base64)")
    hashes: list[str] = strawberry.field(description="证明中的哈希(base64),由叶子一侧起")


@strawberry.type(description="新树是旧树延续的一致性证明(RFC 6962)")
class ConsistencyProof:
    old_size: int
    new_size: int
    hashes: list[str] = strawberry.field(description="证明中的哈希(base64)")


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _signed(note: str) -> SignedCheckpoint:
    point = Checkpoint.parse(note[: note.rfind("\n\n") + 1])
    return SignedCheckpoint(tree_size=point.size, root_hash=_b64(point.root), note=note)


@strawberry.type(description="重放到某一时刻的成员账户,并与流水读模型对照")
class MemberAt:
    member_id: UUID
    at: datetime
    balance: Decimal
    earned_points: Decimal
    earned_hours: Decimal
    entries_balance: Decimal = strawberry.field(description="流水读模型给出的同一时刻余额")
    agrees: bool


@strawberry.type
class AwardMismatch:
    service_id: UUID
    position: int
    recorded_points: Decimal
    recomputed_points: Decimal | None
    reason: str


@strawberry.type(description="按记录的规则版本重算每一次计分")
class AwardRecheck:
    checked: int
    mismatches: list[AwardMismatch]


# The auditor's own dataclass is the GraphQL type: declared once.
strawberry.type(
    audit.HistoryLine,
    description="一条事件及其来龙去脉;balance 为此后的可用积分(账户事件);"
    "eventName、actorName、roleName、deviceName 与 summary 是给人读的中文",
)


@strawberry.type(description="某社区发放的积分在期间内的去向")
class CommunityFlows:
    community_id: UUID
    community_name: str
    opening: Decimal
    issued: Decimal
    reversed: Decimal
    redeemed: Decimal
    expired: Decimal
    closing: Decimal
    balanced: bool


@strawberry.type(description="积分守恒:全部账户合计为零,各社区发放 = 在外 + 兑换 + 过期 + 冲正")
class Conservation:
    all_accounts: Decimal
    member_balances: Decimal
    holds: bool
    communities: list[CommunityFlows]


@strawberry.type
class AuditQuery:
    @strawberry.field(description="成员、单位、任务、商品或兑换的完整事件史(成员含其账户)")
    async def history(self, info: Info, aggregate_id: UUID) -> list[audit.HistoryLine]:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "事件史")
        return await ctx.write(audit.history, ctx.ledger, aggregate_id)

    @strawberry.field(description="导出对象期间内的事件(JSON Lines 的各行,首行含签名检查点)")
    async def audit_export(
        self, info: Info, aggregate_ids: list[UUID], start: datetime, end: datetime
    ) -> list[strawberry.scalars.JSON]:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "事件导出")

        def lines() -> list[Any]:
            return list(audit.export(ctx.ledger, ctx.read_side, aggregate_ids, start, end))

        try:
            return await ctx.write(lines)
        except ValueError as error:  # merkle.ProofError included
            raise BadArgument(str(error)) from None

    @strawberry.field(description="期间 [from, to) 的积分守恒核对")
    async def conservation(self, info: Info, start: datetime, end: datetime) -> Conservation:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "积分守恒核对")
        result = await ctx.write(audit.conservation, ctx.ledger, start, end)
        names = await ctx.names(Wanted().place(*result.communities))
        flows = [
            CommunityFlows(
                **vars(c), community_name=names.place(c.community_id), balanced=c.balanced
            )
            for c in result.communities.values()
        ]
        return Conservation(
            all_accounts=result.all_accounts,
            member_balances=result.member_balances,
            holds=result.holds,
            communities=sorted(flows, key=lambda c: natural_key(c.community_name)),
        )

    @strawberry.field(
        description="校验账本:由事件重算 Merkle 树,用固定公钥核对检查点(against 为审计方"
        "保存的检查点签名文本),并核对每笔账户变动与其原因"
    )
    async def verify_ledger(self, info: Info, against: str | None = None) -> Verification:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "账本校验")
        ctx.keep_answer = False  # it reads the event store itself, not the read models
        if against is not None and len(against.encode()) > NOTE_MAX_BYTES:
            raise BadArgument(f"检查点文本超过 {NOTE_MAX_BYTES} 字节")
        assert ctx.verifier is not None
        verifier, log = ctx.verifier, ctx.checkpoint_log

        def check() -> audit.Verification:
            published = [e.note for e in CheckpointLog(log).entries()] if log else []
            return audit.verify(
                ctx.database_url, verifier, kept=against, published=published, ledger=ctx.ledger
            )

        result = await ctx.write(check)
        return Verification(
            events=result.events,
            leaves=result.leaves,
            checkpoints=result.checkpoints,
            head_position=result.head_position,
            root_hash=_b64(result.root),
            unchained=result.unchained,
            reconciled=result.reconciled,
            intact=result.intact,
            first_bad_position=result.first_bad_position,
            findings=[
                Finding(position=f.position, kind=f.kind, kind_name=f.kind_name, detail=f.detail)
                for f in result.findings[:100]
            ],
        )

    @strawberry.field(description="最新发布的检查点(见证方与审计方用固定公钥核验)")
    async def latest_checkpoint(self, info: Info) -> SignedCheckpoint | None:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "检查点")
        note = await ctx.write(audit.latest_note, ctx.ledger)
        return None if note is None else _signed(note)

    @strawberry.field(
        description="位置 position 的事件在大小为 treeSize(默认最新检查点)的树中的证明"
    )
    async def inclusion_proof(
        self, info: Info, position: int, tree_size: int | None = None
    ) -> InclusionProof:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "包含证明")
        try:
            proof = await ctx.write(audit.inclusion, ctx.ledger, position, tree_size)
        except ValueError as error:
            raise BadArgument(str(error)) from None
        return InclusionProof(
            position=proof.position,
            leaf_index=proof.leaf_index,
            tree_size=proof.tree_size,
            leaf_hash=_b64(proof.leaf_hash),
            hashes=[_b64(h) for h in proof.hashes],
        )

    @strawberry.field(
        description="大小为 newSize(默认最新检查点)的树是大小为 oldSize 的树的延续的证明"
    )
    async def consistency_proof(
        self, info: Info, old_size: int, new_size: int | None = None
    ) -> ConsistencyProof:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "一致性证明")
        try:
            proof = await ctx.write(audit.consistency, ctx.ledger, old_size, new_size)
        except ValueError as error:
            raise BadArgument(str(error)) from None
        return ConsistencyProof(
            old_size=proof.old_size,
            new_size=proof.new_size,
            hashes=[_b64(h) for h in proof.hashes],
        )

    @strawberry.field(description="重放成员账户到某一时刻(按积分变动的发生时间,由事件重算)")
    async def member_at(self, info: Info, member_id: UUID, at: datetime) -> MemberAt:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "账户重放")
        state = await ctx.write(audit.replay_member, ctx.ledger, member_id, at)
        entries = await queries.balance_as_of(ctx.pool, member_account(member_id), at)
        return MemberAt(
            member_id=member_id,
            at=at,
            balance=state.balance,
            earned_points=state.earned_points,
            earned_hours=state.earned_hours,
            entries_balance=entries,
            agrees=entries == state.balance,
        )

    @strawberry.field(description="按记录的规则版本重算每一次计分,列出不符者")
    async def award_recheck(self, info: Info) -> AwardRecheck:
        ctx = info.context
        ctx.require(ctx.reads_everything(), "计分重算")
        checked, mismatches = await ctx.write(audit.recheck_awards, ctx.ledger)
        return AwardRecheck(
            checked=checked,
            mismatches=[
                AwardMismatch(
                    service_id=m.service_id,
                    position=m.position,
                    recorded_points=m.recorded.points,
                    recomputed_points=m.recomputed.points if m.recomputed else None,
                    reason=m.reason,
                )
                for m in mismatches
            ],
        )

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
        rows = await queries.account_entries(ctx.pool, account, first=first, before=after)
        return await ledger_entries(info, rows)

    @strawberry.field(description="某账户截至某一时刻的余额:计入发生时间不晚于该时刻的积分变动")
    async def balance(self, info: Info, account: str, as_of: datetime | None = None) -> Decimal:
        ctx = info.context
        ctx.require(_reads_account(info, account), "该账户")
        return await queries.balance_as_of(ctx.pool, account, as_of or datetime.now(UTC))


@strawberry.type(description="一次积分过期的结果")
class ExpiryRun:
    as_of: datetime
    accounts: int = strawberry.field(description="有积分过期的账户数")


@strawberry.type
class AuditMutation:
    @strawberry.mutation(
        description="发布新版积分规则(JSON,字段同 ledger policy show);给出 communityId 时为该社区"
        "自己的一版:只能在街道规则允许的幅度内调整评价与难度系数、类别的难度分类"
    )
    async def publish_policy(
        self,
        info: Info,
        policy: strawberry.scalars.JSON,
        note: str,
        community_id: UUID | None = None,
        key: Key = None,
    ) -> CommandResult:
        ctx = info.context
        try:
            parsed = PointsPolicy.from_data(cast(dict[str, Any], policy))
            if community_id is not None:
                parsed = replace(parsed, community_id=community_id)
        except LedgerError as error:
            named = is_admin(ctx) if community_id is None else ctx.runs_community(community_id)
            return problem(error) if named else forbidden("发布积分规则")
        scope = parsed.community_id
        allowed = is_admin(ctx) if scope is None else ctx.runs_community(scope)
        return await run_command(
            ctx, allowed, "发布积分规则", ctx.ledger.publish_policy, parsed, note, key=key
        )

    @strawberry.mutation(
        description="证明与上一个检查点一致后,立即签发并发布检查点(管理员或审计方;"
        "账本记录不变,只多一个签名检查点;处理程序也按计划自动签发)"
    )
    async def publish_checkpoint(
        self, info: Info
    ) -> Annotated[SignedCheckpoint | Forbidden | Rejected, strawberry.union("CheckpointResult")]:
        ctx = info.context
        if not ctx.reads_everything():
            return forbidden("签发检查点")
        try:
            entry = await ctx.write(audit.publish_now, ctx.read_side)
        except ValueError as error:  # no signing key or no outside log configured
            return Rejected(code="NOT_CONFIGURED", message=str(error))
        return _signed(entry.note)

    @strawberry.mutation(
        description="让到期的积分过期(幂等;服务每天 0:05 自动运行);asOf 不能晚于账本当前时间"
    )
    async def expire_points(
        self, info: Info, as_of: datetime | None = None
    ) -> Annotated[ExpiryRun | Forbidden | InvalidInput, strawberry.union("ExpiryResult")]:
        ctx = info.context
        if not is_admin(ctx):
            return forbidden("执行积分过期")
        at = as_of or datetime.now(UTC)
        try:
            accounts = await ctx.write(ctx.ledger.expire_points, at, ctx.actor())
        except LedgerError as error:
            return problem(error)
        return ExpiryRun(as_of=at, accounts=accounts)


def _reads_account(info: Info, account: str) -> bool:
    """A member reads their own account; a community its issuance and its store."""
    ctx = info.context
    if ctx.reads_everything():
        return True
    member = member_of(account)
    if member is not None:
        return ctx.scoped(Role.MEMBER, member)
    return ctx.principal is not None and any(
        ctx.scoped(Role.COMMUNITY, community)
        and account in (issuance_account(community), store_account(community))
        for community in ctx.principal.scope
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
                while await ctx.still_authorised():
                    rows = await queries.entries_after(conn, after, BATCH)
                    for entry in await ledger_entries(info, rows):
                        yield entry
                        after = entry.position
                    if len(rows) < BATCH:
                        woken.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(woken.wait(), IDLE_SECONDS)
            finally:
                await conn.remove_listener(VIEWS_CHANNEL, wake)
