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
import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.app import create_app
from api.auth import create_token
from bench.common import bench_database
from entrypoints.bootstrap import bootstrap
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import CST, Context, MemberKind, Rating, Role, UnitKind
from projections import queries
from projections.runner import ReadSide
from projections.tree import pinned_verifier

ADMIN = Context("bench", Role.ADMIN)
UNITS, MEMBERS, COMMUNITIES, TASKS = 1000, 100_000, 20, 2000
CLIENTS = 16
QUERY = """{ unitRanking(period: "2026", metric: COMPOSITE, first: 50) {
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


async def plain(request: Request) -> Response:
    """The same rows from the same view, as JSON without GraphQL; the answer is kept in
    the same cache, until the read models move on, as the GraphQL server keeps its own."""
    state = request.app.state

    async def answer() -> bytes:
        rows = await queries.unit_ranking(state.pool, "2026", first=50)
        ranking = [
            {k: (v if isinstance(v, int | str) else str(v)) for k, v in row.items()} for row in rows
        ]
        return json.dumps({"unitRanking": ranking}, ensure_ascii=False).encode()

    body = await state.cache.get(("plain", "2026", 50), answer)
    return Response(body, media_type="application/json")


def serving_app() -> Starlette:
    """The real application plus the plain endpoint, for ``uvicorn --factory``; the
    services stay open for the life of the process."""
    services = contextlib.ExitStack().enter_context(bootstrap())
    app = create_app(
        services.url,
        services.ledger,
        services.read_side,
        pinned_verifier(services.settings),
        follow=False,
    )
    app.router.routes.append(Route("/plain", plain))
    return app


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.body = {body}
"""


def wrk(
    url: str, body: dict[str, Any] | None, token: str, seconds: float
) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 in ms, measured by wrk (a C load generator, so that
    the load itself costs the server's two cores as little as it can)."""
    script = WRK_SCRIPT.format(
        method="GET" if body is None else "POST",
        token=token,
        body="nil" if body is None else json.dumps(json.dumps(body)),
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{CLIENTS}",
                f"-d{round(seconds)}s",
                "--latency",
                "-s",
                lua.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if re.search(r"Non-2xx", out):
        raise RuntimeError(out)
    return rps, percentile("50"), percentile("99")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
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
            try:
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
                    results[name] = wrk(target, body, token, args.seconds)
            finally:
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
