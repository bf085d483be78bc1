"""How close to the plain endpoint a GraphQL member read can come on this server.

``bench/api.py`` compares the member read (``member(id) { … year(year: 2026) { … } }``)
with a plain endpoint running its statement. This bench serves the same application
with one change: the read's plan, once learnt, answers by running the statement alone
and returning the answer it gave first (the same bytes for every request). What is left
is what every GraphQL request pays besides its resolvers and the completion of its
fields: the token, the body, the kept answers, the context, the encoding, the response.

Three figures, measured in turns (three rounds each, after a warm-up), 16 connections,
uncached (every request asks for another member): the plain endpoint, GraphQL, and
GraphQL without its resolvers (the floor). The headline is the floor ÷ plain: the most
the member read's ratio can reach while resolving anything at all.

    python -m bench.api_floor [--seconds 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
from typing import Any
from uuid import UUID

from starlette.applications import Starlette

from api.auth import create_token
from api.plans import Plan
from bench.api import CLIENTS, WARM_UP_SECONDS, build, check, serving_app, wrk
from bench.common import bench_database, running_server
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import Role
from projections import queries
from projections.runner import ReadSide

YEAR = 2026


def floor_app() -> Starlette:
    """``bench.api``'s application, the member read's plan answering by its statement
    alone (for ``uvicorn --factory``)."""
    answer = Plan.answer
    first: dict[str, Any] = {}

    async def statement_alone(self: Plan, variables: Any, context: Any) -> dict[str, Any]:
        if not first:
            first.update(await answer(self, variables, context))
        await queries.member_summary(context.pool, UUID(variables["m"]), YEAR)
        return first

    Plan.answer = statement_alone  # type: ignore[method-assign]
    return serving_app()


def measure(
    factory: str,
    env: dict[str, str],
    token: str,
    drawn: tuple[list[UUID], list[UUID]],
    args: Any,
) -> dict[bool, list[float]]:
    """Requests per second of the plain endpoint (False) and GraphQL (True), per round."""
    rounds: dict[bool, list[float]] = {False: [], True: []}
    with running_server(factory, env) as base:
        communities, members = drawn
        check(base, token, members[0])
        turns = [(graphql, WARM_UP_SECONDS) for graphql in (False, True)]
        turns += [(graphql, args.seconds) for graphql in (False, True)] * args.rounds
        for n, (graphql, seconds) in enumerate(turns):
            rps = wrk(
                base,
                "member",
                graphql=graphql,
                fixed=False,
                token=token,
                communities=communities,
                members=members,
                seconds=seconds,
            )[0]
            if n >= 2:  # the first two warm up
                rounds[graphql].append(rps)
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("找不到 wrk:请先安装(apt-get install wrk)")
    with bench_database() as url, tempfile.TemporaryDirectory() as data_dir:
        ledger = Ledger(eventsourcing_env(url))
        try:
            communities, members = build(ledger)
            ReadSide(ledger).open()
        finally:
            ledger.close()
        token = create_token(url, Role.ADMIN, [], "bench")[1]
        drawn = (communities, random.Random(7).sample(members, 20_000))
        env = {"DATABASE_URL": url, "LEDGER_DATA_DIR": data_dir}
        served = measure("bench.api:serving_app", env, token, drawn, args)
        floor = measure("bench.api_floor:floor_app", env, token, drawn, args)
    figures = {
        "plain": statistics.median(served[False] + floor[False]),
        "graphql": statistics.median(served[True]),
        "floor": statistics.median(floor[True]),
    }
    for name, rps in figures.items():
        print(f"member {name:8} {rps:7.1f} rps")
    each = [g / p for g, p in zip(floor[True], floor[False], strict=True)]
    print(
        f"api member read floor, {CLIENTS} connections: "
        f"graphql={figures['graphql'] / figures['plain']:.3f} "
        f"floor={figures['floor'] / figures['plain']:.3f} "
        f"(rounds {' '.join(f'{r:.3f}' for r in each)}) ratio={statistics.median(each):.3f}"
    )


if __name__ == "__main__":
    main()
