"""Sign-in codes and site codes against the event store: a refused attempt records
nothing, an expired or used code is refused alike, and only the code's keyed hash is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.application import Ledger
from ledger.domain.errors import SignInCodeInvalid, SiteCodeInvalid, TooFarFromSite
from ledger.domain.presence import Location
from ledger.domain.signin import SignInCode
from ledger.domain.values import Context, MemberKind, Role

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
