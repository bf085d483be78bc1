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


# --- a rule book from outside is checked on publish ------------------------------------


def published(**change):
    data = PointsPolicy().to_data() | {"version": 2} | change
    return PointsPolicy.from_data(data)


@pytest.mark.parametrize(
    "value",
    ["1e400", [1], True, False, 1.5, "十", "NaN", "Infinity", "-Infinity", "1_0", " 1", None, {}],
)
def test_points_per_hour_that_is_not_a_decimal_is_refused_and_named(value):
    with pytest.raises(InvalidPolicy) as raised:
        published(points_per_hour=value)
    assert "points_per_hour" in raised.value.message
    assert raised.value.code == "INVALID_POLICY"


@pytest.mark.parametrize("value", ["-1", "0", "100.0001", "101", -3, 0])
def test_points_per_hour_outside_zero_to_a_hundred_is_refused(value):
    with pytest.raises(InvalidPolicy, match="points_per_hour 须为大于 0 且不超过 100"):
        published(points_per_hour=value)


def test_a_decimal_is_an_int_a_plain_decimal_string_or_a_decimal():
    assert published(points_per_hour=2).points_per_hour == Decimal(2)
    assert published(points_per_hour="100").points_per_hour == Decimal(100)
    assert published(points_per_hour="0.0001").points_per_hour == Decimal("0.0001")
    assert PointsPolicy(points_per_hour=Decimal("2.5")).points_per_hour == Decimal("2.5")


def test_a_number_has_at_most_four_decimal_places():
    with pytest.raises(InvalidPolicy, match="最多 4 位小数"):
        published(min_attendance="0.12345")
    with pytest.raises(InvalidPolicy, match="min_attendance"):
        published(min_attendance="0." + "1" * 40)  # longer than a number may be written


@pytest.mark.parametrize(
    ("field", "bad", "good"),
    [
        ("min_attendance", "1.01", "1"),
        ("min_attendance", "-0.1", "0"),
        ("routine_daily_cap_hours", "0", "24"),
        ("routine_daily_cap_hours", "24.1", "0.5"),
        ("annual_floor_hours", "1000.1", "1000"),
        ("annual_floor_hours", "-1", "0"),
    ],
)
def test_each_decimal_of_the_rule_book_keeps_to_its_bounds(field, bad, good):
    with pytest.raises(InvalidPolicy, match=field):
        published(**{field: bad})
    assert getattr(published(**{field: good}), field) == Decimal(good)


@pytest.mark.parametrize("value", [11, -1, True, 1.0, "1", None])
def test_expiry_years_after_is_an_integer_from_zero_to_ten(value):
    with pytest.raises(InvalidPolicy, match="expiry_years_after"):
        published(expiry_years_after=value)
    assert published(expiry_years_after=10).expiry_years_after == 10


@pytest.mark.parametrize("value", [True, 2.0, "2", 0, 1_000_001])
def test_the_version_is_a_positive_integer(value):
    with pytest.raises(InvalidPolicy, match="version"):
        published(version=value)


@pytest.mark.parametrize("value", ["10.1", "-0.1", "NaN", 1.2, True])
def test_difficulty_and_rating_multipliers_are_decimals_from_zero_to_ten(value):
    with pytest.raises(InvalidPolicy, match=r"difficulty\.hard"):
        published(difficulty={"routine": "1", "skilled": "1.5", "hard": value})
    with pytest.raises(InvalidPolicy, match=r"rating\.FAIR"):
        published(rating={"EXCELLENT": "1.2", "GOOD": "1", "FAIR": value})
    assert published(rating={"EXCELLENT": "10", "GOOD": "1", "FAIR": "0"}).rating[
        Rating.FAIR
    ] == Decimal(0)


def test_every_difficulty_class_and_rating_needs_exactly_one_multiplier():
    with pytest.raises(InvalidPolicy, match="difficulty"):
        published(difficulty={"routine": "1", "skilled": "1.5"})
    with pytest.raises(InvalidPolicy, match="difficulty"):
        published(difficulty={"routine": "1", "skilled": "1.5", "hard": "2", "extreme": "3"})
    with pytest.raises(InvalidPolicy, match="rating"):
        published(rating=[["GOOD", "1"]])


def test_ranking_weights_are_from_zero_to_one_and_not_all_zero():
    with pytest.raises(InvalidPolicy, match=r"ranking_weights\.report_rate"):
        published(ranking_weights={"report_rate": "1.5"})
    with pytest.raises(InvalidPolicy, match=r"ranking_weights\.report_rate"):
        published(ranking_weights={"report_rate": "-0.5", "floor_rate": "1"})
    with pytest.raises(InvalidPolicy, match="ranking_weights"):
        published(ranking_weights={"report_rate": "0", "floor_rate": "0"})
    assert published(ranking_weights={"floor_rate": 1}).ranking_weights == {
        "floor_rate": Decimal(1)
    }


def test_category_names_are_checked_text_and_their_class_is_known():
    with pytest.raises(InvalidPolicy, match="U\\+0000"):
        published(categories={"巡\x00逻": "routine"})
    with pytest.raises(InvalidPolicy, match="20"):
        published(categories={"类" * 21: "routine"})
    with pytest.raises(InvalidPolicy, match="categories"):
        published(categories={"巡逻": "easy"})
    with pytest.raises(InvalidPolicy, match="重复"):
        published(categories={"巡逻": "routine", " 巡逻 ": "hard"})
    with pytest.raises(InvalidPolicy, match="categories"):
        published(categories=["巡逻"])
    assert dict(published(categories={" 巡逻 ": "routine"}).categories) == {
        "巡逻": CategoryClass.ROUTINE
    }


def test_at_most_three_hundred_categories():
    published(categories={f"类别{i}": "routine" for i in range(300)})
    with pytest.raises(InvalidPolicy, match="300"):
        published(categories={f"类别{i}": "routine" for i in range(301)})


def test_a_rule_book_that_is_not_an_object_or_misses_or_misspells_fields_is_refused():
    for data in ([], "policy", None, 5):
        with pytest.raises(InvalidPolicy):
            PointsPolicy.from_data(data)
    with pytest.raises(InvalidPolicy, match="points_per_hour"):
        PointsPolicy.from_data(
            {k: v for k, v in PointsPolicy().to_data().items() if k != "points_per_hour"}
        )
    with pytest.raises(InvalidPolicy, match="points_per_hours"):
        published(points_per_hours="2")


def test_every_problem_is_named_at_once():
    with pytest.raises(InvalidPolicy) as raised:
        published(points_per_hour="0", min_attendance="2", expiry_years_after=-1)
    for name in ("points_per_hour", "min_attendance", "expiry_years_after"):
        assert name in raised.value.message


def test_a_policy_made_in_python_is_judged_the_same_way():
    for change in (
        {"points_per_hour": 1.5},
        {"points_per_hour": Decimal("NaN")},
        {"points_per_hour": Decimal("1e400")},
        {"version": True},
        {"expiry_years_after": 1.0},
        {"routine_daily_cap_hours": Decimal(0)},
    ):
        with pytest.raises(InvalidPolicy):
            PointsPolicy(**change)


def test_the_stored_form_writes_decimals_in_plain_notation():
    data = PointsPolicy(points_per_hour=Decimal("1E+1")).to_data()
    assert data["points_per_hour"] == "10"
    assert PointsPolicy.from_data(data).points_per_hour == Decimal(10)


def test_a_version_restored_from_history_is_not_judged_again():
    """Bounds may tighten; a version once in force stays readable."""
    stored = PointsPolicy().to_data() | {"points_per_hour": "1E+3", "expiry_years_after": 50}
    restored = PointsPolicy.restore(stored)
    assert (restored.points_per_hour, restored.expiry_years_after) == (Decimal(1000), 50)
    del stored["ranking_weights"]  # versions published before unit rankings
    assert PointsPolicy.restore(stored).ranking_weights == PointsPolicy().ranking_weights
