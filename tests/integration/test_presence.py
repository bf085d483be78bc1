"""Sign-in codes and site codes against the event store: a refused attempt records
nothing, an expired or used code is refused alike, and only the code's keyed hash is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

import audit
from ledger.application import Ledger
from ledger.domain.errors import SignInCodeInvalid, SiteCodeInvalid, TooFarFromSite
from ledger.domain.presence import Location
from ledger.domain.signin import SignInCode
from ledger.domain.values import Context, MemberKind, Rating, Role
from projections.queries.boards import claimants, member_services
from projections.queries.names import Wanted, names
from projections.runner import READ_MODELS, ReadSide
from tests.integration.readside import assert_same_rows, snapshot

ADMIN = Context(actor_id="test", role=Role.ADMIN)


@pytest.fixture(scope="module")
def place(ledger: Ledger) -> dict[str, Any]:
    street = ledger.register_street("登录街道", ADMIN).id
    community = ledger.register_community(street, "登录社区", ADMIN).id
    member = ledger.register_member(MemberKind.RESIDENT, "钱登录", community, ADMIN).id
    return {"community": community, "member": member}


def phone(member_id: UUID) -> Context:
    return Context(actor_id=f"member:{member_id}", role=Role.MEMBER)


def events_of(ledger: Ledger, aggregate_id: UUID) -> list[str]:
    return [type(e).__name__ for e in ledger.events.get(aggregate_id)]


def test_an_expired_code_is_refused_like_a_used_one_and_nothing_is_recorded(
    ledger: Ledger, place: dict[str, Any]
) -> None:
    yesterday = datetime.now(UTC) - timedelta(hours=24, seconds=1)
    stale = ledger.issue_sign_in(place["member"], ADMIN, at=yesterday)
    with pytest.raises(SignInCodeInvalid) as expired:
        ledger.activate_sign_in(stale.code, uuid4(), "手机", phone(place["member"]))
    assert events_of(ledger, stale.id) == ["Issued"]
    fresh = ledger.issue_sign_in(place["member"], ADMIN)
    first = uuid4()
    taken = ledger.activate_sign_in(fresh.code, first, "手机 2026-12-08", phone(place["member"]))
    assert (taken.member_name, taken.community_name) == ("钱登录", "登录社区")
    with pytest.raises(SignInCodeInvalid) as used:
        ledger.activate_sign_in(fresh.code, uuid4(), "另一部", phone(place["member"]))
    assert (
        used.value.message
        == expired.value.message
        == "登录码无效、已使用或已过期,请向社区工作人员重新领取"
    )
    record = ledger.repository.get(fresh.id)
    assert isinstance(record, SignInCode) and record.token_id == first
    stored = ledger.recorder.select_events(fresh.id)
    assert all(fresh.code.encode() not in e.state for e in stored)  # only its keyed hash names it


def test_a_refused_site_code_or_location_writes_nothing(
    ledger: Ledger, place: dict[str, Any]
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=10)
    task = ledger.publish_task(
        place["community"],
        "广场值守",
        "值班值守",
        start,
        start + timedelta(hours=2),
        3,
        ADMIN,
        place="社区广场",
        point=(31.2304, 121.4737),
    ).id
    member = place["member"]
    service = ledger.claim_task(task, member, ADMIN).id
    before = events_of(ledger, service)
    with pytest.raises(SiteCodeInvalid):
        ledger.check_in(service, phone(member), site_code="000000")
    far = Location.create(31.30, 121.4737, 30)
    shown = ledger.site_code(task)
    with pytest.raises(TooFarFromSite, match="500 米"):
        ledger.check_in(service, phone(member), site_code=shown.code, location=far)
    assert events_of(ledger, service) == before
    near = Location.create(31.2306, 121.4739, 30)
    ledger.check_in(service, phone(member), site_code=shown.code, location=near)
    [checked_in] = [e for e in ledger.events.get(service) if type(e).__name__ == "CheckedIn"]
    assert checked_in.site_step == shown.step
    assert (checked_in.latitude, checked_in.longitude, checked_in.accuracy) == (
        31.2306,
        121.4739,
        30.0,
    )


async def test_the_board_follows_edits_withdrawals_and_presence_and_rebuilds_the_same(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection, database_url: str
) -> None:
    street = ledger.register_street("看板街道", ADMIN).id
    community = ledger.register_community(street, "看板社区", ADMIN, grids=["一网格"]).id
    grid = ledger.read_community(community).grid_id(community, "一网格")
    member = ledger.register_member(MemberKind.RESIDENT, "孙看板", community, ADMIN).id
    other = ledger.register_member(MemberKind.RESIDENT, "李退出", community, ADMIN).id
    start = datetime.now(UTC) + timedelta(days=1)
    later = ledger.publish_task(
        community, "助老", "扶老帮困", start, start + timedelta(hours=2), 2, ADMIN, grid_id=grid
    ).id
    ledger.edit_task(later, ADMIN, title="助老送餐", place="五号楼")
    withdrawn = ledger.claim_task(later, other, ADMIN).id
    ledger.withdraw_claim(withdrawn, phone(other))
    began = datetime.now(UTC) - timedelta(hours=3)
    task = ledger.publish_task(
        community, "巡查", "巡逻", began, began + timedelta(hours=1), 3, ADMIN, place="小区"
    ).id
    # the award and its re-check use the schedule as edited, not as first published
    ledger.edit_task(task, ADMIN, ends_at=began + timedelta(hours=2))
    service = ledger.claim_task(task, member, ADMIN).id
    code = ledger.site_code(task, at=datetime.now(UTC) - timedelta(minutes=3)).code
    # a worker copying the sheet may give the code the member wrote down too
    ledger.check_in(service, ADMIN, at=began + timedelta(minutes=5), site_code=code)
    ledger.check_out(service, ADMIN, at=began + timedelta(hours=2))
    ledger.rate_service(service, Rating.EXCELLENT, ADMIN)
    read_side.catch_up()
    [row] = await claimants(db, task)
    assert (row["member_name"], row["status"], row["rating"], row["presence_verified"]) == (
        "孙看板",
        "RATED",
        "EXCELLENT",
        True,
    )
    assert row["hours"] == Decimal("1.9")  # 115 of the 120 minutes as edited
    assert await claimants(db, later) == []
    edited = await db.fetchrow("SELECT * FROM board_tasks WHERE task_id = $1", later)
    assert (edited["title"], edited["place"], edited["claims"]) == ("助老送餐", "五号楼", 0)
    found = await names(db, Wanted().place(community, grid), full=False)
    assert (found.place(community), found.place(grid)) == ("看板社区", "一网格")
    [record] = await member_services(db, member, 10)
    assert (record["task_title"], record["community_name"], record["place"]) == (
        "巡查",
        "看板社区",
        "小区",
    )
    assert ledger.claim_task(later, other, ADMIN).id == withdrawn  # the same record again
    read_side.catch_up()
    assert [r["status"] for r in await claimants(db, later)] == ["CLAIMED"]
    live = snapshot(database_url)
    read_side.rebuild(*(model.name for model in READ_MODELS))
    assert_same_rows(live, snapshot(database_url))
    _, mismatches = audit.recheck_awards(ledger)
    assert mismatches == []
