"""Aggregates keep their invariants without a database."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.application import Ledger
from ledger.domain.account import Account
from ledger.domain.errors import (
    AlreadyClaimed,
    AlreadyReported,
    InsufficientPoints,
    InvalidInput,
    InvalidTimeRange,
    InvalidTransition,
    NeedAlreadyClosed,
    NeedNotClosed,
    NotPaired,
    NotResident,
    OutOfStock,
    TaskFull,
)
from ledger.domain.member import Member, hash_national_id, mask_name, mask_phone
from ledger.domain.organisation import Community, Unit
from ledger.domain.policy import Award, PointsPolicy
from ledger.domain.store import Item, request_fingerprint
from ledger.domain.values import (
    CST,
    Context,
    MemberKind,
    Rating,
    Role,
    Satisfaction,
    UnitKind,
    issuance_account,
    member_account,
    store_account,
)
from ledger.domain.work import Need, NeedStatus, Service, ServiceStatus, Task, TaskStatus

CTX = Context("tester", Role.ADMIN)
T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def make_task(capacity: int = 2) -> Task:
    return Task(uuid4(), None, None, "巡逻", "巡逻", T0, T0 + timedelta(hours=2), capacity, ctx=CTX)


def award_for(points: str, hours: str = "2.0", year: int = 2026, version: int = 1):
    policy = PointsPolicy(version=version)
    result = policy.award(
        category="应急保障",
        scheduled_start=T0,
        scheduled_end=T0 + timedelta(hours=2),
        checked_in=T0,
        checked_out=T0 + timedelta(hours=2),
        rating=Rating.GOOD,
    )
    return replace(
        result, points=Decimal(points), hours=Decimal(hours), day=result.day.replace(year=year)
    )


def credit(account: Account, service: UUID, community: UUID, award: Award) -> bool:
    """Credit an award whose service began at nine on its day (China Standard Time)."""
    return account.credit(service, community, award, datetime.combine(award.day, time(9), CST), CTX)


class TestTask:
    def test_members_claim_until_capacity_is_full(self):
        task = make_task(capacity=2)
        task.claim(uuid4(), CTX)
        task.claim(uuid4(), CTX)
        with pytest.raises(TaskFull):
            task.claim(uuid4(), CTX)

    def test_a_member_cannot_claim_twice(self):
        task, member = make_task(), uuid4()
        task.claim(member, CTX)
        with pytest.raises(AlreadyClaimed):
            task.claim(member, CTX)

    def test_a_cancelled_task_takes_no_claims_and_records_whom_it_released(self):
        task, member = make_task(), uuid4()
        task.claim(member, CTX)
        task.cancel("暴雨", CTX)
        assert task.status is TaskStatus.CANCELLED
        cancelled = task.collect_events()[-1]
        assert cancelled.released == [member]
        with pytest.raises(InvalidTransition):
            task.claim(uuid4(), CTX)

    def test_a_schedule_must_end_after_it_starts(self):
        with pytest.raises(InvalidTimeRange):
            Task.check_schedule(T0, T0, 1)
        with pytest.raises(InvalidInput):
            Task.check_schedule(T0, T0 + timedelta(hours=1), 0)


class TestService:
    def make(self) -> Service:
        return Service(uuid4(), uuid4(), uuid4(), "巡逻", ctx=CTX)

    def test_its_id_is_the_member_doing_the_task(self):
        task_id, member_id = uuid4(), uuid4()
        service = Service(task_id, member_id, uuid4(), "巡逻", ctx=CTX)
        assert service.id == Service.create_id(task_id, member_id)

    def test_check_out_before_check_in_is_refused(self):
        with pytest.raises(InvalidTransition):
            self.make().check_out(T0, [], CTX)

    def test_a_second_check_in_is_refused(self):
        service = self.make()
        service.check_in(T0, [], CTX)
        with pytest.raises(InvalidTransition):
            service.check_in(T0, [], CTX)

    def test_check_out_must_come_after_check_in(self):
        service = self.make()
        service.check_in(T0, [], CTX)
        with pytest.raises(InvalidTimeRange):
            service.check_out(T0 - timedelta(minutes=1), [], CTX)

    def test_rating_before_check_out_is_refused(self):
        service = self.make()
        service.check_in(T0, [], CTX)
        with pytest.raises(InvalidTransition):
            service.rate(Rating.GOOD, award_for("2.0"), CTX)

    def test_rating_twice_is_refused(self):
        service = self.make()
        service.check_in(T0, ["photo:ab12"], CTX)
        service.check_out(T0 + timedelta(hours=2), ["photo:cd34"], CTX)
        service.rate(Rating.GOOD, award_for("2.0"), CTX)
        assert service.status is ServiceStatus.RATED
        assert service.evidence == ["photo:ab12", "photo:cd34"]
        with pytest.raises(InvalidTransition) as raised:
            service.rate(Rating.GOOD, award_for("2.0"), CTX)
        assert raised.value.code == "INVALID_TRANSITION"
        assert "重复评价" in raised.value.message


class TestAccount:
    def make(self) -> Account:
        return Account(uuid4(), ctx=CTX)

    def test_credits_keep_spendable_and_earned_apart(self):
        account, community = self.make(), uuid4()
        credit(account, uuid4(), community, award_for("4.0"))
        account.debit(Decimal("3.0"), uuid4(), community, 1, CTX)
        assert account.balance == Decimal("1.0")
        assert account.earned_points == Decimal("4.0")
        assert account.earned_hours == Decimal("2.0")

    def test_every_movement_names_both_sides(self):
        account, community, store = self.make(), uuid4(), uuid4()
        credit(account, uuid4(), community, award_for("4.0"))
        account.debit(Decimal("1.0"), uuid4(), store, 1, CTX)
        credited, debited = account.collect_events()[1:]
        assert (credited.from_account, credited.to_account) == (
            issuance_account(community),
            member_account(account.member_id),
        )
        assert (debited.from_account, debited.to_account) == (
            member_account(account.member_id),
            store_account(store),
        )
        assert credited.policy_version == 1 and credited.cause.kind.value == "service"

    def test_the_balance_never_goes_below_zero(self):
        account = self.make()
        credit(account, uuid4(), uuid4(), award_for("2.0"))
        with pytest.raises(InsufficientPoints) as raised:
            account.debit(Decimal("2.1"), uuid4(), uuid4(), 1, CTX)
        assert raised.value.details == {"required": Decimal("2.1"), "available": Decimal("2.0")}
        assert account.balance == Decimal("2.0")

    def test_a_service_is_credited_once(self):
        account, service = self.make(), uuid4()
        credit(account, service, uuid4(), award_for("2.0"))
        with pytest.raises(InvalidTransition):
            credit(account, service, uuid4(), award_for("2.0"))

    def test_redemption_spends_the_oldest_points_first(self):
        account, community = self.make(), uuid4()
        credit(account, uuid4(), community, award_for("5.0", year=2026))
        credit(account, uuid4(), community, award_for("3.0", year=2025))
        lots = account.debit(Decimal("4.0"), uuid4(), community, 1, CTX)
        assert [(lot.year, lot.amount) for lot in lots] == [(2025, 3), (2026, 1)]

    def test_points_expire_after_the_end_of_the_following_year_and_only_once(self):
        account, community = self.make(), uuid4()
        credit(account, uuid4(), community, award_for("3.0", year=2024))
        credit(account, uuid4(), community, award_for("5.0", year=2025))
        on_last_day = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
        assert not account.expire(on_last_day, PointsPolicy(), CTX)
        new_year = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # 2026-01-01 00:00 in Shanghai
        assert account.expire(new_year, PointsPolicy(), CTX)
        assert account.balance == Decimal("5.0")
        assert account.earned_points == Decimal("8.0")
        assert not account.expire(new_year + timedelta(days=30), PointsPolicy(), CTX)

    def test_a_reversal_takes_back_the_whole_earned_record_but_only_what_is_left_to_spend(self):
        account, community, service = self.make(), uuid4(), uuid4()
        credit(account, service, community, award_for("4.0"))
        account.debit(Decimal("3.0"), uuid4(), community, 1, CTX)
        account.reverse(service, "重复登记", "张主任", 1, CTX)
        reversed_ = account.collect_events()[-1]
        assert (reversed_.amount, reversed_.shortfall) == (Decimal("1.0"), Decimal("3.0"))
        assert account.balance == 0
        assert (account.earned_points, account.earned_hours) == (0, 0)
        with pytest.raises(InvalidTransition):
            account.reverse(service, "again", "张主任", 1, CTX)

    def test_a_reversal_gives_back_routine_hours_of_the_day(self):
        account = self.make()
        day_award = PointsPolicy().award(
            category="巡逻",
            scheduled_start=T0,
            scheduled_end=T0 + timedelta(hours=3),
            checked_in=T0,
            checked_out=T0 + timedelta(hours=3),
            rating=Rating.GOOD,
        )
        service = uuid4()
        credit(account, service, uuid4(), day_award)
        assert account.routine_hours_on(day_award.day) == Decimal("3.0")
        account.reverse(service, "误录", "李书记", 1, CTX)
        assert account.routine_hours_on(day_award.day) == 0


class TestStore:
    def test_stock_never_goes_below_zero(self):
        item = Item(uuid4(), "大米", Decimal("20"), ctx=CTX)
        item.restock(3, "区税务局", CTX)
        item.take(2, uuid4(), CTX)
        with pytest.raises(OutOfStock):
            item.take(2, uuid4(), CTX)
        assert item.stock == 1

    def test_a_restock_names_its_donor(self):
        item = Item(uuid4(), "大米", Decimal("20"), ctx=CTX)
        with pytest.raises(InvalidInput):
            item.restock(3, "  ", CTX)

    def test_the_same_request_has_the_same_fingerprint_whatever_the_line_order(self):
        member, a, b = uuid4(), uuid4(), uuid4()
        assert request_fingerprint(member, [(a, 1), (b, 2)]) == request_fingerprint(
            member, [(b, 2), (a, 1)]
        )
        assert request_fingerprint(member, [(a, 1)]) != request_fingerprint(member, [(a, 2)])


def party_member(home: UUID) -> Member:
    return Member(
        uuid4(), MemberKind.PARTY_MEMBER, "王五", None, None, uuid4(), home, None, ctx=CTX
    )


class TestOrganisationAndMembers:
    def test_a_unit_reports_only_to_a_paired_community_and_once(self):
        unit, community = Unit("区财政局", UnitKind.ORGAN, ctx=CTX), uuid4()
        with pytest.raises(NotPaired):
            unit.report(community, T0.date(), CTX)
        unit.pair(community, CTX)
        unit.report(community, T0.date(), CTX)
        with pytest.raises(AlreadyReported):
            unit.report(community, T0.date(), CTX)

    def test_a_member_reports_to_the_community_where_they_live(self):
        home = uuid4()
        member = Member(
            uuid4(), MemberKind.PARTY_MEMBER, "王五", None, None, uuid4(), home, None, ctx=CTX
        )
        with pytest.raises(NotResident):
            member.report(uuid4(), T0.date(), CTX)
        member.report(home, T0.date(), CTX)
        assert member.reported

    def test_moving_home_keeps_history_and_asks_for_a_new_report(self):
        member = Member(
            uuid4(), MemberKind.PARTY_MEMBER, "王五", None, None, uuid4(), uuid4(), None, ctx=CTX
        )
        member.report(member.community_id, T0.date(), CTX)
        member.move_home(uuid4(), None, CTX)
        assert not member.reported
        assert [type(e).__name__ for e in member.collect_events()] == [
            "Registered",
            "Reported",
            "Moved",
        ]

    def test_grids_are_added_once(self):
        community = Community(uuid4(), "果园社区", ctx=CTX)
        first = community.add_grid("一网格", CTX)
        assert community.add_grid("一网格", CTX) == first
        assert len(community.collect_events()) == 2

    def test_personal_data_is_kept_minimal(self):
        assert mask_phone("13812345678") == "138****5678"
        assert mask_name("张三丰") == "张*丰"
        assert mask_name("李四") == "李*"
        digest = hash_national_id("11010519491231002x", b"k")
        assert "1949" not in digest and len(digest) == 64
        assert digest == hash_national_id("11010519491231002X", b"k")
        assert digest != hash_national_id("11010519491231002X", b"other key")
        with pytest.raises(InvalidInput):
            hash_national_id("123", b"k")


def test_a_unit_forms_work_teams_only_for_paired_communities():
    unit, paired = Unit("区财政局", UnitKind.ORGAN, ctx=CTX), uuid4()
    with pytest.raises(NotPaired):
        unit.form_team(paired, "下沉工作队", CTX)
    unit.pair(paired, CTX)
    unit.form_team(paired, "下沉工作队", CTX)
    assert unit.teams == {paired: "下沉工作队"}


class TestValueDates:
    """Every movement carries the moment it belongs to; the events stored before they
    did (version 1) are given one when read."""

    def stored_then_read(self, event: Any, *, recorded: datetime | None = None) -> Any:
        """The event through the ledger's mapper, as stored and read back; given
        ``recorded``, as stored at that moment before value dates (version 1)."""
        mapper = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
        stored = mapper.to_stored_event(event)
        if recorded is not None:
            state = json.loads(stored.state)
            assert state.pop("class_version") == 2
            del state["value_at"]
            state["timestamp"]["_data_"] = recorded.isoformat()
            stored = replace(stored, state=json.dumps(state).encode())
        return mapper.to_domain_event(stored)

    def test_an_award_and_its_reversal_belong_to_when_the_service_began(self):
        account, service, began = TestAccount().make(), uuid4(), T0 - timedelta(days=40)
        served = replace(award_for("4.0"), day=began.astimezone(CST).date())
        with pytest.raises(InvalidInput):  # its lot's year is the year of its value date
            account.credit(service, uuid4(), served, began - timedelta(days=1), CTX)
        account.credit(service, uuid4(), served, began, CTX)
        account.reverse(service, "重复登记", "张主任", 1, CTX)
        opened, credited, reversed_ = account.collect_events()
        assert not hasattr(opened, "value_at")  # the opening moves nothing
        assert credited.value_at == reversed_.value_at == began
        assert credited.timestamp > began and reversed_.timestamp > began
        assert self.stored_then_read(reversed_).value_at == began

    def test_a_redemption_belongs_to_when_it_was_made_and_an_expiry_to_its_as_of(self):
        account, community = TestAccount().make(), uuid4()
        credit(account, uuid4(), community, award_for("3.0", year=2024))
        credit(account, uuid4(), community, award_for("5.0", year=2025))
        account.debit(Decimal("1.0"), uuid4(), community, 1, CTX)
        as_of = datetime(2026, 1, 1, 0, 5, tzinfo=CST)
        account.expire(as_of, PointsPolicy(), CTX)
        debited, expired = account.collect_events()[-2:]
        assert abs(debited.value_at - debited.timestamp) < timedelta(seconds=1)
        assert expired.value_at == as_of

    def test_an_event_stored_before_value_dates_is_given_one_when_read(self):
        account, community, service = TestAccount().make(), uuid4(), uuid4()
        served = replace(award_for("4.0"), day=date(2025, 3, 2))
        account.credit(service, community, served, datetime(2025, 3, 2, 9, tzinfo=CST), CTX)
        account.reverse(service, "重复登记", "张主任", 1, CTX)
        credit(account, uuid4(), community, award_for("2.0", year=2023))
        as_of = datetime(2025, 7, 1, tzinfo=CST)
        assert account.expire(as_of, PointsPolicy(), CTX)
        credited, reversed_, _, expired = account.collect_events()[1:]
        evening = datetime(2025, 3, 2, 18, tzinfo=CST)
        later = datetime(2025, 5, 9, 10, tzinfo=CST)
        # An award knew only its day: when it was recorded, if on that day ...
        assert self.stored_then_read(credited, recorded=evening).value_at == evening
        # ... else the last moment of that day; its figures unchanged.
        old = self.stored_then_read(credited, recorded=later)
        assert old.value_at == datetime(2025, 3, 3, tzinfo=CST) - timedelta(microseconds=1)
        assert (old.amount, old.day) == (credited.amount, credited.day)
        # A reversal could not name its award's moment: when it was recorded.
        assert self.stored_then_read(reversed_, recorded=later).value_at == later
        assert self.stored_then_read(expired, recorded=later).value_at == as_of


# --- a resident's need (群众点单) ---------------------------------------------------


def _need(**kwargs: Any) -> Need:
    return Need.create(uuid4(), None, "刘大妈", "水管漏水", None, CTX, **kwargs)


def test_a_need_goes_from_raised_to_revisited_and_no_further():
    need = _need(place="3号楼")
    assert (need.status, need.place) == (NeedStatus.RAISED, "3号楼")
    need.accept(CTX)
    task = uuid4()
    need.dispatch(task, CTX)
    need.close("已修好", CTX)
    need.revisit(Satisfaction.BASICALLY_SATISFIED, "  ", CTX)
    assert need.status is NeedStatus.REVISITED and need.task_ids == [task]
    names = [type(e).__name__ for e in need.collect_events()]
    assert names == ["Raised", "Accepted", "Dispatched", "Closed", "Revisited"]
    with pytest.raises(NeedAlreadyClosed, match="已办结,不能再派单"):
        need.dispatch(uuid4(), CTX)
    with pytest.raises(InvalidTransition, match="已回访"):
        need.revisit(Satisfaction.SATISFIED, None, CTX)


def test_a_need_is_rated_only_once_closed_and_closed_only_once():
    need = _need()
    with pytest.raises(NeedNotClosed):
        need.revisit(Satisfaction.SATISFIED, None, CTX)
    need.close("电话沟通后居民自行解决", CTX)  # closed without a task: allowed
    with pytest.raises(NeedAlreadyClosed):
        need.close("再办一次", CTX)
    with pytest.raises(NeedAlreadyClosed):
        need.accept(CTX)


def test_a_need_is_accepted_once():
    need = _need()
    need.accept(CTX)
    with pytest.raises(InvalidTransition, match="已受理"):
        need.accept(CTX)


def test_a_need_stored_before_places_and_members_reads_as_raised_by_a_worker():
    mapper = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    (raised,) = _need().collect_events()
    stored = mapper.to_stored_event(raised)
    state = json.loads(stored.state)
    assert state.pop("place") is None and state.pop("member_id") is None
    old = mapper.to_domain_event(replace(stored, state=json.dumps(state).encode()))
    need = old.mutate(None)
    assert (need.place, need.member_id, need.status) == (None, None, NeedStatus.RAISED)
    need.close("已办", CTX)  # and goes on as any need
    assert need.status is NeedStatus.CLOSED
