"""The points rule book (积分规则): rules as data, with a version.

Each award records the version it was computed under; publishing a new
version never changes a past award, and recomputing an award from its facts
and its version gives the same figure to the last digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ledger.domain.errors import InvalidPolicy, UnknownCategory
from ledger.domain.values import (
    ZERO,
    CategoryClass,
    Rating,
    hours_from_minutes,
    local_date,
    round_points,
)

ROUTINE_CATEGORIES = ("学习", "巡逻", "清洁卫生", "值班值守", "文明宣传")
SKILLED_CATEGORIES = ("政策宣讲", "法律援助", "医疗义诊", "技能培训", "心理疏导")
HARD_CATEGORIES = ("应急保障", "矛盾调解", "楼栋长", "扶老帮困")

RANKING_INDICATORS = (
    "report_rate",
    "participation_rate",
    "hours_per_member",
    "points_per_member",
    "hard_share",
    "average_rating",
    "floor_rate",
)
"""What a unit's composite score (合理设置考核指标和权重) can weigh."""

BELOW_ATTENDANCE = "签到时长不足计划时长的 {threshold:.0%},不计时长和积分"
ROUTINE_CAP_REACHED = "常规类服务当日已计满 {cap} 小时"


def _frozen(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class PointsPolicy:
    """One version of the rule book. Every number here is configurable."""

    version: int = 1
    points_per_hour: Decimal = Decimal("1")
    categories: Mapping[str, CategoryClass] = field(
        default_factory=lambda: _frozen(
            dict.fromkeys(ROUTINE_CATEGORIES, CategoryClass.ROUTINE)
            | dict.fromkeys(SKILLED_CATEGORIES, CategoryClass.SKILLED)
            | dict.fromkeys(HARD_CATEGORIES, CategoryClass.HARD)
        )
    )
    difficulty: Mapping[CategoryClass, Decimal] = field(
        default_factory=lambda: _frozen(
            {
                CategoryClass.ROUTINE: Decimal("1.0"),
                CategoryClass.SKILLED: Decimal("1.5"),
                CategoryClass.HARD: Decimal("2.0"),
            }
        )
    )
    rating: Mapping[Rating, Decimal] = field(
        default_factory=lambda: _frozen(
            {
                Rating.EXCELLENT: Decimal("1.2"),
                Rating.GOOD: Decimal("1.0"),
                Rating.FAIR: Decimal("0.6"),
            }
        )
    )
    min_attendance: Decimal = Decimal("0.6")
    routine_daily_cap_hours: Decimal = Decimal("4")
    annual_floor_hours: Decimal = Decimal("20")
    expiry_years_after: int = 1
    ranking_weights: Mapping[str, Decimal] = field(
        default_factory=lambda: _frozen(
            {
                "report_rate": Decimal("0.15"),
                "participation_rate": Decimal("0.20"),
                "hours_per_member": Decimal("0.20"),
                "points_per_member": Decimal("0.10"),
                "hard_share": Decimal("0.15"),
                "average_rating": Decimal("0.10"),
                "floor_rate": Decimal("0.10"),
            }
        )
    )

    def __post_init__(self) -> None:
        problems = []
        if self.version < 1:
            problems.append("版本号须从 1 开始")
        if self.points_per_hour <= 0:
            problems.append("每小时积分须大于 0")
        if set(self.difficulty) != set(CategoryClass):
            problems.append("须为每个难度类别设置系数")
        if set(self.rating) != set(Rating):
            problems.append("须为每个评价等级设置系数")
        if any(m < 0 for m in (*self.difficulty.values(), *self.rating.values())):
            problems.append("系数不能为负")
        if not ZERO <= self.min_attendance <= 1:
            problems.append("最低出勤比例须在 0 到 1 之间")
        if self.routine_daily_cap_hours < 0 or self.annual_floor_hours < 0:
            problems.append("时长上限和年度下限不能为负")
        if self.expiry_years_after < 0:
            problems.append("积分有效期不能为负")
        if not self.categories:
            problems.append("至少需要一个服务类别")
        if not set(self.ranking_weights) <= set(RANKING_INDICATORS):
            problems.append("考核指标只能是:" + "、".join(RANKING_INDICATORS))
        if any(w < 0 for w in self.ranking_weights.values()) or not any(
            w > 0 for w in self.ranking_weights.values()
        ):
            problems.append("考核权重不能为负,且至少一项大于 0")
        if problems:
            raise InvalidPolicy(reason=";".join(problems))
        object.__setattr__(self, "categories", _frozen(self.categories))
        object.__setattr__(self, "difficulty", _frozen(self.difficulty))
        object.__setattr__(self, "rating", _frozen(self.rating))
        object.__setattr__(self, "ranking_weights", _frozen(self.ranking_weights))

    def __deepcopy__(self, memo: dict[int, Any]) -> PointsPolicy:
        return self  # immutable

    def category_class(self, category: str) -> CategoryClass:
        try:
            return self.categories[category]
        except KeyError:
            raise UnknownCategory(category=category) from None

    def expires_after_year(self, earned_year: int) -> int:
        """Points earned in ``earned_year`` expire at the end of this year (CST)."""
        return earned_year + self.expiry_years_after

    def award(
        self,
        *,
        category: str,
        scheduled_start: datetime,
        scheduled_end: datetime,
        checked_in: datetime,
        checked_out: datetime,
        rating: Rating,
        routine_hours_already: Decimal = ZERO,
    ) -> Award:
        """Compute what one rated service earns under this version."""
        category_class = self.category_class(category)
        scheduled = int((scheduled_end - scheduled_start).total_seconds() // 60)
        attended = int((checked_out - checked_in).total_seconds() // 60)
        facts = Award(
            policy_version=self.version,
            category_class=category_class,
            scheduled_minutes=scheduled,
            attended_minutes=attended,
            day=local_date(checked_in),
            hours=ZERO,
            points=ZERO,
        )
        if scheduled <= 0 or Decimal(attended) < self.min_attendance * scheduled:
            return replace(facts, note=BELOW_ATTENDANCE.format(threshold=self.min_attendance))
        hours = hours_from_minutes(min(attended, scheduled))
        note = None
        if category_class is CategoryClass.ROUTINE:
            room = max(ZERO, self.routine_daily_cap_hours - routine_hours_already)
            if hours > room:
                hours = room
                note = ROUTINE_CAP_REACHED.format(cap=self.routine_daily_cap_hours)
        earned = round_points(
            hours * self.points_per_hour * self.difficulty[category_class] * self.rating[rating]
        )
        return replace(facts, hours=hours, points=earned, note=note)

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "points_per_hour": str(self.points_per_hour),
            "categories": {c: k.value for c, k in self.categories.items()},
            "difficulty": {k.value: str(m) for k, m in self.difficulty.items()},
            "rating": {k.name: str(m) for k, m in self.rating.items()},
            "min_attendance": str(self.min_attendance),
            "routine_daily_cap_hours": str(self.routine_daily_cap_hours),
            "annual_floor_hours": str(self.annual_floor_hours),
            "expiry_years_after": self.expiry_years_after,
            "ranking_weights": {k: str(w) for k, w in self.ranking_weights.items()},
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PointsPolicy:
        try:
            return cls(
                version=int(data["version"]),
                points_per_hour=Decimal(data["points_per_hour"]),
                categories={c: CategoryClass(k) for c, k in data["categories"].items()},
                difficulty={CategoryClass(k): Decimal(m) for k, m in data["difficulty"].items()},
                rating={Rating[k]: Decimal(m) for k, m in data["rating"].items()},
                min_attendance=Decimal(data["min_attendance"]),
                routine_daily_cap_hours=Decimal(data["routine_daily_cap_hours"]),
                annual_floor_hours=Decimal(data["annual_floor_hours"]),
                expiry_years_after=int(data["expiry_years_after"]),
                **(
                    {"ranking_weights": {k: Decimal(w) for k, w in data["ranking_weights"].items()}}
                    if "ranking_weights" in data
                    else {}
                ),
            )
        except (KeyError, ValueError, ArithmeticError) as e:
            raise InvalidPolicy(reason=f"字段缺失或格式错误({e})") from None


@dataclass(frozen=True)
class Award:
    """What a rated service earned, with the facts it was computed from."""

    policy_version: int
    category_class: CategoryClass
    scheduled_minutes: int
    attended_minutes: int
    day: date
    hours: Decimal
    points: Decimal
    note: str | None = None
