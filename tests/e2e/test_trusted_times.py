"""Times the ledger can trust, over HTTP: a member's own check-in takes the server's
clock, a worker's paper sheet is named, and untrustworthy times are refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.domain.values import CST, Role
from tests.e2e.conftest import Server
from tests.e2e.test_story import RECEIPT, ok

RESULT = f"__typename {RECEIPT}"
_names = itertools.count()


@pytest.fixture(scope="module")
def place(server: Server) -> dict[str, Any]:
    g, admin = server.gql, server.admin
    street = ok(
        g(admin, f'mutation {{ registerStreet(name: "考勤街道") {{ {RECEIPT} }} }}'),
        "registerStreet",
    )["id"]
    community = ok(
        g(
            admin,
            f"""mutation($s: UUID!) {{ registerCommunity(streetId: $s, name: "考勤社区")
            {{ {RECEIPT} }} }}""",
            s=street,
        ),
        "registerCommunity",
    )["id"]
    return {"community": community, "staff": server.token(Role.COMMUNITY, community)}


def member(server: Server, place: dict[str, Any]) -> tuple[str, str]:
    """A new resident and their own token."""
    found = ok(
        server.gql(
            place["staff"],
            f"""mutation($c: UUID!, $n: String!) {{ registerMember(kind: RESIDENT, name: $n,
            communityId: $c) {{ {RECEIPT} }} }}""",
            c=place["community"],
            n=f"居民{next(_names)}",
        ),
        "registerMember",
    )["id"]
    return found, server.token(Role.MEMBER, found)


def service(
    server: Server, place: dict[str, Any], who: str, start: datetime, hours: float = 2
) -> str:
    """A hard task from ``start`` claimed by ``who``: the service's id."""
    g, staff = server.gql, place["staff"]
    task = ok(
        g(
            staff,
            f"""mutation($c: UUID!, $a: DateTime!, $b: DateTime!) {{ publishTask(
            communityId: $c, title: "应急值守", category: "应急保障", startsAt: $a,
            endsAt: $b, capacity: 5) {{ {RECEIPT} }} }}""",
            c=place["community"],
            a=start.isoformat(),
            b=(start + timedelta(hours=hours)).isoformat(),
        ),
        "publishTask",
    )["id"]
    claimed: str = ok(
        g(
            staff,
            f"""mutation($t: UUID!, $m: UUID!) {{ claimTask(taskId: $t, memberId: $m)
            {{ {RECEIPT} }} }}""",
            t=task,
            m=who,
        ),
        "claimTask",
    )["id"]
    return claimed


def stamp(
    server: Server, token: str, what: str, service_id: str, at: datetime | None = None
) -> dict[str, Any]:
    """``checkIn`` or ``checkOut``, with or without a time."""
    given = "" if at is None else ", at: $at"
    declared = "" if at is None else ", $at: DateTime!"
    variables: dict[str, Any] = {"s": service_id}
    if at is not None:
        variables["at"] = at.isoformat()
    result = server.gql(
        token,
        f"""mutation($s: UUID!{declared}) {{ {what}(serviceId: $s{given}) {{ {RESULT} }} }}""",
        **variables,
    )
    assert "errors" not in result, result
    data: dict[str, Any] = result["data"][what]
    return data


def refused(data: dict[str, Any], code: str, words: str) -> None:
    assert (data["__typename"], data["code"]) == ("Rejected", code), data
    assert words in data["message"], data["message"]


def dossier_service(
    server: Server, who: str, service_id: str, year: int, position: int
) -> dict[str, Any]:
    result = server.gql(
        server.admin,
        """query($m: UUID!, $y: Int!, $w: Int!) { member(id: $m, waitFor: $w) {
        dossier(year: $y) { services { serviceId checkedInAt checkedOutAt
        checkInEnteredBy checkOutEnteredBy } } } }""",
        m=who,
        y=year,
        w=position,
    )
    assert "errors" not in result, result
    [found] = [
        s for s in result["data"]["member"]["dossier"]["services"] if s["serviceId"] == service_id
    ]
    return dict(found)


def rate(server: Server, place: dict[str, Any], service_id: str) -> int:
    position: int = ok(
        server.gql(
            place["staff"],
            f"""mutation($s: UUID!) {{ rateService(serviceId: $s, rating: GOOD)
            {{ {RECEIPT} }} }}""",
            s=service_id,
        ),
        "rateService",
    )["position"]
    return position


def test_a_members_own_check_in_and_out_take_the_servers_clock(
    server: Server, place: dict[str, Any]
) -> None:
    who, own = member(server, place)
    now = datetime.now(UTC)
    served = service(server, place, who, now - timedelta(minutes=5))
    sent = now - timedelta(seconds=100)  # within the tolerance: taken, but not recorded
    assert stamp(server, own, "checkIn", served, sent)["__typename"] == "Receipt"
    assert stamp(server, own, "checkOut", served)["__typename"] == "Receipt"
    position = rate(server, place, served)
    found = dossier_service(server, who, served, now.astimezone(CST).year, position)
    checked_in = datetime.fromisoformat(found["checkedInAt"])
    assert checked_in >= now and checked_in != sent
    assert datetime.fromisoformat(found["checkedOutAt"]) >= checked_in
    assert (found["checkInEnteredBy"], found["checkOutEnteredBy"]) == (None, None)


def test_a_members_own_time_far_from_the_servers_clock_is_refused(
    server: Server, place: dict[str, Any]
) -> None:
    who, own = member(server, place)
    now = datetime.now(UTC)
    served = service(server, place, who, now - timedelta(minutes=5))
    for given in (now - timedelta(hours=1), now + timedelta(hours=1)):
        refused(stamp(server, own, "checkIn", served, given), "CLIENT_TIME_REFUSED", "服务器时间")
    assert stamp(server, own, "checkIn", served)["__typename"] == "Receipt"
    refused(
        stamp(server, own, "checkOut", served, now - timedelta(days=1)),
        "CLIENT_TIME_REFUSED",
        "签到表",
    )


def test_a_time_in_the_future_is_refused_even_from_a_sheet(
    server: Server, place: dict[str, Any]
) -> None:
    who, _ = member(server, place)
    now = datetime.now(UTC)
    served = service(server, place, who, now + timedelta(minutes=20))
    refused(
        stamp(server, place["staff"], "checkIn", served, now + timedelta(minutes=30)),
        "TIME_IN_FUTURE",
        "晚于服务器当前时间",
    )


def test_a_workers_sign_in_sheet_is_recorded_and_names_who_entered_it(
    server: Server, place: dict[str, Any]
) -> None:
    who, _ = member(server, place)
    start = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    served = service(server, place, who, start)
    early = start - timedelta(minutes=30)  # early arrival is allowed
    assert stamp(server, place["staff"], "checkIn", served, early)["__typename"] == "Receipt"
    end = start + timedelta(hours=2)
    assert stamp(server, place["staff"], "checkOut", served, end)["__typename"] == "Receipt"
    position = rate(server, place, served)
    found = dossier_service(server, who, served, 2026, position)
    assert datetime.fromisoformat(found["checkedInAt"]) == early
    assert datetime.fromisoformat(found["checkedOutAt"]) == end
    assert found["checkInEnteredBy"] and found["checkInEnteredBy"] == found["checkOutEnteredBy"]


def test_times_outside_the_tasks_window_are_refused(server: Server, place: dict[str, Any]) -> None:
    who, _ = member(server, place)
    staff = place["staff"]
    start = datetime(2026, 5, 2, 1, 0, tzinfo=UTC)
    served = service(server, place, who, start)
    for too_early_or_late in (start - timedelta(minutes=61), start + timedelta(hours=2)):
        refused(
            stamp(server, staff, "checkIn", served, too_early_or_late),
            "OUTSIDE_TASK_WINDOW",
            "签到最早可在开始前 60 分钟",
        )
    assert stamp(server, staff, "checkIn", served, start)["__typename"] == "Receipt"
    refused(
        stamp(server, staff, "checkOut", served, start + timedelta(hours=2, minutes=121)),
        "OUTSIDE_TASK_WINDOW",
        "签退最晚在结束后 120 分钟",
    )


def test_a_members_services_may_not_overlap(server: Server, place: dict[str, Any]) -> None:
    who, _ = member(server, place)
    staff = place["staff"]
    start = datetime(2026, 5, 3, 1, 0, tzinfo=UTC)  # 09:00 to 11:00 in Beijing
    first = service(server, place, who, start)
    assert stamp(server, staff, "checkIn", first, start)["__typename"] == "Receipt"
    assert stamp(server, staff, "checkOut", first, start + timedelta(hours=2))
    during = service(server, place, who, start + timedelta(hours=1))
    refused(
        stamp(server, staff, "checkIn", during, start + timedelta(hours=1)),
        "SERVICES_OVERLAP",
        "服务时间不能重叠",
    )
    before = service(server, place, who, start - timedelta(hours=2))
    assert stamp(server, staff, "checkIn", before, start - timedelta(hours=2))["__typename"] == (
        "Receipt"
    )
    refused(
        stamp(server, staff, "checkOut", before, start + timedelta(minutes=1)),
        "SERVICES_OVERLAP",
        "不能重叠",
    )
    assert stamp(server, staff, "checkOut", before, start)["__typename"] == "Receipt"
    after = service(server, place, who, start + timedelta(hours=2))
    assert stamp(server, staff, "checkIn", after, start + timedelta(hours=2))["__typename"] == (
        "Receipt"
    )
