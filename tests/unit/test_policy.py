"""The rule book's every default, and how an award is computed from its facts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.domain.errors import InvalidPolicy, UnknownCategory
from ledger.domain.policy import PointsPolicy
from ledger.domain.values import CategoryClass, Rating

START = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def award(
    category: str = "巡逻",
    scheduled_hours: float = 2,
    served_minutes: int = 120,
    rating: Rating = Rating.GOOD,
    policy: PointsPolicy | None = None,
    already: Decimal = Decimal(0),
):
    policy = policy or PointsPolicy()
    return policy.award(
        category=category,
        scheduled_start=START,
        scheduled_end=START + timedelta(hours=scheduled_hours),
        checked_in=START,
        checked_out=START + timedelta(minutes=served_minutes),
        rating=rating,
        routine_hours_already=already,
    )


def test_one_point_per_credited_hour_for_routine_work_rated_good():
    result = award(served_minutes=120)
    assert (result.hours, result.points) == (Decimal("2.0"), Decimal("2.0"))


@pytest.mark.parametrize("category", ["学习", "巡逻", "清洁卫生", "值班值守", "文明宣传"])
def test_routine_categories_weigh_one(category):
    assert PointsPolicy().category_class(category) is CategoryClass.ROUTINE
    assert award(category).points == Decimal("2.0")


@pytest.mark.parametrize("category", ["政策宣讲", "法律援助", "医疗义诊", "技能培训", "心理疏导"])
def test_skilled_categories_weigh_one_and_a_half(category):
    assert PointsPolicy().category_class(category) is CategoryClass.SKILLED
    assert award(category).points == Decimal("3.0")


@pytest.mark.parametrize("category", ["应急保障", "矛盾调解", "楼栋长", "扶老帮困"])
def test_hard_categories_weigh_two(category):
    assert PointsPolicy().category_class(category) is CategoryClass.HARD
    assert award(category).points == Decimal("4.0")


@pytest.mark.parametrize(
    ("rating", "expected"),
    [(Rating.EXCELLENT, "2.4"), (Rating.GOOD, "2.0"), (Rating.FAIR, "1.2")],
)
def test_rating_multiplies_points(rating, expected):
    assert award(rating=rating).points == Decimal(expected)


def test_credited_hours_never_exceed_the_scheduled_duration():
    result = award(scheduled_hours=2, served_minutes=300)
    assert result.hours == Decimal("2.0")
    assert result.attended_minutes == 300


def test_attendance_under_sixty_percent_earns_nothing_and_says_why():
    result = award(scheduled_hours=2, served_minutes=71)  # 59% of 120 minutes
    assert (result.hours, result.points) == (0, 0)
    assert result.note is not None and "60%" in result.note


def test_attendance_of_exactly_sixty_percent_earns_its_hours():
    result = award(scheduled_hours=2, served_minutes=72)
    assert result.hours == Decimal("1.2")
    assert result.note is None


def test_hours_are_whole_minutes_rounded_down_to_a_tenth():
    result = award(scheduled_hours=3, served_minutes=125)  # 2.0833 h
    assert result.hours == Decimal("2.0")
    result = award(scheduled_hours=3, served_minutes=131)  # 2.1833 h
    assert result.hours == Decimal("2.1")


def test_points_round_half_up_to_one_decimal_at_the_award():
    # 1.1 h x 1.5 (skilled) x 1.2 (excellent) = 1.98 -> 2.0; 0.7 x 1.5 x 0.6 = 0.63 -> 0.6
    assert award("政策宣讲", 1.1, 66, Rating.EXCELLENT).points == Decimal("2.0")
    assert award("政策宣讲", 0.7, 42, Rating.FAIR).points == Decimal("0.6")
    # 0.9 h x 1.5 x 1.0 = 1.35 -> 1.4 (half up, not half even)
    assert award("政策宣讲", 0.9, 54, Rating.GOOD).points == Decimal("1.4")


def test_routine_work_counts_at_most_four_hours_a_day():
    result = award(scheduled_hours=3, served_minutes=180, already=Decimal("2.5"))
    assert result.hours == Decimal("1.5")
    assert result.note is not None and "4" in result.note
    assert award(scheduled_hours=3, served_minutes=180, already=Decimal("4")).hours == 0


def test_the_daily_cap_does_not_apply_to_hard_work():
    result = award("应急保障", 6, 360, already=Decimal("4"))
    assert result.hours == Decimal("6.0")


def test_the_annual_floor_is_twenty_hours():
    assert PointsPolicy().annual_floor_hours == Decimal("20")


def test_points_expire_at_the_end_of_the_year_after_they_were_earned():
    assert PointsPolicy().expires_after_year(2025) == 2026


def test_an_unknown_category_is_refused():
    with pytest.raises(UnknownCategory):
        award("打麻将")


def test_every_number_is_configurable():
    policy = PointsPolicy(
        version=2,
        points_per_hour=Decimal("2"),
        difficulty={
            CategoryClass.ROUTINE: Decimal("0.5"),
            CategoryClass.SKILLED: Decimal("1"),
            CategoryClass.HARD: Decimal("3"),
        },
        min_attendance=Decimal("0.9"),
        routine_daily_cap_hours=Decimal("1"),
    )
    assert award(policy=policy).points == Decimal("1.0")  # capped at 1 h x 2 x 0.5
    assert award("应急保障", policy=policy).points == Decimal("12.0")
    assert award(served_minutes=100, policy=policy).points == 0  # 83% < 90%


def test_a_policy_survives_its_stored_form():
    policy = PointsPolicy(version=3, min_attendance=Decimal("0.5"))
    assert PointsPolicy.from_data(policy.to_data()) == policy


def test_unit_rankings_weigh_seven_indicators_summing_to_one_by_default():
    weights = PointsPolicy().ranking_weights
    assert sum(weights.values()) == Decimal("1.00")
    assert weights["participation_rate"] == Decimal("0.20")
    assert weights["hard_share"] == Decimal("0.15")


@pytest.mark.parametrize(
    "change",
    [
        {"ranking_weights": {"popularity": Decimal(1)}},
        {"ranking_weights": {"report_rate": Decimal(0)}},
        {"version": 0},
        {"points_per_hour": Decimal(0)},
        {"min_attendance": Decimal("1.5")},
        {"rating": {Rating.GOOD: Decimal(1)}},
        {"categories": {}},
    ],
)
def test_a_broken_policy_is_refused(change):
    with pytest.raises(InvalidPolicy):
        PointsPolicy(**change)
