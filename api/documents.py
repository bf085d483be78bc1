"""The documents over GraphQL: each field makes one document on the server (in a worker
thread) and answers its bytes in base64, scoped like the data it prints. A certificate is
issued by a mutation (it is an event); the rest are queries over the read models."""

from __future__ import annotations

import base64
import enum
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from uuid import UUID

import anyio.to_thread
import strawberry
from graphql import GraphQLError

from api.commands import Key, refusal
from api.context import BadArgument, Info, RequestContext
from api.errors import forbidden
from api.types import Problems
from api.units import require_member_ranking
from documents import Document
from documents.certificate import certificate_pdf, verify_url
from documents.dossier import dossier_pdf, dossier_xlsx, dossiers_pdf, load_dossier, load_dossiers
from documents.letters import letters_pdf, load_letters, praise_pdf
from documents.lists import Listing, listing_pdf, listing_xlsx
from documents.rounds import (
    below_floor_listing,
    member_ranking_listing,
    projects_listing,
    unit_ranking_listing,
)
from ledger.application.base import Receipt
from ledger.domain.certificate import CertificateCheck, CertificateStatus
from ledger.domain.errors import LedgerError
from ledger.domain.member import reads_full_names
from ledger.domain.values import Context as Actor
from ledger.domain.values import Role
from projections import queries
from projections.queries.documents import (
    ProjectMeasure,
    certifiable_positions,
    member_certificates,
)

T = TypeVar("T")


@strawberry.enum(description="文档格式")
class DocumentFormat(enum.Enum):
    PDF = "pdf"
    XLSX = "xlsx"


strawberry.enum(ProjectMeasure, description="十佳实事项目的排序依据")


@strawberry.type(description="服务器生成的文档(A4,中文)")
class DocumentFile:
    filename: str = strawberry.field(description="建议的文件名")
    media_type: str
    size: int = strawberry.field(description="字节数")
    content_base64: str = strawberry.field(description="文件内容(base64)")

    @classmethod
    def of(cls, document: Document) -> DocumentFile:
        return cls(
            filename=document.filename,
            media_type=document.media_type,
            size=len(document.content),
            content_base64=base64.b64encode(document.content).decode(),
        )


@strawberry.type(description="已出具的志愿服务证明")
class IssuedCertificate:
    number: str = strawberry.field(description="证明编号")
    digest: str = strawberry.field(description="内容摘要(SHA-256,十六进制)")
    position: int | None = strawberry.field(description="出具事件的通知编号")
    verify_url: str = strawberry.field(description="核验页地址(即二维码内容)")
    document: DocumentFile


@strawberry.type(description="成员的一份志愿服务证明")
class CertificateRecord:
    number: str
    period_start: date
    period_end: date
    services: int
    hours: Decimal
    points: Decimal
    digest: str
    issued_at: datetime
    position: int


IssueCertificateResult = Annotated[
    IssuedCertificate | Problems, strawberry.union("IssueCertificateResult")
]


class DocumentFailed(GraphQLError):
    def __init__(self, error: LedgerError) -> None:
        super().__init__(error.message, extensions={"code": error.code})


async def _loaded(reading: Awaitable[T]) -> T:
    """The data of a document, or the caller's mistake (a year out of range) as a coded error."""
    try:
        return await reading
    except LedgerError as error:
        raise DocumentFailed(error) from None


async def _made(render: Callable[..., Document], *args: Any) -> DocumentFile:
    """Make a document in a worker thread (it is CPU work)."""
    try:
        document = await anyio.to_thread.run_sync(render, *args)
    except LedgerError as error:  # no CJK font on the server
        raise DocumentFailed(error) from None
    return DocumentFile.of(document)


def _listing(listing: Listing, format: DocumentFormat) -> Document:
    return listing_pdf(listing) if format is DocumentFormat.PDF else listing_xlsx(listing)


async def _letters(
    info: Info,
    year: int,
    street_id: UUID | None,
    community_id: UUID | None,
    unit_id: UUID | None,
    what: str,
    render: Callable[..., Document],
) -> DocumentFile:
    """The annual letters (or the 喜报 drawn from them) of a street, community or unit."""
    ctx = info.context
    ctx.keep_answer = False
    ctx.require(_may_read_letters(ctx, community_id, unit_id), what)
    letters = await _loaded(
        load_letters(
            ctx.pool, year, street_id=street_id, community_id=community_id, unit_id=unit_id
        )
    )
    return await _made(render, letters)


def _may_read_letters(ctx: RequestContext, community_id: UUID | None, unit_id: UUID | None) -> bool:
    return (
        ctx.reads_everything()
        or ctx.scoped(Role.COMMUNITY, community_id)
        or ctx.scoped(Role.UNIT, unit_id)
    )


async def _member(ctx: RequestContext, member_id: UUID, what: str) -> Any:
    row = await queries.member_totals(ctx.pool, member_id)
    ctx.require(row is not None and ctx.role is not Role.KIOSK and ctx.reads_member(row), what)
    return row


@strawberry.type
class DocumentsQuery:
    @strawberry.field(
        description="评先评优证据材料(PDF 或 XLSX);审计人员看到脱敏姓名,其余有权者看到全名"
    )
    async def dossier_document(
        self, info: Info, member_id: UUID, year: int, format: DocumentFormat = DocumentFormat.PDF
    ) -> DocumentFile:
        ctx = info.context
        ctx.keep_answer = False
        await _member(ctx, member_id, "该成员的证据材料")
        full_name = reads_full_names(ctx.role)
        paper = await _loaded(load_dossier(ctx.pool, member_id, year, full_name=full_name))
        assert paper is not None  # the member exists: checked above
        return await _made(dossier_pdf if format is DocumentFormat.PDF else dossier_xlsx, paper)

    @strawberry.field(
        description="一个单位或一个社区已报到党员的评先评优证据材料,合为一份 PDF(每人另起一页):"
        "单位取本单位的,社区取本社区居民的,管理员与审计人员任取"
    )
    async def dossiers_document(
        self,
        info: Info,
        year: int,
        unit_id: UUID | None = None,
        community_id: UUID | None = None,
    ) -> DocumentFile:
        ctx = info.context
        ctx.keep_answer = False
        if unit_id is None and community_id is None:
            raise BadArgument("请指定单位(unitId)或社区(communityId)")
        ctx.require(
            ctx.reads_everything()
            or ctx.scoped(Role.UNIT, unit_id)
            or ctx.scoped(Role.COMMUNITY, community_id),
            "这些成员的证据材料",
        )
        papers = await _loaded(
            load_dossiers(
                ctx.pool,
                year,
                unit_id=unit_id,
                community_id=community_id,
                full_name=reads_full_names(ctx.role),
            )
        )
        return await _made(dossiers_pdf, papers, f"评先评优证据材料-{year}")

    @strawberry.field(
        description="年度评价函(PDF,每个社区×单位一函):社区出具本社区的,单位取致本单位的,"
        "管理员与审计人员可按街道批量生成"
    )
    async def annual_letters_document(
        self,
        info: Info,
        year: int,
        street_id: UUID | None = None,
        community_id: UUID | None = None,
        unit_id: UUID | None = None,
    ) -> DocumentFile:
        return await _letters(
            info, year, street_id, community_id, unit_id, "这些年度评价函", letters_pdf
        )

    @strawberry.field(description="喜报(PDF,每名评价为优秀的党员一页),范围同年度评价函")
    async def praise_letters_document(
        self,
        info: Info,
        year: int,
        street_id: UUID | None = None,
        community_id: UUID | None = None,
        unit_id: UUID | None = None,
    ) -> DocumentFile:
        return await _letters(info, year, street_id, community_id, unit_id, "这些喜报", praise_pdf)

    @strawberry.field(description="补打一份志愿服务证明(成员本人、其居住社区、管理员)")
    async def certificate_document(self, info: Info, number: str) -> DocumentFile:
        ctx = info.context
        ctx.keep_answer = False
        check: CertificateCheck = await ctx.write(ctx.ledger.check_certificate, number)
        statement = check.statement
        allowed = statement is not None and (
            ctx.runs_community(statement.community_id)
            or ctx.scoped(Role.MEMBER, statement.member_id)
        )
        ctx.require(allowed, "该证明")
        assert statement is not None
        if check.status is not CertificateStatus.GENUINE:
            raise GraphQLError(
                "该证明与账本记录不符,不能补打:" + ";".join(check.problems),
                extensions={"code": "CERTIFICATE_ALTERED"},
            )
        row = await queries.member_totals(ctx.pool, statement.member_id)
        name = row["name"] if row is not None else statement.name_masked
        return await _made(certificate_pdf, check, name, ctx.public_url)

    @strawberry.field(description="成员的志愿服务证明,新在前")
    async def certificates(
        self, info: Info, member_id: UUID, first: int = 50
    ) -> list[CertificateRecord]:
        ctx = info.context
        await _member(ctx, member_id, "该成员的证明")
        rows = await member_certificates(ctx.pool, member_id, first)
        return [
            CertificateRecord(**{f: r[f] for f in CertificateRecord.__annotations__}) for r in rows
        ]

    @strawberry.field(description="评先评优名单:单位排名前 N 名及各项指标(PDF 或 XLSX)")
    async def unit_ranking_document(
        self,
        info: Info,
        period: str,
        metric: queries.Metric = queries.Metric.COMPOSITE,
        community_id: UUID | None = None,
        first: int = 10,
        format: DocumentFormat = DocumentFormat.PDF,
    ) -> DocumentFile:
        ctx = info.context
        ctx.keep_answer = False
        ctx.require(ctx.reads_unit_ranking(community_id), "该范围的单位排名")
        try:
            listing = await unit_ranking_listing(
                ctx.pool,
                period,
                metric=metric,
                community_id=community_id,
                first=first,
            )
        except ValueError:
            raise BadArgument(f"期间 {period} 格式不对,应如 2026、2026-Q2、2026-05") from None
        return await _made(_listing, listing, format)

    @strawberry.field(
        description="评先评优名单:成员排名前 N 名(某街道、某社区的居民或某单位的成员;"
        "PDF 或 XLSX);可读范围同 memberRanking,审计看到脱敏姓名"
    )
    async def member_ranking_document(
        self,
        info: Info,
        period: str,
        metric: queries.MemberMetric = queries.MemberMetric.COMPOSITE,
        street_id: UUID | None = None,
        community_id: UUID | None = None,
        unit_id: UUID | None = None,
        first: int = 10,
        format: DocumentFormat = DocumentFormat.PDF,
    ) -> DocumentFile:
        ctx = info.context
        ctx.keep_answer = False
        require_member_ranking(ctx, street_id, community_id, unit_id)
        try:
            listing = await member_ranking_listing(
                ctx.pool,
                period,
                metric=metric,
                street_id=street_id,
                community_id=community_id,
                unit_id=unit_id,
                first=first,
                full_names=reads_full_names(ctx.role),
            )
        except ValueError:
            raise BadArgument(f"期间 {period} 格式不对,应如 2026、2026-Q2、2026-05") from None
        return await _made(_listing, listing, format)

    @strawberry.field(description="十佳实事项目候选名单:社区按所选依据排序的服务项目(PDF 或 XLSX)")
    async def best_projects_document(
        self,
        info: Info,
        community_id: UUID,
        year: int,
        measure: ProjectMeasure = ProjectMeasure.POINTS,
        first: int = 10,
        format: DocumentFormat = DocumentFormat.PDF,
    ) -> DocumentFile:
        ctx = info.context
        ctx.keep_answer = False
        ctx.require(ctx.reads_community(community_id), "该社区的服务项目")
        listing = await _loaded(
            projects_listing(ctx.pool, community_id, year, measure=measure, first=first)
        )
        return await _made(_listing, listing, format)

    @strawberry.field(description="未达到年度服务下限的党员名单,用于约谈提醒(PDF 或 XLSX)")
    async def below_floor_document(
        self,
        info: Info,
        year: int,
        community_id: UUID | None = None,
        unit_id: UUID | None = None,
        format: DocumentFormat = DocumentFormat.PDF,
    ) -> DocumentFile:
        ctx = info.context
        ctx.keep_answer = False
        ctx.require(
            ctx.reads_everything()
            or (community_id is not None and ctx.scoped(Role.COMMUNITY, community_id))
            or (unit_id is not None and ctx.scoped(Role.UNIT, unit_id)),
            "这些成员",
        )
        listing = await _loaded(
            below_floor_listing(ctx.pool, year, community_id=community_id, unit_id=unit_id)
        )
        return await _made(_listing, listing, format)


@strawberry.type
class DocumentsMutation:
    @strawberry.mutation(
        description="出具志愿服务证明(成员本人、其居住社区、管理员):期间内已评价且未撤销的服务;"
        "证明以事件记入账本,二维码指向公开核验页"
    )
    async def issue_certificate(
        self,
        info: Info,
        member_id: UUID,
        start: date,
        end: date,
        wait_for: int | None = None,
        key: Key = None,
    ) -> IssueCertificateResult:
        ctx = info.context
        row = await queries.member_totals(ctx.pool, member_id)
        allowed = row is not None and (
            ctx.runs_community(row["community_id"]) or ctx.scoped(Role.MEMBER, member_id)
        )
        if ctx.principal is None or not allowed:
            return forbidden("为该成员出具证明")
        await ctx.wait_for(wait_for)
        assert row is not None
        try:
            positions = await certifiable_positions(ctx.pool, member_id, start, end)
            ledger = ctx.ledger

            def issue_certificate(member: UUID, first: date, last: date, ctx: Actor) -> Receipt:
                # The key's request is the member and the period, not what the read side
                # found: a retry after another service was rated is the same request.
                return ledger.issue_certificate(member, first, last, positions, ctx)

            done = await ctx.write(
                ctx.ledger.keyed,
                ctx.principal.key_scope,
                key,
                issue_certificate,
                member_id,
                start,
                end,
                ctx=ctx.actor(),
            )
            # Fresh or replayed, the receipt names the Issued event itself.
            issued = await ctx.write(ctx.ledger.issued_certificate, done.id)
            check = await ctx.write(ctx.ledger.check_certificate, issued.number)
        except LedgerError as error:
            return refusal(ctx, error, "为该成员出具证明")
        assert check.statement is not None
        document = await _made(certificate_pdf, check, row["name"], ctx.public_url)
        return IssuedCertificate(
            number=issued.number,
            digest=issued.digest,
            position=issued.position,
            verify_url=verify_url(ctx.public_url, check.statement),
            document=document,
        )
