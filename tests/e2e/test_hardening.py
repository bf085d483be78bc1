"""What a client sends cannot stop the server or learn what its token may not read.

Each test is an attack or an operator's mistake found against the running server.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from api.auth import create_token, revoke_token
from ledger.domain.values import Role
from tests.e2e.conftest import Server, running_server

RECEIPT = "... on Receipt { id position } ... on Problem { code message }"


def fragment_fan_out(levels: int) -> str:
    """About 1 KB that expands to 2^levels fields when every spread is followed."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


def post(server: Server, token: str | None, body: bytes | dict[str, Any], **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, dict):
        return httpx.post(f"{server.base}/graphql", json=body, headers=headers, timeout=30)
    headers["Content-Type"] = "application/json"
    return httpx.post(f"{server.base}/graphql", content=body, headers=headers, timeout=30)


def ok(result: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in result, result
    data: dict[str, Any] = result["data"][field]
    assert "code" not in data, data
    return data


@pytest.fixture(scope="module")
def street(server: Server) -> dict[str, Any]:
    g, admin = server.gql, server.admin
    street = ok(
        g(admin, f'mutation {{ registerStreet(name: "果园街道") {{ {RECEIPT} }} }}'),
        "registerStreet",
    )
    communities = [
        ok(
            g(
                admin,
                f"mutation($s: UUID!, $n: String!) {{ registerCommunity(streetId: $s, name: $n)"
                f" {{ {RECEIPT} }} }}",
                s=street["id"],
                n=name,
            ),
            "registerCommunity",
        )["id"]
        for name in ("果园社区", "临江社区")
    ]
    members = [
        ok(
            g(
                admin,
                f"mutation($c: UUID!, $n: String!) {{ registerMember(kind: RESIDENT, name: $n,"
                f' communityId: $c, nationalId: "11010119900307{n}") {{ {RECEIPT} }} }}',
                c=community,
                n=name,
            ),
            "registerMember",
        )["id"]
        for n, (community, name) in enumerate(
            [(communities[0], "张三"), (communities[1], "李四")], start=1000
        )
    ]
    return {
        "communities": communities,
        "members": members,
        "staff": server.token(Role.COMMUNITY, communities[0]),
        "auditor": server.token(Role.AUDITOR),
    }


# --- 1. nothing is worked on before the token is checked, and nothing costs without bound


def test_a_tokenless_request_is_refused_before_its_query_is_parsed(server: Server) -> None:
    started = time.perf_counter()
    refused = post(server, None, {"query": fragment_fan_out(30)})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "需要令牌" in refused.json()["errors"][0]["message"]
    assert time.perf_counter() - started < 5
    get = httpx.get(f"{server.base}/graphql", params={"query": "{ __schema { types { name } } }"})
    assert get.status_code == 401 and get.json()["errors"][0]["message"]


def test_a_fragment_fan_out_is_refused_and_the_server_keeps_answering(server: Server) -> None:
    for levels in (20, 30):
        refused = post(server, server.admin, {"query": fragment_fan_out(levels)})
        assert refused.status_code == 200
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
        assert "字段过多" in error["message"]
        assert httpx.get(f"{server.base}/healthz", timeout=2).status_code == 200


def test_a_fragment_fan_out_is_measured_in_milliseconds() -> None:
    import asyncio

    from api.schema import build_schema

    schema = build_schema()
    started = time.perf_counter()
    result = asyncio.run(schema.execute(fragment_fan_out(30)))
    elapsed = time.perf_counter() - started
    assert result.errors and result.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"
    assert elapsed < 0.1, elapsed


def test_get_runs_no_mutation(server: Server) -> None:
    answer = httpx.get(
        f"{server.base}/graphql",
        params={"query": 'mutation { registerStreet(name: "x") { __typename } }'},
        headers={"Authorization": f"Bearer {server.admin}"},
        timeout=10,
    )
    assert answer.status_code in (400, 405) and "registerStreet" not in answer.text


# --- 2. text PostgreSQL or JSON cannot hold is refused at the door


def test_a_nul_or_a_lone_surrogate_in_a_name_is_refused(
    server: Server, street: dict[str, Any]
) -> None:
    mutation = (
        "mutation($c: UUID!, $n: String!) { registerMember(kind: RESIDENT, name: $n,"
        f" communityId: $c) {{ {RECEIPT} }} }}"
    )
    for name in ("a\\u0000b", "a\\ud800b", "a\\u001bb"):
        variables = f'{{"c": "{street["communities"][0]}", "n": "{name}"}}'
        body = f'{{"query": {json.dumps(mutation)}, "variables": {variables}}}'.encode()
        answer = post(server, street["staff"], body)
        assert answer.status_code == 200, answer.text
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "INVALID_INPUT", error
        assert "输入无效" in error["message"]
    literal = f'mutation {{ registerStreet(name: "a\\u0000b") {{ {RECEIPT} }} }}'
    error = server.gql(server.admin, literal)["errors"][0]
    assert error["extensions"]["code"] == "INVALID_INPUT"


def test_an_over_long_name_is_refused_with_its_bound(
    server: Server, street: dict[str, Any]
) -> None:
    answer = server.gql(
        street["staff"],
        f"mutation($c: UUID!, $n: String!) {{ registerMember(kind: RESIDENT, name: $n,"
        f" communityId: $c) {{ __typename {RECEIPT} }} }}",
        c=street["communities"][0],
        n="长" * 500,
    )
    assert answer["data"]["registerMember"]["__typename"] == "InvalidInput", answer


# --- 4. a server that does not follow picks up a generation switched by another process


def test_a_server_without_a_runner_is_ready_after_a_rebuild_elsewhere(
    server: Server, street: dict[str, Any], tmp_path: Path
) -> None:
    with running_server(server.database_url, tmp_path, "--no-follow") as reader:
        rebuilt = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "rebuild"],
            env={**os.environ, "DATABASE_URL": server.database_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert rebuilt.returncode == 0, rebuilt.stderr
        ready = httpx.get(f"{reader.base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        head = ok(
            reader.gql(
                reader.admin, f'mutation {{ registerStreet(name: "新街道") {{ {RECEIPT} }} }}'
            ),
            "registerStreet",
        )["position"]
        # The runner of the other server follows; this one waits for it, on the new tables.
        answer = reader.gql(
            street["auditor"],
            "query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { name } }",
            m=street["members"][0],
            w=head,
        )
        assert answer["data"]["member"]["name"], answer


# --- 5. a rule book with a bad number is refused


@pytest.mark.parametrize("value", ["1e400", [1], "十", True, "NaN", "-1"])
def test_a_rule_book_with_a_bad_number_is_refused(server: Server, value: Any) -> None:
    from ledger.domain.policy import PointsPolicy

    policy = PointsPolicy().to_data()
    policy["version"] = 2
    policy["points_per_hour"] = value
    answer = server.gql(
        server.admin,
        'mutation($p: JSON!) { publishPolicy(policy: $p, note: "改") { __typename '
        f"{RECEIPT} }} }}",
        p=policy,
    )
    assert answer["data"]["publishPolicy"]["__typename"] == "InvalidInput", answer
    assert "points_per_hour" in answer["data"]["publishPolicy"]["message"]


# --- 6. every failure is a clear error, never a bare 500


def test_an_oversized_chunked_body_gets_413_in_json(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 50_000

    answer = httpx.post(
        f"{server.base}/graphql",
        content=chunks(),
        headers={"Authorization": f"Bearer {server.admin}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_json_nested_five_thousand_levels_gets_400(server: Server) -> None:
    deep = b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    answer = post(server, server.admin, deep)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    deep_but_parseable = (
        b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 50 + b"]" * 50 + b"}}"
    )
    error = post(server, server.admin, deep_but_parseable).json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_INPUT"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ balance(account: "member:x", asOf: "0001-01-01T00:00+14:00") }', {}),
        ('{ balance(account: "member:x", asOf: "2026-01-01T00:00") }', {}),
        ('{ balance(account: "member:a\\u0000b") }', {}),
        (
            '{ memberAt(memberId: "00000000-0000-0000-0000-000000000001", '
            'at: "2026-06-30T23:59") { balance } }',
            {},
        ),
        (
            'mutation($c: UUID!) { publishTask(communityId: $c, title: "巡查", category: "巡逻",'
            ' startsAt: "9999-12-31T20:00-14:00", endsAt: "9999-12-31T23:59-14:00",'
            " capacity: 1) { __typename } }",
            {"c": "00000000-0000-0000-0000-000000000001"},
        ),
    ],
)
def test_odd_times_and_text_in_arguments_are_input_errors(
    server: Server, query: str, variables: dict[str, Any]
) -> None:
    answer = server.gql(server.admin, query, **variables)
    error = answer["errors"][0]
    assert error.get("extensions", {}).get("code") != "INTERNAL", error
    assert "服务器内部错误" not in error["message"]
    assert any(word in error["message"] for word in ("时区", "范围", "输入无效")), error


def test_a_bad_device_header_is_refused(server: Server) -> None:
    answer = post(server, server.admin, {"query": "{ __typename }"}, **{"X-Device-Id": "k" * 500})
    assert answer.status_code == 400
    assert "X-Device-Id" in answer.json()["errors"][0]["message"]


# --- 7. nothing leaks


def test_an_outsider_cannot_tell_a_real_member_from_an_unknown_id(
    server: Server, street: dict[str, Any]
) -> None:
    query = "query($m: UUID!) { member(id: $m) { name } }"
    foreign = server.gql(street["staff"], query, m=street["members"][1])
    unknown = server.gql(street["staff"], query, m="00000000-0000-0000-0000-0000000000ff")
    assert foreign["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert unknown["errors"][0] == {
        **foreign["errors"][0],
        "locations": unknown["errors"][0]["locations"],
    }
    mine = server.gql(street["staff"], query, m=street["members"][0])
    assert mine["data"]["member"]["name"]


def test_a_duplicate_national_id_elsewhere_reveals_no_member(
    server: Server, street: dict[str, Any]
) -> None:
    register = (
        'mutation($c: UUID!, $i: String!) { registerMember(kind: RESIDENT, name: "王五",'
        f" communityId: $c, nationalId: $i) {{ __typename {RECEIPT} }} }}"
    )
    theirs = server.gql(
        street["staff"], register, c=street["communities"][0], i="110101199003071001"
    )["data"]["registerMember"]
    assert theirs["__typename"] == "Conflict"
    assert street["members"][1] not in theirs["message"] and "临江" not in theirs["message"]
    assert theirs["code"] != "DUPLICATE_MEMBER"
    ours = server.gql(
        street["staff"], register, c=street["communities"][0], i="110101199003071000"
    )["data"]["registerMember"]
    assert ours["code"] == "DUPLICATE_MEMBER" and street["members"][0] in ours["message"]


def test_a_subscription_ends_when_its_token_is_revoked(server: Server) -> None:
    token_id, token = create_token(server.database_url, Role.AUDITOR, [], "撤销测试")
    url = server.base.replace("http", "ws") + "/graphql"
    headers = {"Authorization": f"Bearer {token}"}
    with connect(url, subprotocols=["graphql-transport-ws"], additional_headers=headers) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        query = "subscription { ledgerEntries(after: 0) { position } }"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        assert revoke_token(server.database_url, token_id)
        deadline = time.monotonic() + 20
        while True:
            message = json.loads(ws.recv(timeout=20))
            if message["type"] == "complete":
                break
            assert time.monotonic() < deadline, message


def test_an_expired_token_is_refused(server: Server) -> None:
    from datetime import UTC, datetime, timedelta

    _, token = create_token(
        server.database_url, Role.AUDITOR, [], "过期", datetime.now(UTC) - timedelta(seconds=1)
    )
    answer = post(server, token, {"query": "{ __typename }"})
    assert answer.status_code == 401 and "过期" in answer.json()["errors"][0]["message"]


def test_field_suggestions_are_given_only_outside_production(
    server: Server, tmp_path: Path
) -> None:
    typo = '{ membr(id: "00000000-0000-0000-0000-000000000001") { name } }'
    assert "Did you mean" in server.gql(server.admin, typo)["errors"][0]["message"]
    with running_server(server.database_url, tmp_path, "--production", "--no-follow") as prod:
        message = prod.gql(prod.admin, typo)["errors"][0]["message"]
        assert "Did you mean" not in message and "member" not in message.replace("membr", "")
        tokenless = httpx.get(f"{prod.base}/graphql", headers={"Accept": "text/html"}, timeout=5)
        assert tokenless.status_code == 401


# --- 8. bounds on connections


@contextlib.contextmanager
def in_thread(app: Any, **config: Any) -> Iterator[int]:
    """A uvicorn server for ``app`` in a thread of this process; yields its port."""
    import threading

    import uvicorn

    from tests.e2e.conftest import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_client_trickling_its_headers_is_cut_off() -> None:
    from starlette.applications import Starlette

    from api.serving import limited_protocol
    from ledger.settings import ConnectionLimits

    protocol = limited_protocol(ConnectionLimits(header_seconds=0.5))
    with (
        in_thread(Starlette(), http=protocol) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as slow,
    ):
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = slow.recv(1024)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"REQUEST_TIMEOUT" in answer
        assert time.monotonic() - started < 4


def test_a_client_trickling_its_body_is_cut_off_however_it_paces_it() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from api import boundary
    from api.serving import limited_protocol
    from ledger.settings import ConnectionLimits

    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/", echo, methods=["POST"])])
    app.add_middleware(boundary.BodyLimit)
    app.add_middleware(boundary.ErrorBoundary)
    protocol = limited_protocol(ConnectionLimits(header_seconds=5, body_seconds=1))
    with (
        in_thread(app, http=protocol) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as slow,
    ):
        slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        for _ in range(4):  # a byte every 0.3 s: never a pause of a second
            time.sleep(0.3)
            with contextlib.suppress(OSError):
                slow.sendall(b" ")
        answer = slow.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"REQUEST_TIMEOUT" in answer
        assert time.monotonic() - started < 4


# --- 9. client errors are not logged as server errors; metrics cannot be grown from outside


def test_client_errors_are_logged_without_a_traceback(
    server: Server, street: dict[str, Any]
) -> None:
    server.gql(
        street["staff"], "query($m: UUID!) { member(id: $m) { name } }", m=street["members"][1]
    )
    log = server.log.read_text()
    assert "FORBIDDEN" in log
    assert "Traceback" not in log
    assert '"level": "ERROR"' not in log


def test_unknown_paths_share_one_metrics_label(server: Server) -> None:
    def series() -> int:
        text = httpx.get(f"{server.base}/metrics", timeout=10).text
        return sum(1 for line in text.splitlines() if line.startswith("ledger_request_seconds"))

    for n in range(5):
        httpx.get(f"{server.base}/nothing-{n}", timeout=5)
    series()  # the metrics' own path gets its series
    before = series()
    for n in range(5, 25):
        httpx.get(f"{server.base}/nothing-{n}", timeout=5)
    assert series() == before
    assert 'path="other"' in httpx.get(f"{server.base}/metrics", timeout=10).text
