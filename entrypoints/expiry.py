"""``ledger expire``, and the scheduled run inside ``ledger serve`` and ``ledger project``:
the daily expiry, and every few minutes the closing of lapsed services (``closing``).

Points expire at the end of the calendar year after the one they were earned in (the rule
book says when). The run expires every account's due lots as of now (``--as-of`` may name
an earlier moment, never a later one: an expiry cannot be undone); it is idempotent (a
rerun finds nothing due) and safe from two processes at once (an account saved by one
is re-read by the other, which then finds nothing due).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from datetime import datetime, time, timedelta
from typing import Any

from entrypoints.bootstrap import bootstrap
from entrypoints.closing import EVERY_SECONDS, close_now
from ledger.application import Ledger
from ledger.database import is_outage
from ledger.domain.errors import LedgerError
from ledger.domain.values import CST, Context, now
from ledger.settings import Settings

log = logging.getLogger(__name__)

DAILY_AT = time(0, 5)
"""China Standard Time: just after midnight, so a new year's first run expires the lots."""
RETRY_SECONDS = 60.0
ACTOR = "expiry"


def next_run(after: datetime) -> datetime:
    """The first ``DAILY_AT`` (CST) strictly after ``after``."""
    local = after.astimezone(CST)
    candidate = datetime.combine(local.date(), DAILY_AT, CST)
    return candidate if candidate > local else candidate + timedelta(days=1)


def expire_now(ledger: Ledger) -> int:
    expired = ledger.expire_points(now(), Context.system(ACTOR))
    log.warning(json.dumps({"event": "expiry", "accounts": expired}))
    return expired


def run_daily(ledger: Ledger, stop: threading.Event, url: str | None = None) -> None:
    """Expire now, then every day at ``DAILY_AT``; with the database's ``url``, close
    lapsed services every ``EVERY_SECONDS`` too; until ``stop`` is set."""
    due = now()
    while not stop.is_set():
        try:
            if now() >= due:
                expire_now(ledger)
                due = next_run(now())
            if url is not None:
                close_now(ledger, url)
        except Exception as error:
            if not is_outage(error):
                log.exception("scheduled run failed")
            stop.wait(RETRY_SECONDS)
            continue
        wait = (due - now()).total_seconds()
        stop.wait(wait if url is None else min(wait, EVERY_SECONDS))


def start_daily(ledger: Ledger, url: str | None = None) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run_daily, args=(ledger, stop, url), daemon=True, name=ACTOR)
    thread.start()
    return thread, stop


def _expire(settings: Settings, args: argparse.Namespace) -> int:
    try:
        at = datetime.fromisoformat(args.as_of) if args.as_of else now()
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        print("--as-of 须为带时区的时间,如 2027-01-01T00:05:00+08:00", file=sys.stderr)
        return 2
    with bootstrap(settings) as services:
        try:
            expired = services.ledger.expire_points(at, Context.system(ACTOR))
        except LedgerError as error:  # a moment still to come, out of range, …
            print(error.message, file=sys.stderr)
            return 2
    print(f"截至 {at.astimezone(CST):%Y-%m-%d %H:%M:%S}(北京时间):{expired} 个账户有积分过期")
    return 0


def add(commands: Any) -> None:
    expire = commands.add_parser(
        "expire", help="让到期的积分过期(幂等;serve 与 project 每天自动运行)"
    )
    expire.add_argument("--as-of", help="按此时刻计算(ISO 时间,带时区),默认现在;不能晚于现在")
    expire.set_defaults(run=_expire)
