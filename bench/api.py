"""A unit ranking over HTTP: the GraphQL API against a plain JSON endpoint.

Builds 1,000 units and 100,000 members (and their services) through the
ledger's commands and its read models, then serves, from one uvicorn process:
(a) the GraphQL query for the top 50 units by the composite score, and (b) a
plain Starlette JSON endpoint returning the same rows from the same view
through asyncpg. 16 concurrent clients; requests per second, p50 and p99.

    python -m bench.api [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.app import create_app
from api.auth import create_token
from bench.common import bench_database
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import CST, Context, MemberKind, Rating, Role, UnitKind
from projections import queries
from projections.runner import ReadSide

ADMIN = Context("bench", Role.ADMIN)
UNITS, MEMBERS, COMMUNITIES, TASKS = 1000, 100_000, 20, 2000
CLIENTS = 16
QUERY = """{ unitRanking(period: "2026", metric: "composite", first: 50) {
  position rank unitId name members served hours points composite } }"""


def build(ledger: Ledger) -> None:
    rng = random.Random(5)
    with ledger.batch():
        street = ledger.register_street("测试街道", ADMIN).id
        communities = [
            ledger.register_community(street, f"社区{c}", ADMIN).id for c in range(COMMUNITIES)
        ]
        units = [
            ledger.register_unit(
                f"单位{u:04d}", UnitKind.ORGAN, ADMIN, communities=rng.sample(communities, 2)
            ).id
            for u in range(UNITS)
        ]
    members: list[tuple[Any, Any]] = []
    for start in range(0, MEMBERS, 5000):
        with ledger.batch():
            for _ in range(start, min(start + 5000, MEMBERS)):
                home = rng.choice(communities)
                member = ledger.register_member(
                    MemberKind.PARTY_MEMBER, "成员", home, ADMIN, unit_id=rng.choice(units)
                ).id
                if rng.random() < 0.9:
                    ledger.report_member(member, datetime(2026, 1, 5).date(), ADMIN)
                members.append((member, home))
        print(f"\rmembers {len(members):,}", end="", file=sys.stderr)
    categories = ("巡逻", "政策宣讲", "应急保障")
    for start in range(0, TASKS, 200):
        with ledger.batch():
            for t in range(start, start + 200):
                begin = datetime(2026, 3, 1, 9, tzinfo=CST) + timedelta(days=t % 200)
                community = communities[t % COMMUNITIES]
                task = ledger.publish_task(
                    community,
                    "服务",
                    categories[t % 3],
                    begin,
                    begin + timedelta(hours=2),
                    5,
                    ADMIN,
                ).id
                for member, _ in rng.sample(members, 5):
                    service = ledger.claim_task(task, member, ADMIN).id
                    ledger.check_in(service, ADMIN, at=begin)
                    ledger.check_out(service, ADMIN, at=begin + timedelta(hours=2))
                    ledger.rate_service(service, rng.choice(list(Rating)), ADMIN)
        print(f"\rtasks {start + 200:,}", end="", file=sys.stderr)
    print(file=sys.stderr)


async def plain(request: Request) -> JSONResponse:
    """The same rows through the same query and cache as the GraphQL field, without GraphQL."""
    state = request.app.state
    key = ("unit_ranking", "2026", "composite", None, 50, 0)
    rows = await state.cache.get(key, lambda: queries.unit_ranking(state.pool, "2026", first=50))
    return JSONResponse(
        {
            "unitRanking": [
                {k: (str(v) if not isinstance(v, int | str) else v) for k, v in row.items()}
                for row in rows
            ]
        }
    )


def serving_app() -> Starlette:
    """The real application plus the plain endpoint, for ``uvicorn --factory``."""
    app = create_app(follow=False)
    app.router.routes.append(Route("/plain", plain))
    return app


async def load(url: str, body: dict[str, Any] | None, token: str, seconds: float) -> list[float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if body is None:
                    response = await client.get(url)
                else:
                    response = await client.post(url, json=body)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return latencies


def figures(latencies: list[float], seconds: float) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(ordered) / seconds, statistics.median(ordered) * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with bench_database() as url, tempfile.TemporaryDirectory() as data_dir:
        ledger = Ledger(eventsourcing_env(url))
        try:
            build(ledger)
            ReadSide(ledger).open()
        finally:
            ledger.close()
        token = create_token(url, Role.ADMIN, [], "bench")[1]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": url, "LEDGER_DATA_DIR": data_dir}
        with subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.api:serving_app",
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        ) as server:
            base = f"http://127.0.0.1:{port}"
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            graphql = {"query": QUERY}
            check = httpx.post(
                f"{base}/graphql",
                json=graphql,
                timeout=10,
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            rows = check["data"]["unitRanking"]
            assert len(rows) == 50 and rows[0]["members"] > 0, check
            results = {}
            for name, target, body in (
                ("plain", f"{base}/plain", None),
                ("graphql", f"{base}/graphql", graphql),
            ) * 2:  # a warm-up round, then the measured one
                results[name] = figures(
                    asyncio.run(load(target, body, token, args.seconds)), args.seconds
                )
            server.terminate()
    (g_rps, g_p50, g_p99), (p_rps, p_p50, p_p99) = results["graphql"], results["plain"]
    print(f"plain   rps={p_rps:7.1f} p50={p_p50:6.2f}ms p99={p_p99:6.2f}ms")
    print(f"graphql rps={g_rps:7.1f} p50={g_p50:6.2f}ms p99={g_p99:6.2f}ms")
    print(
        f"api unit ranking top 50 of {UNITS} units, {MEMBERS} members, {CLIENTS} clients: "
        f"graphql_p99={g_p99:.1f}ms ratio={g_rps / p_rps:.3f}"
    )


if __name__ == "__main__":
    main()
