"""Site codes and locations at their edges, the rule book's site settings, and the
task and service rules a member's phone relies on (edit, withdraw, once per code)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ledger.domain.errors import (
    ClaimWithdrawalTooLate,
    InvalidInput,
    InvalidPolicy,
    SignInCodeInvalid,
    SiteCodeInvalid,
    SiteCodeUsed,
    TaskAlreadyClaimed,
)
from ledger.domain.policy import PointsPolicy
from ledger.domain.presence import (
    SITE_CODE_GRACE_STEPS,
    SITE_CODE_PERIOD_SECONDS,
    Location,
    read_site_code,
    shown_code,
    site_code_key,
    time_step,
)
from ledger.domain.signin import SignInCode, sign_in_code_id, sign_in_code_key
from ledger.domain.values import Context, Role
from ledger.domain.work import Service, ServiceStatus, Task

KEY = site_code_key(b"an id-hash key")
CLOCK = datetime(2026, 12, 8, 1, 0, 30, tzinfo=UTC)
CTX = Context(actor_id="worker", role=Role.COMMUNITY)


def test_a_site_code_counts_for_its_minute_and_five_after_and_for_its_task_only() -> None:
    task = uuid4()
    assert (SITE_CODE_PERIOD_SECONDS, SITE_CODE_GRACE_STEPS) == (60, 5)
    screen = shown_code(task, KEY, CLOCK)
    assert len(screen.code) == 6 and screen.code.isdigit()
    assert screen.next_at == datetime(2026, 12, 8, 1, 1, tzinfo=UTC)
    last = CLOCK + timedelta(minutes=5, seconds=29)  # the end of the fifth minute after
    assert read_site_code(screen.code, task, KEY, last) == time_step(CLOCK)
    assert read_site_code(f" {screen.code[:3]} {screen.code[3:]} ", task, KEY, CLOCK) > 0
    with pytest.raises(SiteCodeInvalid):
        read_site_code(screen.code, task, KEY, last + timedelta(seconds=1))
    with pytest.raises(SiteCodeInvalid):
        read_site_code(screen.code, uuid4(), KEY, CLOCK)
    with pytest.raises(SiteCodeInvalid):  # a code of the future is not shown yet
        read_site_code(shown_code(task, KEY, CLOCK + timedelta(minutes=1)).code, task, KEY, CLOCK)
    with pytest.raises(SiteCodeInvalid):  # another key: another ledger's screen
        read_site_code(screen.code, task, site_code_key(b"another key"), CLOCK)
    for malformed in ("", "12345", "１２３４５６", "12a456", "1" * 40, None):
        with pytest.raises(SiteCodeInvalid):
            read_site_code(malformed, task, KEY, CLOCK)


@pytest.mark.parametrize(
    ("latitude", "longitude", "accuracy", "words"),
    [
        (39.9, 116.4, 0, "定位精度"),
        (39.9, 116.4, 5000.5, "定位精度"),
        (39.9, 116.4, float("nan"), "定位精度"),
        (3.7, 116.4, 10, "中国境内"),
        (39.9, 135.2, 10, "中国境内"),
        (48.85, 2.35, 10, "中国境内"),
        (True, 116.4, 10, "纬度"),
    ],
)
def test_an_absurd_location_is_invalid_input(
    latitude: object, longitude: object, accuracy: object, words: str
) -> None:
    with pytest.raises(InvalidInput, match=words):
        Location.create(latitude, longitude, accuracy)


def test_distances_are_along_the_earths_surface() -> None:
    here = Location.create(39.9087, 116.3975, 10)
    assert round(here.distance_to(39.9087, 116.3975)) == 0
    assert 1110 <= here.distance_to(39.9187, 116.3975) <= 1113  # a hundredth of a degree north


def test_a_community_may_require_site_codes_but_not_change_the_distance() -> None:
    street = PointsPolicy(version=1)
    assert (street.site_code_required, street.site_distance_meters) == (False, 500)
    street.check_discretion(
        replace(street, version=2, community_id=uuid4(), site_code_required=True)
    )
    with pytest.raises(InvalidPolicy, match="site_distance_meters 须与街道规则相同"):
        street.check_discretion(
            replace(street, version=2, community_id=uuid4(), site_distance_meters=900)
        )
    with pytest.raises(InvalidPolicy, match="site_code_required 须为 true 或 false"):
        PointsPolicy.from_data(street.to_data() | {"site_code_required": "yes"})
    with pytest.raises(InvalidPolicy, match="site_distance_meters"):
        PointsPolicy.from_data(street.to_data() | {"site_distance_meters": 5})
    old = {k: v for k, v in street.to_data().items() if not k.startswith("site_")}
    assert PointsPolicy.restore(old).site_code_required is False  # published before the setting


def task(start: datetime) -> Task:
    return Task.create(
        uuid4(),
        None,
        None,
        "楼道清扫",
        "清洁卫生",
        start,
        start + timedelta(hours=2),
        2,
        CTX,
        place="三号楼",
    )


def test_a_task_is_edited_only_while_nobody_has_claimed() -> None:
    published = task(CLOCK + timedelta(days=1))
    published.edit(CTX, title="楼道大扫除", capacity=3, place="四号楼")
    assert (published.title, published.capacity, published.place, published.category) == (
        "楼道大扫除",
        3,
        "四号楼",
        "清洁卫生",
    )
    with pytest.raises(InvalidInput):
        published.edit(CTX, capacity=0)
    published.claim(uuid4(), CTX)
    with pytest.raises(TaskAlreadyClaimed):
        published.edit(CTX, title="再改")


def test_a_claim_is_withdrawn_before_the_start_only() -> None:
    published, member = task(CLOCK), uuid4()
    published.claim(member, CTX)
    with pytest.raises(ClaimWithdrawalTooLate, match="2026-12-08 09:00"):
        published.withdraw(member, CLOCK, CTX)
    published.withdraw(member, CLOCK - timedelta(seconds=1), CTX)
    assert (published.claims, published.withdrawn) == ([], [member])
    published.claim(member, CTX)  # signing up again
    assert (published.claims, published.withdrawn) == ([member], [])


def test_a_site_code_works_once_per_service() -> None:
    service = Service(uuid4(), uuid4(), uuid4(), "清洁卫生", ctx=CTX)
    service.check_in(CLOCK, [], CTX, site_step=100)
    with pytest.raises(SiteCodeUsed) as used:
        service.check_out(CLOCK + timedelta(hours=1), [], CTX, site_step=100)
    assert used.value.code == "SITE_CODE_INVALID"
    service.check_out(CLOCK + timedelta(hours=1), [], CTX, site_step=101)
    assert service.status is ServiceStatus.CHECKED_OUT


def test_a_sign_in_code_is_taken_once_before_it_expires() -> None:
    key = sign_in_code_key(b"an id-hash key")
    code_id = sign_in_code_id("abcd-2345", key)
    assert code_id == sign_in_code_id("ABCD2345", key) != sign_in_code_id("ABCD2346", key)
    for malformed in ("ABCD234", "ABCD2340", "ABCD234O", 12345678):
        with pytest.raises(SignInCodeInvalid):
            sign_in_code_id(malformed, key)
    record = SignInCode.create(code_id, uuid4(), CLOCK, CTX)
    with pytest.raises(SignInCodeInvalid):
        record.activate(uuid4(), "手机", CLOCK + timedelta(hours=24), CTX)
    with pytest.raises(InvalidInput):
        record.activate(uuid4(), "手\n机", CLOCK, CTX)
    record.activate(uuid4(), "手机 2026-12-08", CLOCK + timedelta(hours=23, minutes=59), CTX)
    with pytest.raises(SignInCodeInvalid):
        record.activate(uuid4(), "另一部手机", CLOCK, CTX)
