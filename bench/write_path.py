"""Redemptions per second through the application against raw durable INSERTs.

Both run in one process on the same PostgreSQL server, at 1 and at 16
concurrent callers: each caller is a kiosk of its own community's store.
The raw baseline is one asyncpg INSERT of one row per transaction, committed
durably (synchronous_commit on), the least any durable write can cost.

    python -m bench.write_path [--per-caller N]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID, uuid4

import asyncpg

from bench.common import bench_database, rate
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain import limits
from ledger.domain.policy import PointsPolicy
from ledger.domain.values import Context, MemberKind, Rating, Role

ADMIN = Context("bench", Role.ADMIN)
CALLERS = 16
MEMBERS_PER_STORE = 8
ITEMS_PER_STORE = 8
T0 = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)


def build_stores(ledger: Ledger) -> list[tuple[UUID, list[UUID], list[UUID]]]:
    """16 communities, each with members rich in points (an hour earns the most the rule
    book allows) and a well-stocked store."""
    most = limits.POINTS_PER_HOUR.high
    ledger.publish_policy(
        PointsPolicy(version=ledger.current_policy().version + 1, points_per_hour=most),
        "压力测试",
        ADMIN,
    )
    street = ledger.register_street("测试街道", ADMIN).id
    stores = []
    for c in range(CALLERS):
        community = ledger.register_community(street, f"社区{c}", ADMIN).id
        members = []
        for m in range(MEMBERS_PER_STORE):
            member = ledger.register_member(
                MemberKind.VOLUNTEER, f"志愿者{c}-{m}", community, ADMIN
            ).id
            task = ledger.publish_task(
                community, "应急", "应急保障", T0, T0 + timedelta(hours=8), 1, ADMIN
            ).id
            service = ledger.claim_task(task, member, ADMIN).id
            ledger.check_in(service, ADMIN, at=T0)
            ledger.check_out(service, ADMIN, at=T0 + timedelta(hours=8))
            ledger.rate_service(service, Rating.EXCELLENT, ADMIN)
            members.append(member)
        items = []
        for i in range(ITEMS_PER_STORE):
            item = ledger.list_item(community, f"商品{i}", "1", ADMIN).id
            ledger.restock_item(item, 10_000, "测试单位", ADMIN)
            items.append(item)
        stores.append((community, members, items))
    return stores


def redeem_many(
    ledger: Ledger,
    callers: int,
    per_caller: int,
    stores: list[tuple[UUID, list[UUID], list[UUID]]],
) -> None:
    def kiosk(n: int) -> None:
        community, members, items = stores[n]
        for i in range(per_caller):
            ledger.redeem(
                f"kiosk-{n}",
                uuid4().hex,
                members[i % len(members)],
                community,
                [(items[i % len(items)], 1)],
                ADMIN,
            )

    threads = [threading.Thread(target=kiosk, args=(n,)) for n in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


async def raw_inserts(url: str, callers: int, per_caller: int) -> float:
    pool = await asyncpg.create_pool(url, min_size=callers, max_size=callers)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_redemptions (id bigserial PRIMARY KEY, "
            "kiosk text, key text, member uuid, total numeric, at timestamptz DEFAULT now())"
        )

    async def caller(n: int) -> None:
        async with pool.acquire() as conn:
            for _ in range(per_caller):
                await conn.execute(
                    "INSERT INTO raw_redemptions (kiosk, key, member, total) "
                    "VALUES ($1, $2, $3, $4)",
                    f"kiosk-{n}",
                    uuid4().hex,
                    uuid4(),
                    Decimal(1),
                )

    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(caller(n) for n in range(callers)))
    elapsed = loop.time() - started
    await pool.close()
    return callers * per_caller / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-caller", type=int, default=150)
    args = parser.parse_args()
    with bench_database() as url:
        ledger = Ledger(eventsourcing_env(url))
        try:
            stores = build_stores(ledger)
            redeem_many(ledger, CALLERS, 5, stores)  # warm the caches
            results = {}
            for callers in (1, CALLERS):
                per = args.per_caller * (4 if callers == 1 else 1)
                app = rate(callers * per, partial(redeem_many, ledger, callers, per, stores))
                raw = asyncio.run(raw_inserts(url, callers, per))
                results[callers] = (app, raw)
                print(
                    f"callers={callers:2d} app={app:8.1f} redemptions/s "
                    f"raw={raw:8.1f} inserts/s ratio={app / raw:.3f}"
                )
        finally:
            ledger.close()
    app16, raw16 = results[CALLERS]
    app1, raw1 = results[1]
    print(
        f"write_path callers=16 app={app16:.1f}/s raw={raw16:.1f}/s ratio={app16 / raw16:.3f} "
        f"(callers=1 ratio={app1 / raw1:.3f})"
    )


if __name__ == "__main__":
    main()
