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

    python -m bench.api_floor [--seconds 6] [--rounds 3] [--warm-up 2] [--members 100000]
"""

from __future__ import annotations

import statistics
from typing import Any
from uuid import UUID

from starlette.applications import Starlette

from api.plans import Plan
from bench.api import CLIENTS, YEAR, Built, arguments, built, check, in_turns, serving_app
from bench.common import running_server
from projections import queries


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


def measure(factory: str, data: Built, args: Any) -> dict[bool, list[float]]:
    """Requests per second of the plain endpoint (False) and GraphQL (True), per round."""
    with running_server(factory, data.env) as base:
        check(base, data.token, data.members[0])
        measured = in_turns(base, "member", data, args, fixed=False)
    return {graphql: [rps for rps, _, _ in figures] for graphql, figures in measured.items()}


def main() -> None:
    args = arguments(__doc__, 6)
    with built(args.members) as data:
        served = measure("bench.api:serving_app", data, args)
        floor = measure("bench.api_floor:floor_app", data, args)
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
