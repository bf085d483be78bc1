"""``ledger db``, ``ledger policy`` and ``ledger schema``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from entrypoints.bootstrap import bootstrap
from ledger.database import (
    EmbeddedServer,
    ensure_database,
    running_embedded_url,
    stop_embedded,
)
from ledger.settings import Settings
from projections.roles import grant


def _url(settings: Settings, _: argparse.Namespace) -> int:
    if not settings.embedded:
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


def _start(settings: Settings, _: argparse.Namespace) -> int:
    if not settings.embedded:
        print("已设置 DATABASE_URL,使用外部数据库,无需启动内置数据库", file=sys.stderr)
        return 1
    url = EmbeddedServer(settings.pgdata, keep_running=True).url()
    ensure_database(url)
    print(url)
    return 0


def _stop(settings: Settings, _: argparse.Namespace) -> int:
    if not settings.embedded:
        print("已设置 DATABASE_URL,外部数据库不由本程序管理", file=sys.stderr)
        return 1
    if not stop_embedded(settings.pgdata):
        print("内置数据库未运行", file=sys.stderr)
        return 1
    print("内置数据库已停止")
    return 0


def _grant(settings: Settings, args: argparse.Namespace) -> int:
    if settings.embedded:
        print("最小权限角色用于外部数据库(设置 DATABASE_URL 为属主的地址)", file=sys.stderr)
        return 1
    assert settings.database_url is not None
    passwords = {
        args.app_role: os.environ.get("LEDGER_APP_PASSWORD", ""),
        args.projector_role: os.environ.get("LEDGER_PROJECTOR_PASSWORD", ""),
    }
    grant(settings.database_url, args.app_role, args.projector_role, passwords)
    print(f"已授予最小权限:{args.app_role}(写入事件、读读模型),{args.projector_role}(写读模型)")
    return 0


def _policy_show(settings: Settings, _: argparse.Namespace) -> int:
    with bootstrap(settings) as services:
        data = services.ledger.current_policy().to_data()
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


def _schema(_: Settings, args: argparse.Namespace) -> int:
    from api.schema import build_schema

    sdl = str(build_schema()) + "\n"
    if args.output == "-":
        print(sdl, end="")
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(sdl)
    return 0


def add(commands: Any) -> None:
    db = commands.add_parser("db", help="数据库:查看地址、启动或停止内置 PostgreSQL")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("url", help="打印正在使用的数据库地址").set_defaults(run=_url)
    db_commands.add_parser("start", help="启动内置数据库并保持运行").set_defaults(run=_start)
    db_commands.add_parser("stop", help="停止内置数据库").set_defaults(run=_stop)
    roles = db_commands.add_parser("grant", help="以属主身份建表并授予应用与投影最小权限")
    roles.add_argument("--app-role", default="ledger_app")
    roles.add_argument("--projector-role", default="ledger_projector")
    roles.set_defaults(run=_grant)

    policy = commands.add_parser("policy", help="积分规则")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    policy_commands.add_parser("show", help="打印现行积分规则").set_defaults(run=_policy_show)

    schema = commands.add_parser("schema", help="导出 GraphQL SDL")
    schema.add_argument("output", nargs="?", default="schema.graphql")
    schema.set_defaults(run=_schema)
