"""The write side on real PostgreSQL: a community's year in small steps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from ledger.application import Ledger
from ledger.domain.account import Account
from ledger.domain.errors import (
    AlreadyReviewed,
    DuplicateMember,
    IdempotencyKeyReused,
    InsufficientPoints,
    InvalidInput,
    InvalidPoints,
    InvalidTransition,
    ItemNotInStore,
    NaiveDatetime,
    NotEligibleForReview,
    NotResident,
    OutOfStock,
    TaskFull,
    UnknownCategory,
    UnknownItem,
    UnknownMember,
    UnknownTask,
)
from ledger.domain.policy import PointsPolicy
from ledger.domain.values import (
    Context,
    Grade,
    MemberKind,
    Rating,
    Role,
    UnitKind,
    issuance_account,
    member_account,
)
from ledger.domain.work import ServiceStatus

ADMIN = Context("admin-1", Role.ADMIN)
KIOSK = Context("kiosk-7", Role.KIOSK, device="kiosk-7")
T0 = datetime(2026, 4, 11, 1, 0, tzinfo=UTC)  # a Saturday, 09:00 in Shanghai


@pytest.fixture(scope="module")
def world(ledger: Ledger) -> dict[str, UUID]:
    street = ledger.register_street("果园新村街道", ADMIN).id
    community = ledger.register_community(street, "果园社区", ADMIN, grids=["一网格", "二网格"]).id
    grid = next(iter(ledger.get_community(community).grids))
    unit = ledger.register_unit("区财政局", UnitKind.ORGAN, ADMIN, communities=[community]).id
    return {"street": street, "community": community, "grid": grid, "unit": unit}


def new_member(ledger: Ledger, world: dict[str, UUID], **kwargs: object) -> UUID:
    return ledger.register_member(
        MemberKind.PARTY_MEMBER,
        "张三",
        world["community"],
        ADMIN,
        grid_id=world["grid"],
        unit_id=world["unit"],
        **kwargs,  # type: ignore[arg-type]
    ).id


def publish(
    ledger: Ledger,
    world: dict[str, UUID],
    category: str,
    hours: int = 1,
    capacity: int = 2,
    need_id: UUID | None = None,
) -> UUID:
    end = T0 + timedelta(hours=hours)
    return ledger.publish_task(
        world["community"], f"{category}任务", category, T0, end, capacity, ADMIN, need_id=need_id
    ).id


def served(
    ledger: Ledger,
    world: dict[str, UUID],
    member: UUID,
    *,
    category: str = "应急保障",
    hours: int = 2,
    start: datetime = T0,
    rating: Rating = Rating.GOOD,
) -> UUID:
    task = ledger.publish_task(
        world["community"],
        f"{category}任务",
        category,
        start,
        start + timedelta(hours=hours),
        5,
        ADMIN,
    ).id
    service = ledger.claim_task(task, member, ADMIN).id
    ledger.check_in(service, ADMIN, at=start, evidence=["photo:sha256:aa"])
    ledger.check_out(service, ADMIN, at=start + timedelta(hours=hours))
    ledger.rate_service(service, rating, ADMIN)
    return service


def stock_item(ledger: Ledger, world: dict[str, UUID], price: str = "3", stock: int = 10) -> UUID:
    item = ledger.list_item(world["community"], "食用油", price, ADMIN).id
    ledger.restock_item(item, stock, "区财政局", ADMIN)
    return item


def test_a_rated_service_earns_points_by_the_rule_book(ledger: Ledger, world: dict[str, UUID]):
    member = new_member(ledger, world)
    service_id = served(
        ledger, world, member, category="应急保障", hours=2, rating=Rating.EXCELLENT
    )
    service = ledger.get_service(service_id)
    assert service.status is ServiceStatus.RATED
    assert service.award is not None and service.award.points == Decimal("4.8")  # 2 h x 2.0 x 1.2
    account = ledger.get_account(member)
    assert (account.balance, account.earned_points, account.earned_hours) == (
        Decimal("4.8"),
        Decimal("4.8"),
        Decimal("2.0"),
    )


def test_events_read_back_from_the_store_carry_actor_policy_and_cause(
    ledger: Ledger, world: dict[str, UUID]
):
    member = new_member(ledger, world)
    service = served(ledger, world, member)
    events = list(ledger.events.get(Account.create_id(member)))
    credited = events[-1]
    assert type(credited).__name__ == "Credited"
    assert credited.ctx == ADMIN
    assert credited.policy_version == 1
    assert credited.cause.id == service
    assert credited.from_account == issuance_account(world["community"])
    assert credited.to_account == member_account(member)
    assert credited.amount == Decimal("4.0") and isinstance(credited.amount, Decimal)


def test_commands_return_the_notification_id_of_their_last_event(
    ledger: Ledger, world: dict[str, UUID]
):
    first = ledger.register_street("另一街道", ADMIN).position
    second = ledger.register_street("第三街道", ADMIN).position
    assert first is not None and second is not None and second > first
    assert ledger.recorder.max_notification_id() == second


def test_routine_hours_are_capped_across_services_on_one_day(
    ledger: Ledger, world: dict[str, UUID]
):
    member = new_member(ledger, world)
    served(ledger, world, member, category="巡逻", hours=3)
    second = served(
        ledger, world, member, category="清洁卫生", hours=3, start=T0 + timedelta(hours=4)
    )
    award = ledger.get_service(second).award
    assert award is not None and award.hours == Decimal("1.0")
    assert ledger.get_account(member).earned_hours == Decimal("4.0")


def test_sign_in_and_leave_earns_nothing(ledger: Ledger, world: dict[str, UUID]):
    member = new_member(ledger, world)
    task = ledger.publish_task(
        world["community"], "楼栋长值守", "楼栋长", T0, T0 + timedelta(hours=4), 1, ADMIN
    ).id
    service = ledger.claim_task(task, member, ADMIN).id
    ledger.check_in(service, ADMIN, at=T0)
    ledger.check_out(service, ADMIN, at=T0 + timedelta(minutes=20))
    ledger.rate_service(service, Rating.EXCELLENT, ADMIN)
    award = ledger.get_service(service).award
    assert award is not None and award.points == 0 and award.note
    assert ledger.get_account(member).balance == 0


def test_a_full_task_refuses_the_next_claim(ledger: Ledger, world: dict[str, UUID]):
    task = ledger.publish_task(
        world["community"], "义诊", "医疗义诊", T0, T0 + timedelta(hours=1), 1, ADMIN
    ).id
    ledger.claim_task(task, new_member(ledger, world), ADMIN)
    with pytest.raises(TaskFull):
        ledger.claim_task(task, new_member(ledger, world), ADMIN)


def test_cancelling_a_task_releases_its_claims(ledger: Ledger, world: dict[str, UUID]):
    task = ledger.publish_task(
        world["community"], "宣讲", "政策宣讲", T0, T0 + timedelta(hours=1), 3, ADMIN
    ).id
    service = ledger.claim_task(task, new_member(ledger, world), ADMIN).id
    ledger.cancel_task(task, "场地取消", ADMIN)
    assert ledger.get_service(service).status is ServiceStatus.RELEASED
    with pytest.raises(InvalidTransition):
        ledger.check_in(service, ADMIN, at=T0)


def test_a_need_becomes_a_task(ledger: Ledger, world: dict[str, UUID]):
    need = ledger.raise_need(
        world["community"], "resident-9", "楼道堆物需要清理", ADMIN, category="清洁卫生"
    ).id
    task = ledger.publish_task(
        world["community"],
        "清理楼道",
        "清洁卫生",
        T0,
        T0 + timedelta(hours=1),
        2,
        ADMIN,
        need_id=need,
    ).id
    assert ledger.get_need(need).task_ids == [task]


def test_a_redemption_debits_points_and_stock_together(ledger: Ledger, world: dict[str, UUID]):
    member = new_member(ledger, world)
    served(ledger, world, member)  # 4.0 points
    item = stock_item(ledger, world, price="1.5", stock=5)
    receipt = ledger.redeem("kiosk-7", "req-1", member, world["community"], [(item, 2)], KIOSK)
    assert (receipt.total, receipt.balance, receipt.replayed) == (
        Decimal("3.0"),
        Decimal("1.0"),
        False,
    )
    assert ledger.get_item(item).stock == 3
    assert ledger.get_account(member).earned_points == Decimal("4.0")


def test_a_retried_redemption_returns_the_first_result_and_moves_nothing(
    ledger: Ledger, world: dict[str, UUID]
):
    member = new_member(ledger, world)
    served(ledger, world, member)
    item = stock_item(ledger, world)
    first = ledger.redeem("kiosk-7", "retry-1", member, world["community"], [(item, 1)], KIOSK)
    again = ledger.redeem("kiosk-7", "retry-1", member, world["community"], [(item, 1)], KIOSK)
    assert again.replayed and again.id == first.id and again.total == first.total
    assert again.position == first.position
    assert ledger.get_account(member).balance == Decimal("1.0")
    assert ledger.get_item(item).stock == 9
    with pytest.raises(IdempotencyKeyReused):
        ledger.redeem("kiosk-7", "retry-1", member, world["community"], [(item, 2)], KIOSK)


def test_a_redemption_beyond_the_balance_or_stock_moves_nothing(
    ledger: Ledger, world: dict[str, UUID]
):
    member = new_member(ledger, world)
    served(ledger, world, member)  # 4.0
    cheap, dear = stock_item(ledger, world, "1", 1), stock_item(ledger, world, "100", 5)
    with pytest.raises(InsufficientPoints):
        ledger.redeem("kiosk-7", "big", member, world["community"], [(cheap, 1), (dear, 1)], KIOSK)
    with pytest.raises(OutOfStock):
        ledger.redeem("kiosk-7", "many", member, world["community"], [(cheap, 2)], KIOSK)
    assert ledger.get_account(member).balance == Decimal("4.0")
    assert (ledger.get_item(cheap).stock, ledger.get_item(dear).stock) == (1, 5)
    # the refused keys stay free for a correct request
    ledger.redeem("kiosk-7", "many", member, world["community"], [(cheap, 1)], KIOSK)


def test_a_store_sells_only_its_own_goods(ledger: Ledger, world: dict[str, UUID]):
    other = ledger.register_community(world["street"], "临江社区", ADMIN).id
    member = new_member(ledger, world)
    served(ledger, world, member)
    item = stock_item(ledger, world)
    with pytest.raises(ItemNotInStore):
        ledger.redeem("kiosk-9", "x", member, other, [(item, 1)], KIOSK)


def test_a_store_serves_only_the_residents_of_its_community(ledger: Ledger, world: dict[str, UUID]):
    other = ledger.register_community(world["street"], "临江社区", ADMIN).id
    member = new_member(ledger, world)
    served(ledger, world, member)
    item = ledger.list_item(other, "毛巾", "1", ADMIN).id
    ledger.restock_item(item, 5, "区财政局", ADMIN)
    with pytest.raises(NotResident):
        ledger.redeem("kiosk-9", "elsewhere", member, other, [(item, 1)], KIOSK)


def test_a_replay_under_a_devices_key_must_name_the_same_store(
    ledger: Ledger, world: dict[str, UUID]
):
    member = new_member(ledger, world)
    served(ledger, world, member)
    item = stock_item(ledger, world)
    first = ledger.redeem("device:till-9", "same", member, world["community"], [(item, 1)], KIOSK)
    other = ledger.register_community(world["street"], "对岸社区", ADMIN).id
    with pytest.raises(IdempotencyKeyReused):
        ledger.redeem("device:till-9", "same", member, other, [(item, 1)], KIOSK)
    again = ledger.redeem("device:till-9", "same", member, world["community"], [(item, 1)], KIOSK)
    assert (again.id, again.replayed) == (first.id, True)


def test_cancelling_a_redemption_refunds_points_and_stock(ledger: Ledger, world: dict[str, UUID]):
    member = new_member(ledger, world)
    served(ledger, world, member)
    item = stock_item(ledger, world, "2", 4)
    receipt = ledger.redeem("kiosk-7", "to-cancel", member, world["community"], [(item, 2)], KIOSK)
    ledger.cancel_redemption(receipt.id, "顾客退货", ADMIN)
    assert ledger.get_account(member).balance == Decimal("4.0")
    assert ledger.get_item(item).stock == 4
    with pytest.raises(InvalidTransition):
        ledger.cancel_redemption(receipt.id, "again", ADMIN)


def test_a_reversal_compensates_and_deletes_nothing(ledger: Ledger, world: dict[str, UUID]):
    member = new_member(ledger, world)
    service = served(ledger, world, member)
    before = len(list(ledger.events.get(Account.create_id(member))))
    ledger.reverse_service(service, "重复登记", "街道党工委 李书记", ADMIN)
    account = ledger.get_account(member)
    assert (account.balance, account.earned_points, account.earned_hours) == (0, 0, 0)
    assert len(list(ledger.events.get(Account.create_id(member)))) == before + 1
    assert ledger.get_service(service).status is ServiceStatus.REVERSED


def test_a_new_policy_version_never_changes_past_awards(ledger: Ledger, world: dict[str, UUID]):
    member = new_member(ledger, world)
    before = served(ledger, world, member, category="巡逻", hours=2)
    current = ledger.current_policy()
    ledger.publish_policy(
        PointsPolicy(version=current.version + 1, points_per_hour=Decimal("3")), "加倍", ADMIN
    )
    after = served(ledger, world, member, category="巡逻", hours=1, start=T0 + timedelta(days=1))
    old, new = ledger.get_service(before).award, ledger.get_service(after).award
    assert old is not None and new is not None
    assert (old.policy_version, old.points) == (current.version, Decimal("2.0"))
    assert (new.policy_version, new.points) == (current.version + 1, Decimal("3.0"))
    assert ledger.policy(current.version) == current
    with pytest.raises(InvalidInput):
        ledger.publish_policy(PointsPolicy(version=1), "old number", ADMIN)
    ledger.publish_policy(PointsPolicy(version=current.version + 2), "恢复默认", ADMIN)


def test_expiry_is_idempotent(ledger: Ledger, world: dict[str, UUID]):
    member = new_member(ledger, world)
    served(ledger, world, member, start=datetime(2024, 6, 1, 1, tzinfo=UTC))
    run = Context.system("expiry")
    assert ledger.expire_points(datetime(2026, 1, 1, tzinfo=UTC), run) >= 1
    assert ledger.get_account(member).balance == 0
    assert ledger.get_account(member).earned_points == Decimal("4.0")
    assert ledger.expire_points(datetime(2026, 2, 1, tzinfo=UTC), run) == 0


def test_the_same_national_id_cannot_register_twice(ledger: Ledger, world: dict[str, UUID]):
    new_member(ledger, world, national_id="110105194912310021", phone="13812345678")
    with pytest.raises(DuplicateMember):
        new_member(ledger, world, national_id="110105194912310021")


def test_personal_data_never_reaches_the_event_store_in_clear(
    ledger: Ledger, world: dict[str, UUID]
):
    member = new_member(ledger, world, national_id="110105198001010011", phone="13900001234")
    stored = ledger.recorder.select_events(member)
    assert b"110105198001010011" not in stored[0].state
    assert b"13900001234" not in stored[0].state
    assert ledger.get_member(member).phone_masked == "139****1234"


def test_annual_review_once_a_year_for_reported_party_members(
    ledger: Ledger, world: dict[str, UUID]
):
    member = new_member(ledger, world)
    with pytest.raises(NotEligibleForReview):
        ledger.review_member(world["community"], member, 2026, Grade.OUTSTANDING, "积极", ADMIN)
    ledger.report_member(member, date(2026, 3, 1), ADMIN)
    ledger.review_member(world["community"], member, 2026, Grade.OUTSTANDING, "积极", ADMIN)
    with pytest.raises(AlreadyReviewed):
        ledger.review_member(world["community"], member, 2026, Grade.COMPETENT, "改", ADMIN)


def test_moving_to_another_unit_keeps_the_history(ledger: Ledger, world: dict[str, UUID]):
    member = new_member(ledger, world)
    served(ledger, world, member)
    other = ledger.register_unit("市场监管所", UnitKind.INSTITUTION, ADMIN).id
    ledger.move_member(member, ADMIN, unit_id=other)
    assert ledger.get_member(member).unit_id == other
    assert ledger.get_account(member).earned_points == Decimal("4.0")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda app, w: app.claim_task(uuid4(), uuid4(), ADMIN), UnknownTask),
        (lambda app, w: app.get_account(uuid4()), UnknownMember),
        (lambda app, w: app.get_member(w["community"]), UnknownMember),  # an id of another kind
        (lambda app, w: app.restock_item(uuid4(), 1, "x", ADMIN), UnknownItem),
        (lambda app, w: app.list_item(w["community"], "米", "-5", ADMIN), InvalidPoints),
        (lambda app, w: app.list_item(w["community"], "米", "1e9", ADMIN), InvalidPoints),
        (lambda app, w: app.list_item(w["community"], "米", "0.05", ADMIN), InvalidPoints),
        (
            lambda app, w: app.publish_task(
                w["community"], "x", "打牌", T0, T0 + timedelta(hours=1), 1, ADMIN
            ),
            UnknownCategory,
        ),
        (
            lambda app, w: app.publish_task(
                w["community"], "x", "巡逻", T0.replace(tzinfo=None), T0, 1, ADMIN
            ),
            NaiveDatetime,
        ),
    ],
)
def test_bad_input_gets_a_specific_error(ledger: Ledger, world: dict[str, UUID], call, error):
    with pytest.raises(error) as raised:
        call(ledger, world)
    assert raised.value.code and raised.value.message


def test_a_batch_saves_many_commands_in_one_transaction(ledger: Ledger, world: dict[str, UUID]):
    before = ledger.recorder.max_notification_id() or 0
    with ledger.batch():
        member = new_member(ledger, world)
        service = served(ledger, world, member)
        item = stock_item(ledger, world, price="1", stock=2)
        with pytest.raises(OutOfStock):  # a failed command leaves no trace in the batch
            ledger.redeem("kiosk-7", "b-1", member, world["community"], [(item, 3)], KIOSK)
        ledger.redeem("kiosk-7", "b-2", member, world["community"], [(item, 2)], KIOSK)
        assert ledger.recorder.max_notification_id() == before  # nothing written yet
        new_member(ledger, world, national_id="110105197001010033")
        with pytest.raises(DuplicateMember):
            new_member(ledger, world, national_id="110105197001010033")
    assert ledger.get_service(service).status is ServiceStatus.RATED
    assert ledger.get_account(member).balance == Decimal("2.0")
    assert ledger.get_item(item).stock == 0
    saved = ledger.recorder.select_notifications(before + 1, 1000)
    assert len(saved) > 10
    assert len({n.id for n in saved}) == len(saved)
