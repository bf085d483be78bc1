"""志愿服务证明 on A4: what the certificate states (as recorded in its ``Certificate.Issued``
event), the number, seal fields, and a QR code of the public verification page's address
with the certificate's content digest."""

from __future__ import annotations

import io
from urllib.parse import quote

import segno
from fpdf.enums import Align, XPos, YPos

from documents import PDF, Document, file_name
from documents.labels import CLASS_NAMES
from documents.pdf import FONT, MARGIN, Sheet, chinese_date, figure
from ledger.domain.certificate import CertificateCheck, Statement
from ledger.domain.values import CST, CategoryClass

QR_SIZE = 38.0  # mm


def verify_url(public_url: str, statement: Statement) -> str:
    """The QR code's content: the verification page of the number, with the digest the
    certificate commits to (the page refuses a digest other than the recorded one)."""
    return f"{public_url.rstrip('/')}/verify/{quote(statement.number)}?d={statement.digest()}"


def served_in(statement: Statement) -> str:
    """Where the services were, as the certificate states them: the one community, or
    every community with its count ("第6社区(2 次)、第7社区(1 次)共 2 个社区"); empty
    for a certificate issued before the places were stated."""
    places = statement.places
    if len(places) == 1:
        return places[0].community
    listed = "、".join(f"{p.community}({p.services} 次)" for p in places)
    return f"{listed}共 {len(places)} 个社区" if places else ""


def by_class(statement: Statement) -> list[tuple[str, str]]:
    f = statement.figures
    hours = {
        CategoryClass.ROUTINE: f.routine_hours,
        CategoryClass.SKILLED: f.skilled_hours,
        CategoryClass.HARD: f.hard_hours,
    }
    return [(CLASS_NAMES[k], f"{figure(v)} 小时") for k, v in hours.items()]


def certificate_pdf(check: CertificateCheck, name: str, public_url: str) -> Document:
    """The certificate of a checked, genuine ``check``; ``name`` is the holder's name as
    printed (the certificate is the holder's own paper)."""
    statement = check.statement
    assert statement is not None and check.issued_at is not None
    f = statement.figures
    sheet = Sheet()
    sheet.begin(f"志愿服务证明 · {name} · 编号 {statement.number}")
    sheet.ln(6)
    sheet.heading("志愿服务证明", size=28)
    sheet.set_font(FONT, size=11)
    sheet.cell(
        0, 8, f"证明编号:{statement.number}", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    sheet.ln(6)
    parts = ",".join(f"{label} {value}" for label, value in by_class(statement))
    where = served_in(statement)
    sheet.paragraph(
        f"兹证明 {name} 同志于 {chinese_date(statement.start)} 至 {chinese_date(statement.end)}"
        f"期间,{'在' + where if where else ''}参加志愿服务 {f.services} 次,累计服务时长 "
        f"{figure(f.hours)} 小时,获得服务积分 {figure(f.points)} 分。其中{parts}。",
        size=14,
        indent=True,
    )
    sheet.ln(2)
    sheet.paragraph(
        "以上服务均经社区“一事一评”确认,时长与积分按账本记录的规则计算。", size=14, indent=True
    )
    sheet.paragraph("特此证明。", size=14, indent=True)
    issued_on = check.issued_at.astimezone(CST).date()
    sheet.seal(f"{statement.community}党组织", issued_on)
    top = sheet.get_y() + 4
    url = verify_url(public_url, statement)
    png = io.BytesIO()
    segno.make(url, error="m").save(png, kind="png", scale=8, border=2)
    sheet.image(png, x=MARGIN, y=top, w=QR_SIZE, h=QR_SIZE)
    sheet.set_xy(MARGIN + QR_SIZE + 5, top + 2)
    sheet.set_font(FONT, size=9)
    lines = (
        "扫描二维码,或在核验页输入证明编号,即可核验本证明:",
        url,
        f"内容摘要(SHA-256):{statement.digest()}",
        f"账本事件编号:{check.issued_position}(出具);"
        f"依据 {len(statement.positions)} 个服务评价事件",
        "核验页依账本事件重新计算所列数字,并以签名检查点的默克尔包含证明核验这些事件。",
    )
    for line in lines:
        sheet.set_x(MARGIN + QR_SIZE + 5)
        sheet.multi_cell(
            sheet.epw - QR_SIZE - 5, 4.6, line, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    return Document(
        file_name("志愿服务证明", statement.number, extension="pdf"), PDF, sheet.pdf_bytes()
    )


PAPER_UNCHECKED = (
    "账本中有此证明,且与账本记录一致;但本次核验没有二维码中的内容摘要,"
    "无法确认您手中纸面证明上的内容未被改动:请逐项对照下表,或扫描证明上的二维码核验。"
)
"""What a check by number alone says: the ledger's side holds, the paper's was not compared."""
