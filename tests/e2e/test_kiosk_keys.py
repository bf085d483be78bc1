"""A redemption's key is bound to the kiosk's device, not to a header or a token.

The same key and lines, sent without ``X-Device-Id``, with it, with another kiosk's
device in it, with a reissued token of the same device, and after a restart, make one
redemption; every replay returns the first receipt exactly.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg

from api.auth import create_token, revoke_token
from ledger.domain.values import Role
from tests.e2e.conftest import Server, running_server
from tests.e2e.test_outage import prepare

REDEEM = """mutation($s: UUID!, $m: UUID!, $k: String!, $i: UUID!, $q: Int!) {
  redeem(storeId: $s, memberId: $m, key: $k, lines: [{itemId: $i, quantity: $q}]) {
    __typename
    ... on RedemptionReceipt {
      id position total balance balanceAfter replayed memberId member storeId kiosk at
      lines { itemId name quantity unitPrice amount }
    }
    ... on Problem { code message } } }"""
READ = """query($id: UUID!, $m: UUID!, $w: Int) {
  redemption(id: $id, waitFor: $w) {
    id position total balanceAfter replayed memberId member storeId kiosk at
    lines { itemId name quantity unitPrice amount } }
  recentRedemptions(memberId: $m, first: 5) { id at } }"""
RECEIPT_FIELDS = ("id", "position", "total", "balanceAfter", "lines", "storeId", "kiosk", "at")


def redeem(
    server: Server,
    token: str,
    ids: dict[str, Any],
    key: str,
    quantity: int = 2,
    device: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    if device is not None:
        headers["X-Device-Id"] = device
    variables = {"s": ids["community"], "m": ids["member"], "k": key, "i": ids["item"]}
    response = httpx.post(
        f"{server.base}/graphql",
        json={"query": REDEEM, "variables": variables | {"q": quantity}},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["redeem"]
    return result


def redeemed(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM ledger_events WHERE topic LIKE %s", ("%Redemption.Redeemed",)
        ).fetchone()
    assert row is not None
    return int(row[0])


def same_receipt(replay: dict[str, Any], first: dict[str, Any]) -> None:
    assert replay["__typename"] == "RedemptionReceipt", replay
    assert replay["replayed"] is True
    assert {f: replay[f] for f in RECEIPT_FIELDS} == {f: first[f] for f in RECEIPT_FIELDS}


def test_a_key_makes_one_redemption_per_device_whatever_the_header_token_or_restart(
    database_url: str, tmp_path: Path
) -> None:
    ids = prepare(database_url)
    community = ids["community"]
    first_id, first_token = create_token(
        database_url, Role.KIOSK, [community], "三号机", device="kiosk-3"
    )
    other_token = create_token(database_url, Role.KIOSK, [community], "四号机", device="kiosk-4")[1]
    with running_server(database_url, tmp_path) as server:
        # (a) without X-Device-Id
        first = redeem(server, first_token, ids, "k-1")
        assert first["__typename"] == "RedemptionReceipt" and first["replayed"] is False, first
        assert Decimal(first["total"]) == Decimal("0.2")
        start = Decimal(first["balanceAfter"])
        assert Decimal(first["balance"]) == start
        assert first["kiosk"] == "device:kiosk-3" and first["storeId"] == community
        [line] = first["lines"]
        assert (line["itemId"], line["name"], line["quantity"]) == (ids["item"], "食用油", 2)
        assert Decimal(line["unitPrice"]) == Decimal("0.1")
        assert Decimal(line["amount"]) == Decimal("0.2")
        assert first["member"] != "王五"  # masked, or not yet in the read model
        # (b) with X-Device-Id; (c) with another kiosk's device in the header
        same_receipt(redeem(server, first_token, ids, "k-1", device="kiosk-3"), first)
        same_receipt(redeem(server, first_token, ids, "k-1", device="kiosk-4"), first)
        # another kiosk's token has its own scope: the same key is a new redemption there
        elsewhere = redeem(server, other_token, ids, "k-1", device="kiosk-3")
        assert elsewhere["replayed"] is False and elsewhere["id"] != first["id"]
        assert Decimal(elsewhere["balanceAfter"]) == start - Decimal("0.2")
        # (d) a second token of the same device, after the first is revoked
        assert revoke_token(database_url, first_id)
        second_token = create_token(
            database_url, Role.KIOSK, [community], "三号机(换发)", device="kiosk-3"
        )[1]
        same_receipt(redeem(server, second_token, ids, "k-1"), first)
        # the same key with another request is refused
        reused = redeem(server, second_token, ids, "k-1", quantity=3)
        assert reused["__typename"] == "IdempotencyKeyReused", reused
        # a kiosk token without a device keeps its own scope, header or not
        plain = server.token(Role.KIOSK, community)
        own = redeem(server, plain, ids, "k-1", device="kiosk-3")
        assert own["replayed"] is False and own["kiosk"].startswith("token:"), own
        assert Decimal(own["balanceAfter"]) == start - Decimal("0.4")  # points taken once each
        same_receipt(redeem(server, plain, ids, "k-1"), own)
    # (e) after a restart, on the same database
    with running_server(database_url, tmp_path) as server:
        same_receipt(redeem(server, second_token, ids, "k-1"), first)
        # the read model gives the same receipt, and the member's recent ones
        stored = server.gql(second_token, READ, id=first["id"], m=ids["member"], w=own["position"])
        assert "errors" not in stored, stored
        read = stored["data"]["redemption"]
        exact = ("id", "position", "storeId", "kiosk", "at")
        assert {f: read[f] for f in exact} == {f: first[f] for f in exact}
        assert Decimal(read["total"]) == Decimal(first["total"])
        assert Decimal(read["balanceAfter"]) == Decimal(first["balanceAfter"])
        assert [line["itemId"] for line in read["lines"]] == [ids["item"]]
        assert read["member"] != "王五" and read["replayed"] is False
        recent = stored["data"]["recentRedemptions"]
        assert [r["id"] for r in recent] == [own["id"], elsewhere["id"], first["id"]]
    assert redeemed(database_url) == 3  # k-1 at kiosk-3, at kiosk-4, and at the plain token
