"""``ledger cards issue``: member cards for the points store, issued and laid out on A4.

Each card carries a QR code of the member's code and the code in letters (for a kiosk
without a scanner). The code exists only on the card: the ledger keeps its keyed hash, so
the printed page is the one copy — print it and delete the file. Issuing a card again
(a lost card) retires the old one.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from api.qr import qr_svg
from entrypoints.bootstrap import Services, bootstrap
from ledger.database import as_uri
from ledger.domain.member import mask_name
from ledger.domain.values import Context
from ledger.settings import Settings
from projections.queries.members import every_member

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>积分卡 · {community}</title>
<style>
@page {{ size: A4; margin: 10mm; }}
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0; }}
.cards {{ display: grid; grid-template-columns: repeat(2, 85.6mm); gap: 6mm; }}
.card {{ width: 85.6mm; height: 54mm; border: 0.3mm solid #999; border-radius: 3mm;
  padding: 3mm; display: flex; gap: 3mm; box-sizing: border-box; break-inside: avoid; }}
.card svg {{ width: 36mm; height: 36mm; }}
.card h2 {{ font-size: 11pt; margin: 0 0 2mm; color: #b71c1c; }}
.card p {{ margin: 0 0 1.5mm; font-size: 9pt; }}
.code {{ font-family: monospace; font-size: 8pt; letter-spacing: 0.3mm; }}
</style></head><body><div class="cards">
{cards}
</div></body></html>
"""
CARD = """<div class="card">{qr}<div><h2>积分超市会员卡</h2>
<p>{community}</p><p>{name}</p><p class="code">{code}</p>
<p>凭此卡在积分超市兑换物品;遗失请到社区补办,旧卡随即作废。</p></div></div>"""


def card_html(code: str, name: str, community: str) -> str:
    qr = qr_svg(code)
    return CARD.format(
        qr=qr, community=html.escape(community), name=html.escape(name), code=html.escape(code)
    )


async def _residents(url: str, community: UUID) -> list[UUID]:
    conn = await asyncpg.connect(as_uri(url))
    try:
        return [row["member_id"] for row in await every_member(conn, community_id=community)]
    finally:
        await conn.close()


def issue_cards(services: Services, community: UUID, members: list[UUID]) -> tuple[str, int]:
    """Issue a card to each member (every resident of the community if none is named);
    return the printable page and how many cards it holds."""
    ledger = services.ledger
    place = ledger.get_community(community).name
    if not members:
        services.read_side.open()
        services.read_side.catch_up()
        members = asyncio.run(_residents(services.url, community))
    cards = []
    for member_id in members:
        member = ledger.get_member(member_id)
        if member.community_id != community:
            raise ValueError(f"成员 {member_id} 不住在该社区")
        issued = ledger.issue_card(member_id, ctx=Context.system("cards"))
        cards.append(card_html(issued.code, mask_name(member.name), place))
    return PAGE.format(community=html.escape(place), cards="\n".join(cards)), len(cards)


def _issue(settings: Settings, args: argparse.Namespace) -> int:
    try:
        community = UUID(args.community)
        members = [UUID(m) for m in args.member]
    except ValueError:
        print("社区或成员编号格式不对", file=sys.stderr)
        return 2
    with bootstrap(settings) as services:
        try:
            page, count = issue_cards(services, community, members)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
    Path(args.output).write_text(page, encoding="utf-8")
    print(f"已发放 {count} 张积分卡,打印 {args.output} 后请删除该文件")
    return 0


def add(commands: Any) -> None:
    cards = commands.add_parser("cards", help="积分卡:发放(或补发)并生成可打印的 A4 页")
    cards_commands = cards.add_subparsers(dest="cards_command", required=True)
    issue = cards_commands.add_parser("issue", help="为社区全体居民或指定成员发放积分卡")
    issue.add_argument("--community", required=True, help="社区编号")
    issue.add_argument("--member", action="append", default=[], help="只为这些成员发放")
    issue.add_argument("output", help="输出的 HTML 文件(用浏览器打印)")
    cards.set_defaults(run=_issue)
