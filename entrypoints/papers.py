"""``ledger documents``: the printable documents from the command line — a member's
dossier, a street's annual letters and 喜报 in bulk, a service certificate (issued as an
event), its check, and the lists of a 评先评优 round."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from audit import anchor, anchored_check
from documents import Document
from documents.certificate import PAPER_UNCHECKED, certificate_pdf, verify_url
from documents.dossier import dossier_pdf, dossier_xlsx, dossiers_pdf, load_dossier, load_dossiers
from documents.letters import letters_pdf, load_letters, praise_pdf
from documents.lists import Listing, listing_pdf, listing_xlsx
from documents.rounds import (
    below_floor_listing,
    member_ranking_listing,
    projects_listing,
    unit_ranking_listing,
)
from entrypoints.bootstrap import Services, bootstrap
from ledger.database import as_uri
from ledger.domain.certificate import CertificateStatus
from ledger.domain.errors import LedgerError
from ledger.domain.values import Context
from ledger.settings import Settings
from projections.queries import METRICS, MemberMetric, Metric
from projections.queries.documents import ProjectMeasure, certifiable_positions
from projections.queries.members import member_totals
from projections.tree import pinned_verifier

T = TypeVar("T")


def _read(services: Services, query: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Bring the read models up to date, then run ``query`` on a connection."""
    services.read_side.open()
    services.read_side.catch_up()

    async def run() -> T:
        conn = await asyncpg.connect(as_uri(services.url))
        try:
            return await query(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def _write(document: Document, output: str) -> None:
    Path(output).write_bytes(document.content)
    print(f"已生成 {output}({len(document.content)} 字节)")


def _with_services(
    work: Callable[[Services, argparse.Namespace], int],
) -> Callable[[Settings, argparse.Namespace], int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        with bootstrap(settings) as services:
            try:
                return work(services, args)
            except LedgerError as error:  # a missing CJK font, an invalid period, …
                print(error.message, file=sys.stderr)
                return 2

    return run


def _dossier(services: Services, args: argparse.Namespace) -> int:
    if (args.member is None) == (args.unit is None and args.community is None):
        print("请指定 --member,或 --unit / --community(批量)之一", file=sys.stderr)
        return 2
    if args.member is None:
        papers = _read(
            services,
            lambda c: load_dossiers(
                c, args.year, unit_id=args.unit, community_id=args.community, full_name=True
            ),
        )
        _write(dossiers_pdf(papers, f"评先评优证据材料-{args.year}"), args.output)
        print(f"证据材料 {len(papers)} 份")
        return 0
    paper = _read(services, lambda c: load_dossier(c, args.member, args.year, full_name=True))
    if paper is None:
        print(f"找不到成员 {args.member}", file=sys.stderr)
        return 2
    output = args.output
    _write(dossier_xlsx(paper) if output.endswith(".xlsx") else dossier_pdf(paper), output)
    return 0


def _letters(services: Services, args: argparse.Namespace) -> int:
    letters = _read(
        services,
        lambda c: load_letters(
            c, args.year, street_id=args.street, community_id=args.community, unit_id=args.unit
        ),
    )
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    _write(letters_pdf(letters), str(folder / f"年度评价函-{args.year}.pdf"))
    _write(praise_pdf(letters), str(folder / f"喜报-{args.year}.pdf"))
    praised = sum(len(letter.outstanding) for letter in letters)
    print(f"年度评价函 {len(letters)} 份(社区×单位),喜报 {praised} 份")
    return 0


PUBLIC_URL_UNSET = (
    "未设置 LEDGER_PUBLIC_URL(公开核验页的地址),证明上的二维码将无处可扫:"
    "请设为服务器对外的地址(如 https://ledger.example.cn)后重试。未出具证明。"
)


def _certificate(services: Services, args: argparse.Namespace) -> int:
    # The command does not know where the server is reached, and a certificate issued is
    # an event for good: without the address its QR code would point nowhere useful.
    public_url = services.settings.public_url
    if public_url is None:
        print(PUBLIC_URL_UNSET, file=sys.stderr)
        return 2
    positions = _read(
        services, lambda c: certifiable_positions(c, args.member, args.start, args.end)
    )
    ledger = services.ledger
    issued = ledger.issue_certificate(
        args.member, args.start, args.end, positions, Context.system("documents")
    )
    check = ledger.check_certificate(issued.number)
    row = _read(services, lambda c: member_totals(c, args.member))
    assert check.statement is not None and row is not None
    _write(certificate_pdf(check, row["name"], public_url), args.output)
    print(f"证明编号 {issued.number},核验地址 {verify_url(public_url, check.statement)}")
    return 0


def _verify(services: Services, args: argparse.Namespace) -> int:
    check = services.ledger.check_certificate(args.number)
    anchored = None
    if check.statement is not None and check.issued_position is not None:
        events = [check.issued_position, *check.statement.positions]
        anchored = anchor(services.ledger, events, pinned_verifier(services.settings))
        check = anchored_check(check, anchored)
    print(f"{check.number}:{check.status.value}")
    if check.status is CertificateStatus.GENUINE:
        print(f"  {PAPER_UNCHECKED.replace('下表', '以下内容')}")
    for problem in check.problems:
        print(f"  - {problem}")
    if check.statement is not None:
        f = check.statement.figures
        print(
            f"  {check.statement.name_masked},{check.statement.start} 至 {check.statement.end},"
            f"{f.services} 次,{f.hours} 小时,{f.points} 分"
        )
    if anchored is not None:
        point = anchored.checkpoint
        size = "无" if point is None else f"{point.origin},树大小 {point.size}"
        print(
            f"  透明日志(检查点 {size}):已证明 {len(anchored.proven)} 个事件,"
            f"待下一检查点收录 {len(anchored.pending)} 个,不符 {len(anchored.failed)} 个"
        )
    return 0 if check.status is CertificateStatus.GENUINE else 1


def _list(services: Services, args: argparse.Namespace) -> int:
    make: Callable[[asyncpg.Connection], Awaitable[Listing]]
    if args.kind == "ranking":
        if args.period is None:
            print("单位排名需要 --period(如 2026、2026-Q2、2026-05)", file=sys.stderr)
            return 2

        def make(c: asyncpg.Connection) -> Awaitable[Listing]:
            return unit_ranking_listing(
                c,
                args.period,
                metric=Metric(args.metric),
                community_id=args.community,
                first=args.first,
            )
    elif args.kind == "members":
        if args.period is None:
            print("成员排名需要 --period(如 2026、2026-Q2、2026-05)", file=sys.stderr)
            return 2

        def make(c: asyncpg.Connection) -> Awaitable[Listing]:
            return member_ranking_listing(
                c,
                args.period,
                metric=MemberMetric(args.member_metric),
                street_id=args.street,
                community_id=args.community,
                unit_id=args.unit,
                first=args.first,
            )
    elif args.kind == "projects":
        if args.community is None or args.year is None:
            print("十佳实事项目需要 --community 和 --year", file=sys.stderr)
            return 2

        def make(c: asyncpg.Connection) -> Awaitable[Listing]:
            return projects_listing(
                c,
                args.community,
                args.year,
                measure=ProjectMeasure(args.measure),
                first=args.first,
            )
    else:
        if args.year is None:
            print("未达下限名单需要 --year", file=sys.stderr)
            return 2

        def make(c: asyncpg.Connection) -> Awaitable[Listing]:
            return below_floor_listing(c, args.year, community_id=args.community, unit_id=args.unit)

    try:
        listing = _read(services, make)
    except ValueError:
        print(f"期间 {args.period} 格式不对,应如 2026、2026-Q2、2026-05", file=sys.stderr)
        return 2
    output = args.output
    _write(listing_xlsx(listing) if output.endswith(".xlsx") else listing_pdf(listing), output)
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期 {text} 格式不对,应如 2026-01-01") from None


def add(commands: Any) -> None:
    group = commands.add_parser("documents", help="文档:证据材料、评价函、喜报、证明、名单(A4)")
    sub = group.add_subparsers(dest="documents_command", required=True)

    dossier = sub.add_parser(
        "dossier", help="一名成员(或一个单位、社区的已报到党员)一年的评先评优证据材料"
    )
    dossier.add_argument("--member", type=UUID)
    dossier.add_argument("--unit", type=UUID, help="该单位已报到的党员,合为一份 PDF")
    dossier.add_argument("--community", type=UUID, help="该社区已报到的党员,合为一份 PDF")
    dossier.add_argument("--year", type=int, required=True)
    dossier.add_argument("output", help="输出文件:.pdf 或 .xlsx(单人)")
    dossier.set_defaults(run=_with_services(_dossier))

    letters = sub.add_parser("letters", help="年度评价函(每个社区×单位一函)与喜报,可按街道批量")
    letters.add_argument("--year", type=int, required=True)
    letters.add_argument("--street", type=UUID, help="街道编号(全街道批量)")
    letters.add_argument("--community", type=UUID, help="只出该社区的")
    letters.add_argument("--unit", type=UUID, help="只出致该单位的")
    letters.add_argument("output", help="输出目录:年度评价函-<年>.pdf 与 喜报-<年>.pdf")
    letters.set_defaults(run=_with_services(_letters))

    certificate = sub.add_parser("certificate", help="出具志愿服务证明(记入账本)")
    certificate.add_argument("--member", type=UUID, required=True)
    certificate.add_argument("--start", type=_day, required=True, help="如 2026-01-01")
    certificate.add_argument("--end", type=_day, required=True, help="如 2026-12-31")
    certificate.add_argument("output", help="输出的 PDF 文件")
    certificate.set_defaults(run=_with_services(_certificate))

    verify = sub.add_parser("verify", help="按编号核验一份志愿服务证明")
    verify.add_argument("number")
    verify.set_defaults(run=_with_services(_verify))

    listing = sub.add_parser("list", help="评先评优名单:单位排名、成员排名、十佳实事项目、未达下限")
    listing.add_argument("kind", choices=("ranking", "members", "projects", "below-floor"))
    listing.add_argument("--period", help="排名的期间:2026、2026-Q2、2026-05")
    listing.add_argument(
        "--member-metric",
        choices=[m.value for m in MemberMetric],
        default=MemberMetric.COMPOSITE.value,
        help="成员排名的依据",
    )
    listing.add_argument("--street", type=UUID)
    listing.add_argument("--year", type=int)
    listing.add_argument("--metric", choices=METRICS, default=Metric.COMPOSITE.value)
    listing.add_argument("--measure", choices=[m.value for m in ProjectMeasure], default="points")
    listing.add_argument("--community", type=UUID)
    listing.add_argument("--unit", type=UUID)
    listing.add_argument("--first", type=int, default=10, help="取前 N 名(至多 100)")
    listing.add_argument("output", help="输出文件:.pdf 或 .xlsx")
    listing.set_defaults(run=_with_services(_list))
