"""The ``ledger`` command."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ledger.database import (
    EmbeddedServer,
    ensure_database,
    running_embedded_url,
    stop_embedded,
)
from ledger.settings import Settings, load_settings


def _db_url(settings: Settings, _: argparse.Namespace) -> int:
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


def _db_start(settings: Settings, _: argparse.Namespace) -> int:
    if not settings.embedded:
        print("已设置 DATABASE_URL,使用外部数据库,无需启动内置数据库", file=sys.stderr)
        return 1
    url = EmbeddedServer(settings.pgdata, keep_running=True).url()
    ensure_database(url)
    print(url)
    return 0


def _db_stop(settings: Settings, _: argparse.Namespace) -> int:
    if not settings.embedded:
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
            read_side = ReadSide(
                ledger, batch_size=args.batch_size, signing_key=settings.signing_key
            )
            read_side.rebuild(*names, progress=ProgressBar("重建 " + ", ".join(names)))
        finally:
            ledger.close()
    return 0


def _quarantine(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.database import open_database
    from projections.runner import ReadSide

    with open_database(settings) as url:
        ledger = _open_ledger(settings, url)
        try:
            read_side = ReadSide(ledger, signing_key=settings.signing_key)
            read_side.open()
            if args.quarantine_command == "retry":
                names = sorted({q.model for q in read_side.quarantined()})
                names = [n for n in names if args.view in (None, n)]
                if names:
                    read_side.rebuild(*names, progress=ProgressBar("重建 " + ", ".join(names)))
            held = read_side.quarantined()
        finally:
            ledger.close()
    if args.json:
        rows = [{**vars(q), "at": q.at.isoformat()} for q in held]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not held:
        print("没有被隔离的事件")
    else:
        print("读模型\t位置\t事件类型\t对象编号\t原因\t隔离时间")
        for q in held:
            print(f"{q.model}\t{q.position}\t{q.topic}\t{q.originator_id}\t{q.error}\t{q.at:%F %T}")
    return 0


def _project(settings: Settings, args: argparse.Namespace) -> int:
    import threading

    from api.observability import log_json_lines
    from ledger.database import open_database
    from projections.runner import ReadSide

    log_json_lines()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open_database(settings) as url:
        ledger = _open_ledger(settings, url)
        try:
            read_side = ReadSide(
                ledger, batch_size=args.batch_size, signing_key=settings.signing_key
            )
            logging.getLogger(__name__).warning("projection worker following %s", url)
            read_side.run(stop)
        finally:
            ledger.close()
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from api.observability import log_json_lines
    from api.serving import serve

    log_json_lines()
    from api.app import create_app
    from ledger.database import open_database

    with open_database(settings) as url:
        if args.demo:
            from api.demo import prepare_demo

            for label, token in prepare_demo(url, settings, ProgressBar("生成演示数据(天)")):
                print(f"{label}: {token}")
            print('在 GraphiQL 的 Headers 中填入 {"Authorization": "Bearer <令牌>"}')
        print(f"GraphiQL: http://{args.host}:{args.port}/graphql", flush=True)
        # uvicorn shuts down cleanly on SIGTERM/SIGINT, then raises the signal again
        # under the handlers it found: with these, the process then exits 0.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: None)
        serve(
            create_app(
                replace(settings, database_url=url),
                production=args.production,
                follow=not args.no_follow,
            ),
            args.host,
            args.port,
        )
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from api.demo import prepare_demo
    from ledger.database import open_database

    with open_database(settings) as url:
        for label, token in prepare_demo(url, settings, ProgressBar("生成演示数据(天)")):
            print(f"{label}: {token}")
    print("运行 ledger serve 后打开 http://127.0.0.1:8000/graphql")
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from ledger.database import open_database
    from ledger.importer import import_services, read_rows

    source = Path(args.file)
    if not source.exists():
        print(f"找不到文件 {source}", file=sys.stderr)
        return 2
    total = sum(1 for _ in read_rows(source))
    bar = ProgressBar(f"导入 {source.name}")
    with open_database(settings) as url:
        ledger = _open_ledger(settings, url)
        try:
            result = import_services(
                ledger, read_rows(source), source.name, lambda done: bar(done, total)
            )
        finally:
            ledger.close()
    bar(total, total)
    errors = Path(args.errors or f"{source}.errors.csv")
    with errors.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("行号,原因\n")
        for number, reason in result.bad:
            out.write(f"{number},{reason}\n")
    print(f"导入 {result.imported} 行,已导入过 {result.already} 行,有误 {len(result.bad)} 行")
    if result.bad:
        print(f"有误的行及原因见 {errors}")
    return 0 if not result.bad else 1


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from uuid import UUID

    from api import auth
    from ledger.database import open_database
    from ledger.domain.values import Role

    with open_database(settings) as url:
        if args.token_command == "create":
            from datetime import timedelta

            expires = (
                datetime.now(UTC) + timedelta(days=args.expires_days) if args.expires_days else None
            )
            try:
                token_id, token = auth.create_token(
                    url, Role(args.role), [UUID(s) for s in args.scope], args.name, expires
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
                print(f"{t.id}\t{t.role.value}\t{scope}\t{t.name}\t{state}")
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


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    import audit
    from ledger.database import open_database
    from projections.chain import Checkpoint

    with open_database(settings) as url:
        if args.audit_command in ("replay", "recheck", "history", "conservation", "export"):
            return _audit_replay(settings, url, args)
        if args.audit_command == "checkpoint":
            try:
                point = audit.checkpoint(url, settings.signing_key)
            except ValueError as error:
                print(error, file=sys.stderr)
                return 1
            print(json.dumps(point.to_json(), ensure_ascii=False, indent=2))
            return 0
        against = None
        if args.against:
            with open(args.against, encoding="utf-8") as kept:
                against = Checkpoint.from_json(json.load(kept))
        result = audit.verify(url, against)
    print(
        f"已核对 {result.events:,} 条事件、{result.checkpoints} 个签名检查点;"
        f"链尾位置 {result.head_position},尚未上链 {result.unchained} 条"
    )
    for finding in result.findings[:20]:
        print(f"位置 {finding.position}:{finding.detail}({finding.kind})")
    if result.intact:
        print("账本完整:未发现改写、删除、插入或调序")
        return 0
    print(f"账本校验未通过:首个问题位置 {result.first_bad_position}", file=sys.stderr)
    return 1


def _audit_replay(settings: Settings, url: str, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from uuid import UUID

    import audit

    ledger = _open_ledger(settings, url)
    try:
        if args.audit_command == "replay":
            at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
            if at.tzinfo is None:
                print("时间须带时区,如 2026-06-30T23:59:59+08:00", file=sys.stderr)
                return 2
            state = audit.replay_member(ledger, UUID(args.member), at)
            with ledger.group_recorder.datastore.get_connection() as conn:
                row = conn.execute(
                    "SELECT balance FROM ledger_entries WHERE account = %s AND at <= %s "
                    "ORDER BY at DESC, position DESC LIMIT 1",
                    (f"member:{state.member_id}", at),
                ).fetchone()
            entries = row["balance"] if row else 0
            print(
                f"成员 {state.member_id} 截至 {at.isoformat()}:可用积分 {state.balance},"
                f"累计获得 {state.earned_points} 分、{state.earned_hours} 小时"
                f"(账户版本 {state.version})"
            )
            agrees = entries == state.balance
            print(f"流水读模型同一时刻余额 {entries}:{'一致' if agrees else '不一致'}")
            return 0 if agrees else 1
        if args.audit_command == "history":
            for line in audit.history(ledger, UUID(args.id)):
                print(
                    f"{line.position}\t{line.at.isoformat()}\t{line.event}\t{line.actor}\t"
                    f"{line.correlation_id}\t{line.amount or ''}\t{line.cause or ''}\t"
                    f"{'' if line.balance is None else line.balance}"
                )
            return 0
        if args.audit_command == "export":
            ids = [UUID(args.member)] if args.member else []
            if args.member:
                from ledger.domain.account import Account

                ids.append(Account.create_id(UUID(args.member)))
            if args.unit:
                ids = [UUID(args.unit)]
            start, end = (datetime.fromisoformat(v) for v in (args.start, args.end))
            lines = audit.export(ledger, url, settings.signing_key, ids, start, end)
            with open(args.output, "w", encoding="utf-8") as out:
                for record in lines:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(f"已导出到 {args.output}")
            return 0
        if args.audit_command == "conservation":
            start, end = (datetime.fromisoformat(v) for v in (args.start, args.end))
            result = audit.conservation(ledger, start, end)
            print(f"全部账户合计 {result.all_accounts};成员可用积分合计 {result.member_balances}")
            for c in result.communities.values():
                print(
                    f"社区 {c.community_id}:期初 {c.opening} 发放 {c.issued} 冲正 {c.reversed} "
                    f"兑换 {c.redeemed} 过期 {c.expired} 期末 {c.closing}"
                )
            print("积分守恒成立" if result.holds else "积分守恒不成立")
            return 0 if result.holds else 1
        checked, mismatches = audit.recheck_awards(ledger)
    finally:
        ledger.close()
    print(f"已按记录的规则版本重算 {checked:,} 次计分,不符 {len(mismatches)} 次")
    for m in mismatches:
        again = m.recomputed.points if m.recomputed else "-"
        recorded = m.recorded.points
        print(f"位置 {m.position} 服务 {m.service_id}:记录 {recorded} 分,重算 {again} 分")
        print(f"  {m.reason}")
    return 0 if not mismatches else 1


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

    quarantine = commands.add_parser(
        "quarantine", help="读模型无法应用而隔离的事件:列出,或修复代码后重建重试"
    )
    quarantine_commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    quarantine_commands.add_parser("list", help="列出被隔离的事件")
    retry = quarantine_commands.add_parser("retry", help="重建有隔离事件的读模型(按顺序重放)")
    retry.add_argument("view", nargs="?", help="只重建这个读模型")
    quarantine.add_argument("--json", action="store_true", help="以 JSON 输出")
    quarantine.set_defaults(run=_quarantine)

    project = commands.add_parser("project", help="持续更新读模型(独立进程)")
    project.add_argument("--batch-size", type=int, default=20_000)
    project.set_defaults(run=_project)

    serve = commands.add_parser("serve", help="启动 GraphQL 服务(含读模型更新)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--production", action="store_true", help="关闭内省和 GraphiQL")
    serve.add_argument("--demo", action="store_true", help="数据库为空时生成一个街道一年的演示数据")
    serve.add_argument(
        "--no-follow", action="store_true", help="读模型由独立的 ledger project 进程更新"
    )
    serve.set_defaults(run=_serve)

    importer = commands.add_parser("import", help="导入已有的服务记录(CSV 或 XLSX)")
    import_commands = importer.add_subparsers(dest="import_command", required=True)
    services = import_commands.add_parser("services", help="服务记录:成员、单位、社区与每次服务")
    services.add_argument("file")
    services.add_argument("--errors", help="有误行的报告(CSV),默认 FILE.errors.csv")
    importer.set_defaults(run=_import)

    demo = commands.add_parser("demo", help="数据库为空时生成一个街道一年的演示数据,并打印令牌")
    demo.set_defaults(run=_demo)

    token = commands.add_parser("token", help="API 令牌:创建、吊销、列出")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="创建令牌(只显示一次)")
    create.add_argument(
        "--role",
        required=True,
        choices=["admin", "community", "unit", "kiosk", "auditor", "member"],
    )
    create.add_argument("--scope", action="append", default=[], help="社区、单位或成员编号")
    create.add_argument("--name", required=True)
    create.add_argument("--expires-days", type=float, help="有效天数(默认长期有效)")
    revoke = token_commands.add_parser("revoke", help="吊销令牌")
    revoke.add_argument("id")
    token_commands.add_parser("list", help="列出令牌")
    token.set_defaults(run=_token)

    audit = commands.add_parser("audit", help="审计:校验账本、签发检查点")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="由事件存储重算哈希链并核对签名检查点")
    verify.add_argument("--against", help="审计方保存的检查点文件(JSON)")
    audit_commands.add_parser("checkpoint", help="校验后签发并打印当前链尾的检查点")
    replay = audit_commands.add_parser("replay", help="重放成员账户到某一时刻")
    replay.add_argument("member")
    replay.add_argument("--at", help="ISO 时间(带时区),默认现在")
    audit_commands.add_parser("recheck", help="按记录的规则版本重算每一次计分")
    history = audit_commands.add_parser("history", help="对象的完整事件史(含操作者、关联编号)")
    history.add_argument("id")
    exporter = audit_commands.add_parser("export", help="导出成员或单位某期间的事件(JSON Lines)")
    who = exporter.add_mutually_exclusive_group(required=True)
    who.add_argument("--member")
    who.add_argument("--unit")
    exporter.add_argument("--start", required=True, help="ISO 时间(带时区)")
    exporter.add_argument("--end", required=True, help="ISO 时间(带时区)")
    exporter.add_argument("output")
    conserve = audit_commands.add_parser("conservation", help="期间内的积分守恒核对")
    conserve.add_argument("--start", required=True, help="ISO 时间(带时区)")
    conserve.add_argument("--end", required=True, help="ISO 时间(带时区)")
    audit.set_defaults(run=_audit)

    schema = commands.add_parser("schema", help="导出 GraphQL SDL")
    schema.add_argument("output", nargs="?", default="schema.graphql")
    schema.set_defaults(run=_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.run(load_settings(), args))


if __name__ == "__main__":
    sys.exit(main())
