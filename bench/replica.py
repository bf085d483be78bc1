"""Reads on a streaming standby against reads on the primary, under a write load.

Builds 5,000 members (``--members``) on an embedded primary, makes a hot standby of it
(``pg_basebackup -R``), then runs the server twice: reads on the primary, then
with the standby in ``LEDGER_READ_REPLICAS``. Each time, 16 clients ask for members
by id (ids varying, so no answer is kept) for ``--seconds`` while a writer records
new members through the ledger as fast as it can.

On one machine both servers share its cores, so the figure says what the standby
costs a request (a probe of its replay position, and the same SQL) more than what a
second machine would add.

    python -m bench.replica [--seconds 10] [--warm-up 2] [--members 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx
from starlette.applications import Starlette

from api.auth import create_token
from bench.common import running_server, served_app
from ledger import database
from ledger.application import Ledger
from ledger.database import EmbeddedServer, ensure_database, eventsourcing_env
from ledger.domain.values import Context, MemberKind, Role
from projections.runner import ReadSide

ADMIN = Context("bench", Role.ADMIN)
CLIENTS = 16
QUERY = "query($m: UUID!) { member(id: $m) { name balance } }"


def build(ledger: Ledger, size: int) -> tuple[UUID, list[UUID]]:
    with ledger.batch():
        street = ledger.register_street("读写街道", ADMIN).id
        community = ledger.register_community(street, "读写社区", ADMIN).id
        members = [
            ledger.register_member(MemberKind.RESIDENT, f"成员{n}", community, ADMIN).id
            for n in range(size)
        ]
    return community, members


def serving_app() -> Starlette:
    return served_app(follow=True)


@contextlib.contextmanager
def writing(url: str, community: UUID) -> Iterator[list[int]]:
    """New members recorded one by one until the block ends; yields the count."""
    done = [0]
    stop = threading.Event()

    def write() -> None:
        ledger = Ledger(eventsourcing_env(url), id_hash_key=b"bench-replica")
        try:
            while not stop.is_set():
                ledger.register_member(MemberKind.RESIDENT, "新成员", community, ADMIN)
                done[0] += 1
        finally:
            ledger.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield done
    finally:
        stop.set()
        writer.join()


async def reads(base: str, token: str, members: list[UUID], seconds: float) -> int:
    deadline = time.monotonic() + seconds
    count = 0

    async def client(n: int) -> None:
        nonlocal count
        rng = random.Random(n)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            while time.monotonic() < deadline:
                variables = {"m": str(rng.choice(members))}
                body = (
                    await http.post("/graphql", json={"query": QUERY, "variables": variables})
                ).json()
                assert body["data"]["member"] is not None, body
                count += 1

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return count


def measure(
    url: str, env: dict[str, str], community: UUID, members: list[UUID], args: argparse.Namespace
) -> tuple[float, float, str]:
    token = create_token(url, Role.ADMIN, [], "bench")[1]
    with running_server("bench.replica:serving_app", env) as base:
        asyncio.run(reads(base, token, members, args.warm_up))
        with writing(url, community) as written:
            count = asyncio.run(reads(base, token, members, args.seconds))
        status = httpx.get(f"{base}/readyz", timeout=5).json()
    replicas = str(status.get("replicas", "primary only"))
    return count / args.seconds, written[0] / args.seconds, replicas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warm-up", type=float, default=2, help="seconds; 0: none")
    parser.add_argument("--members", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        primary = EmbeddedServer(Path(tmp) / "primary" / "pgdata")
        try:
            url = database.database_url(primary.url(), "bench_replica")
            ensure_database(url)
            ledger = Ledger(eventsourcing_env(url), id_hash_key=b"bench-replica")
            try:
                community, members = build(ledger, args.members)
                ReadSide(ledger).open()
            finally:
                ledger.close()
            standby = primary.standby(Path(tmp) / "standby" / "pgdata")
            try:
                standby_url = database.database_url(standby.url(), "bench_replica")
                data = {"DATABASE_URL": url, "LEDGER_DATA_DIR": str(Path(tmp) / "data")}
                on_primary, writes_p, _ = measure(url, data, community, members, args)
                with_standby = {**data, "LEDGER_READ_REPLICAS": standby_url}
                on_standby, writes_s, replicas = measure(
                    url, with_standby, community, members, args
                )
            finally:
                standby.stop()
        finally:
            primary.stop()
    print(f"reads on the primary  {on_primary:7.1f}/s while writing {writes_p:6.1f} members/s")
    print(f"reads on the standby  {on_standby:7.1f}/s while writing {writes_s:6.1f} members/s")
    print(f"standby at the end: {replicas}", file=sys.stderr)
    print(
        f"replica reads under writes, {CLIENTS} clients: standby={on_standby:.1f}/s "
        f"primary={on_primary:.1f}/s ratio={on_standby / on_primary:.3f}"
    )


if __name__ == "__main__":
    main()
