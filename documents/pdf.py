"""A4 pages in the forms a 街道 office uses: a title, labelled lines, tables that break
across pages with their headings repeated, a seal block, and on every page a footer that
names the document the page belongs to (a bulk file holds many documents)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import Align, TextMode, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from documents.fonts import cjk_font
from ledger.domain.values import CST

FONT = "cjk"
MARGIN = 18.0  # mm
LINE = 7.0
SEAL_RED = (183, 28, 28)


def figure(value: Decimal | int | None) -> str:
    """A number as the ledger records it: exact, no float, no trailing exponent."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"
    return str(value)


def day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def chinese_date(value: date) -> str:
    return f"{value.year} 年 {value.month} 月 {value.day} 日"


class Sheet(FPDF):
    """One A4 document (or several, one after another, in a bulk file); each starts with
    ``begin``."""

    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        font = cjk_font()
        # One face only: parsing and subsetting a CJK collection is most of a document's
        # cost (decision 0019), so headings are drawn bold by stroking the regular face.
        self.add_font(FONT, "", str(font.path), collection_font_number=font.index)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN)
        self._footer = ""
        self._first_page = 1
        self.set_creator("志愿服务积分账本")
        self.set_lang("zh-CN")

    def begin(self, footer: str) -> None:
        """Start a document on a new page: this page and the pages after it, until the
        next ``begin``, carry ``footer`` (who or what the document is about) and are
        numbered from 1.

        fpdf2 draws a page's footer when the page is finished, that is inside the
        ``add_page`` of the next page: the footer is taken on only once the new page has
        begun, or the last page of the document before would carry it."""
        self.add_page()
        self._footer = footer
        self._first_page = self.page

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(100)
        number = self.page - self._first_page + 1
        self.cell(0, 5, f"{self._footer}    第 {number} 页", align=Align.C)
        self.set_text_color(0)

    def heading(
        self, text: str, size: float = 20, color: tuple[int, int, int] | None = None
    ) -> None:
        self.set_font(FONT, size=size)
        if color:
            self.set_text_color(*color)
            self.set_draw_color(*color)
        with self.bold():
            self.cell(0, size * 0.6, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.set_draw_color(0)
        self.ln(4)

    def subtitle(self, text: str) -> None:
        self.set_font(FONT, size=12)
        self.ln(2)
        with self.bold():
            self.cell(0, LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    @contextlib.contextmanager
    def bold(self) -> Iterator[None]:
        """Text filled and stroked: bold from the regular face."""
        with self.local_context(text_mode=TextMode.FILL_STROKE, line_width=0.2):
            yield

    def fields(self, pairs: Sequence[tuple[str, str]], columns: int = 2) -> None:
        """Labelled values, ``columns`` to a line."""
        self.set_font(FONT, size=10.5)
        width = (self.epw) / columns
        for i, (label, value) in enumerate(pairs):
            last = i % columns == columns - 1 or i == len(pairs) - 1
            self.cell(
                width,
                LINE,
                f"{label}:{value}",
                new_x=XPos.LMARGIN if last else XPos.RIGHT,
                new_y=YPos.NEXT if last else YPos.TOP,
            )

    def paragraph(self, text: str, size: float = 11, indent: bool = False) -> None:
        self.set_font(FONT, size=size)
        self.multi_cell(
            0,
            size * 0.62,
            ("\u3000\u3000" if indent else "") + text,
            wrapmode=WrapMode.CHAR,
            align=Align.L,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        size: float = 8.5,
    ) -> None:
        """A table across the page; long cells wrap by character, headings repeat."""
        self.set_font(FONT, size=size)
        with self.table(
            col_widths=tuple(widths),
            text_align=Align.C,
            wrapmode=WrapMode.CHAR,
            line_height=size * 0.55,
            headings_style=FontFace(fill_color=(235, 235, 235)),
            padding=0.8,
        ) as table:
            table.row(list(headings))
            for cells in rows:
                table.row(list(cells))
        self.ln(2)

    def seal(self, issuer: str, on: date, label: str = "出具单位") -> None:
        """出具单位, 日期 and a round 盖章处 on the right, kept on one page."""
        if self.will_page_break(40):
            self.add_page()
        self.ln(6)
        x = self.w - MARGIN - 80
        top = self.get_y()
        self.set_draw_color(*SEAL_RED)
        self.set_text_color(*SEAL_RED)
        self.circle(x=x + 52, y=top + 16, radius=15)
        self.set_font(FONT, size=9)
        self.set_xy(x + 37, top + 13)
        self.cell(30, 6, "(盖章处)", align=Align.C)
        self.set_text_color(0)
        self.set_draw_color(0)
        self.set_font(FONT, size=11)
        self.set_xy(x, top + 6)
        self.cell(80, LINE, f"{label}:{issuer}", new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.cell(80, LINE, f"日期:{chinese_date(on)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(top + 36)

    def note(self, text: str) -> None:
        self.set_text_color(90)
        self.paragraph(text, size=8)
        self.set_text_color(0)

    def pdf_bytes(self) -> bytes:
        return bytes(self.output())
