"""评先评优 evidence dossier: a member's year, every service with the event behind it,
corrections and reversals, the annual review, standing in unit and community, and the
annual floor — as an A4 PDF and as an XLSX workbook with the same figures."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
from openpyxl import Workbook

from documents import PDF, XLSX, Document, file_name
from documents.labels import actor, grade, kind, member_tag, rating
from documents.pdf import Sheet, day, figure
from ledger.domain import values
from ledger.domain.text import natural_key
from ledger.domain.values import MemberKind
from projections import queries
from projections.queries.dossiers import Standing
from projections.queries.members import every_member, member_totals, member_years

SERVICE_HEADINGS = (
    "日期",
    "服务任务",
    "类别",
    "服务社区",
    "时长(小时)",
    "评价",
    "积分",
    "确认人",
    "评价人",
    "规则版本",
    "事件编号",
    "状态",
)
WIDTHS = (17, 21, 15, 15, 10, 9, 9, 20, 20, 8, 12, 18)
"""mm; 确认人 and 评价人 hold a role's name (社区工作人员) on one line."""
PROOF_NOTE = (
    "“事件编号”是账本为每个事件编排的通知编号(不可改写,按记录顺序递增),"
    "审计人员可凭此在账本的审计记录中查到记录该服务评价或撤销的原始事件。"
    "透明日志的默克尔包含证明尚未附于本材料。"
)


@dataclass(frozen=True)
class DossierPaper:
    """What the dossier prints: the read models' dossier, the name as the reader may
    see it, the year against the annual floor, and when it was made."""

    dossier: queries.Dossier
    name: str
    floor_hours: Decimal
    meets_floor: bool
    made_at: datetime

    def filename(self, extension: str) -> str:
        """By the member's name as printed and a short tag of the member (two people of
        one name get two files)."""
        d = self.dossier
        return file_name(
            "评先评优证据材料", d.year, self.name, member_tag(d.member_id), extension=extension
        )

    @property
    def footer(self) -> str:
        d = self.dossier
        where = " · ".join(filter(None, (d.unit, d.community)))
        return f"评先评优证据材料 · {self.name} · {where} · {d.year} 年"


async def load_dossier(
    conn: asyncpg.Connection, member_id: UUID, year: int, *, full_name: bool
) -> DossierPaper | None:
    """The dossier of ``member_id`` for ``year`` (None for an unknown member); the full
    name only when ``full_name``, else the masked one."""
    found = await queries.dossier(conn, member_id, values.year(year))
    if found is None:
        return None
    totals = await member_totals(conn, member_id)
    (year_row,) = await member_years(conn, [(member_id, year)])
    return DossierPaper(
        dossier=found,
        name=totals["name"] if full_name and totals is not None else found.name_masked,
        floor_hours=year_row["annual_floor_hours"],
        meets_floor=year_row["meets_floor"],
        made_at=datetime.now(UTC),
    )


async def load_dossiers(
    conn: asyncpg.Connection,
    year: int,
    *,
    unit_id: UUID | None = None,
    community_id: UUID | None = None,
    full_name: bool,
) -> list[DossierPaper]:
    """The dossiers of the reported party members of a unit or of a community (both:
    of the unit's members living in the community), in the order of their names."""
    year = values.year(year)
    papers = []
    party = MemberKind.PARTY_MEMBER
    for member in await every_member(conn, community_id=community_id, unit_id=unit_id, kind=party):
        if member["reported_on"] is not None:
            paper = await load_dossier(conn, member["member_id"], year, full_name=full_name)
            if paper is not None:
                papers.append(paper)
    return sorted(papers, key=lambda p: (natural_key(p.name), p.dossier.member_id))


def _standing(standing: Standing | None) -> str:
    if standing is None:
        return "—"
    return f"第 {standing.rank} 名 / 共 {standing.size} 人(百分位 {figure(standing.percentile)})"


def _status(service: asyncpg.Record) -> str:
    if service["reversed_position"] is None:
        return "有效"
    return f"已撤销(事件 {service['reversed_position']}):{service['reversal_reason']}"


def service_rows(paper: DossierPaper) -> list[tuple[str, ...]]:
    return [
        (
            day(s["day"]),
            s["task"],
            s["category"],
            s["community"] or "—",
            figure(s["hours"]),
            rating(s["rating"]),
            figure(s["points"]),
            actor(s["confirmed_role"]),
            actor(s["rated_role"]),
            str(s["policy_version"]),
            str(s["rated_position"]),
            _status(s),
        )
        for s in paper.dossier.services
    ]


def summary(paper: DossierPaper) -> list[tuple[str, str]]:
    d = paper.dossier
    review = d.review
    floor = "已达到" if paper.meets_floor else "未达到"
    return [
        ("姓名", paper.name),
        ("类别", kind(d.kind)),
        ("工作单位", d.unit or "—"),
        ("居住社区", d.community or "—"),
        ("双报到日期", day(d.reported_on)),
        ("年度", f"{d.year} 年"),
        ("有效服务时长", f"{figure(d.hours)} 小时"),
        ("有效服务积分", f"{figure(d.points)} 分"),
        ("年度服务下限", f"{figure(paper.floor_hours)} 小时({floor})"),
        ("服务次数", f"{sum(1 for s in d.services if s['reversed_position'] is None)} 次"),
        ("单位内排名", _standing(d.in_unit)),
        ("社区内排名", _standing(d.in_community)),
        ("年度评价", grade(review["grade"]) if review else "未评价"),
        ("评价事件编号", str(review["position"]) if review else "—"),
    ]


def dossier_pdf(paper: DossierPaper) -> Document:
    sheet = Sheet()
    _dossier_pages(sheet, paper)
    return Document(paper.filename("pdf"), PDF, sheet.pdf_bytes())


def dossiers_pdf(papers: list[DossierPaper], filename: str) -> Document:
    """Many dossiers in one PDF (a unit's or a community's round), each on its own pages."""
    sheet = Sheet()
    for paper in papers:
        _dossier_pages(sheet, paper)
    if not papers:
        sheet.begin("评先评优证据材料")
        sheet.paragraph("没有符合条件的成员。")
    return Document(file_name(filename, extension="pdf"), PDF, sheet.pdf_bytes())


def _dossier_pages(sheet: Sheet, paper: DossierPaper) -> None:
    d = paper.dossier
    sheet.begin(paper.footer)
    sheet.heading("评先评优证据材料")
    sheet.paragraph(f"生成时间:{day(paper.made_at)}(北京时间)", size=9)
    sheet.ln(2)
    sheet.subtitle("一、基本情况")
    sheet.fields(summary(paper))
    sheet.subtitle("二、服务纪实(一事一评)")
    if d.services:
        sheet.grid(SERVICE_HEADINGS, service_rows(paper), WIDTHS)
    else:
        sheet.paragraph("本年度没有已评价的服务记录。")
    reversed_ = [s for s in d.services if s["reversed_position"] is not None]
    sheet.subtitle("三、更正与撤销")
    if reversed_:
        for s in reversed_:
            sheet.paragraph(
                f"{day(s['day'])} {s['task']}:原积分 {figure(s['points'])}、时长 "
                f"{figure(s['hours'])} 小时已撤销(事件 {s['reversed_position']}),"
                f"原因:{s['reversal_reason']}。已从上列合计中扣除。",
                size=10,
            )
    else:
        sheet.paragraph("无。", size=10)
    sheet.subtitle("四、年度评价")
    if d.review:
        sheet.paragraph(
            f"等级:{grade(d.review['grade'])}(评价人 {actor(d.review['reviewed_role'])},"
            f"事件 {d.review['position']})",
            size=10,
        )
        sheet.paragraph(f"评语:{d.review['comment'] or '无'}", size=10)
    else:
        sheet.paragraph("本年度尚未评价。", size=10)
    sheet.ln(3)
    sheet.note(PROOF_NOTE)


def dossier_xlsx(paper: DossierPaper) -> Document:
    """Two sheets: 概况 (label, value) and 服务纪实 (one row per service; hours, points,
    policy version and event ids as numbers)."""
    book = Workbook()
    overview = book.active
    overview.title = "概况"
    overview.append(("评先评优证据材料", ""))
    for label, value in summary(paper):
        overview.append((label, value))
    overview.append(("有效服务时长(小时)", paper.dossier.hours))
    overview.append(("有效服务积分", paper.dossier.points))
    overview.append(("说明", PROOF_NOTE))
    overview.column_dimensions["A"].width = 20
    overview.column_dimensions["B"].width = 60
    services = book.create_sheet("服务纪实")
    services.append(SERVICE_HEADINGS)
    for s in paper.dossier.services:
        services.append(
            (
                s["day"],
                s["task"],
                s["category"],
                s["community"],
                s["hours"],
                rating(s["rating"]),
                s["points"],
                actor(s["confirmed_role"]),
                actor(s["rated_role"]),
                s["policy_version"],
                s["rated_position"],
                _status(s),
            )
        )
    for column, width in zip("ABCDEFGHIJKL", WIDTHS, strict=True):
        services.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return Document(paper.filename("xlsx"), XLSX, buffer.getvalue())
