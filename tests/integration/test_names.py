"""The one naming module against real read models: both drivers find the same names,
and the auditor's history reads in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest

import audit
from ledger.application import Ledger
from ledger.domain.values import (
    CST,
    Context,
    MemberKind,
    Role,
    UnitKind,
    issuance_account,
    member_account,
    store_account,
)
from projections.queries.names import Names, Wanted, names, names_sync
from projections.runner import ReadSide
from projections.tokens import create_token_table
from tests.support import earn

ADMIN = Context("generator", Role.ADMIN)
KIOSK = Context("kiosk", Role.KIOSK, device="kiosk")


@pytest.fixture(scope="module")
def town(ledger: Ledger, read_side: ReadSide) -> dict[str, Any]:
    street = ledger.register_street("果园新村街道", ADMIN).id
    home = ledger.register_community(street, "第6社区", ADMIN).id
    unit = ledger.register_unit("区财政局", UnitKind.ORGAN, ADMIN, communities=[home]).id
    member = ledger.register_member(MemberKind.PARTY_MEMBER, "张三丰", home, ADMIN, unit_id=unit).id
    earn(ledger, home, member, datetime(2026, 3, 2, 9, tzinfo=CST), ADMIN)
    rice = ledger.list_item(home, "大米", "3", ADMIN).id
    ledger.restock_item(rice, 5, "区财政局", ADMIN)
    redeemed = ledger.redeem("kiosk", "names-1", member, home, [(rice, 2)], KIOSK)
    read_side.catch_up()
    service = next(
        UUID(line.cause.split(":")[1])
        for line in audit.history(ledger, member)
        if line.event == "Account.Credited" and line.cause
    )
    return {
        "street": street,
        "home": home,
        "unit": unit,
        "member": member,
        "service": service,
        "redemption": redeemed.id,
    }


def wanted(town: dict[str, Any]) -> Wanted:
    return (
        Wanted()
        .place(town["street"], town["home"], town["unit"])
        .account(member_account(town["member"]), store_account(town["home"]))
        .cause("service", town["service"])
        .cause("redemption", town["redemption"])
        .actor("generator", "kiosk")
    )


def said(found: Names, town: dict[str, Any]) -> tuple[str | None, ...]:
    return (
        found.place(town["street"]),
        found.place(town["unit"]),
        found.account(issuance_account(town["home"])),
        found.account(member_account(town["member"])),
        found.cause("service", town["service"]),
        found.cause("redemption", town["redemption"]),
        found.actor("generator"),
        found.device("kiosk"),
    )


def test_the_auditors_history_reads_in_words_before_any_token_was_made(
    ledger: Ledger, town: dict[str, Any]
) -> None:
    with ledger.group_recorder.datastore.get_connection() as conn:
        assert conn.execute("SELECT to_regclass('api_tokens') IS NULL AS none").fetchone()["none"]
    lines = audit.history(ledger, town["member"])
    summaries = [line.summary for line in lines]
    assert summaries[0] == "登记成员"
    assert "获得积分:服务「汛期巡查」" in summaries
    assert "兑换扣减积分:兑换 大米×2" in summaries
    debit = next(line for line in lines if line.event == "Account.Debited")
    assert (debit.actor_name, debit.role_name, debit.device_name) == (
        "积分超市终端",
        "积分超市终端",
        "积分超市终端",
    )
    assert all(line.role_name == "街道管理员" for line in lines if line.actor == "generator")


async def test_the_read_models_name_places_members_tasks_and_goods(
    town: dict[str, Any], db: asyncpg.Connection
) -> None:
    await create_token_table(db)  # the server makes it as it starts
    found = await names(db, wanted(town), full=True)
    assert said(found, town) == (
        "果园新村街道",
        "区财政局",
        "第6社区 积分发放",
        "张三丰",
        "服务「汛期巡查」",
        "兑换 大米×2",
        "演示数据生成",
        "积分超市终端",
    )
    masked = await names(db, wanted(town), full=False)
    assert masked.account(member_account(town["member"])) == "张*丰"


async def test_the_auditors_driver_finds_the_same_names(
    ledger: Ledger, town: dict[str, Any], db: asyncpg.Connection
) -> None:
    with ledger.group_recorder.datastore.get_connection() as conn:
        found = names_sync(conn, wanted(town), full=True)
    assert said(found, town) == said(await names(db, wanted(town), full=True), town)
    assert found.found  # it found something: the two agree on names, not on nothing
