"""Every command that takes text, a time or a year from outside checks it in the domain,
so the GraphQL API and the importer are refused alike, before anything is recorded."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest
from strawberry.exceptions import StrawberryInputCoercionError

from api.scalars import parse_number
from ledger.domain.account import Account
from ledger.domain.errors import (
    EmptyText,
    ForbiddenCharacter,
    InvalidIdentifier,
    InvalidInput,
    InvalidPoints,
    InvalidPolicy,
    InvalidQuantity,
    NaiveDatetime,
    OutOfRange,
    TextTooLong,
    TooManyItems,
)
from ledger.domain.member import Member, hash_national_id, mask_phone
from ledger.domain.organisation import Community, Street, Unit
from ledger.domain.policy import PointsPolicy
from ledger.domain.review import AnnualReview
from ledger.domain.rulebook import RuleBook
from ledger.domain.store import Item, Redemption
from ledger.domain.values import (
    CST,
    Context,
    Grade,
    MemberKind,
    Rating,
    Role,
    UnitKind,
    day,
    instant,
    year,
)
from ledger.domain.work import Need, Service, Task

CTX = Context("tester", Role.ADMIN)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=CST)
NUL = "a\x00b"


def task(**change):
    args = {
        "community_id": uuid4(),
        "grid_id": None,
        "need_id": None,
        "title": "汛期巡查",
        "category": "应急保障",
        "starts_at": T0,
        "ends_at": T0 + timedelta(hours=2),
        "capacity": 3,
        "ctx": CTX,
    }
    return Task.create(**(args | change))


def member(**change):
    args = {"id": uuid4(), "kind": MemberKind.RESIDENT, "name": "张三", "community_id": uuid4()}
    return Member.create(**(args | change), ctx=CTX)


def rated_service() -> Service:
    service = Service(uuid4(), uuid4(), uuid4(), "巡逻", ctx=CTX)
    service.check_in(T0, [], CTX)
    service.check_out(T0 + timedelta(hours=2), [], CTX)
    service.rate(
        Rating.GOOD,
        PointsPolicy().award(
            category="巡逻",
            scheduled_start=T0,
            scheduled_end=T0 + timedelta(hours=2),
            checked_in=T0,
            checked_out=T0 + timedelta(hours=2),
            rating=Rating.GOOD,
        ),
        CTX,
    )
    return service


# --- time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),  # before year 1 in UTC
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
        datetime(1999, 12, 31, 15, 59, tzinfo=UTC),  # 23:59 in Shanghai, a minute too early
        datetime(2100, 1, 1, tzinfo=CST),
    ],
)
def test_an_instant_outside_2000_to_2100_is_refused(when):
    with pytest.raises(OutOfRange) as raised:
        instant(when, "开始时间")
    assert "开始时间" in raised.value.message and "2000-01-01" in raised.value.message


def test_the_first_and_last_supported_instants_are_accepted_in_utc():
    assert instant(datetime(2000, 1, 1, tzinfo=CST)) == datetime(1999, 12, 31, 16, tzinfo=UTC)
    last = datetime(2099, 12, 31, 23, 59, 59, tzinfo=CST)
    assert instant(last).tzinfo is UTC


def test_a_naive_instant_is_refused():
    with pytest.raises(NaiveDatetime):
        instant(datetime(2026, 5, 1, 9))


def test_what_is_not_an_instant_is_refused():
    for value in ("2026-05-01T09:00+08:00", date(2026, 5, 1), 1_700_000_000):
        with pytest.raises(InvalidInput):
            instant(value)


def test_a_day_outside_2000_to_2099_is_refused_and_a_datetime_is_not_a_day():
    assert day(date(2000, 1, 1)) == date(2000, 1, 1)
    assert day(date(2099, 12, 31)) == date(2099, 12, 31)
    for bad in (date(1, 1, 1), date(1999, 12, 31), date(2100, 1, 1), date(9999, 12, 31)):
        with pytest.raises(OutOfRange):
            day(bad)
    with pytest.raises(InvalidInput):
        day(T0)


def test_a_year_outside_2000_to_2099_is_refused():
    assert year(2000) == 2000 and year(2099) == 2099
    for bad in (1, 1999, 2100, 9999):
        with pytest.raises(OutOfRange):
            year(bad)
    for not_a_year in (True, 2026.0, "2026"):
        with pytest.raises(InvalidInput):
            year(not_a_year)


# --- organisation and members -------------------------------------------------------


def test_a_street_community_and_unit_name_is_checked():
    with pytest.raises(ForbiddenCharacter):
        Street.create(NUL, CTX)
    with pytest.raises(TextTooLong):
        Community.create(uuid4(), "社" * 101, CTX)
    with pytest.raises(EmptyText):
        Unit.create(" ", UnitKind.ORGAN, CTX)
    assert Street.create(" 果园新村街道 ", CTX).name == "果园新村街道"
    assert Unit.create("区财政局", UnitKind.ORGAN, CTX).name == "区财政局"


def test_a_grid_name_is_checked_and_a_community_has_at_most_200_grids():
    with pytest.raises(ForbiddenCharacter):
        Community.create(uuid4(), "果园社区", CTX, grids=["一网格", "a\ud800"])
    community = Community.create(uuid4(), "果园社区", CTX, grids=[f"{i}网格" for i in range(200)])
    with pytest.raises(TooManyItems):
        community.add_grid("再一个网格", CTX)
    assert community.add_grid("0网格", CTX) in community.grids  # an existing grid still is
    with pytest.raises(TooManyItems):
        Community.create(uuid4(), "果园社区", CTX, grids=[f"{i}" for i in range(201)])


def test_a_unit_is_paired_with_at_most_500_communities():
    unit = Unit.create("区财政局", UnitKind.ORGAN, CTX)
    for _ in range(500):
        unit.pair(uuid4(), CTX)
    with pytest.raises(TooManyItems):
        unit.pair(uuid4(), CTX)


def test_a_work_team_name_is_checked():
    unit, community = Unit.create("区财政局", UnitKind.ORGAN, CTX), uuid4()
    unit.pair(community, CTX)
    with pytest.raises(TextTooLong):
        unit.form_team(community, "队" * 101, CTX)


def test_a_report_date_outside_the_supported_years_is_refused():
    unit, community = Unit.create("区财政局", UnitKind.ORGAN, CTX), uuid4()
    unit.pair(community, CTX)
    with pytest.raises(OutOfRange):
        unit.report(community, date(1, 1, 1), CTX)
    resident = member()
    with pytest.raises(OutOfRange):
        resident.report(resident.community_id, date(9999, 12, 31), CTX)
    assert not resident.reported


def test_a_member_name_with_nul_or_a_lone_surrogate_is_refused():
    with pytest.raises(ForbiddenCharacter):
        member(name=NUL)
    with pytest.raises(ForbiddenCharacter):
        member(name="\ud800")


def test_a_member_name_is_at_most_fifty_characters_and_normalised():
    assert member(name="名" * 50).name == "名" * 50
    with pytest.raises(TextTooLong):
        member(name="名" * 51)
    assert member(name=" Jose\u0301 ").name == "Jos\u00e9"


def test_a_members_branch_and_team_are_checked_and_blank_is_none():
    assert member(branch=" 第一支部 ", team="").branch == "第一支部"
    assert member(team="  ").team is None
    with pytest.raises(ForbiddenCharacter):
        member(branch="支部\x1b")
    with pytest.raises(TextTooLong):
        member(team="队" * 101)


def test_a_phone_number_is_ascii_digits_in_one_line():
    assert member(phone=" 138-1234-5678 ").phone_masked == "138****5678"
    for bad in ("138\n12345678", "١٣٨١٢٣٤٥٦٧٨", "1" * 40, "138\x0012345678"):
        with pytest.raises(InvalidInput):
            mask_phone(bad)


def test_a_national_id_is_eighteen_ascii_characters():
    for bad in ("11010519491231002X\n1", "１１０１０５１９４９１２３１００２Ｘ", "1" * 1000):
        with pytest.raises(InvalidInput):
            hash_national_id(bad, b"k")


def test_an_annual_review_takes_a_supported_year_and_a_bounded_comment():
    def review(year: int = 2026, comment: str = "服务积极") -> AnnualReview:
        return AnnualReview.create(uuid4(), year, uuid4(), None, Grade.COMPETENT, comment, CTX)

    assert review(comment="第一行\n第二行").comment == "第一行\n第二行"
    assert review(comment="").comment == ""
    for bad_year in (1, 1999, 2100, 9999):
        with pytest.raises(OutOfRange):
            review(year=bad_year)
    with pytest.raises(TextTooLong):
        review(comment="好" * 501)
    with pytest.raises(ForbiddenCharacter):
        review(comment=NUL)


# --- needs, tasks and services --------------------------------------------------------


def test_a_need_checks_who_raised_it_its_description_and_category():
    def need(raised_by="resident-1", description="需要巡逻", category=None):
        return Need.create(uuid4(), None, raised_by, description, category, CTX)

    assert need(description=" 楼道灯坏了\r\n请尽快 ").description == "楼道灯坏了\n请尽快"
    with pytest.raises(TextTooLong):
        need(description="灯" * 501)
    with pytest.raises(EmptyText):
        need(description="  ")
    with pytest.raises(ForbiddenCharacter):
        need(raised_by=NUL)
    with pytest.raises(TextTooLong):
        need(category="类" * 21)


def test_a_task_title_is_checked():
    with pytest.raises(ForbiddenCharacter):
        task(title=NUL)
    with pytest.raises(TextTooLong):
        task(title="题" * 101)
    assert task(title=" 汛期巡查 ").title == "汛期巡查"


@pytest.mark.parametrize("year_", [1, 1999, 2100, 9999])
def test_a_task_in_an_unsupported_year_is_refused(year_):
    starts = datetime(year_, 6, 1, 9, tzinfo=UTC)
    with pytest.raises(OutOfRange):
        task(starts_at=starts, ends_at=starts + timedelta(hours=2))


def test_a_task_with_a_naive_time_is_refused():
    with pytest.raises(NaiveDatetime):
        task(starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 11))


def test_a_task_keeps_its_times_in_utc():
    assert task().starts_at == datetime(2026, 3, 1, 1, tzinfo=UTC)


def test_a_task_capacity_is_a_whole_number_and_not_a_bool():
    for bad in (True, 2.0, 0, 10_001):
        with pytest.raises(InvalidInput):
            task(capacity=bad)


def test_a_task_is_shorter_than_seven_days():
    with pytest.raises(InvalidInput):
        task(ends_at=T0 + timedelta(days=7))


def test_a_cancellation_reason_is_required_and_bounded():
    for bad, error in (("  ", EmptyText), ("因" * 501, TextTooLong), (NUL, ForbiddenCharacter)):
        with pytest.raises(error):
            task().cancel(bad, CTX)


def test_check_in_and_out_refuse_times_outside_the_range():
    service = Service(uuid4(), uuid4(), uuid4(), "巡逻", ctx=CTX)
    with pytest.raises(OutOfRange):
        service.check_in(datetime(1, 1, 1, tzinfo=UTC), [], CTX)
    with pytest.raises(NaiveDatetime):
        service.check_in(datetime(2026, 3, 1, 9), [], CTX)
    service.check_in(T0, [], CTX)
    with pytest.raises(OutOfRange):
        service.check_out(datetime(9999, 1, 1, tzinfo=UTC), [], CTX)


def test_evidence_is_at_most_twenty_items_of_two_hundred_characters_each():
    service = Service(uuid4(), uuid4(), uuid4(), "巡逻", ctx=CTX)
    with pytest.raises(TooManyItems):
        service.check_in(T0, [f"photo:{i}" for i in range(21)], CTX)
    with pytest.raises(TextTooLong):
        service.check_in(T0, ["p" * 201], CTX)
    with pytest.raises(ForbiddenCharacter):
        service.check_in(T0, ["photo:\x00"], CTX)
    service.check_in(T0, [" photo:ab "] * 20, CTX)
    assert service.evidence == ["photo:ab"] * 20
    with pytest.raises(ForbiddenCharacter):
        service.check_out(T0 + timedelta(hours=1), ["a\nb"], CTX)


def test_a_reversal_checks_its_reason_and_approver_on_both_sides():
    with pytest.raises(EmptyText):
        rated_service().reverse(" ", "街道党工委", CTX)
    with pytest.raises(TextTooLong):
        rated_service().reverse("重复登记", "批" * 101, CTX)
    with pytest.raises(ForbiddenCharacter):
        rated_service().reverse(NUL, "街道党工委", CTX)
    account = Account(uuid4(), ctx=CTX)
    with pytest.raises(ForbiddenCharacter):
        account.reverse(uuid4(), "重复登记", NUL, 1, CTX)
    service = rated_service()
    service.reverse(" 重复登记 ", " 街道党工委 ", CTX)
    reversed_ = service.collect_events()[-1]
    assert (reversed_.reason, reversed_.approved_by) == ("重复登记", "街道党工委")


def test_expiry_refuses_an_unsupported_instant():
    with pytest.raises(OutOfRange):
        Account(uuid4(), ctx=CTX).expire(datetime(9999, 1, 1, tzinfo=UTC), PointsPolicy(), CTX)


# --- the points store ------------------------------------------------------------------


def test_an_item_name_and_price_are_checked():
    with pytest.raises(ForbiddenCharacter):
        Item.create(uuid4(), NUL, "3", CTX)
    with pytest.raises(TextTooLong):
        Item.create(uuid4(), "米" * 101, "3", CTX)
    with pytest.raises(InvalidPoints):
        Item.create(uuid4(), "大米", "1e400", CTX)
    assert Item.create(uuid4(), " 大米 ", "3", CTX).name == "大米"


def test_a_restock_checks_its_donor_and_quantity():
    item = Item.create(uuid4(), "大米", "3", CTX)
    with pytest.raises(ForbiddenCharacter):
        item.restock(3, "区财政局\x00", CTX)
    with pytest.raises(TextTooLong):
        item.restock(3, "捐" * 101, CTX)
    with pytest.raises(InvalidQuantity):
        item.restock(True, "区财政局", CTX)
    item.restock(3, " 区财政局 ", CTX)
    assert item.collect_events()[-1].donor == "区财政局"


def test_a_reprice_checks_the_price():
    item = Item.create(uuid4(), "大米", "3", CTX)
    for bad in ("NaN", "-1", "0.05", [1]):
        with pytest.raises(InvalidPoints):
            item.reprice(bad, CTX)
    item.reprice("4.5", CTX)
    assert item.price == Decimal("4.5")


def test_a_redemption_request_key_kiosk_and_device_are_identifiers():
    lines = [(uuid4(), 1)]
    assert Redemption.check_request("token:abc", "req-0001", lines, "kiosk-3") == lines
    for kiosk, key, device in (
        ("token:abc", "请求1", None),
        ("token:abc", "r" * 129, None),
        ("token:abc", "", None),
        ("token:abc", "req\x00", None),
        (" ", "req-1", None),
        ("kiosk 3", "req-1", None),
        ("token:abc", "req-1", "k" * 129),
        ("token:abc", "req-1", "设备"),
    ):
        with pytest.raises(InvalidIdentifier):
            Redemption.check_request(kiosk, key, lines, device)


def test_a_redemption_has_one_to_twenty_lines_of_distinct_goods():
    item = uuid4()
    with pytest.raises(InvalidInput):
        Redemption.check_request("kiosk", "req", [], None)
    with pytest.raises(InvalidInput):
        Redemption.check_request("kiosk", "req", [(uuid4(), 1) for _ in range(21)], None)
    with pytest.raises(InvalidInput):
        Redemption.check_request("kiosk", "req", [(item, 1), (item, 2)], None)
    with pytest.raises(InvalidQuantity):
        Redemption.check_request("kiosk", "req", [(item, 0)], None)


def test_a_redemption_cancellation_reason_is_checked():
    redemption = Redemption("kiosk", "req", "fp", uuid4(), uuid4(), [], Decimal(0), [], ctx=CTX)
    with pytest.raises(ForbiddenCharacter):
        redemption.cancel("a\ud800", CTX)
    with pytest.raises(TextTooLong):
        redemption.cancel("因" * 501, CTX)
    assert not redemption.cancelled


# --- the rule book -------------------------------------------------------------------


def test_a_rule_book_note_is_checked_when_a_version_is_published():
    book = RuleBook(ctx=CTX)
    for bad in ("", NUL, "注" * 501):
        with pytest.raises(InvalidInput):
            book.publish(PointsPolicy(), bad, CTX)
    book.publish(PointsPolicy(), " 默认积分规则 ", CTX)
    assert book.collect_events()[-1].note == "默认积分规则"


def test_publishing_judges_the_policy_again():
    book = RuleBook(ctx=CTX)
    broken = PointsPolicy.restore({**PointsPolicy().to_data(), "points_per_hour": "1000"})
    with pytest.raises(InvalidPolicy, match="points_per_hour"):
        book.publish(broken, "越界", CTX)
    assert not book.versions


INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u3164\u0301"
"""Zero-width space, non-joiner and joiner, word joiner, BOM, Hangul filler, a lone accent."""


@pytest.mark.parametrize(
    "named",
    [
        lambda name: member(name=name),
        lambda name: Street.create(name, CTX),
        lambda name: Community.create(uuid4(), name, CTX),
        lambda name: Community.create(uuid4(), "果园社区", CTX, grids=[name]),
        lambda name: Unit.create(name, UnitKind.ORGAN, CTX),
        lambda name: Item.create(uuid4(), name, "3", CTX),
        lambda name: Item.create(uuid4(), "大米", "3", CTX).restock(3, name, CTX),
    ],
    ids=["member", "street", "community", "grid", "unit", "item", "donor"],
)
def test_a_name_of_invisible_characters_only_is_empty(named):
    with pytest.raises(EmptyText):
        named(INVISIBLE)
    with pytest.raises(EmptyText):
        named(" \u200b ")
    named("\u200b果园\u200b")  # something visible: kept as it is


def test_blank_optional_text_of_invisible_characters_only_is_none():
    assert member(branch="\u200b\u2060", team="\ufeff").branch is None


@pytest.mark.parametrize("text", [" 1 ", "1_000", "\u0661\u0662", "\uff11", "1e3", "0x1", "1.", ""])
def test_a_decimal_is_ascii_digits_with_an_optional_sign_and_point(text):
    with pytest.raises(InvalidPoints):
        Item.create(uuid4(), "大米", text, CTX)
    with pytest.raises(StrawberryInputCoercionError):
        parse_number(text)


def test_a_decimal_with_a_sign_and_a_point_is_read_exactly():
    assert Item.create(uuid4(), "大米", "+12.5", CTX).price == Decimal("12.5")
    assert parse_number("-0.25") == Decimal("-0.25") and parse_number(7) == Decimal(7)
