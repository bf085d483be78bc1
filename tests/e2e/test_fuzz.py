"""Generated queries and mutations of every operation, over HTTP, with an admin's and a
kiosk's token: the server answers each with data or a clear error, never a 5xx and
never INTERNAL.

``FUZZ_EXAMPLES`` sets how many documents each (role, kind) draws; the suite's run is
small, ``FUZZ_EXAMPLES=2000 pytest tests/e2e/test_fuzz.py`` is the long one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql

from ledger.domain.values import Role
from tests.e2e.conftest import Server

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
SCHEMA = build_schema(Path("schema.graphql").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def known(server: Server) -> dict[str, Any]:
    """A community and a member to aim at, so that some documents reach real rows."""

    def receipt(query: str, field: str, **variables: Any) -> str:
        answer = server.gql(server.admin, query + " { ... on Receipt { id } } }", **variables)
        return str(answer["data"][field]["id"])

    street = receipt('mutation { registerStreet(name: "模糊测试街道")', "registerStreet")
    community = receipt(
        'mutation($s: UUID!) { registerCommunity(streetId: $s, name: "模糊社区")',
        "registerCommunity",
        s=street,
    )
    member = receipt(
        'mutation($c: UUID!) { registerMember(kind: RESIDENT, name: "测试", communityId: $c)',
        "registerMember",
        c=community,
    )
    return {
        "ids": [street, community, member],
        "tokens": {Role.ADMIN: server.admin, Role.KIOSK: server.token(Role.KIOSK, community)},
    }


def scalars(ids: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    uuids = st.one_of(st.sampled_from(ids), st.uuids().map(str))
    instants = st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        st.datetimes().map(datetime.isoformat),
        st.text(max_size=30),
    )
    numbers = st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.integers().map(str),
        st.text(max_size=20),
    )
    return {
        "UUID": uuids.map(nodes.String),
        "DateTime": instants.map(nodes.String),
        "Date": st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(max_size=12)).map(
            nodes.String
        ),
        "Decimal": numbers.map(nodes.String),
        "JSON": st.one_of(st.text(max_size=20), st.integers()).map(
            lambda v: nodes.String(v) if isinstance(v, str) else nodes.Int(v)
        ),
    }


@pytest.mark.parametrize("role", [Role.ADMIN, Role.KIOSK])
@pytest.mark.parametrize("kind", ["query", "mutation"])
def test_generated_operations_get_data_or_a_clear_error(
    server: Server, known: dict[str, Any], role: Role, kind: str
) -> None:
    token = known["tokens"][role]
    strategy = (gql.queries if kind == "query" else gql.mutations)(
        SCHEMA, custom_scalars=scalars(known["ids"])
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(document=strategy)
    def check(document: str) -> None:
        answer = httpx.post(
            f"{server.base}/graphql",
            json={"query": document},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code < 500, (document, answer.text)
        for error in answer.json().get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code != "INTERNAL", (document, error)

    check()
