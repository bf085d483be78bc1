"""``ledger import services``: past service records from CSV or XLSX."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Any

from entrypoints.bootstrap import bootstrap
from entrypoints.progress import ProgressBar
from ledger.domain.limits import IMPORT_WORKERS
from ledger.importer import import_services, read_rows
from ledger.settings import Settings


def _import(settings: Settings, args: argparse.Namespace) -> int:
    source = Path(args.file)
    if not source.exists():
        print(f"找不到文件 {source}", file=sys.stderr)
        return 2
    total = sum(1 for _ in read_rows(source))
    bar = ProgressBar(f"导入 {source.name}")
    with bootstrap(settings) as services:
        result = import_services(
            services.ledger,
            read_rows(source),
            source.name,
            lambda done: bar(done, total),
            workers=args.workers,
        )
    bar(total, total)
    errors = Path(args.errors or f"{source}.errors.csv")
    with errors.open("w", encoding="utf-8-sig", newline="") as out:
        report = csv.writer(out)
        report.writerow(["行号", "原因"])
        report.writerows(result.bad)
    print(f"导入 {result.imported} 行,已导入过 {result.already} 行,有误 {len(result.bad)} 行")
    if result.bad:
        print(f"有误的行及原因见 {errors}")
    return 0 if not result.bad else 1


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= IMPORT_WORKERS:
        raise argparse.ArgumentTypeError(f"进程数须为 1 到 {IMPORT_WORKERS} 的整数")
    return int(text)


def add(commands: Any) -> None:
    importer = commands.add_parser("import", help="导入已有的服务记录(CSV 或 XLSX)")
    import_commands = importer.add_subparsers(dest="import_command", required=True)
    services = import_commands.add_parser("services", help="服务记录:成员、单位、社区与每次服务")
    services.add_argument("file")
    services.add_argument("--errors", help="有误行的报告(CSV),默认 FILE.errors.csv")
    services.add_argument(
        "--workers",
        type=_workers,
        default=min(os.cpu_count() or 1, IMPORT_WORKERS),
        help="并行判定的进程数,默认为本机核数(每个进程负责一部分成员)",
    )
    importer.set_defaults(run=_import)
