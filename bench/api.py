"""Three reads over HTTP, GraphQL against a plain JSON endpoint running the same SQL.

Builds 100,000 members (``--members``), a unit for every 100 and a task of five services
for every 50, through the ledger's commands and its read models, then serves, from one
uvicorn process, (a) GraphQL and (b) plain Starlette endpoints that run the same
``projections.queries`` functions through asyncpg and return their rows as JSON:

- the unit ranking (a page of 10–50 units, of one community's units or of all, by
  the composite score),
- a member with their year (``member(id) { … year(year: 2026) { … } }``),
- a member's 评先评优 dossier for 2026.

The headline is uncached: every request draws its variables at random over the whole
data set (wrk's Lua picks them), so the server's kept answers are seldom of use. The
same requests with fixed variables (answered from the kept answers) are printed beside.
16 connections; requests per second, p50 and p99.

The two endpoints of a read are measured in turns, ``--rounds`` times each after a short
warm-up, so that a change in what else the machine is doing weighs on both alike; each
figure is the median over the rounds, and a read's ratio the median of its rounds' ratios
(each printed).

    python -m bench.api [--seconds 10] [--rounds 3] [--warm-up 2] [--members 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.utils.str_converters import to_camel_case

from api.auth import create_token
from api.types import Dossier, DossierService, Member, MemberYear, UnitRank
from bench.common import bench_database, running_server, served_app
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import CST, Context, MemberKind, Rating, Role, UnitKind
from projections import queries
from projections.runner import ReadSide

ADMIN = Context("bench", Role.ADMIN)
COMMUNITIES = 20
MEMBERS_PER_UNIT, MEMBERS_PER_TASK = 100, 50
CLIENTS = 16
YEAR = 2026
"""The year the data is in, and the year the reads ask for."""


def build(ledger: Ledger, size: int) -> tuple[list[UUID], list[UUID]]:
    """The communities and ``size`` members."""
    rng = random.Random(5)
    with ledger.batch():
        street = ledger.register_street("测试街道", ADMIN).id
        communities = [
            ledger.register_community(street, f"社区{c}", ADMIN).id for c in range(COMMUNITIES)
        ]
        paired: dict[UUID, list[UUID]] = {}
        for u in range(max(1, size // MEMBERS_PER_UNIT)):
            pair = rng.sample(communities, 2)
            made = ledger.register_unit(f"单位{u:04d}", UnitKind.ORGAN, ADMIN, communities=pair)
            paired[made.id] = pair
        units = list(paired)
    members: list[tuple[Any, Any]] = []
    serving: dict[UUID, list[UUID]] = {c: [] for c in communities}
    """Who takes each community's tasks: its residents and its paired units' members."""
    for start in range(0, size, 5000):
        with ledger.batch():
            for _ in range(start, min(start + 5000, size)):
                home, unit = rng.choice(communities), rng.choice(units)
                member = ledger.register_member(
                    MemberKind.PARTY_MEMBER, "成员", home, ADMIN, unit_id=unit
                ).id
                for place in {home, *paired[unit]}:
                    serving[place].append(member)
                if rng.random() < 0.9:
                    ledger.report_member(member, datetime(YEAR, 1, 5).date(), ADMIN)
                members.append((member, home))
        print(f"\rmembers {len(members):,}", end="", file=sys.stderr)
    categories = ("巡逻", "政策宣讲", "应急保障")
    busy: set[tuple[UUID, int]] = set()  # a member serves one task a day: times never overlap
    tasks = size // MEMBERS_PER_TASK
    for start in range(0, tasks, 200):
        with ledger.batch():
            for t in range(start, min(start + 200, tasks)):
                begin = datetime(YEAR, 3, 1, 9, tzinfo=CST) + timedelta(days=t % 200)
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
                near = serving[community]
                free = [m for m in rng.sample(near, min(10, len(near))) if (m, t % 200) not in busy]
                for member in free[:5]:
                    busy.add((member, t % 200))
                    service = ledger.claim_task(task, member, ADMIN).id
                    ledger.check_in(service, ADMIN, at=begin)
                    ledger.check_out(service, ADMIN, at=begin + timedelta(hours=2))
                    ledger.rate_service(service, rng.choice(list(Rating)), ADMIN)
        print(f"\rtasks {min(start + 200, tasks):,}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return communities, [member for member, _ in members]


def _fields(cls: type) -> str:
    return " ".join(to_camel_case(name) for name in cls.__annotations__)


STANDING = "rank size percentile"
READS = {
    "ranking": (
        f'query($c: UUID, $after: Int!, $first: Int!) {{ unitRanking(period: "{YEAR}", '
        "metric: COMPOSITE, communityId: $c, first: $first, after: $after) { "
        f"{_fields(UnitRank)} }} }}"
    ),
    "member": (
        f"query($m: UUID!) {{ member(id: $m) {{ {_fields(Member)} "
        f"year(year: {YEAR}) {{ {_fields(MemberYear)} }} }} }}"
    ),
    "dossier": (
        f"query($m: UUID!) {{ member(id: $m) {{ dossier(year: {YEAR}) {{ "
        + _fields(Dossier)
        .replace("services", f"services {{ {_fields(DossierService)} }}")
        .replace("inUnit", f"inUnit {{ {STANDING} }}")
        .replace("inCommunity", f"inCommunity {{ {STANDING} }}")
        + " } } }"
    ),
}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode()


def _uuid(request: Request, name: str) -> UUID | None:
    value = request.query_params.get(name)
    return UUID(value) if value else None


async def plain_ranking(request: Request) -> Response:
    """The same statement as the GraphQL unit ranking, its rows as JSON."""
    q = request.query_params
    rows = await queries.unit_ranking(
        request.app.state.pool,
        str(YEAR),
        community_id=_uuid(request, "c"),
        first=int(q["first"]),
        after=int(q["after"]),
    )
    return Response(_json({"unitRanking": [dict(r) for r in rows]}), media_type="application/json")


async def plain_member(request: Request) -> Response:
    """A member with their year, in the one statement that answers it."""
    row = await queries.member_summary(request.app.state.pool, _uuid(request, "m"), YEAR)  # type: ignore[arg-type]
    return Response(_json({"member": dict(row) if row else None}), media_type="application/json")


async def plain_dossier(request: Request) -> Response:
    found = await queries.dossier(request.app.state.pool, _uuid(request, "m"), YEAR)  # type: ignore[arg-type]
    body = None
    if found is not None:
        body = {f.name: getattr(found, f.name) for f in dataclasses.fields(found)}
        body |= {
            "services": [dict(s) for s in found.services],
            "review": dict(found.review) if found.review else None,
            "in_unit": dataclasses.asdict(found.in_unit) if found.in_unit else None,
            "in_community": dataclasses.asdict(found.in_community) if found.in_community else None,
        }
    return Response(_json({"dossier": body}), media_type="application/json")


def serving_app() -> Starlette:
    """The real application plus the plain endpoints, for ``uvicorn --factory``."""
    app = served_app(follow=False)
    for name, endpoint in (
        ("ranking", plain_ranking),
        ("member", plain_member),
        ("dossier", plain_dossier),
    ):
        app.router.routes.append(Route(f"/plain/{name}", endpoint))
    return app


WRK_SCRIPT = """
local communities = {{ {communities} }}
local members = {{ {members} }}
local fixed = {fixed}
local read, graphql = "{read}", {graphql}
local query = {query}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
local n = 0

local function pick(list)
  if fixed then return list[1] end
  return list[math.random(#list)]
end

request = function()
  n = n + 1
  local m, c = pick(members), pick(communities)
  local after, first = 0, 50
  if not fixed then
    after, first = math.random(0, 19) * 50, math.random(10, 50)
    if n % 2 == 0 then c = nil end
  end
  if not graphql then
    local path = "/plain/" .. read .. "?m=" .. m .. "&after=" .. after .. "&first=" .. first
    if c then path = path .. "&c=" .. c end
    return wrk.format("GET", path)
  end
  local vars
  if read == "ranking" then
    vars = string.format('{{"c": %s, "after": %d, "first": %d}}',
      c and ('"' .. c .. '"') or "null", after, first)
  else
    vars = string.format('{{"m": "%s"}}', m)
  end
  return wrk.format("POST", "/graphql", nil,
    '{{"query": ' .. query .. ', "variables": ' .. vars .. '}}')
end
"""


def wrk(
    base: str,
    read: str,
    *,
    graphql: bool,
    fixed: bool,
    token: str,
    communities: list[UUID],
    members: list[UUID],
    seconds: float,
) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 in ms, measured by wrk (a C load generator, so that
    the load itself costs the server's two cores as little as it can)."""
    script = WRK_SCRIPT.format(
        communities=", ".join(f'"{c}"' for c in communities),
        members=", ".join(f'"{m}"' for m in members),
        fixed="true" if fixed else "false",
        read=read,
        graphql="true" if graphql else "false",
        query=json.dumps(json.dumps(READS[read])),
        token=token,
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
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if re.search(r"Non-2xx", out):
        raise RuntimeError(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, percentile("50"), percentile("99")


def check(base: str, token: str, member: UUID) -> None:
    """Each GraphQL read answers, with data, before it is measured."""
    for read, variables in (
        ("ranking", {"c": None, "after": 0, "first": 50}),
        ("member", {"m": str(member)}),
        ("dossier", {"m": str(member)}),
    ):
        body = httpx.post(
            f"{base}/graphql",
            json={"query": READS[read], "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        assert "errors" not in body and body["data"], (read, body)


def _medians(measured: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Requests per second, p50 and p99: each the median over the rounds."""
    rps, p50, p99 = zip(*measured, strict=True)
    return statistics.median(rps), statistics.median(p50), statistics.median(p99)


@dataclasses.dataclass(frozen=True)
class Built:
    """The bench's data, read by the read models: what the server and wrk need."""

    env: dict[str, str]
    token: str
    communities: list[UUID]
    members: list[UUID]  # a sample, for wrk to draw from


@contextlib.contextmanager
def built(size: int) -> Iterator[Built]:
    """A fresh database holding the bench's data (``build``), its read models filled."""
    if shutil.which("wrk") is None:
        sys.exit("找不到 wrk:请先安装(apt-get install wrk)")
    with bench_database() as url, tempfile.TemporaryDirectory() as data_dir:
        ledger = Ledger(eventsourcing_env(url))
        try:
            communities, members = build(ledger, size)
            ReadSide(ledger).open()
        finally:
            ledger.close()
        yield Built(
            env={"DATABASE_URL": url, "LEDGER_DATA_DIR": data_dir},
            token=create_token(url, Role.ADMIN, [], "bench")[1],
            communities=communities,
            members=random.Random(7).sample(members, min(20_000, size)),
        )


def in_turns(
    base: str, read: str, data: Built, args: argparse.Namespace, *, fixed: bool
) -> dict[bool, list[tuple[float, float, float]]]:
    """The plain endpoint (False) and GraphQL (True) measured in turns, ``args.rounds``
    times each after a warm-up of ``args.warm_up`` seconds each (none when 0): each
    round's requests per second, p50 and p99."""
    turns = [(graphql, args.warm_up, False) for graphql in (False, True) if args.warm_up]
    turns += [(graphql, args.seconds, True) for graphql in (False, True)] * args.rounds
    measured: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    for graphql, length, kept in turns:
        figures = wrk(
            base,
            read,
            graphql=graphql,
            fixed=fixed,
            token=data.token,
            communities=data.communities,
            members=data.members,
            seconds=length,
        )
        if kept:
            measured[graphql].append(figures)
    return measured


def arguments(doc: str | None, seconds: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--seconds", type=int, default=seconds)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm-up", type=int, default=2, help="seconds; 0: none")
    parser.add_argument("--members", type=int, default=100_000)
    return parser.parse_args()


def main() -> None:
    args = arguments(__doc__, 10)
    with built(args.members) as data:
        rounds: dict[tuple[str, bool, bool], list[tuple[float, float, float]]] = {}
        with running_server("bench.api:serving_app", data.env) as base:
            check(base, data.token, data.members[0])
            for fixed in (False, True):
                for read in READS:
                    measured = in_turns(base, read, data, args, fixed=fixed)
                    for graphql, figures in measured.items():
                        rounds[read, graphql, fixed] = figures
            metrics = httpx.get(f"{base}/metrics", timeout=30).text
    planned = dict(re.findall(r'_planned_queries_total\{outcome="(\w+)"\} (\S+)', metrics))
    ratios = []
    for read in READS:
        for fixed in (False, True):
            on_graphql, on_plain = rounds[read, True, fixed], rounds[read, False, fixed]
            (g, g50, g99), (p, p50, p99) = _medians(on_graphql), _medians(on_plain)
            each = [mine[0] / theirs[0] for mine, theirs in zip(on_graphql, on_plain, strict=True)]
            ratio = statistics.median(each)
            kind = "cached  " if fixed else "uncached"
            print(
                f"{read:8} {kind} graphql {g:7.1f} rps p50={g50:6.2f}ms p99={g99:6.2f}ms | "
                f"plain {p:7.1f} rps p50={p50:6.2f}ms p99={p99:6.2f}ms | ratio={ratio:.3f} "
                f"(rounds {' '.join(f'{r:.3f}' for r in each)})"
            )
            if not fixed:
                ratios.append((read, ratio, g99))
    print(  # answered by their plans (docs/decisions/0030), or the long way
        "planned graphql answers: "
        + " ".join(f"{outcome}={float(count):.0f}" for outcome, count in sorted(planned.items()))
    )
    worst = min(ratios, key=lambda r: r[1])
    print(
        f"api uncached reads, {max(1, args.members // MEMBERS_PER_UNIT)} units, "
        f"{args.members} members, {CLIENTS} connections: "
        + " ".join(f"{r}={x:.3f}" for r, x, _ in ratios)
        + f" worst_p99={max(p99 for _, _, p99 in ratios):.1f}ms ratio={worst[1]:.3f}"
    )


if __name__ == "__main__":
    main()
