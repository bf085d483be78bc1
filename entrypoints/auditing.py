"""``ledger audit``: key, verify, checkpoint, proof, witness, replay, recheck, history,
conservation, export."""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

import audit
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.witness import witness
from ledger.database import as_uri
from ledger.domain.account import Account
from ledger.domain.limits import NOTE_MAX_BYTES
from ledger.domain.text import natural_key
from ledger.domain.values import CST, member_account
from ledger.settings import Settings
from projections import merkle, queries
from projections.notes import CheckpointLog, NoteError, Verifier
from projections.queries.names import Wanted, names_sync
from projections.tree import pinned_verifier


def _pinned(settings: Settings, args: argparse.Namespace) -> Verifier:
    """The auditor's own copy of the key (``--key``), else the one pinned in settings."""
    return Verifier.parse(args.key) if args.key else pinned_verifier(settings)


def _key(settings: Settings, _: argparse.Namespace) -> int:
    print(pinned_verifier(settings).vkey)
    return 0


def _read_note(path: str) -> str:
    with open(path, encoding="utf-8") as kept:
        note = kept.read(NOTE_MAX_BYTES + 1)
    if len(note.encode()) > NOTE_MAX_BYTES:
        raise NoteError("审计方保存的检查点过大")
    return note


def _verify(services: Services, args: argparse.Namespace) -> int:
    settings = services.settings
    verifier = _pinned(settings, args)
    kept = _read_note(args.against) if args.against else None
    log = settings.checkpoint_log
    published = [e.note for e in CheckpointLog(log).entries()] if log is not None else []
    result = audit.verify(
        services.url, verifier, kept=kept, published=published, ledger=services.ledger
    )
    print(
        f"已核对 {result.events:,} 条事件、{result.checkpoints} 个签名检查点;"
        f"树有 {result.leaves:,} 个叶子,尚未入树 {result.unchained} 条;"
        f"账户变动与原因相符 {result.reconciled:,} 笔"
    )
    print(f"由事件重算的树根:{base64.b64encode(result.root).decode()}")
    for finding in result.findings[:20]:
        where = "" if finding.position is None else f"位置 {finding.position}:"
        print(f"{where}{finding.detail}({finding.kind_name})")
    if result.intact:
        print("账本完整:未发现改写、删除、插入或调序,检查点均一致")
        return 0
    first = result.first_bad_position
    where = f"首个问题位置 {first}" if first is not None else "位置无法确定"
    print(f"账本校验未通过:{where}", file=sys.stderr)
    return 1


def _checkpoint(services: Services, _: argparse.Namespace) -> int:
    try:
        entry = audit.publish_now(services.read_side)
    except (ValueError, merkle.ProofError) as error:
        print(error, file=sys.stderr)
        return 1
    print(entry.note, end="")
    return 0


def _proof(services: Services, args: argparse.Namespace) -> int:
    try:
        if args.proof_kind == "inclusion":
            proof = audit.inclusion(services.ledger, args.position, args.size)
            data: dict[str, Any] = {
                "position": proof.position,
                "leaf_index": proof.leaf_index,
                "tree_size": proof.tree_size,
                "leaf_hash": base64.b64encode(proof.leaf_hash).decode(),
                "hashes": [base64.b64encode(h).decode() for h in proof.hashes],
            }
        else:
            found = audit.consistency(services.ledger, args.old, args.new)
            data = {
                "old_size": found.old_size,
                "new_size": found.new_size,
                "hashes": [base64.b64encode(h).decode() for h in found.hashes],
            }
    except merkle.ProofError as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2))
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
        f"成员 {state.member_id} 截至 {at.isoformat()}(按发生时间):可用积分 {state.balance},"
        f"累计获得 {state.earned_points} 分、{state.earned_hours} 小时"
        f"(计入积分变动 {state.movements} 笔)"
    )
    agrees = entries == state.balance
    print(f"流水读模型同一时刻余额 {entries}:{'一致' if agrees else '不一致'}")
    return 0 if agrees else 1


HISTORY_COLUMNS = (
    "位置",
    "记录时间(北京时间)",
    "发生时间(北京时间)",
    "事件",
    "操作者",
    "角色",
    "设备",
    "规则版本",
    "积分",
    "此后余额",
    "关联编号",
)


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def _beijing(at: datetime | None) -> str | None:
    return None if at is None else f"{at.astimezone(CST):%Y-%m-%d %H:%M:%S}"


def _history(services: Services, args: argparse.Namespace) -> int:
    lines = audit.history(services.ledger, UUID(args.id))
    if args.json:
        print(json.dumps([_history_record(line) for line in lines], ensure_ascii=False, indent=2))
        return 0
    print("\t".join(HISTORY_COLUMNS))
    for line in lines:
        cells = (
            line.position,
            _beijing(line.at),
            _beijing(line.value_at),
            line.summary,
            line.actor_name,
            line.role_name,
            line.device_name,
            line.policy_version,
            line.amount,
            line.balance,
            line.correlation_id,
        )
        print("\t".join(_shown(c) for c in cells))
    return 0


def _history_record(line: audit.HistoryLine) -> dict[str, Any]:
    """One line for machines: every field, times in China Standard Time (ISO 8601),
    figures as exact decimal strings."""
    record = dataclasses.asdict(line)
    record["aggregate_id"] = str(line.aggregate_id)
    for moment in ("at", "value_at"):
        at = getattr(line, moment)
        record[moment] = None if at is None else at.astimezone(CST).isoformat()
    for figure in ("amount", "balance"):
        record[figure] = None if record[figure] is None else str(record[figure])
    return record


def _export(services: Services, args: argparse.Namespace) -> int:
    lines: Iterator[dict[str, Any]]
    if args.certificate:
        lines = audit.certificate_export(services.ledger, services.read_side, args.certificate)
    else:
        if args.unit:
            ids = [UUID(args.unit)]
        else:
            ids = [UUID(args.member), Account.create_id(UUID(args.member))]
        if args.start is None or args.end is None:
            print("导出成员或单位的事件需要 --start 和 --end", file=sys.stderr)
            return 2
        start, end = (datetime.fromisoformat(v) for v in (args.start, args.end))
        lines = audit.export(services.ledger, services.read_side, ids, start, end)
    with open(args.output, "w", encoding="utf-8") as out:
        for record in lines:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"已导出到 {args.output}")
    return 0


def _conservation(services: Services, args: argparse.Namespace) -> int:
    start, end = (datetime.fromisoformat(v) for v in (args.start, args.end))
    result = audit.conservation(services.ledger, start, end)
    with services.ledger.group_recorder.datastore.get_connection() as conn:
        names = names_sync(conn, Wanted().place(*result.communities), full=False)
    print(f"全部账户合计 {result.all_accounts};成员可用积分合计 {result.member_balances}")
    named = [(names.place(c.community_id), c) for c in result.communities.values()]
    for name, c in sorted(named, key=lambda pair: natural_key(pair[0])):
        print(
            f"{name}:期初 {c.opening} 发放 {c.issued} 冲正 {c.reversed} "
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
    matched, unmatched = audit.reconcile(services.ledger)
    print(f"账户变动与其原因(计分、冲正、兑换、退还)相符 {matched:,} 笔,不符 {len(unmatched)} 笔")
    for u in unmatched:
        print(f"位置 {u.position} 原因 {u.cause_id}:{u.detail}({u.kind_name})")
    return 0 if not mismatches and not unmatched else 1


COMMANDS = {
    "verify": _verify,
    "checkpoint": _checkpoint,
    "proof": _proof,
    "replay": _replay,
    "recheck": _recheck,
    "history": _history,
    "export": _export,
    "conservation": _conservation,
}


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    if args.audit_command == "key":
        return _key(settings, args)
    if args.audit_command == "witness":
        return witness(args)
    try:
        with bootstrap(settings) as services:
            return COMMANDS[args.audit_command](services, args)
    except NoteError as error:
        print(f"检查点或公钥无效:{error}", file=sys.stderr)
        return 2


def add(commands: Any) -> None:
    audit_parser = commands.add_parser("audit", help="审计:校验账本、检查点、证明、见证")
    audit_commands = audit_parser.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("key", help="打印账本的公钥(验证密钥,供审计方固定)")
    verify = audit_commands.add_parser("verify", help="由事件存储重算 Merkle 树并核对签名检查点")
    verify.add_argument("--against", help="审计方保存的检查点(签名文本文件)")
    verify.add_argument("--key", help="审计方自己保存的账本公钥(默认取设置中固定的公钥)")
    audit_commands.add_parser("checkpoint", help="证明与上一个检查点一致后,立即签发并发布检查点")
    proof = audit_commands.add_parser("proof", help="包含证明或一致性证明")
    kinds = proof.add_subparsers(dest="proof_kind", required=True)
    inclusion = kinds.add_parser("inclusion", help="某位置的事件在树中的证明")
    inclusion.add_argument("position", type=int)
    inclusion.add_argument("--size", type=int, help="树的大小(默认最新检查点)")
    consistency = kinds.add_parser("consistency", help="新树是旧树延续的证明")
    consistency.add_argument("old", type=int)
    consistency.add_argument("--new", type=int, help="新树的大小(默认最新检查点)")
    watch = audit_commands.add_parser(
        "witness", help="见证:取最新检查点,验证一致性证明后联署并保存"
    )
    watch.add_argument("--url", required=True, help="账本 GraphQL 地址")
    watch.add_argument("--token", required=True, help="审计员令牌")
    watch.add_argument("--log-key", required=True, help="账本公钥(见 ledger audit key)")
    watch.add_argument("--dir", required=True, type=Path, help="见证方保存检查点的目录")
    replay = audit_commands.add_parser(
        "replay", help="重放成员账户到某一时刻(按积分变动的发生时间)"
    )
    replay.add_argument("member")
    replay.add_argument("--at", help="ISO 时间(带时区),默认现在")
    audit_commands.add_parser("recheck", help="按记录的规则版本重算每一次计分")
    history = audit_commands.add_parser(
        "history", help="对象的完整事件史(含操作者、角色、设备、规则版本、关联编号;北京时间)"
    )
    history.add_argument("id")
    history.add_argument("--json", action="store_true", help="以 JSON 输出(供程序读取)")
    exporter = audit_commands.add_parser(
        "export", help="导出成员或单位某期间的事件,或一份志愿服务证明所依据的事件(JSON Lines)"
    )
    who = exporter.add_mutually_exclusive_group(required=True)
    who.add_argument("--member")
    who.add_argument("--unit")
    who.add_argument("--certificate", help="证明编号:导出该证明及其所列服务的全部事件")
    exporter.add_argument("--start", help="ISO 时间(带时区);导出证明时不用")
    exporter.add_argument("--end", help="ISO 时间(带时区);导出证明时不用")
    exporter.add_argument("output")
    conserve = audit_commands.add_parser("conservation", help="期间内的积分守恒核对")
    conserve.add_argument("--start", required=True, help="ISO 时间(带时区)")
    conserve.add_argument("--end", required=True, help="ISO 时间(带时区)")
    audit_parser.set_defaults(run=_audit)
