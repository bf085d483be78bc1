"""Kiosks at work over HTTP: scan a member's card, then redeem one item.

Builds 16 stores (communities) with 200 members each (``--members``), every member with
9.6 points and a card, and 16 kiosk tokens, one per store. Then 16 kiosks at once, each in a
loop: ``memberByCode`` with a card's code, then ``redeem`` one item for that member
with a fresh key, both over HTTP against the real server (read models followed in
the same process, as ``ledger serve`` runs).

The raw baseline runs the same statements from 16 asyncpg connections with no API,
no domain and no event encoding: the lookup's SELECT (the same SQL the server runs),
the redemption's one-round-trip load of its aggregates' events, and a transaction
that takes the event store's ordering lock and inserts as many rows, of the same
average size, as each redemption wrote in the run above.

    python -m bench.kiosk [--seconds 10] [--warm-up 2] [--members 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import httpx
from starlette.applications import Starlette

from api.auth import create_token
from bench.common import bench_database, running_server, served_app
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.account import Account
from ledger.domain.codes import code_key, hash_card_code
from ledger.domain.rulebook import RULE_BOOK_ID
from ledger.domain.values import CST, Context, MemberKind, Rating, Role
from projections.queries.members import member_by_code
from projections.runner import ReadSide

ADMIN = Context("bench", Role.ADMIN)
STORES, KIOSKS = 16, 16
ID_HASH_KEY = secrets.token_bytes(32)
LOOKUP = """query($c: String!) { memberByCode(code: $c) {
  __typename ... on KioskMember { memberId balance } } }"""
REDEEM = """mutation($s: UUID!, $m: UUID!, $k: String!, $i: UUID!) {
  redeem(storeId: $s, memberId: $m, key: $k, lines: [{itemId: $i, quantity: 1}]) {
    __typename ... on RedemptionReceipt { balanceAfter } ... on Problem { code } } }"""


@dataclass
class Store:
    id: UUID
    item: UUID
    cards: list[tuple[UUID, str]]  # (member, code)
    token: str = ""


def build(ledger: Ledger, members_per_store: int) -> list[Store]:
    stores = []
    start = datetime(2026, 3, 2, 9, tzinfo=CST)
    with ledger.batch():
        street = ledger.register_street("兑换街道", ADMIN).id
    for s in range(STORES):
        with ledger.batch():
            community = ledger.register_community(street, f"兑换社区{s}", ADMIN).id
            item = ledger.list_item(community, "毛巾", "1", ADMIN).id
            for _ in range(10):
                ledger.restock_item(item, 10_000, "区财政局", ADMIN)
            cards = []
            for m in range(members_per_store):
                member = ledger.register_member(MemberKind.RESIDENT, "成员", community, ADMIN).id
                begin = start + timedelta(days=m % 200)
                task = ledger.publish_task(
                    community, "服务", "应急保障", begin, begin + timedelta(hours=4), 1, ADMIN
                ).id
                service = ledger.claim_task(task, member, ADMIN).id
                ledger.check_in(service, ADMIN, at=begin)
                ledger.check_out(service, ADMIN, at=begin + timedelta(hours=4))
                ledger.rate_service(service, Rating.EXCELLENT, ADMIN)
                cards.append((member, ledger.issue_card(member, ADMIN).code))
            stores.append(Store(community, item, cards))
        print(f"\rstores {s + 1}/{STORES}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return stores


def serving_app() -> Starlette:
    """The real application, following the read models as ``ledger serve`` does."""
    return served_app(follow=True)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def over_http(base: str, stores: list[Store], seconds: float) -> tuple[int, list[float]]:
    """Lookups and redemptions by ``KIOSKS`` kiosks until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    latencies: list[float] = []

    async def kiosk(store: Store) -> None:
        rng = random.Random(store.id.int)
        headers = {"Authorization": f"Bearer {store.token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            while time.monotonic() < deadline:
                member, code = rng.choice(store.cards)
                started = time.perf_counter()
                found = (
                    await client.post("/graphql", json={"query": LOOKUP, "variables": {"c": code}})
                ).json()["data"]["memberByCode"]
                assert found["memberId"] == str(member), found
                variables = {
                    "s": str(store.id),
                    "m": str(member),
                    "k": secrets.token_hex(8),
                    "i": str(store.item),
                }
                redeemed = (
                    await client.post("/graphql", json={"query": REDEEM, "variables": variables})
                ).json()["data"]["redeem"]
                latencies.append(time.perf_counter() - started)
                assert redeemed["__typename"] in ("RedemptionReceipt", "InsufficientPoints")

    await asyncio.gather(*(kiosk(store) for store in stores[:KIOSKS]))
    return len(latencies), latencies


async def written(url: str, after: int) -> tuple[int, int, int]:
    """The event store's head, and how many rows it gained after ``after`` and their
    average size."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT coalesce(max(notification_id), 0) AS head, count(*) AS n, "
            "coalesce(avg(length(state)), 0)::int AS size "
            "FROM ledger_events WHERE notification_id > $1",
            after,
        )
        assert row is not None
        return int(row["head"]), int(row["n"]), int(row["size"])
    finally:
        await conn.close()


async def raw(
    url: str, stores: list[Store], rows: int, size: int, seconds: float
) -> tuple[int, list[float]]:
    """The same statements from ``KIOSKS`` connections, without the API or the domain."""
    key = code_key(ID_HASH_KEY)
    pool = await asyncpg.create_pool(url, min_size=KIOSKS, max_size=KIOSKS)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE raw_events (LIKE ledger_events INCLUDING ALL)")
        await conn.execute("CREATE SEQUENCE raw_events_seq OWNED BY raw_events.notification_id")
        await conn.execute(
            "ALTER TABLE raw_events ALTER notification_id SET DEFAULT nextval('raw_events_seq')"
        )
    state = os.urandom(size)
    deadline = time.monotonic() + seconds
    latencies: list[float] = []

    async def kiosk(store: Store) -> None:
        rng = random.Random(store.id.int)
        async with pool.acquire() as conn:
            while time.monotonic() < deadline:
                member, code = rng.choice(store.cards)
                started = time.perf_counter()
                found = await member_by_code(conn, code_hash=hash_card_code(code, key))
                assert found is not None and found["member_id"] == member
                await conn.fetch(
                    "SELECT originator_id, originator_version, topic, state FROM ledger_events "
                    "WHERE originator_id = ANY($1::uuid[]) ORDER BY originator_id, "
                    "originator_version",
                    [Account.create_id(member), RULE_BOOK_ID, store.item],
                )
                async with conn.transaction():
                    await conn.execute("LOCK TABLE raw_events IN EXCLUSIVE MODE")
                    await conn.executemany(
                        "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                        "VALUES ($1, $2, 'raw', $3)",
                        [(UUID(int=rng.getrandbits(128)), 1, state) for _ in range(rows)],
                    )
                latencies.append(time.perf_counter() - started)

    try:
        await asyncio.gather(*(kiosk(store) for store in stores[:KIOSKS]))
    finally:
        await pool.close()
    return len(latencies), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warm-up", type=float, default=2, help="seconds; 0: none")
    parser.add_argument("--members", type=int, default=200, help="per store")
    args = parser.parse_args()
    with bench_database() as url, tempfile.TemporaryDirectory() as data_dir:
        ledger = Ledger(eventsourcing_env(url), id_hash_key=ID_HASH_KEY)
        try:
            stores = build(ledger, args.members)
            ReadSide(ledger).open()
        finally:
            ledger.close()
        for n, store in enumerate(stores):
            made = create_token(url, Role.KIOSK, [store.id], f"bench {n}", device=f"kiosk-{n}")
            store.token = made[1]
        env = {"DATABASE_URL": url, "LEDGER_DATA_DIR": data_dir}
        env["LEDGER_ID_HASH_KEY"] = ID_HASH_KEY.hex()
        with running_server("bench.kiosk:serving_app", env) as base:
            asyncio.run(over_http(base, stores, args.warm_up))
            head = asyncio.run(written(url, 0))[0]
            api_ops, api_lat = asyncio.run(over_http(base, stores, args.seconds))
        _, rows, size = asyncio.run(written(url, head))
        per_op = max(1, round(rows / api_ops))
        raw_ops, raw_lat = asyncio.run(raw(url, stores, per_op, size, args.seconds))
    api_rate, raw_rate = api_ops / args.seconds, raw_ops / args.seconds
    print(
        f"api lookup+redeem {api_rate:7.1f}/s p50={percentile(api_lat, 0.5):6.1f}ms "
        f"p99={percentile(api_lat, 0.99):6.1f}ms ({api_ops} in {args.seconds:.0f} s)"
    )
    print(
        f"raw same statements {raw_rate:7.1f}/s p50={percentile(raw_lat, 0.5):6.1f}ms "
        f"p99={percentile(raw_lat, 0.99):6.1f}ms ({per_op} event rows of {size} bytes each)"
    )
    print(
        f"kiosk lookup+redeem over HTTP, {KIOSKS} kiosks: api={api_rate:.1f}/s "
        f"raw={raw_rate:.1f}/s p99={percentile(api_lat, 0.99):.1f}ms "
        f"ratio={api_rate / raw_rate:.3f}"
    )


if __name__ == "__main__":
    main()
