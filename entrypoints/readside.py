"""``ledger project``, ``ledger rebuild`` and ``ledger quarantine``: the read models."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any
from uuid import UUID

from entrypoints.bootstrap import bootstrap
from entrypoints.expiry import start_daily
from entrypoints.progress import ProgressBar
from ledger.domain.errors import UnreadableRecord
from ledger.settings import Settings
from projections.runner import BATCH_SIZE, READ_MODELS

log = logging.getLogger(__name__)


def _rebuild(settings: Settings, args: argparse.Namespace) -> int:
    names = [args.view] if args.view else [m.name for m in READ_MODELS]
    known = {m.name for m in READ_MODELS}
    if not set(names) <= known:
        print(f"没有名为 {args.view} 的读模型;可选:{'、'.join(sorted(known))}", file=sys.stderr)
        return 2
    with bootstrap(settings, batch_size=args.batch_size) as services:
        services.read_side.rebuild(*names, progress=ProgressBar("重建 " + ", ".join(names)))
    return 0


def _project(settings: Settings, args: argparse.Namespace) -> int:
    from api.observability import log_json_lines

    log_json_lines()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with bootstrap(settings, batch_size=args.batch_size) as services:
        log.warning("projection worker following %s", services.url)
        expiring, stop_expiring = start_daily(services.ledger, services.url)
        try:
            services.read_side.run(stop)
        finally:
            stop_expiring.set()
            expiring.join()
    return 0


def _quarantine(settings: Settings, args: argparse.Namespace) -> int:
    view = getattr(args, "view", None)
    known = {m.name for m in READ_MODELS}
    if view is not None and view not in known:
        print(f"没有名为 {view} 的读模型;可选:{'、'.join(sorted(known))}", file=sys.stderr)
        return 2
    with bootstrap(settings) as services:
        read_side = services.read_side
        read_side.open()
        if args.quarantine_command == "retry":
            names = sorted({q.model for q in read_side.quarantined()})
            names = [n for n in names if view in (None, n)]
            if names:
                read_side.rebuild(*names, progress=ProgressBar("重建 " + ", ".join(names)))
            print(f"已重建:{'、'.join(names) or '无'};重建后仍被隔离的事件如下", file=sys.stderr)
        held = read_side.quarantined()
        refused = services.ledger.unreadable([UUID(q.originator_id) for q in held])
    blocked = {str(error.details["id"]) for error in refused}
    if args.json:
        rows = [
            {**vars(q), "at": q.at.isoformat(), "commands_refused": q.originator_id in blocked}
            for q in held
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not held:
        print("没有被隔离的事件")
        return 0
    print("读模型\t位置\t事件类型\t对象编号\t原因\t隔离时间")
    for q in held:
        print(f"{q.model}\t{q.position}\t{q.topic}\t{q.originator_id}\t{q.error}\t{q.at:%F %T}")
    if refused:
        print(f"\n写入端也无法重建的对象(对它们的操作被拒绝,代码 {UnreadableRecord.code}):")
        print("对象编号\t第几个事件\t事件类型\t原因")
        for error in refused:
            d = error.details
            print(f"{d['id']}\t{d['version']}\t{d['topic']}\t{d['reason']}")
    return 0


def add(commands: Any) -> None:
    rebuild = commands.add_parser("rebuild", help="从头重建读模型(全部或指定一个)")
    rebuild.add_argument("view", nargs="?", help="读模型名称,如 member_totals")
    rebuild.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    rebuild.set_defaults(run=_rebuild)

    project = commands.add_parser("project", help="持续更新读模型(独立进程)")
    project.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    project.set_defaults(run=_project)

    quarantine = commands.add_parser(
        "quarantine", help="读模型无法应用而隔离的事件:列出,或修复代码后重建重试"
    )
    quarantine.add_argument("--json", action="store_true", help="以 JSON 输出")
    quarantine_commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = quarantine_commands.add_parser("list", help="列出被隔离的事件")
    retry = quarantine_commands.add_parser("retry", help="重建有隔离事件的读模型(按顺序重放)")
    retry.add_argument("view", nargs="?", help="只重建这个读模型")
    for sub in (listing, retry):  # also after the subcommand: ledger quarantine list --json
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    quarantine.set_defaults(run=_quarantine)
