"""The ``ledger`` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from ledger.database import (
    EmbeddedServer,
    ensure_database,
    running_embedded_url,
    stop_embedded,
)
from ledger.settings import Settings, load_settings


def _db_url(settings: Settings) -> int:
    if settings.database_url is not None:
        print(settings.database_url)
        return 0
    url = running_embedded_url(settings.pgdata)
    if url is None:
        print(
            f"内置数据库未运行(数据目录 {settings.pgdata});请先运行 ledger db start",
            file=sys.stderr,
        )
        return 1
    print(url)
    return 0


def _db_start(settings: Settings) -> int:
    if settings.database_url is not None:
        print("已设置 DATABASE_URL,使用外部数据库,无需启动内置数据库", file=sys.stderr)
        return 1
    url = EmbeddedServer(settings.pgdata, keep_running=True).url()
    ensure_database(url)
    print(url)
    return 0


def _db_stop(settings: Settings) -> int:
    if settings.database_url is not None:
        print("已设置 DATABASE_URL,外部数据库不由本程序管理", file=sys.stderr)
        return 1
    if not stop_embedded(settings.pgdata):
        print("内置数据库未运行", file=sys.stderr)
        return 1
    print("内置数据库已停止")
    return 0


def _policy_show(settings: Settings) -> int:
    from ledger.application import Ledger
    from ledger.database import eventsourcing_env, open_database

    with open_database(settings) as url:
        app = Ledger(eventsourcing_env(url), id_hash_key=settings.id_hash_key)
        try:
            print(json.dumps(app.current_policy().to_data(), ensure_ascii=False, indent=2))
        finally:
            app.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledger", description="志愿服务积分账本")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="数据库:查看地址、启动或停止内置 PostgreSQL")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("url", help="打印正在使用的数据库地址").set_defaults(run=_db_url)
    db_commands.add_parser("start", help="启动内置数据库并保持运行").set_defaults(run=_db_start)
    db_commands.add_parser("stop", help="停止内置数据库").set_defaults(run=_db_stop)

    policy = commands.add_parser("policy", help="积分规则")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    policy_commands.add_parser("show", help="打印现行积分规则").set_defaults(run=_policy_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.run(load_settings()))


if __name__ == "__main__":
    sys.exit(main())
