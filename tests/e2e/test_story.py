"""The whole story over HTTP, against the real server."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from websockets.sync.client import connect

from api.auth import create_token, hash_token
from ledger.domain.values import Role
from projections import merkle, notes
from projections.notes import Signer, Verifier, open_note
from tests.e2e.conftest import Server

RECEIPT = "... on Receipt { id position } ... on Problem { code message }"
START, END = "2026-05-01T09:00:00+08:00", "2026-05-01T11:00:00+08:00"
PUBLISH_CHECKPOINT = """mutation { publishCheckpoint {
  ... on SignedCheckpoint { treeSize rootHash note } ... on Problem { code message } } }"""


def ok(result: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in result, result
    data: dict[str, Any] = result["data"][field]
    assert "code" not in data, data
    return data


@pytest.fixture(scope="module")
def story(server: Server) -> dict[str, Any]:
    """Community, unit and members registered, a task served and rated, goods in store."""
    admin = server.admin
    g = server.gql
    street = ok(
        g(admin, f'mutation {{ registerStreet(name: "果园新村街道") {{ {RECEIPT} }} }}'),
        "registerStreet",
    )["id"]
    community = ok(
        g(
            admin,
            f"""mutation($s: UUID!) {{ registerCommunity(streetId: $s,
        name: "果园社区", grids: ["一网格"]) {{ {RECEIPT} }} }}""",
            s=street,
        ),
        "registerCommunity",
    )["id"]
    other = ok(
        g(
            admin,
            f"""mutation($s: UUID!) {{ registerCommunity(streetId: $s,
        name: "临江社区") {{ {RECEIPT} }} }}""",
            s=street,
        ),
        "registerCommunity",
    )["id"]
    unit = ok(
        g(
            admin,
            f"""mutation($c: UUID!) {{ registerUnit(name: "区财政局", kind: ORGAN,
        communities: [$c]) {{ {RECEIPT} }} }}""",
            c=community,
        ),
        "registerUnit",
    )["id"]
    ok(
        g(
            admin,
            f"""mutation($u: UUID!, $c: UUID!) {{ reportUnit(unitId: $u, communityId: $c,
        on: "2026-01-10") {{ {RECEIPT} }} }}""",
            u=unit,
            c=community,
        ),
        "reportUnit",
    )
    members = []
    for name in ("张三丰", "李四"):
        member = ok(
            g(
                admin,
                f"""mutation($c: UUID!, $u: UUID!, $n: String!) {{ registerMember(
            kind: PARTY_MEMBER, name: $n, communityId: $c, unitId: $u, phone: "13812345678")
            {{ {RECEIPT} }} }}""",
                c=community,
                u=unit,
                n=name,
            ),
            "registerMember",
        )["id"]
        members.append(member)
    tokens = {
        Role.COMMUNITY: server.token(Role.COMMUNITY, community),
        Role.KIOSK: server.token(Role.KIOSK, community),
        Role.AUDITOR: server.token(Role.AUDITOR),
        Role.UNIT: server.token(Role.UNIT, unit),
        Role.MEMBER: server.token(Role.MEMBER, members[0]),
    }
    me, staff = tokens[Role.MEMBER], tokens[Role.COMMUNITY]
    ok(
        g(
            me,
            f"""mutation($m: UUID!) {{ reportMember(memberId: $m, on: "2026-01-15")
        {{ {RECEIPT} }} }}""",
            m=members[0],
        ),
        "reportMember",
    )
    task = ok(
        g(
            staff,
            f"""mutation($c: UUID!) {{ publishTask(communityId: $c, title: "汛期巡查",
        category: "应急保障", startsAt: "{START}", endsAt: "{END}", capacity: 1)
        {{ {RECEIPT} }} }}""",
            c=community,
        ),
        "publishTask",
    )["id"]
    service = ok(
        g(
            me,
            f"""mutation($t: UUID!, $m: UUID!) {{ claimTask(taskId: $t, memberId: $m)
        {{ {RECEIPT} }} }}""",
            t=task,
            m=members[0],
        ),
        "claimTask",
    )["id"]
    full = g(
        staff,
        f"""mutation($t: UUID!, $m: UUID!) {{ claimTask(taskId: $t, memberId: $m)
        {{ __typename {RECEIPT} }} }}""",
        t=task,
        m=members[1],
    )["data"]["claimTask"]
    assert full["__typename"] == "TaskFull" and "名额已满" in full["message"]
    # The times come from the community's sign-in sheet: a member's own device
    # could not set a time in the past.
    ok(
        g(
            staff,
            f"""mutation($s: UUID!) {{ checkIn(serviceId: $s, at: "{START}",
        evidence: ["photo:sha256:ab"]) {{ {RECEIPT} }} }}""",
            s=service,
        ),
        "checkIn",
    )
    ok(
        g(
            staff,
            f"""mutation($s: UUID!) {{ checkOut(serviceId: $s, at: "{END}") {{ {RECEIPT} }} }}""",
            s=service,
        ),
        "checkOut",
    )
    rated = ok(
        g(
            staff,
            f"""mutation($s: UUID!) {{ rateService(serviceId: $s, rating: EXCELLENT)
        {{ {RECEIPT} }} }}""",
            s=service,
        ),
        "rateService",
    )
    item = ok(
        g(
            staff,
            f"""mutation($c: UUID!) {{ listItem(communityId: $c, name: "食用油",
        price: "3") {{ {RECEIPT} }} }}""",
            c=community,
        ),
        "listItem",
    )["id"]
    ok(
        g(
            staff,
            f"""mutation($i: UUID!) {{ restockItem(itemId: $i, quantity: 10,
        donor: "区财政局") {{ {RECEIPT} }} }}""",
            i=item,
        ),
        "restockItem",
    )
    return {
        "street": street,
        "community": community,
        "other": other,
        "unit": unit,
        "members": members,
        "tokens": tokens,
        "task": task,
        "service": service,
        "rated_at": rated["position"],
        "item": item,
    }


MEMBER = """query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { name balance earnedPoints
    earnedHours services excellent reportedOn year(year: 2026) { hours points hardHours meetsFloor }
    history(first: 5) { position amount balance counterAccount causeKind policyVersion } } }"""


def test_points_are_awarded_by_the_rule_book_and_readable_at_once(
    server: Server, story: dict[str, Any]
) -> None:
    member = story["members"][0]
    data = ok(
        server.gql(story["tokens"][Role.MEMBER], MEMBER, m=member, w=story["rated_at"]), "member"
    )
    assert Decimal(data["balance"]) == Decimal("4.8")  # 2 h x 2.0 (hard) x 1.2 (很好)
    assert (data["services"], data["excellent"], data["reportedOn"]) == (1, 1, "2026-01-15")
    assert data["year"]["hoursHard" if False else "hardHours"] == "2.0"
    assert data["year"]["meetsFloor"] is False
    (entry,) = data["history"]
    assert (Decimal(entry["amount"]), entry["causeKind"], entry["policyVersion"]) == (
        Decimal("4.8"),
        "SERVICE",
        1,
    )
    assert entry["counterAccount"] == f"issuance:{story['community']}"


REDEEM = """mutation($s: UUID!, $m: UUID!, $k: String!, $i: UUID!, $q: Int!) {
  redeem(storeId: $s, memberId: $m, key: $k, lines: [{itemId: $i, quantity: $q}]) {
    __typename
    ... on RedemptionReceipt { id position total balance replayed }
    ... on Problem { code message } } }"""


def test_a_kiosk_redeems_once_however_often_it_retries(
    server: Server, story: dict[str, Any]
) -> None:
    kiosk = story["tokens"][Role.KIOSK]
    args = {"s": story["community"], "m": story["members"][0], "i": story["item"]}
    first = server.gql(kiosk, REDEEM, k="kiosk-req-1", q=1, **args)["data"]["redeem"]
    assert first["__typename"] == "RedemptionReceipt" and first["replayed"] is False
    assert (Decimal(first["total"]), Decimal(first["balance"])) == (Decimal(3), Decimal("1.8"))
    again = server.gql(kiosk, REDEEM, k="kiosk-req-1", q=1, **args)["data"]["redeem"]
    assert again["replayed"] is True
    assert (again["id"], again["position"]) == (first["id"], first["position"])
    reused = server.gql(kiosk, REDEEM, k="kiosk-req-1", q=2, **args)["data"]["redeem"]
    assert reused["__typename"] == "IdempotencyKeyReused"
    too_much = server.gql(kiosk, REDEEM, k="kiosk-req-2", q=1, **args)["data"]["redeem"]
    assert too_much["__typename"] == "InsufficientPoints" and "积分不足" in too_much["message"]
    seen = server.gql(
        kiosk,
        "query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { name balance } }",
        m=story["members"][0],
        w=first["position"],
    )["data"]["member"]
    assert seen == {"name": "张*丰", "balance": "1.8"}
    story["redeemed_at"] = first["position"]


def test_a_kiosk_header_cannot_borrow_another_kiosks_keys(
    server: Server, story: dict[str, Any]
) -> None:
    """Keys are scoped by the kiosk's token: another kiosk naming the first one's
    device in X-Device-Id gets neither its receipt nor its keys."""
    first_kiosk, second = story["tokens"][Role.KIOSK], server.token(Role.KIOSK, story["community"])
    with psycopg.connect(server.database_url) as conn:
        row = conn.execute(
            "SELECT id FROM api_tokens WHERE token_hash = %s", (hash_token(first_kiosk),)
        ).fetchone()
    assert row is not None
    args = {"s": story["community"], "m": story["members"][0], "i": story["item"]}
    response = httpx.post(
        f"{server.base}/graphql",
        json={"query": REDEEM, "variables": {"k": "kiosk-req-1", "q": 1, **args}},
        headers={"Authorization": f"Bearer {second}", "X-Device-Id": f"token:{row[0]}"},
        timeout=30,
    )
    borrowed = response.json()["data"]["redeem"]
    assert borrowed["__typename"] == "InsufficientPoints", borrowed  # a new request, not a replay
    again = server.gql(first_kiosk, REDEEM, k="kiosk-req-1", q=1, **args)["data"]["redeem"]
    assert again["replayed"] is True


def test_a_unit_reads_its_ranking_and_a_dossier_that_agree_with_the_events(
    server: Server, story: dict[str, Any]
) -> None:
    unit = story["tokens"][Role.UNIT]
    ranking = ok(
        server.gql(
            unit,
            """query { unitRanking(period: "2026-05", metric: HOURS)
        { position rank unitId hours points services hardShare averageRating composite } }""",
        ),
        "unitRanking",
    )
    (row,) = ranking
    assert (row["unitId"], row["hours"], row["points"]) == (story["unit"], "2.0", "4.8")
    assert (Decimal(row["hardShare"]), Decimal(row["averageRating"])) == (1, 3)
    dossier = ok(
        server.gql(
            unit,
            """query($m: UUID!) { member(id: $m) { dossier(year: 2026) {
        nameMasked unit points hours services { serviceId task rating points ratedPosition }
        inUnit { rank size percentile } } } }""",
            m=story["members"][0],
        ),
        "member",
    )["dossier"]
    assert (dossier["nameMasked"], dossier["unit"], dossier["points"]) == (
        "张*丰",
        "区财政局",
        "4.8",
    )
    (line,) = dossier["services"]
    assert (line["serviceId"], line["task"], line["rating"]) == (
        story["service"],
        "汛期巡查",
        "EXCELLENT",
    )
    assert line["ratedPosition"] < story["rated_at"] + 1
    assert dossier["inUnit"] == {"rank": 1, "size": 2, "percentile": "100.0"}


OPEN_TASKS = """query($c: UUID!, $s: DateTime, $t: UUID) {
  openTasks(communityId: $c, first: 2, afterStartsAt: $s, afterTaskId: $t) { taskId startsAt } }"""


def test_open_tasks_starting_together_are_paged_across_the_boundary_without_a_gap(
    server: Server,
) -> None:
    admin, g = server.admin, server.gql
    street = ok(
        g(admin, f'mutation {{ registerStreet(name: "翻页街道") {{ {RECEIPT} }} }}'),
        "registerStreet",
    )
    community = ok(
        g(
            admin,
            f"""mutation($s: UUID!) {{ registerCommunity(streetId: $s, name: "翻页社区")
        {{ {RECEIPT} }} }}""",
            s=street["id"],
        ),
        "registerCommunity",
    )["id"]
    published = []
    for start in ("2098-06-01T08:00:00+08:00", *["2098-06-01T09:00:00+08:00"] * 2):
        published.append(
            ok(
                g(
                    admin,
                    f"""mutation($c: UUID!, $s: DateTime!) {{ publishTask(communityId: $c,
        title: "巡逻", category: "巡逻", startsAt: $s, endsAt: "2098-06-01T12:00:00+08:00",
        capacity: 2) {{ {RECEIPT} }} }}""",
                    c=community,
                    s=start,
                ),
                "publishTask",
            )
        )
    board = ok(
        g(
            admin,
            "query($c: UUID!, $w: Int) { communityBoard(communityId: $c, waitFor: $w)"
            " { openTasks { taskId } } }",
            c=community,
            w=published[-1]["position"],
        ),
        "communityBoard",
    )
    assert len(board["openTasks"]) == 3
    first = ok(g(admin, OPEN_TASKS, c=community), "openTasks")
    last = first[-1]
    second = ok(
        g(admin, OPEN_TASKS, c=community, s=last["startsAt"], t=last["taskId"]), "openTasks"
    )
    (other,) = second  # the page boundary fell between the two tasks starting at 9:00
    assert other["startsAt"] == last["startsAt"]
    assert sorted(t["taskId"] for t in first + second) == sorted(p["id"] for p in published)
    half = g(admin, OPEN_TASKS, c=community, s=last["startsAt"])["errors"][0]
    assert half["extensions"]["code"] == "INVALID_INPUT"


def test_an_auditor_reads_a_balance_as_of_a_past_time(
    server: Server, story: dict[str, Any]
) -> None:
    auditor = story["tokens"][Role.AUDITOR]
    account = f"member:{story['members'][0]}"
    entries = ok(
        server.gql(
            auditor,
            """query($a: String!) { ledgerEntries(account: $a, first: 10,
        waitFor: null) { position at valueAt balance } }""",
            a=account,
        ),
        "ledgerEntries",
    )
    assert [e["balance"] for e in entries] == ["1.8", "4.8"]
    between = entries[1]["valueAt"]  # the award's: when its service began
    then = server.gql(
        auditor,
        "query($a: String!, $t: DateTime!) { balance(account: $a, asOf: $t) }",
        a=account,
        t=between,
    )["data"]["balance"]
    before = server.gql(
        auditor,
        'query($a: String!) { balance(account: $a, asOf: "2020-01-01T00:00:00Z") }',
        a=account,
    )["data"]["balance"]
    assert (then, before) == ("4.8", "0")


def test_an_auditor_subscribes_to_new_ledger_entries(server: Server, story: dict[str, Any]) -> None:
    url = server.base.replace("http", "ws") + "/graphql"
    headers = {"Authorization": f"Bearer {story['tokens'][Role.AUDITOR]}"}
    with connect(url, subprotocols=["graphql-transport-ws"], additional_headers=headers) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription { ledgerEntries(after: 0) "
                        "{ position leg account amount } }"
                    },
                }
            )
        )
        received = [
            json.loads(ws.recv(timeout=10))["payload"]["data"]["ledgerEntries"] for _ in range(4)
        ]
    assert sum(Decimal(e["amount"]) for e in received) == 0
    assert [e["leg"] for e in received] == [0, 1, 0, 1]


def test_requests_without_a_valid_token_are_refused(server: Server) -> None:
    bare = httpx.post(f"{server.base}/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert bare.status_code == 401 and "需要令牌" in bare.text
    forged = httpx.post(
        f"{server.base}/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": "Bearer lt_forged"},
        timeout=10,
    )
    assert forged.status_code == 401 and "令牌无效" in forged.text


def test_bad_queries_get_clear_errors(server: Server, story: dict[str, Any]) -> None:
    malformed = server.gql(server.admin, "{ member(id: ")["errors"][0]["message"]
    assert "Syntax Error" in malformed
    nested = "{ a: member(id: $m) { b: dossier(year: 2026) { c: services { d: task } } } }"
    assert "errors" not in server.gql(
        server.admin, "query($m: UUID!) " + nested, m=story["members"][0]
    )
    aliases = "{ " + " ".join(f"a{n}: __typename" for n in range(30)) + " }"
    too_many = server.gql(server.admin, aliases)["errors"][0]
    assert too_many["extensions"]["code"] == "QUERY_TOO_COMPLEX" and "别名" in too_many["message"]
    huge = httpx.post(
        f"{server.base}/graphql",
        content=b"x" * 2_000_000,
        timeout=10,
        headers={"Authorization": f"Bearer {server.admin}"},
    )
    assert huge.status_code == 413
    period = server.gql(server.admin, '{ unitRanking(period: "May") { unitId } }')["errors"][0]
    assert period["extensions"]["code"] == "INVALID_INPUT" and "2026-Q2" in period["message"]
    negative = server.gql(
        server.admin,
        f"""mutation($c: UUID!) {{ listItem(communityId: $c,
        name: "米", price: "-1") {{ __typename {RECEIPT} }} }}""",
        c=story["community"],
    )
    assert negative["data"]["listItem"]["__typename"] == "InvalidInput"
    unknown = server.gql(
        server.admin,
        f"""mutation {{ claimTask(
        taskId: "00000000-0000-0000-0000-000000000001",
        memberId: "00000000-0000-0000-0000-000000000002") {{ __typename {RECEIPT} }} }}""",
    )
    assert unknown["data"]["claimTask"]["__typename"] == "NotFound"


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(f"{server.base}/healthz", timeout=5).json() == {"status": "ok"}
    deadline = time.monotonic() + 10
    while (ready := httpx.get(f"{server.base}/readyz", timeout=5)).status_code != 200:
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.2)
    assert ready.json()["status"] == "ready"


def test_graphiql_is_served_to_browsers(server: Server) -> None:
    page = httpx.get(f"{server.base}/graphql", headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_writes_are_stamped_with_the_token_and_correlation_id(
    server: Server, story: dict[str, Any]
) -> None:
    token_id, token = create_token(
        server.database_url, Role.COMMUNITY, [story["community"]], "网格员"
    )
    done = httpx.post(
        f"{server.base}/graphql",
        json={
            "query": f"""mutation {{ addGrid(communityId: "{story["community"]}",
              name: "二网格") {{ {RECEIPT} }} }}"""
        },
        headers={
            "Authorization": f"Bearer {token}",
            "X-Correlation-Id": "corr-2026-0001",
            "X-Device-Id": "pad-17",
        },
        timeout=10,
    ).json()["data"]["addGrid"]
    with psycopg.connect(server.database_url) as conn:
        row = conn.execute(
            "SELECT state FROM ledger_events WHERE notification_id = %s", (done["position"],)
        ).fetchone()
    assert row is not None
    ctx = json.loads(bytes(row[0]))["ctx"]["_data_"]
    assert ctx["actor_id"] == f"token:{token_id}"
    assert (ctx["correlation_id"], ctx["device"]) == ("corr-2026-0001", "pad-17")


def test_kept_answers_give_way_to_new_writes(server: Server, story: dict[str, Any]) -> None:
    auditor = story["tokens"][Role.AUDITOR]
    query = "query($c: UUID!) { communityBoard(communityId: $c) { items { name stock } } }"
    first = ok(server.gql(auditor, query, c=story["community"]), "communityBoard")
    assert ok(server.gql(auditor, query, c=story["community"]), "communityBoard") == first
    stock = {i["name"]: i["stock"] for i in first["items"]}["食用油"]
    ok(
        server.gql(
            story["tokens"][Role.COMMUNITY],
            f"""mutation($i: UUID!) {{ restockItem(
        itemId: $i, quantity: 5, donor: "区财政局") {{ {RECEIPT} }} }}""",
            i=story["item"],
        ),
        "restockItem",
    )
    deadline = time.monotonic() + 10
    while True:
        board = ok(server.gql(auditor, query, c=story["community"]), "communityBoard")
        if {i["name"]: i["stock"] for i in board["items"]}["食用油"] == stock + 5:
            break
        assert time.monotonic() < deadline, "a kept answer outlived the write"
        time.sleep(0.05)
    kiosk = server.gql(story["tokens"][Role.KIOSK], query, c=story["community"])
    assert kiosk["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # not the auditor's answer


def test_an_auditor_checks_the_ledger_without_trusting_it(
    server: Server, story: dict[str, Any]
) -> None:
    auditor = story["tokens"][Role.AUDITOR]
    result = ok(
        server.gql(
            auditor,
            """{ verifyLedger { events intact firstBadPosition
        findings { position } } awardRecheck { checked mismatches { position } } }""",
        ),
        "verifyLedger",
    )
    assert result["intact"] is True and result["events"] > 20 and result["findings"] == []
    recheck = server.gql(auditor, "{ awardRecheck { checked mismatches { position } } }")
    assert recheck["data"]["awardRecheck"] == {"checked": 1, "mismatches": []}
    point = ok(server.gql(auditor, PUBLISH_CHECKPOINT), "publishCheckpoint")
    assert point["treeSize"] >= result["events"] and point["note"].count("\u2014 ") == 1
    now = ok(
        server.gql(
            auditor,
            """query($m: UUID!) { memberAt(memberId: $m,
        at: "2099-01-01T00:00:00Z") { balance earnedPoints entriesBalance agrees } }""",
            m=story["members"][0],
        ),
        "memberAt",
    )
    assert now["agrees"] is True and Decimal(now["earnedPoints"]) == Decimal("4.8")
    lines = ok(
        server.gql(
            auditor,
            """query($m: UUID!) { history(aggregateId: $m) { event actor
        correlationId amount cause balance } }""",
            m=story["members"][0],
        ),
        "history",
    )
    credited = next(line for line in lines if line["event"] == "Account.Credited")
    assert credited["cause"] == f"service:{story['service']}" and credited["balance"] == "4.8"
    assert lines[0]["event"] == "Member.Registered" and lines[0]["actor"].startswith("token:")
    books = ok(
        server.gql(
            auditor,
            """{ conservation(start: "2000-01-01T00:00:00Z",
        end: "2099-12-31T00:00:00Z") { allAccounts holds communities { issued redeemed } } }""",
        ),
        "conservation",
    )
    assert books["holds"] is True and Decimal(books["allAccounts"]) == 0
    refused = server.gql(story["tokens"][Role.COMMUNITY], "{ verifyLedger { intact } }")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def _audit_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """``ledger audit`` with the server's settings (its data directory, hence its key)."""
    env = {
        **os.environ,
        "DATABASE_URL": server.database_url,
        "LEDGER_DATA_DIR": str(server.log.parent / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_auditor_proves_inclusion_and_consistency_and_a_witness_cosigns(
    server: Server, story: dict[str, Any], tmp_path: Path
) -> None:
    auditor = story["tokens"][Role.AUDITOR]
    vkey = _audit_cli(server, "key").stdout.strip()
    pinned = Verifier.parse(vkey)
    old_note = ok(server.gql(auditor, PUBLISH_CHECKPOINT), "publishCheckpoint")["note"]
    old = open_note(old_note, pinned)
    witness = ["witness", "--url", f"{server.base}/graphql", "--token", auditor]
    witness += ["--log-key", vkey, "--dir", str(tmp_path / "witness")]
    first = _audit_cli(server, *witness)
    assert first.returncode == 0, first.stderr
    ok(
        server.gql(
            server.admin, 'mutation { registerStreet(name: "见证街道") { ... on Receipt { id } } }'
        ),
        "registerStreet",
    )
    new = open_note(
        ok(server.gql(auditor, PUBLISH_CHECKPOINT), "publishCheckpoint")["note"], pinned
    )
    assert new.size > old.size
    proof = ok(
        server.gql(
            auditor,
            "query($o: Int!, $n: Int!) { consistencyProof(oldSize: $o, newSize: $n) { hashes } }",
            o=old.size,
            n=new.size,
        ),
        "consistencyProof",
    )
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    merkle.verify_consistency(old.size, new.size, old.root, new.root, hashes)
    included = ok(
        server.gql(
            auditor,
            "query($p: Int!, $n: Int!) { inclusionProof(position: $p, treeSize: $n) "
            "{ leafIndex treeSize leafHash hashes } }",
            p=3,
            n=new.size,
        ),
        "inclusionProof",
    )
    leaf = base64.b64decode(included["leafHash"])
    path = [base64.b64decode(h) for h in included["hashes"]]
    merkle.verify_inclusion(included["leafIndex"], new.size, leaf, path, new.root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(included["leafIndex"], new.size, bytes(32), path, new.root)
    checked = ok(
        server.gql(
            auditor,
            "query($k: String!) { verifyLedger(against: $k) { intact checkpoints reconciled } }",
            k=old_note,
        ),
        "verifyLedger",
    )
    assert checked["intact"] is True and checked["checkpoints"] >= 2 and checked["reconciled"] >= 1
    again = _audit_cli(server, *witness)
    assert again.returncode == 0, again.stderr
    kept = (tmp_path / "witness" / "checkpoint").read_text()
    assert open_note(kept, pinned).size >= new.size
    witness_key = again.stdout.rsplit("见证方公钥 ", 1)[1].rstrip(")\n")
    assert notes.cosigned_at(kept, Verifier.parse(witness_key)) > 0
    other = Signer.from_seed(pinned.name, bytes(32)).verifier.vkey
    refused = _audit_cli(server, *witness[:-4], "--log-key", other, "--dir", str(tmp_path / "w2"))
    assert refused.returncode == 1 and "拒绝见证" in refused.stderr
    for bad in ("{ inclusionProof(position: -1) { leafIndex } }",
                "{ consistencyProof(oldSize: 1, newSize: 2000000000) { hashes } }"):  # fmt: skip
        answer = server.gql(auditor, bad)
        assert answer["errors"][0]["extensions"]["code"] == "INVALID_INPUT", answer
    denied = server.gql(story["tokens"][Role.COMMUNITY], "{ latestCheckpoint { note } }")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_metrics_count_requests_redemptions_and_projection_lag(
    server: Server, story: dict[str, Any]
) -> None:
    kiosk = story["tokens"][Role.KIOSK]
    args = {"s": story["community"], "m": story["members"][0], "i": story["item"]}
    server.gql(kiosk, REDEEM, k="metrics-1", q=1000, **args)  # refused: beyond the balance
    text = httpx.get(f"{server.base}/metrics", timeout=5).text
    assert 'ledger_redemptions_total{outcome="INSUFFICIENT_POINTS"}' in text
    assert 'ledger_request_seconds_count{method="POST",path="/graphql"}' in text
    assert "ledger_projection_lag_events" in text and "ledger_projection_lag_seconds" in text


def test_the_server_logs_one_json_line_per_request_and_per_projection_batch(
    server: Server, story: dict[str, Any]
) -> None:
    del story  # its requests and batches are what is logged
    lines = []
    for text in server.log.read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:
            continue
    requests = [line for line in lines if line.get("event") == "request"]
    assert any(r["path"] == "/graphql" and r["status"] == 200 and r["ms"] >= 0 for r in requests)
    batches = [line for line in lines if line.get("event") == "projection_batch"]
    assert batches and all(b["events"] > 0 and "ledger_entries" in b["models"] for b in batches)
