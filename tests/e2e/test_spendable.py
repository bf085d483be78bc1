"""A balance is what is spendable now: points of a year already due to expire are left
out at the kiosk and in every read model, before the expiry run records it and after."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import CST, Context, MemberKind, Role
from tests.e2e.conftest import Server
from tests.e2e.test_expiry_api import EXPIRE
from tests.e2e.test_member_codes import ISSUE, LOOKUP
from tests.support import earn

ADMIN = Context(actor_id="test", role=Role.ADMIN)
MEMBER = """query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { balance } }"""
MEMBERS = """query($c: UUID!, $w: Int) { members(communityId: $c, waitFor: $w) {
  id balance } }"""
REDEEM = """mutation($s: UUID!, $m: UUID!, $k: String!, $i: UUID!, $q: Int!) {
  redeem(storeId: $s, memberId: $m, key: $k, lines: [{itemId: $i, quantity: $q}]) {
    __typename ... on RedemptionReceipt { total balanceAfter position }
    ... on Problem { code message } } }"""


@pytest.fixture(scope="module")
def member(server: Server) -> dict[str, Any]:
    """9.6 points earned in 2024 (due to expire at the end of 2025) and 9.6 this year."""
    ledger = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"spendable")
    try:
        street = ledger.register_street("余额街道", ADMIN).id
        community = ledger.register_community(street, "余额社区", ADMIN).id
        member = ledger.register_member(MemberKind.RESIDENT, "王小二", community, ADMIN).id
        earn(ledger, community, member, datetime(2024, 5, 1, 9, tzinfo=CST), ADMIN)
        now = datetime.now(UTC).astimezone(CST)
        earn(ledger, community, member, datetime(now.year, 1, 2, 9, tzinfo=CST), ADMIN)
        item = ledger.list_item(community, "洗衣液", "5", ADMIN).id
        position = ledger.restock_item(item, 10, "区财政局", ADMIN).position
        assert ledger.get_account(member).balance == Decimal("19.2")  # nothing expired yet
    finally:
        ledger.close()
    card = server.gql(server.admin, ISSUE, m=str(member))["data"]["issueMemberCard"]
    return {
        "community": str(community),
        "member": str(member),
        "item": str(item),
        "code": card["code"],
        "position": max(position, card["position"]),
    }


def balances(server: Server, member: dict[str, Any]) -> list[Decimal]:
    """The balance as a kiosk scanning the card, the member query and a community's
    member list show it."""
    kiosk = server.token(Role.KIOSK, member["community"])
    community = server.token(Role.COMMUNITY, member["community"])
    wait = member["position"]
    found = server.gql(kiosk, LOOKUP, c=member["code"], w=wait)["data"]["memberByCode"]
    one = server.gql(community, MEMBER, m=member["member"], w=wait)["data"]["member"]
    listing = server.gql(community, MEMBERS, c=member["community"], w=wait)
    page = listing["data"]["members"]
    [listed] = [m for m in page if m["id"] == member["member"]]
    return [Decimal(found["balance"]), Decimal(one["balance"]), Decimal(listed["balance"])]


def test_points_due_to_expire_are_not_spendable_before_the_run_or_after_it(
    server: Server, member: dict[str, Any]
) -> None:
    assert balances(server, member) == [Decimal("9.6")] * 3  # the run has not happened

    kiosk = server.token(Role.KIOSK, member["community"])
    basket = {"s": member["community"], "m": member["member"], "i": member["item"]}
    refused = server.gql(kiosk, REDEEM, k="too-much", q=2, **basket)["data"]["redeem"]
    assert refused["code"] == "INSUFFICIENT_POINTS", refused  # 10 of 9.6 spendable
    bought = server.gql(kiosk, REDEEM, k="one", q=1, **basket)["data"]["redeem"]
    assert (bought["total"], bought["balanceAfter"]) == ("5.0", "4.6")
    after = member | {"position": bought["position"]}
    assert balances(server, after) == [Decimal("4.6")] * 3

    ran = server.gql(server.admin, EXPIRE)["data"]["expirePoints"]
    assert ran["__typename"] == "ExpiryRun"  # the redemption had expired the old lot first
    assert balances(server, after) == [Decimal("4.6")] * 3


YEAR = """query($m: UUID!, $c: UUID!, $y: Int!, $w: Int) {
  one: member(id: $m, waitFor: $w) { id balance year(year: $y) { ...figures } }
  literal: member(id: $m) { year(year: 2024) { ...figures } }
  two: member(id: $m) { y1: year(year: 2024) { ...figures } y2: year(year: $y) { ...figures } }
  page: members(communityId: $c) { id year(year: $y) { ...figures } } }
fragment figures on MemberYear {
  year services hours points routineHours skilledHours hardHours annualFloorHours meetsFloor }"""


def test_a_member_and_their_year_agree_however_they_are_asked_for(
    server: Server, member: dict[str, Any]
) -> None:
    """One member with one year is answered in one statement; with two years, or on a
    page of members, by the year loader: the figures are the same."""
    this_year = datetime.now(UTC).astimezone(CST).year
    answer = server.gql(
        server.admin,
        YEAR,
        m=member["member"],
        c=member["community"],
        y=this_year,
        w=member["position"],
    )
    assert "errors" not in answer, answer
    data = answer["data"]
    [listed] = [m for m in data["page"] if m["id"] == member["member"]]
    assert data["one"]["year"] == listed["year"] == data["two"]["y2"]
    assert data["one"]["year"]["year"] == this_year and data["one"]["year"]["services"] >= 1
    assert data["literal"]["year"] == data["two"]["y1"]
    assert data["literal"]["year"]["hours"] == "4.0"  # the 2024 service
