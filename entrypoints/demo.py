"""``ledger demo`` and ``ledger serve --demo``: the last twelve months of a generated street
to try the ledger on, and a way in for each kind of user.

Tokens and card codes are kept only as hashes, so each is shown once, by the start that
makes it. A later start finds them made and says so, rather than making (and printing) new
ones; a lost one is replaced with ``ledger token create`` or ``ledger cards issue``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from api.auth import create_token, list_tokens
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.progress import ProgressBar
from ledger.domain.member import Member
from ledger.domain.signin import SIGN_IN_CODE_HOURS
from ledger.domain.values import CST, Context, Role
from ledger.settings import DEFAULT_PUBLIC_URL, Settings
from ledger.simulation import Generator, Scale

SEED = 2026
MADE_BEFORE = "已在首次生成演示数据时打印;只存散列,无法再次显示"
REPLACING = "遗失的令牌可用 ledger token create 另建,积分卡可用 ledger cards issue 补发"


@dataclass(frozen=True)
class Access:
    """One way into the demo, and its secret if this start made it (None: an earlier start
    did, and only its hash is kept)."""

    label: str
    secret: str | None


def prepare_demo(
    services: Services,
    base_url: str,
    progress: Callable[[int, int], None] | None = None,
    scale: Scale | None = None,
) -> list[Access]:
    """Generate the street's last twelve months if the ledger is empty; give an admin, an
    auditor, the first community's kiosk and one of its residents (a sign-in and a card)
    a way in, each made once."""
    ledger = services.ledger
    generator = Generator(
        ledger,
        (scale or Scale()).ending_before(datetime.now(CST).date()),
        seed=SEED,
        batch_size=1000,
        progress=progress,
    )
    if not ledger.recorder.max_notification_id():
        generator.run()
    made = {(t.role, t.name) for t in list_tokens(services.url) if t.revoked_at is None}

    def token(label: str, role: Role, name: str, *scope: UUID) -> Access:
        if (role, name) in made:
            return Access(label, None)
        return Access(label, create_token(services.url, role, list(scope), name)[1])

    ways = [
        token("管理员令牌", Role.ADMIN, "演示管理员"),
        token("审计员令牌", Role.AUDITOR, "演示审计员"),
    ]
    community = generator.id_of("community", 0)  # the generator's ids follow from its seed
    if not ledger.exists(community):
        return ways  # the ledger holds something else than the demo street
    place = ledger.get_community(community).name
    ways.append(
        token(
            f"{place}积分超市终端令牌(在 {base_url}/kiosk 登录)",
            Role.KIOSK,
            "演示收银台",
            community,
        )
    )
    ways.append(
        token(
            f"{place}社区工作台令牌(在 {base_url}/workbench 登录)",
            Role.COMMUNITY,
            "演示社区工作台",
            community,
        )
    )
    member = _member_with_points(services, generator, community)
    if member is None:
        return ways
    # A one-time code, made anew at each start: it lasts a day and signs in one phone.
    issued = ledger.issue_sign_in(member.id, Context.system("demo"))
    ways.append(
        Access(
            f"{place}成员 {member.name} 的一次性登录码"
            f"(在 {base_url}/me 输入,{SIGN_IN_CODE_HOURS} 小时内有效,只能用一次)",
            issued.code,
        )
    )
    card = f"{member.name} 的积分卡号(在终端页面输入或扫码)"
    if member.card_hash is not None:
        ways.append(Access(card, None))
    else:
        ways.append(Access(card, ledger.issue_card(member.id, Context.system("demo")).code))
    return ways


def _member_with_points(services: Services, generator: Generator, community: UUID) -> Member | None:
    """The first generated member living in ``community`` with points to spend."""
    ledger = services.ledger
    n = 0
    while ledger.exists(member_id := generator.id_of("member", n)):
        member = ledger.get_member(member_id)
        if member.community_id == community and ledger.get_account(member_id).balance > 0:
            return member
        n += 1
    return None


def print_access(services: Services, base_url: str) -> None:
    ways = prepare_demo(services, base_url, ProgressBar("生成演示数据(天)"))
    for way in ways:
        print(f"{way.label}:{way.secret or MADE_BEFORE}")
    if any(way.secret is None for way in ways):
        print(REPLACING)


def _demo(settings: Settings, _: argparse.Namespace) -> int:
    base_url = settings.public_url or DEFAULT_PUBLIC_URL
    with bootstrap(settings) as services:
        print_access(services, base_url)
    print(f"运行 ledger serve 后打开 {base_url}/graphql")
    return 0


def add(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="数据库为空时生成一个街道最近十二个月的演示数据,并打印令牌、积分卡号与一个成员的一次性登录码",
    )
    demo.set_defaults(run=_demo)
