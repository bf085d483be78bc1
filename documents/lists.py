"""The lists of a 评先评优 round (unit rankings, 十佳实事项目, members below the annual
floor), each as an A4 PDF and as an XLSX with the same rows. A list is described once
(``Listing``) and written both ways."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from documents import PDF, XLSX, Document, file_name
from documents.pdf import Sheet, day, figure

Cell = str | int | Decimal | date | None


@dataclass(frozen=True)
class Listing:
    title: str
    lines: list[str]  # what the list is of: period, scope, measure
    headings: Sequence[str]
    widths: Sequence[float]  # mm on A4 landscape
    rows: list[tuple[Cell, ...]]
    note: str
    filename: str
    made_at: datetime


def _text(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal | int):
        return figure(value)
    if isinstance(value, date):
        return day(value)
    return value


def listing_pdf(listing: Listing) -> Document:
    sheet = Sheet()
    sheet.begin(f"{listing.title} · 生成于 {day(listing.made_at)}")
    sheet.heading(listing.title, size=18)
    for line in listing.lines:
        sheet.paragraph(line, size=10)
    sheet.ln(2)
    if listing.rows:
        rows = [tuple(_text(v) for v in row) for row in listing.rows]
        sheet.grid(listing.headings, rows, listing.widths, size=8.5)
    else:
        sheet.paragraph("(无)")
    sheet.note(listing.note)
    return Document(file_name(listing.filename, extension="pdf"), PDF, sheet.pdf_bytes())


def listing_xlsx(listing: Listing) -> Document:
    """One sheet: the title and lines above, then the headings and one row per entry
    (numbers as numbers)."""
    book = Workbook()
    sheet: Any = book.active
    sheet.title = "名单"
    sheet.append((listing.title,))
    for line in listing.lines:
        sheet.append((line,))
    sheet.append(tuple(listing.headings))
    for row in listing.rows:
        sheet.append(row)
    sheet.append((listing.note,))
    for n, width in enumerate(listing.widths, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = max(8, width * 0.6)
    buffer = io.BytesIO()
    book.save(buffer)
    return Document(file_name(listing.filename, extension="xlsx"), XLSX, buffer.getvalue())
