"""A query sent as plain JSON is answered by the app itself, anything else through
strawberry's view: the two give the same answers, errors included."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from uuid import uuid4

import httpx

from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import CST, Context, MemberKind, Role, UnitKind
from tests.e2e.conftest import Server
from tests.support import earn

QUERY = """query($c: UUID) { viewer { role } unitRanking(period: "2026", communityId: $c) { name }
  nope: member(id: "00000000-0000-0000-0000-000000000000") { id } }"""
BROKEN = '{ unitRanking(period: "2026") { nosuchfield } }'


def _both(
    server: Server, query: str, variables: dict[str, object], token: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token or server.admin}"}
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


ADMIN = Context(actor_id="test", role=Role.ADMIN)
PLANNED = """query($m: UUID!, $c: UUID) {
  member(id: $m) { id name kind balance year(year: 2025) { hours points services }
    dossier(year: 2025) { services { category hours points rating } ...Standing } }
  unitRanking(period: "2025", communityId: $c) { name services position composite }
  __typename }
fragment Standing on Dossier { inUnit { rank size } inCommunity { rank percentile } }"""


def _planned(server: Server) -> dict[str, float]:
    text = httpx.get(f"{server.base}/metrics", timeout=10).text
    found = re.findall(r'ledger_graphql_planned_queries_total\{outcome="(\w+)"\} (\S+)', text)
    return {outcome: float(count) for outcome, count in found}


def test_a_planned_query_answers_as_the_view_does(server: Server) -> None:
    """The first answer plans the document; the next ones (other variables, so none
    comes from the kept answers) are answered by the plan, as the view answers them."""
    ledger = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"planned")
    try:
        street = ledger.register_street("计划街道", ADMIN).id
        community = ledger.register_community(street, "计划社区", ADMIN).id
        unit = ledger.register_unit("计划单位", UnitKind.ORGAN, ADMIN, communities=[community]).id
        members = [
            ledger.register_member(
                MemberKind.PARTY_MEMBER, f"党员{n}", community, ADMIN, unit_id=unit
            ).id
            for n in range(3)
        ]
        for n, member in enumerate(members[:2]):
            earn(ledger, community, member, datetime(2025, 5, 1 + n, 9, tzinfo=CST), ADMIN)
        position = ledger.recorder.max_notification_id()
    finally:
        ledger.close()
    wait = "query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { id } }"
    assert "errors" not in server.gql(server.admin, wait, m=str(members[0]), w=position)
    before = _planned(server)
    answers = []
    for member in members:
        for c in (None, str(community), str(uuid4())):
            posted, viewed = _both(server, PLANNED, {"m": str(member), "c": c})
            assert "errors" not in posted, posted
            assert posted == viewed
            answers.append(posted["data"])
    after = _planned(server)
    assert after["answered"] - before.get("answered", 0) == len(answers) - 1
    assert after["long_way"] == before.get("long_way", 0)
    assert answers[0]["member"]["year"]["services"] == 1
    assert answers[0]["member"]["dossier"]["inUnit"]["size"] >= 2
    assert answers[1]["unitRanking"][0]["name"] == "计划单位"
    assert answers[2]["unitRanking"] == []
    assert answers[6]["member"]["year"]["services"] == 0


def test_a_planned_query_that_meets_an_error_goes_the_long_way(server: Server) -> None:
    """A member outside a token's scope is an error: the plan gives up and the answer
    is the view's, error and all."""
    query = "query($m: UUID!) { member(id: $m) { id kind } }"
    assert server.gql(server.admin, query, m=str(uuid4())) == {"data": {"member": None}}
    before = _planned(server)
    posted, viewed = _both(
        server, query, {"m": str(uuid4())}, token=server.token(Role.COMMUNITY, str(uuid4()))
    )
    assert posted == viewed
    assert posted["errors"][0]["extensions"]["code"] == "FORBIDDEN", posted
    after = _planned(server)
    assert after["long_way"] == before.get("long_way", 0) + 1
