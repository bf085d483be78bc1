"""A query sent as plain JSON is answered by the app itself, anything else through
strawberry's view: the two give the same answers, errors included."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.e2e.conftest import Server

QUERY = """query($c: UUID) { viewer { role } unitRanking(period: "2026", communityId: $c) { name }
  nope: member(id: "00000000-0000-0000-0000-000000000000") { id } }"""
BROKEN = '{ unitRanking(period: "2026") { nosuchfield } }'


def _both(
    server: Server, query: str, variables: dict[str, object]
) -> tuple[dict[str, Any], dict[str, Any]]:
    headers = {"Authorization": f"Bearer {server.admin}"}
    posted = httpx.post(
        f"{server.base}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
    viewed = httpx.get(  # a GET query goes through strawberry's view
        f"{server.base}/graphql",
        params={"query": query, "variables": json.dumps(variables)},
        headers=headers,
        timeout=30,
    )
    assert posted.status_code == viewed.status_code == 200, (posted.text, viewed.text)
    assert posted.headers["content-type"] == viewed.headers["content-type"]
    return posted.json(), viewed.json()


def test_a_posted_query_answers_as_the_view_does(server: Server) -> None:
    posted, viewed = _both(server, QUERY, {"c": None})
    assert "errors" not in posted, posted
    assert posted == viewed
    assert posted["data"]["viewer"]["role"] == "ADMIN" and posted["data"]["nope"] is None


def test_a_posted_query_with_errors_answers_as_the_view_does(server: Server) -> None:
    posted, viewed = _both(server, BROKEN, {})
    assert posted == viewed
    assert posted["errors"][0]["message"].startswith("Cannot query field 'nosuchfield'")
