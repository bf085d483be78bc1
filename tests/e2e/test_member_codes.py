"""Member codes over HTTP: a card found at its community's kiosk, a reissued card,
another community's kiosk, a phone code and an expired one."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ledger.domain.codes import PHONE_CODE_SECONDS, code_key, phone_code, read_code
from ledger.domain.values import Role
from ledger.settings import load_settings
from tests.e2e.conftest import Server

RESULT = "__typename ... on Receipt { id position } ... on Problem { code message }"
ISSUE = """mutation($m: UUID!) { issueMemberCard(memberId: $m) {
  __typename ... on IssuedCard { memberId code position } ... on Problem { code message } } }"""
LOOKUP = """query($c: String!, $w: Int) { memberByCode(code: $c, waitFor: $w) {
  __typename ... on KioskMember { memberId maskedName balance }
  ... on UnknownCode { code message } } }"""
PHONE = """mutation { myKioskCode {
  __typename ... on KioskCode { code expiresAt validSeconds } ... on Problem { code message } } }"""


def created(server: Server, query: str, **variables: Any) -> str:
    body = server.gql(server.admin, query, **variables)
    (result,) = body["data"].values()
    assert result["__typename"] == "Receipt", body
    return str(result["id"])


@pytest.fixture(scope="module")
def street(server: Server) -> dict[str, str]:
    street = created(server, f'mutation {{ registerStreet(name: "码街道") {{ {RESULT} }} }}')
    community = (
        f"mutation($s: UUID!, $n: String!) {{ registerCommunity(streetId: $s, name: $n) "
        f"{{ {RESULT} }} }}"
    )
    home = created(server, community, s=street, n="码一社区")
    other = created(server, community, s=street, n="码二社区")
    member = created(
        server,
        f"""mutation($c: UUID!) {{ registerMember(kind: RESIDENT, name: "张三丰",
        communityId: $c) {{ {RESULT} }} }}""",
        c=home,
    )
    return {"home": home, "other": other, "member": member}


def issue(server: Server, token: str, member: str) -> dict[str, Any]:
    issued: dict[str, Any] = server.gql(token, ISSUE, m=member)["data"]["issueMemberCard"]
    return issued


def look_up(server: Server, token: str, code: str, wait: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = server.gql(token, LOOKUP, c=code, w=wait)["data"]["memberByCode"]
    return found


def test_a_kiosk_finds_a_resident_by_card_and_a_reissued_card_retires_the_old_code(
    server: Server, street: dict[str, str]
) -> None:
    community = server.token(Role.COMMUNITY, street["home"])
    kiosk = server.token(Role.KIOSK, street["home"])
    first = issue(server, community, street["member"])
    assert first["__typename"] == "IssuedCard" and len(first["code"]) == 20
    found = look_up(server, kiosk, first["code"], first["position"])
    assert found["__typename"] == "KioskMember"
    assert (found["memberId"], found["maskedName"]) == (street["member"], "张*丰")
    assert Decimal(found["balance"]) == 0

    second = issue(server, server.admin, street["member"])
    assert second["code"] != first["code"]
    assert look_up(server, kiosk, second["code"], second["position"])["maskedName"] == "张*丰"
    old = look_up(server, kiosk, first["code"], second["position"])
    assert old["__typename"] == "UnknownCode" and old["code"] == "UNKNOWN_CODE"


def test_another_communitys_kiosk_is_told_what_an_unknown_code_is_told(
    server: Server, street: dict[str, str]
) -> None:
    issued = issue(server, server.admin, street["member"])
    elsewhere = server.token(Role.KIOSK, street["other"])
    foreign = look_up(server, elsewhere, issued["code"], issued["position"])
    unknown = look_up(server, elsewhere, "23456789ABCDEFGHJKLM")
    malformed = look_up(server, elsewhere, "x" * 1000)
    assert foreign == unknown == malformed
    assert foreign["__typename"] == "UnknownCode" and "无效或已过期" in foreign["message"]


def test_only_the_members_community_or_an_admin_issues_a_card(
    server: Server, street: dict[str, str]
) -> None:
    for token in (
        server.token(Role.COMMUNITY, street["other"]),
        server.token(Role.KIOSK, street["home"]),
        server.token(Role.MEMBER, street["member"]),
    ):
        assert issue(server, token, street["member"])["__typename"] == "Forbidden"


def test_a_phone_code_is_found_until_it_expires(server: Server, street: dict[str, str]) -> None:
    issued = issue(server, server.admin, street["member"])
    member = server.token(Role.MEMBER, street["member"])
    made = server.gql(member, PHONE)["data"]["myKioskCode"]
    assert made["__typename"] == "KioskCode" and made["validSeconds"] == PHONE_CODE_SECONDS
    expires = datetime.fromisoformat(made["expiresAt"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=PHONE_CODE_SECONDS)
    kiosk = server.token(Role.KIOSK, street["home"])
    found = look_up(server, kiosk, made["code"], issued["position"])
    assert found["__typename"] == "KioskMember" and found["memberId"] == street["member"]

    # The same member's code, made with the server's key as of three minutes ago.
    data_dir = server.log.parent / "data"
    key = code_key(load_settings({**os.environ, "LEDGER_DATA_DIR": str(data_dir)}).id_hash_key)
    reference = read_code(made["code"], key, datetime.now(UTC)).reference
    assert reference is not None
    stale = phone_code(reference, key, datetime.now(UTC) - timedelta(minutes=3)).code
    expired = look_up(server, kiosk, stale)
    assert expired["__typename"] == "UnknownCode" and "过期" in expired["message"]


def test_only_a_member_with_a_card_gets_a_phone_code(
    server: Server, street: dict[str, str]
) -> None:
    assert server.gql(server.admin, PHONE)["data"]["myKioskCode"]["__typename"] == "Forbidden"
    without_card = created(
        server,
        f"""mutation($c: UUID!) {{ registerMember(kind: RESIDENT, name: "李四",
        communityId: $c) {{ {RESULT} }} }}""",
        c=street["home"],
    )
    member = server.token(Role.MEMBER, without_card)
    refused = server.gql(member, PHONE)["data"]["myKioskCode"]
    assert refused["code"] == "NO_CARD" and "积分卡" in refused["message"]


def test_a_kiosk_is_not_answered_from_a_kept_answer_once_a_code_expires(
    server: Server, street: dict[str, str]
) -> None:
    """Answers to queries are kept until the read models move on; a code's expiry is the
    clock's, not an event's, so its lookup is never kept."""
    issue(server, server.admin, street["member"])
    made = server.gql(server.token(Role.MEMBER, street["member"]), PHONE)["data"]["myKioskCode"]
    data_dir = server.log.parent / "data"
    key = code_key(load_settings({**os.environ, "LEDGER_DATA_DIR": str(data_dir)}).id_hash_key)
    reference = read_code(made["code"], key, datetime.now(UTC)).reference
    assert reference is not None
    made_at = datetime.now(UTC) - timedelta(seconds=PHONE_CODE_SECONDS - 2)
    short = phone_code(reference, key, made_at).code  # two seconds left
    kiosk = server.token(Role.KIOSK, street["home"])
    query = """query($c: String!) { memberByCode(code: $c) { __typename } }"""
    assert server.gql(kiosk, query, c=short)["data"]["memberByCode"]["__typename"] == "KioskMember"
    time.sleep(3)
    assert server.gql(kiosk, query, c=short)["data"]["memberByCode"]["__typename"] == "UnknownCode"
