"""The rule book's limits on service times, each at its edge: a test fails if a number
changes, and the times a member's served hours rest on never overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ledger.domain.errors import (
    ClientTimeRefused,
    InvalidPolicy,
    OutsideTaskWindow,
    ServicesOverlap,
    TimeInFuture,
)
from ledger.domain.policy import PointsPolicy
from ledger.domain.timesheet import Timesheet
from ledger.domain.values import Context, Role

CLOCK = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
START, END = datetime(2026, 5, 1, 1, 0, tzinfo=UTC), datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
POLICY = PointsPolicy()
CTX = Context(actor_id="worker-1", role=Role.COMMUNITY)


def test_the_clock_tolerance_is_two_minutes() -> None:
    assert POLICY.clock_tolerance_seconds == 120
    edge = timedelta(seconds=120)
    for given in (CLOCK - edge, CLOCK + edge):
        assert POLICY.trusted_time(given, CLOCK, own=True, field="签到时间") == CLOCK
    for given in (CLOCK - edge - timedelta(seconds=1), CLOCK + edge + timedelta(seconds=1)):
        with pytest.raises(ClientTimeRefused):
            POLICY.trusted_time(given, CLOCK, own=True, field="签到时间")


def test_a_sheet_may_give_any_past_time_but_not_one_beyond_the_tolerance_ahead() -> None:
    long_ago = CLOCK - timedelta(days=300)
    assert POLICY.trusted_time(long_ago, CLOCK, own=False, field="签到时间") == long_ago
    edge = CLOCK + timedelta(seconds=120)
    assert POLICY.trusted_time(edge, CLOCK, own=False, field="签到时间") == edge
    with pytest.raises(TimeInFuture) as refused:
        POLICY.trusted_time(edge + timedelta(seconds=1), CLOCK, own=False, field="签到时间")
    assert "120 秒" in refused.value.message
    assert POLICY.trusted_time(None, CLOCK, own=False, field="签到时间") == CLOCK


def test_early_arrival_is_taken_up_to_an_hour_before_the_start() -> None:
    assert POLICY.early_arrival_minutes == 60
    POLICY.check_check_in(START - timedelta(minutes=60), START, END)
    POLICY.check_check_in(END - timedelta(seconds=1), START, END)
    for at in (START - timedelta(minutes=60, seconds=1), END):
        with pytest.raises(OutsideTaskWindow):
            POLICY.check_check_in(at, START, END)


def test_a_check_out_is_taken_up_to_two_hours_after_the_end() -> None:
    assert POLICY.late_checkout_minutes == 120
    POLICY.check_check_out(END + timedelta(minutes=120), START, END)
    with pytest.raises(OutsideTaskWindow) as refused:
        POLICY.check_check_out(END + timedelta(minutes=120, seconds=1), START, END)
    assert "120 分钟" in refused.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("clock_tolerance_seconds", 601),
        ("clock_tolerance_seconds", -1),
        ("early_arrival_minutes", 241),
        ("late_checkout_minutes", 721),
        ("late_checkout_minutes", "60"),
    ],
)
def test_the_time_limits_are_bounded_like_every_number_of_the_rule_book(
    name: str, value: object
) -> None:
    data = POLICY.to_data() | {name: value}
    with pytest.raises(InvalidPolicy) as refused:
        PointsPolicy.from_data(data)
    assert name in refused.value.message


def test_a_version_published_before_the_time_limits_reads_with_the_defaults() -> None:
    data = POLICY.to_data()
    for name in ("clock_tolerance_seconds", "early_arrival_minutes", "late_checkout_minutes"):
        del data[name]
    restored = PointsPolicy.restore(data)
    assert restored.clock_tolerance_seconds == 120 and restored.late_checkout_minutes == 120
    assert PointsPolicy.from_data(POLICY.to_data() | {"early_arrival_minutes": 30}) == (
        PointsPolicy(early_arrival_minutes=30)
    )


def test_a_members_services_never_overlap_in_time() -> None:
    sheet = Timesheet(uuid4(), ctx=CTX)
    first, second, third = uuid4(), uuid4(), uuid4()
    sheet.start(first, START, CTX)
    with pytest.raises(ServicesOverlap):  # the first is still going on
        sheet.start(second, START + timedelta(minutes=30), CTX)
    sheet.start(second, START - timedelta(hours=2), CTX)  # earlier, from a sheet
    with pytest.raises(ServicesOverlap):
        sheet.end(second, START + timedelta(minutes=1), CTX)
    sheet.end(second, START, CTX)  # ends as the first begins: no overlap
    sheet.end(first, END, CTX)
    with pytest.raises(ServicesOverlap):
        sheet.start(third, END - timedelta(seconds=1), CTX)
    sheet.start(third, END, CTX)
    sheet.drop(third, CTX)
    assert set(sheet.spans) == {first, second}
