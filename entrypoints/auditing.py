"""``ledger audit``: verify, checkpoint, replay, recheck, history, conservation, export."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

import audit
from entrypoints.bootstrap import Services, bootstrap
from ledger.database import as_uri
from ledger.domain.account import Account
from ledger.domain.values import member_account
from ledger.settings import Settings
from projections import queries
from projections.chain import Checkpoint


def _verify(services: Services, args: argparse.Namespace) -> int:
    against = None
    if args.against:
        with open(args.against, encoding="utf-8") as kept:
            against = Checkpoint.from_json(json.load(kept))
    result = audit.verify(services.url, against)
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


def _checkpoint(services: Services, _: argparse.Namespace) -> int:
    try:
        point = audit.checkpoint(services.url, services.settings.signing_key)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps(point.to_json(), ensure_ascii=False, indent=2))
    return 0


async def _entries_balance(url: str, account: str, at: datetime) -> Decimal:
    conn = await asyncpg.connect(as_uri(url))
    try:
        return await queries.balance_as_of(conn, account, at)
    finally:
        await conn.close()


def _replay(services: Services, args: argparse.Namespace) -> int:
    at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    if at.tzinfo is None:
        print("时间须带时区,如 2026-06-30T23:59:59+08:00", file=sys.stderr)
        return 2
    state = audit.replay_member(services.ledger, UUID(args.member), at)
    entries = asyncio.run(_entries_balance(services.url, member_account(state.member_id), at))
    print(
        f"成员 {state.member_id} 截至 {at.isoformat()}:可用积分 {state.balance},"
        f"累计获得 {state.earned_points} 分、{state.earned_hours} 小时"
        f"(账户版本 {state.version})"
    )
    agrees = entries == state.balance
    print(f"流水读模型同一时刻余额 {entries}:{'一致' if agrees else '不一致'}")
    return 0 if agrees else 1


def _history(services: Services, args: argparse.Namespace) -> int:
    for line in audit.history(services.ledger, UUID(args.id)):
        print(
            f"{line.position}\t{line.at.isoformat()}\t{line.event}\t{line.actor}\t"
            f"{line.correlation_id}\t{line.amount or ''}\t{line.cause or ''}\t"
            f"{'' if line.balance is None else line.balance}"
        )
    return 0


def _export(services: Services, args: argparse.Namespace) -> int:
    if args.unit:
        ids = [UUID(args.unit)]
    else:
        ids = [UUID(args.member), Account.create_id(UUID(args.member))]
    start, end = (datetime.fromisoformat(v) for v in (args.start, args.end))
    lines = audit.export(
        services.ledger, services.url, services.settings.signing_key, ids, start, end
    )
    with open(args.output, "w", encoding="utf-8") as out:
        for record in lines:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"已导出到 {args.output}")
    return 0


def _conservation(services: Services, args: argparse.Namespace) -> int:
    start, end = (datetime.fromisoformat(v) for v in (args.start, args.end))
    result = audit.conservation(services.ledger, start, end)
    print(f"全部账户合计 {result.all_accounts};成员可用积分合计 {result.member_balances}")
    for c in result.communities.values():
        print(
            f"社区 {c.community_id}:期初 {c.opening} 发放 {c.issued} 冲正 {c.reversed} "
            f"兑换 {c.redeemed} 过期 {c.expired} 期末 {c.closing}"
        )
    print("积分守恒成立" if result.holds else "积分守恒不成立")
    return 0 if result.holds else 1


def _recheck(services: Services, _: argparse.Namespace) -> int:
    checked, mismatches = audit.recheck_awards(services.ledger)
    print(f"已按记录的规则版本重算 {checked:,} 次计分,不符 {len(mismatches)} 次")
    for m in mismatches:
        again = m.recomputed.points if m.recomputed else "-"
        print(f"位置 {m.position} 服务 {m.service_id}:记录 {m.recorded.points} 分,重算 {again} 分")
        print(f"  {m.reason}")
    return 0 if not mismatches else 1


COMMANDS = {
    "verify": _verify,
    "checkpoint": _checkpoint,
    "replay": _replay,
    "recheck": _recheck,
    "history": _history,
    "export": _export,
    "conservation": _conservation,
}


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    with bootstrap(settings) as services:
        return COMMANDS[args.audit_command](services, args)


def add(commands: Any) -> None:
    audit_parser = commands.add_parser("audit", help="审计:校验账本、签发检查点")
    audit_commands = audit_parser.add_subparsers(dest="audit_command", required=True)
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
    audit_parser.set_defaults(run=_audit)
