"""年度评价函 (a community's annual letter to a unit about the unit's reported party
members living there) and 喜报 (a letter of praise for each member graded 优秀).

Letters are made one per community × unit × year; a street's letters in bulk come as one
PDF, each letter starting on a new page, every page's footer naming its own letter, in
the order of community and unit names (第2社区 before 第10社区), and the 喜报 as a second
PDF in the same order, each naming its member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from documents import PDF, Document, file_name
from documents.labels import grade
from documents.pdf import Sheet, chinese_date, day, figure
from ledger.domain import values
from ledger.domain.text import natural_key
from ledger.domain.values import CST, Grade
from projections.queries.documents import letter_members, street_of, street_pairs
from projections.queries.members import member_years

HEADINGS = (
    "序号",
    "姓名",
    "报到日期",
    "服务次数",
    "时长(小时)",
    "积分",
    "年度下限",
    "评价等级",
    "评语",
    "事件编号",
)
WIDTHS = (10, 17, 20, 12, 14, 12, 15, 15, 43, 16)
NOTE = (
    "“事件编号”为社区作出年度评价的账本事件通知编号;时长与积分为该年度已评价且未撤销的服务合计,"
    "逐项明细见各党员的评先评优证据材料。透明日志的默克尔包含证明尚未附于本函。"
)


@dataclass(frozen=True)
class LetterMember:
    member_id: UUID
    name: str
    reported_on: date | None
    services: int
    hours: Decimal
    points: Decimal
    meets_floor: bool
    floor_hours: Decimal
    grade: str | None
    comment: str | None
    review_position: int | None


@dataclass(frozen=True)
class Letter:
    year: int
    community_id: UUID
    community: str
    unit_id: UUID
    unit: str
    members: list[LetterMember]
    made_on: date

    @property
    def outstanding(self) -> list[LetterMember]:
        return [m for m in self.members if m.grade == Grade.OUTSTANDING.name]

    @property
    def footer(self) -> str:
        return f"年度评价函 · {self.community} 致 {self.unit} · {self.year} 年"

    def praise_footer(self, member: LetterMember) -> str:
        return f"喜报 · {member.name} · {self.community} 致 {self.unit} · {self.year} 年"


async def load_letters(
    conn: asyncpg.Connection,
    year: int,
    *,
    street_id: UUID | None = None,
    community_id: UUID | None = None,
    unit_id: UUID | None = None,
) -> list[Letter]:
    """The letters of a street (None: every street), narrowed to one community and/or one
    unit: one per community × unit with a reported member."""
    year = values.year(year)
    if (
        street_id is not None
        and community_id is not None
        and await street_of(conn, community_id) != street_id
    ):
        return []
    made_on = datetime.now(UTC).astimezone(CST).date()
    letters = []
    pairs = sorted(
        await street_pairs(conn, street_id, community_id=community_id, unit_id=unit_id),
        key=lambda p: (natural_key(p["community"]), p["community_id"], natural_key(p["unit"])),
    )
    for pair in pairs:
        rows = await letter_members(conn, pair["community_id"], pair["unit_id"], year)
        years = await member_years(conn, [(r["member_id"], year) for r in rows])
        members = [
            LetterMember(
                member_id=r["member_id"],
                name=r["name"],
                reported_on=r["reported_on"],
                services=r["services"],
                hours=r["hours"],
                points=r["points"],
                meets_floor=y["meets_floor"],
                floor_hours=y["annual_floor_hours"],
                grade=r["grade"],
                comment=r["comment"],
                review_position=r["review_position"],
            )
            for r, y in zip(rows, years, strict=True)
        ]
        letters.append(
            Letter(
                year,
                pair["community_id"],
                pair["community"],
                pair["unit_id"],
                pair["unit"],
                members,
                made_on,
            )
        )
    return letters


def _letter_pages(sheet: Sheet, letter: Letter) -> None:
    sheet.begin(letter.footer)
    sheet.heading(f"{letter.year} 年度在职党员社区服务评价函", size=18)
    sheet.paragraph(f"{letter.unit}党组织:", size=12)
    sheet.ln(1)
    floor = letter.members[0].floor_hours if letter.members else Decimal(0)
    sheet.paragraph(
        f"根据在职党员到社区报到服务(“双报到”)工作要求,现将贵单位在职党员 {letter.year} 年度"
        f"在{letter.community}报到服务情况及社区党组织年度评价结果函告如下"
        f"(共 {len(letter.members)} 人;年度服务下限 {figure(floor)} 小时):",
        size=11,
        indent=True,
    )
    sheet.ln(2)
    rows = [
        (
            str(n),
            m.name,
            day(m.reported_on),
            str(m.services),
            figure(m.hours),
            figure(m.points),
            "达到" if m.meets_floor else "未达到",
            grade(m.grade),
            m.comment or "—",
            "—" if m.review_position is None else str(m.review_position),
        )
        for n, m in enumerate(letter.members, start=1)
    ]
    sheet.grid(HEADINGS, rows, WIDTHS, size=9)
    sheet.paragraph(
        "以上情况请作为党员评先评优、年度考核和选拔任用的重要依据。如有疑问,请与本社区党组织联系,"
        "或凭事件编号在账本中查询核实。",
        size=11,
        indent=True,
    )
    sheet.seal(f"{letter.community}党组织", letter.made_on)
    sheet.note(NOTE)


def letters_pdf(letters: list[Letter]) -> Document:
    """All ``letters`` in one PDF, each on its own pages."""
    sheet = Sheet()
    for letter in letters:
        _letter_pages(sheet, letter)
    if not letters:
        sheet.begin("年度评价函")
        sheet.paragraph("没有需要出具的年度评价函(无已报到的在职党员)。")
    return Document(_name("年度评价函", letters), PDF, sheet.pdf_bytes())


def _praise_page(sheet: Sheet, letter: Letter, member: LetterMember) -> None:
    sheet.begin(letter.praise_footer(member))
    sheet.ln(10)
    sheet.heading("喜  报", size=40, color=(183, 28, 28))
    sheet.ln(8)
    sheet.paragraph(f"{letter.unit}党组织:", size=14)
    sheet.ln(3)
    comment = f"社区评语:“{member.comment}”。" if member.comment else ""
    sheet.paragraph(
        f"贵单位在职党员 {member.name} 同志 {letter.year} 年度到{letter.community}报到服务,"
        f"累计参加志愿服务 {member.services} 次、{figure(member.hours)} 小时,获得服务积分 "
        f"{figure(member.points)} 分,经社区党组织年度评价为“优秀”。{comment}",
        size=14,
        indent=True,
    )
    sheet.ln(2)
    sheet.paragraph("特此报喜,建议贵单位予以表扬,并作为评先评优的重要依据。", size=14, indent=True)
    sheet.seal(f"{letter.community}党组织", letter.made_on)
    sheet.note(
        f"年度评价事件编号 {member.review_position};出具日期 {chinese_date(letter.made_on)}。"
    )


def praise_pdf(letters: list[Letter]) -> Document:
    """A 喜报 for every member graded 优秀 in ``letters``, one page each."""
    sheet = Sheet()
    for letter in letters:
        for member in letter.outstanding:
            _praise_page(sheet, letter, member)
    if sheet.page_no() == 0:
        sheet.begin("喜报")
        sheet.paragraph("本年度没有评价为“优秀”的党员。")
    return Document(_name("喜报", letters), PDF, sheet.pdf_bytes())


def _name(kind: str, letters: list[Letter]) -> str:
    if len(letters) == 1:
        only = letters[0]
        return file_name(kind, only.year, only.community, only.unit, extension="pdf")
    return file_name(kind, *[letter.year for letter in letters[:1]], extension="pdf")
