"""The ``ledger`` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from ledger.database import (
    EmbeddedServer,
    ensure_database,
    running_embedded_url,
    stop_embedded,
)
from ledger.settings import Settings, load_settings


def _db_url(settings: Settings, _: argparse.Namespace) -> int:
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


def _db_start(settings: Settings, _: argparse.Namespace) -> int:
    if settings.database_url is not None:
        print("已设置 DATABASE_URL,使用外部数据库,无需启动内置数据库", file=sys.stderr)
        return 1
    url = EmbeddedServer(settings.pgdata, keep_running=True).url()
    ensure_database(url)
    print(url)
    return 0


def _db_stop(settings: Settings, _: argparse.Namespace) -> int:
    if settings.database_url is not None:
        print("已设置 DATABASE_URL,外部数据库不由本程序管理", file=sys.stderr)
        return 1
    if not stop_embedded(settings.pgdata):
        print("内置数据库未运行", file=sys.stderr)
        return 1
    print("内置数据库已停止")
    return 0


def _policy_show(settings: Settings, _: argparse.Namespace) -> int:
    from ledger.application import Ledger
    from ledger.database import eventsourcing_env, open_database

    with open_database(settings) as url:
        app = Ledger(eventsourcing_env(url), id_hash_key=settings.id_hash_key)
        try:
            print(json.dumps(app.current_policy().to_data(), ensure_ascii=False, indent=2))
        finally:
            app.close()
    return 0


class ProgressBar:
    """A progress bar on standard error: [#####     ]  50%  100,000/200,000."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "#" * int(share * self.width)
        print(
            f"\r{self.label} [{bar:<{self.width}}] {share:4.0%} {done:,}/{total:,}",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if done >= total:
            print(file=sys.stderr)


def _open_ledger(settings: Settings, url: str) -> Any:
    from ledger.application import Ledger
    from ledger.database import eventsourcing_env

    return Ledger(eventsourcing_env(url), id_hash_key=settings.id_hash_key)


def _rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.database import open_database
    from projections.runner import READ_MODELS, ReadSide

    names = [args.view] if args.view else [m.name for m in READ_MODELS]
    unknown = [n for n in names if n not in {m.name for m in READ_MODELS}]
    if unknown:
        known = "、".join(m.name for m in READ_MODELS)
        print(f"没有名为 {unknown[0]} 的读模型;可选:{known}", file=sys.stderr)
        return 2
    with open_database(settings) as url:
        ledger = _open_ledger(settings, url)
        try:
            read_side = ReadSide(ledger, batch_size=args.batch_size)
            read_side.rebuild(*names, progress=ProgressBar("重建 " + ", ".join(names)))
        finally:
            ledger.close()
    return 0


def _project(settings: Settings, args: argparse.Namespace) -> int:
    import signal
    import threading

    from ledger.database import open_database
    from projections.runner import ReadSide

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open_database(settings) as url:
        ledger = _open_ledger(settings, url)
        try:
            read_side = ReadSide(ledger, batch_size=args.batch_size)
            logging.getLogger(__name__).warning("projection worker following %s", url)
            read_side.run(stop)
        finally:
            ledger.close()
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

    rebuild = commands.add_parser("rebuild", help="从头重建读模型(全部或指定一个)")
    rebuild.add_argument("view", nargs="?", help="读模型名称,如 member_totals")
    rebuild.add_argument("--batch-size", type=int, default=20_000)
    rebuild.set_defaults(run=_rebuild)

    project = commands.add_parser("project", help="持续更新读模型(独立进程)")
    project.add_argument("--batch-size", type=int, default=20_000)
    project.set_defaults(run=_project)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.run(load_settings(), args))


if __name__ == "__main__":
    sys.exit(main())
