"""``ledger token``: API tokens, created (shown once), revoked, listed."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from api import auth
from ledger.database import open_database
from ledger.domain.values import Role
from ledger.settings import Settings


def _token(settings: Settings, args: argparse.Namespace) -> int:
    with open_database(settings) as url:
        if args.token_command == "create":
            days = args.expires_days
            expires = datetime.now(UTC) + timedelta(days=days) if days else None
            try:
                token_id, token = auth.create_token(
                    url,
                    Role(args.role),
                    [UUID(s) for s in args.scope],
                    args.name,
                    expires,
                    args.device,
                )
            except (auth.InvalidToken, ValueError) as error:
                print(f"无法创建令牌:{error}", file=sys.stderr)
                return 2
            print(f"{token_id}\t{token}")
            print("令牌只显示这一次,请妥善保存", file=sys.stderr)
        elif args.token_command == "revoke":
            if not auth.revoke_token(url, UUID(args.id)):
                print("没有这个有效令牌", file=sys.stderr)
                return 1
            print("已吊销")
        else:
            for t in auth.list_tokens(url):
                expired = t.expires_at is not None and t.expires_at <= datetime.now(UTC)
                state = "已吊销" if t.revoked_at else "已过期" if expired else "有效"
                scope = ",".join(str(s) for s in t.scope) or "-"
                device = f"\t{t.device}" if t.device else ""
                print(f"{t.id}\t{t.role.value}\t{scope}\t{t.name}\t{state}{device}")
    return 0


def add(commands: Any) -> None:
    token = commands.add_parser("token", help="API 令牌:创建、吊销、列出")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="创建令牌(只显示一次)")
    create.add_argument("--role", required=True, choices=[r.value for r in auth.TOKEN_ROLES])
    create.add_argument("--scope", action="append", default=[], help="社区、单位或成员编号")
    create.add_argument("--device", help="终端设备编号(仅终端令牌;换发令牌时沿用)")
    create.add_argument("--name", required=True)
    create.add_argument("--expires-days", type=float, help="有效天数(默认长期有效)")
    revoke = token_commands.add_parser("revoke", help="吊销令牌")
    revoke.add_argument("id")
    token_commands.add_parser("list", help="列出令牌")
    token.set_defaults(run=_token)
