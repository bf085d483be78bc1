"""``ledger demo`` and ``ledger serve --demo``: a generated street to try the ledger on,
and tokens to try it with."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from api.auth import create_token
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.progress import ProgressBar
from ledger.domain.values import Role
from ledger.settings import Settings
from ledger.simulation import Generator, Scale

SEED = 2026


def prepare_demo(
    services: Services,
    progress: Callable[[int, int], None] | None = None,
    scale: Scale | None = None,
) -> list[tuple[str, str]]:
    """Generate a year of a street if the ledger is empty; return (label, token) pairs."""
    ledger = services.ledger
    generator = Generator(ledger, scale or Scale(), seed=SEED, batch_size=1000, progress=progress)
    if not ledger.recorder.max_notification_id():
        generator.run()
    tokens = [
        ("管理员 admin", create_token(services.url, Role.ADMIN, [], "demo admin")[1]),
        ("审计 auditor", create_token(services.url, Role.AUDITOR, [], "demo auditor")[1]),
    ]
    community = generator.id_of("community", 0)  # the generator's ids follow from its seed
    if ledger.exists(community):
        kiosk = create_token(services.url, Role.KIOSK, [community], "演示收银台")[1]
        tokens.append((f"积分超市终端 kiosk(社区 {community})", kiosk))
    return tokens


def print_tokens(services: Services) -> None:
    for label, token in prepare_demo(services, ProgressBar("生成演示数据(天)")):
        print(f"{label}: {token}")


def _demo(settings: Settings, _: argparse.Namespace) -> int:
    with bootstrap(settings) as services:
        print_tokens(services)
    print("运行 ledger serve 后打开 http://127.0.0.1:8000/graphql")
    return 0


def add(commands: Any) -> None:
    demo = commands.add_parser("demo", help="数据库为空时生成一个街道一年的演示数据,并打印令牌")
    demo.set_defaults(run=_demo)
