"""A service left checked in past its check-out window (a refused check-out, a member who
walked away) blocks nothing once the window has ended, is closed by the scheduled run
with a reason, earns nothing, and can still be given its times by a worker's correction."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from entrypoints.closing import close_now
from entrypoints.expiry import run_daily
from ledger.application import Ledger
from ledger.domain.errors import OutsideTaskWindow, ServicesOverlap
from ledger.domain.values import CST, Context, MemberKind, Rating, Role
from ledger.domain.work import LAPSE_REASON, ServiceStatus
from projections.runner import ReadSide

ADMIN = Context(actor_id="test", role=Role.ADMIN)
YESTERDAY = (datetime.now(CST) - timedelta(days=1)).replace(
    hour=9, minute=0, second=0, microsecond=0
)
"""09:00 yesterday (CST): the first task's start; every window below has ended by now."""


@pytest.fixture(scope="module")
def street(ledger: Ledger) -> dict[str, Any]:
    """A member checked in at 09:00 to a 09:00-11:00 task whose check-out at 14:00 was
    refused (the rule book's window ends at 13:00): the service stays checked in."""
    street = ledger.register_street("未签退街道", ADMIN).id
    community = ledger.register_community(street, "未签退社区", ADMIN).id
    member = ledger.register_member(MemberKind.RESIDENT, "赵未退", community, ADMIN).id
    first = task(ledger, community, "上午巡查", YESTERDAY, 2)
    service = ledger.claim_task(first, member, ADMIN).id
    ledger.check_in(service, ADMIN, at=YESTERDAY)
    with pytest.raises(OutsideTaskWindow):
        ledger.check_out(service, ADMIN, at=YESTERDAY + timedelta(hours=5))
    assert ledger.get_service(service).status is ServiceStatus.CHECKED_IN
    return {"community": community, "member": member, "service": service}


def task(ledger: Ledger, community: UUID, title: str, start: datetime, hours: float) -> UUID:
    end = start + timedelta(hours=hours)
    return ledger.publish_task(community, title, "应急保障", start, end, 5, ADMIN).id


def test_a_refused_check_out_still_blocks_a_check_in_inside_its_window(
    ledger: Ledger, street: dict[str, Any]
) -> None:
    noon = task(ledger, street["community"], "午间值守", YESTERDAY + timedelta(hours=3), 1)
    service = ledger.claim_task(noon, street["member"], ADMIN).id
    with pytest.raises(ServicesOverlap, match="尚未签退"):
        ledger.check_in(service, ADMIN, at=YESTERDAY + timedelta(hours=3))


def test_the_next_task_after_the_window_takes_the_check_in_before_any_closing(
    ledger: Ledger, street: dict[str, Any]
) -> None:
    afternoon = task(ledger, street["community"], "下午巡查", YESTERDAY + timedelta(hours=4.5), 2)
    service = ledger.claim_task(afternoon, street["member"], ADMIN).id
    ledger.check_in(service, ADMIN, at=YESTERDAY + timedelta(hours=4.5))
    ledger.check_out(service, ADMIN, at=YESTERDAY + timedelta(hours=6.5))
    assert ledger.get_service(street["service"]).status is ServiceStatus.CHECKED_IN
    assert ledger.get_service(service).status is ServiceStatus.CHECKED_OUT


def test_the_scheduled_run_closes_the_lapsed_service_once_and_it_earns_nothing(
    ledger: Ledger, read_side: ReadSide, database_url: str, street: dict[str, Any]
) -> None:
    read_side.catch_up()
    assert close_now(ledger, database_url) == 1
    service = ledger.get_service(street["service"])
    assert service.status is ServiceStatus.LAPSED
    [lapsed] = [
        e for e in ledger.repository.event_store.get(service.id) if type(e).__name__ == "Lapsed"
    ]
    assert lapsed.reason == LAPSE_REASON == "未签退自动关闭"
    assert lapsed.window_ended_at == YESTERDAY + timedelta(hours=4)  # 11:00 + 120 minutes
    assert ledger.close_lapsed_service(service.id, ADMIN).position is None  # a rerun
    read_side.catch_up()
    assert close_now(ledger, database_url) == 0
    account = ledger.get_account(street["member"])
    assert service.id not in account.earnings
    assert service.id not in ledger.timesheet(street["member"], ADMIN).spans


def test_a_service_still_inside_its_window_is_not_closed(
    ledger: Ledger, street: dict[str, Any]
) -> None:
    start = datetime.now(CST) - timedelta(hours=2)
    ongoing = task(ledger, street["community"], "晚间值守", start, 1)  # window ends in an hour
    service = ledger.claim_task(ongoing, street["member"], ADMIN).id
    ledger.check_in(service, ADMIN, at=start)
    assert ledger.close_lapsed_service(service, ADMIN).position is None
    assert ledger.get_service(service).status is ServiceStatus.CHECKED_IN


def test_a_correction_gives_the_lapsed_service_its_times_and_then_it_is_rated(
    ledger: Ledger, street: dict[str, Any]
) -> None:
    service_id = street["service"]
    with pytest.raises(OutsideTaskWindow):  # the window's rule holds for a correction too
        ledger.correct_service(
            service_id,
            "纸质签到表补录",
            "社区书记",
            ADMIN,
            checked_out=YESTERDAY + timedelta(hours=5),
        )
    ledger.correct_service(
        service_id, "纸质签到表补录", "社区书记", ADMIN, checked_out=YESTERDAY + timedelta(hours=2)
    )
    service = ledger.get_service(service_id)
    assert service.status is ServiceStatus.CHECKED_OUT
    assert service.checked_out_at == YESTERDAY + timedelta(hours=2)
    ledger.rate_service(service_id, Rating.EXCELLENT, ADMIN)
    account = ledger.get_account(street["member"])
    assert account.earnings[service_id].points == Decimal("4.8")  # 2 h x 2.0 x 1.2


def test_the_runner_inside_serve_and_project_closes_lapsed_services_at_start(
    ledger: Ledger, read_side: ReadSide, database_url: str
) -> None:
    community = ledger.register_community(
        ledger.register_street("另一街道", ADMIN).id, "另一社区", ADMIN
    ).id
    member = ledger.register_member(MemberKind.RESIDENT, "孙忘退", community, ADMIN).id
    service = ledger.claim_task(task(ledger, community, "上午值守", YESTERDAY, 1), member, ADMIN).id
    ledger.check_in(service, ADMIN, at=YESTERDAY)
    read_side.catch_up()
    stop = threading.Event()
    runner = threading.Thread(target=run_daily, args=(ledger, stop, database_url))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while ledger.get_service(service).status is not ServiceStatus.LAPSED:
            assert time.monotonic() < deadline, "the start-up run did not close the service"
            time.sleep(0.1)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
