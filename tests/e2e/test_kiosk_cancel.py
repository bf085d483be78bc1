"""Over HTTP: a kiosk undoes its own mistake the same day (China Standard Time) with a
reason, and nothing else; its receipts name it and carry a short number; its day
summary (日结) counts its own redemptions only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

import ledger.application.store
from api.auth import create_token
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import CST, Context, MemberKind, Role, now
from tests.e2e.conftest import Server
from tests.support import earn

ADMIN = Context(actor_id="test", role=Role.ADMIN)
REDEEM = """mutation($s: UUID!, $m: UUID!, $k: String!, $lines: [RedemptionLineInput!]!) {
  redeem(storeId: $s, memberId: $m, key: $k, lines: $lines) {
    __typename
    ... on RedemptionReceipt { id position total balanceAfter kioskName number }
    ... on Problem { code message } } }"""
CANCEL = """mutation($r: UUID!, $reason: String!) {
  cancelRedemption(redemptionId: $r, reason: $reason) {
    __typename ... on Receipt { id } ... on Problem { code message } } }"""
DAY = """query($day: Date, $w: Int) { kioskDay(day: $day, waitFor: $w) {
  day kioskName redemptions cancelled points goods { name quantity points }
  receipts { number cancelled total kioskName } } }"""


@pytest.fixture(scope="module")
def store(server: Server) -> Iterator[dict[str, Any]]:
    """Two kiosks of one store (one a device, reissued under a new name), a kiosk of
    another store, a member with 19.2 points, and one redemption made yesterday."""
    app = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"kiosk-cancel")
    try:
        street = app.register_street("撤销街道", ADMIN).id
        community = app.register_community(street, "撤销社区", ADMIN).id
        other = app.register_community(street, "隔壁社区", ADMIN).id
        member = app.register_member(MemberKind.RESIDENT, "钱多多", community, ADMIN).id
        for day in (1, 2):
            earn(app, community, member, datetime(2026, 5, day, 9, tzinfo=CST), ADMIN)
        oil = app.list_item(community, "食用油", "3", ADMIN).id
        soap = app.list_item(community, "肥皂", "1", ADMIN).id
        app.restock_item(oil, 10, "区财政局", ADMIN)
        app.restock_item(soap, 10, "区财政局", ADMIN)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ledger.application.store, "now", lambda: now() - timedelta(days=1))
            yesterday = app.redeem(
                "device:till-1", "yesterday-1", member, community, [(soap, 1)], ADMIN
            ).id
    finally:
        app.close()
    create_token(server.database_url, Role.KIOSK, [community], "旧名", device="till-1")
    tokens = {
        "one": create_token(
            server.database_url, Role.KIOSK, [community], "一号收银台", device="till-1"
        )[1],
        "two": create_token(
            server.database_url, Role.KIOSK, [community], "二号收银台", device="till-2"
        )[1],
        "next door": create_token(server.database_url, Role.KIOSK, [other], "隔壁收银台")[1],
    }
    store: dict[str, Any] = {
        "community": str(community),
        "member": str(member),
        "oil": str(oil),
        "soap": str(soap),
        "yesterday": str(yesterday),
        "ledger": Ledger(eventsourcing_env(server.database_url), id_hash_key=b"kiosk-cancel"),
        **tokens,
    }
    yield store
    store["ledger"].close()


def redeem(server: Server, store: dict[str, Any], token: str, key: str, **goods: int) -> Any:
    lines = [{"itemId": store[name], "quantity": n} for name, n in goods.items()]
    body = server.gql(
        store[token], REDEEM, s=store["community"], m=store["member"], k=key, lines=lines
    )
    return body["data"]["redeem"]


def cancel(server: Server, token: str, redemption: str, reason: str = "点错了物品") -> Any:
    return server.gql(token, CANCEL, r=redemption, reason=reason)["data"]["cancelRedemption"]


def balance(server: Server, store: dict[str, Any]) -> Decimal:
    """From the event store itself, as the ledger decides."""
    return Decimal(store["ledger"].get_account(UUID(store["member"])).balance)


def stock(server: Server, store: dict[str, Any]) -> dict[str, int]:
    return {name: store["ledger"].get_item(UUID(store[name])).stock for name in ("oil", "soap")}


def test_a_receipt_names_the_device_and_carries_a_short_number(
    server: Server, store: dict[str, Any]
) -> None:
    receipt = redeem(server, store, "one", "receipt-1", oil=1)
    assert receipt["__typename"] == "RedemptionReceipt", receipt
    assert receipt["kioskName"] == "一号收银台"  # the device's newest token's name
    today = now().astimezone(CST)
    assert re.fullmatch(rf"{today:%m%d}-\d{{8}}", receipt["number"]), receipt["number"]


def test_a_kiosk_cancels_its_own_redemption_of_the_day_and_all_is_restored(
    server: Server, store: dict[str, Any]
) -> None:
    before, shelf = balance(server, store), stock(server, store)
    receipt = redeem(server, store, "one", "mistake-1", oil=1, soap=2)
    assert balance(server, store) == before - 5
    assert cancel(server, store["one"], receipt["id"])["__typename"] == "Receipt"
    assert balance(server, store) == before
    assert stock(server, store) == shelf
    again = cancel(server, store["one"], receipt["id"])
    assert again["__typename"] == "InvalidTransition", again  # cancelled once only


def test_a_kiosk_cannot_cancel_another_kiosks_redemption(
    server: Server, store: dict[str, Any]
) -> None:
    receipt = redeem(server, store, "one", "theirs-1", soap=1)
    before = balance(server, store)
    refused = cancel(server, store["two"], receipt["id"])
    assert refused["__typename"] == "KioskMayNotCancel", refused
    assert refused["code"] == "NOT_THIS_KIOSK"
    assert "另一台终端" in refused["message"]
    assert balance(server, store) == before
    elsewhere = cancel(server, store["next door"], receipt["id"])
    assert elsewhere["__typename"] == "Forbidden", elsewhere


def test_a_kiosk_cannot_cancel_yesterdays_redemption_but_a_worker_can(
    server: Server, store: dict[str, Any]
) -> None:
    before = balance(server, store)
    refused = cancel(server, store["one"], store["yesterday"])
    assert refused["__typename"] == "KioskMayNotCancel", refused
    assert refused["code"] == "CANCEL_DAY_OVER"
    yesterday = (now() - timedelta(days=1)).astimezone(CST)
    assert f"{yesterday:%Y-%m-%d}" in refused["message"]
    assert balance(server, store) == before
    assert cancel(server, server.admin, store["yesterday"])["__typename"] == "Receipt"
    assert balance(server, store) == before + 1


def test_the_day_summary_counts_this_kiosks_redemptions_of_the_day_only(
    server: Server, store: dict[str, Any]
) -> None:
    last = redeem(server, store, "two", "other-till-1", oil=2)  # another kiosk's: not counted
    day = server.gql(store["one"], DAY, w=last["position"])["data"]["kioskDay"]
    assert day["day"] == f"{now().astimezone(CST):%Y-%m-%d}"
    assert day["kioskName"] == "一号收银台"
    # receipt-1 (oil), mistake-1 (cancelled), theirs-1 (soap); yesterday's is another day
    assert (day["redemptions"], day["cancelled"]) == (2, 1)
    assert Decimal(day["points"]) == 4
    assert day["goods"] == [
        {"name": "肥皂", "quantity": 1, "points": "1.0"},
        {"name": "食用油", "quantity": 1, "points": "3.0"},
    ]
    assert [r["cancelled"] for r in day["receipts"]] == [False, True, False]  # newest first
    assert {r["kioskName"] for r in day["receipts"]} == {"一号收银台"}
    before = server.gql(store["one"], DAY, day=day_before())["data"]["kioskDay"]
    assert (before["redemptions"], before["cancelled"]) == (0, 1)  # cancelled by a worker
    refused = server.gql(server.admin, DAY)
    assert refused["data"] is None and refused["errors"]  # a kiosk's own summary only


def day_before() -> str:
    return f"{(now() - timedelta(days=1)).astimezone(CST):%Y-%m-%d}"
