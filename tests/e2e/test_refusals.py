"""Whatever refuses a request (the HTTP server, strawberry, the router, the static
files) answers in the API's error shape, in Chinese; production serves no GraphiQL;
no query signs a checkpoint."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from ledger.domain.values import Role
from tests.e2e.conftest import Server, running_server

CJK = re.compile(r"[\u4e00-\u9fff]")


def refused_in_chinese(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code, error
    # Chinese; a technical name (JSON, POST) at most, never an English sentence
    assert CJK.search(error["message"]) and not re.search(r"[A-Za-z]+ [A-Za-z]+", error["message"])
    return str(error["message"])


@pytest.fixture(scope="module")
def production(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("production")
    with running_server(server.database_url, folder, "--production", "--no-follow") as prod:
        yield prod


def test_a_request_the_http_server_cannot_parse_is_refused_in_json(server: Server) -> None:
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert b"content-type: application/json" in head.lower()
    (error,) = json.loads(body)["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST" and CJK.search(error["message"])


def test_what_strawberry_refuses_is_refused_in_json_and_chinese(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.admin}"}
    url = f"{server.base}/graphql"
    plain = httpx.post(
        url,
        content=json.dumps({"query": "{ __typename }"}).encode(),
        headers={**auth, "Content-Type": "text/plain"},
        timeout=10,
    )
    assert "application/json" in refused_in_chinese(plain, 400, "BAD_REQUEST")
    batch = httpx.post(url, json=[{"query": "{ __typename }"}] * 2, headers=auth, timeout=10)
    assert "批量" in refused_in_chinese(batch, 400, "BAD_REQUEST")
    mutation = httpx.get(
        url,
        params={"query": 'mutation { registerStreet(name: "x") { __typename } }'},
        headers=auth,
        timeout=10,
    )
    refused_in_chinese(mutation, 405, "METHOD_NOT_ALLOWED")
    missing = httpx.get(f"{server.base}/no/such/page", timeout=10)
    refused_in_chinese(missing, 404, "NOT_FOUND")
    wrong_method = httpx.delete(f"{server.base}/kiosk", timeout=10)
    refused_in_chinese(wrong_method, 405, "METHOD_NOT_ALLOWED")


def test_production_serves_no_graphiql_file_and_refuses_in_json(
    server: Server, production: Server
) -> None:
    for path in ("/static/graphiql.html", "/static/graphiql/graphiql.min.js"):
        assert httpx.get(f"{server.base}{path}", timeout=10).status_code == 200, path
        refused_in_chinese(httpx.get(f"{production.base}{path}", timeout=10), 404, "NOT_FOUND")
    assert httpx.get(f"{production.base}/static/common/app.js", timeout=10).status_code == 200
    refused_in_chinese(httpx.get(f"{production.base}/nothing-here", timeout=10), 404, "NOT_FOUND")
    no_query = httpx.get(
        f"{production.base}/graphql",
        headers={"Authorization": f"Bearer {production.admin}"},
        timeout=10,
    )
    refused_in_chinese(no_query, 404, "NOT_FOUND")


SIGN = """mutation { publishCheckpoint {
  __typename ... on SignedCheckpoint { treeSize note } ... on Problem { code } } }"""


def test_signing_a_checkpoint_is_a_mutation_never_a_query(server: Server) -> None:
    auditor = server.token(Role.AUDITOR)
    old = server.gql(auditor, "{ ledgerCheckpoint { treeSize } }")
    assert old.get("data") is None and "ledgerCheckpoint" in old["errors"][0]["message"]
    by_get = httpx.get(
        f"{server.base}/graphql",
        params={"query": SIGN},
        headers={"Authorization": f"Bearer {auditor}"},
        timeout=10,
    )
    refused_in_chinese(by_get, 405, "METHOD_NOT_ALLOWED")
    signed: dict[str, Any] = server.gql(auditor, SIGN)["data"]["publishCheckpoint"]
    assert signed["__typename"] == "SignedCheckpoint" and signed["treeSize"] >= 0
    assert "\u2014 " in signed["note"]
    unit = server.gql(server.token(Role.UNIT, uuid4()), SIGN)["data"]["publishCheckpoint"]
    assert (unit["__typename"], unit["code"]) == ("Forbidden", "FORBIDDEN")
