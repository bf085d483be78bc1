"""The ``ledger`` command: each group of subcommands lives in a module of its own."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from entrypoints import (
    auditing,
    cards,
    database,
    demo,
    expiry,
    importing,
    papers,
    readside,
    server,
    tokens,
)
from ledger.settings import load_settings

GROUPS = (
    database,
    server,
    readside,
    expiry,
    importing,
    demo,
    tokens,
    cards,
    papers,
    auditing,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledger", description="志愿服务积分账本")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.run(load_settings(), args))


if __name__ == "__main__":
    sys.exit(main())
