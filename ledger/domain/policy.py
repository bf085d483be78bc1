"""The points rule book (积分规则): rules as data, with a version.

Each award records the version it was computed under; publishing a new
version never changes a past award, and recomputing an award from its facts
and its version gives the same figure to the last digit.

Longer than most modules (about 600 lines) on purpose: the rule book is one place —
its numbers, how an award is computed from them, which service times it trusts, how far
a community's own version may depart from the street's, and the checks a new version
must pass before it is published — so that no rule is stated twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any
from uuid import UUID

from ledger.domain import limits
from ledger.domain.errors import (
    ClientTimeRefused,
    InvalidInput,
    InvalidPolicy,
    OutsideTaskWindow,
    TimeInFuture,
    UnknownCategory,
)
from ledger.domain.text import clean_text
from ledger.domain.values import (
    CST,
    ZERO,
    CategoryClass,
    Rating,
    decimal_number,
    hours_from_minutes,
    instant,
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
    clock_tolerance_seconds: int = 120
    early_arrival_minutes: int = 60
    late_checkout_minutes: int = 120
    community_discretion: Decimal = Decimal("0.2")
    """A street's version: how far a community's own multipliers may be from its own."""
    site_code_required: bool = False
    """A member's own check-in needs the code shown at the site (现场签到码); a
    community may require it in its own version (its discretion)."""
    site_distance_meters: int = 500
    """How far from a task's place a phone's location may be at check-in or out."""
    community_id: UUID | None = None
    """None: the street's book; else the community whose own version this is."""
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
        object.__setattr__(self, "categories", _cleaned_categories(self.categories))
        self.validate()
        object.__setattr__(self, "categories", _frozen(self.categories))
        object.__setattr__(self, "difficulty", _frozen(self.difficulty))
        object.__setattr__(self, "rating", _frozen(self.rating))
        object.__setattr__(self, "ranking_weights", _frozen(self.ranking_weights))

    def validate(self) -> None:
        """Refuse a rule book with a number or a name out of its bounds.

        The one place the rule book is judged: every construction runs it (so
        ``from_data`` and ``Ledger.publish_policy`` do), and ``InvalidPolicy``
        names each field that is wrong. The bounds are in ``ledger.domain.limits``.
        """
        problems = _category_problems(self.categories)
        problems += _number_problems(
            ("version", self.version, limits.POLICY_VERSION, int),
            ("points_per_hour", self.points_per_hour, limits.POINTS_PER_HOUR, Decimal),
            ("min_attendance", self.min_attendance, limits.MIN_ATTENDANCE, Decimal),
            (
                "routine_daily_cap_hours",
                self.routine_daily_cap_hours,
                limits.ROUTINE_DAILY_CAP_HOURS,
                Decimal,
            ),
            ("annual_floor_hours", self.annual_floor_hours, limits.ANNUAL_FLOOR_HOURS, Decimal),
            ("expiry_years_after", self.expiry_years_after, limits.EXPIRY_YEARS_AFTER, int),
            (
                "clock_tolerance_seconds",
                self.clock_tolerance_seconds,
                limits.CLOCK_TOLERANCE_SECONDS,
                int,
            ),
            (
                "early_arrival_minutes",
                self.early_arrival_minutes,
                limits.EARLY_ARRIVAL_MINUTES,
                int,
            ),
            (
                "late_checkout_minutes",
                self.late_checkout_minutes,
                limits.LATE_CHECKOUT_MINUTES,
                int,
            ),
            (
                "community_discretion",
                self.community_discretion,
                limits.COMMUNITY_DISCRETION,
                Decimal,
            ),
            (
                "site_distance_meters",
                self.site_distance_meters,
                limits.SITE_DISTANCE_METERS,
                int,
            ),
        )
        if not isinstance(self.site_code_required, bool):
            shown = _shown(self.site_code_required)
            problems.append(f"site_code_required 须为 true 或 false(现为 {shown})")
        if self.community_id is not None and not isinstance(self.community_id, UUID):
            problems.append("community_id 须为社区编号")
        tables: tuple[tuple[str, object, set[Any] | None, limits.Range], ...] = (
            ("difficulty", self.difficulty, set(CategoryClass), limits.MULTIPLIER),
            ("rating", self.rating, set(Rating), limits.MULTIPLIER),
            ("ranking_weights", self.ranking_weights, None, limits.RANKING_WEIGHT),
        )
        for name, table, keys, bound in tables:
            if not isinstance(table, Mapping):
                problems.append(f"{name} 须为对象")
                continue
            if keys is not None and set(table) != keys:
                named = "、".join(sorted(_key(k) for k in keys))
                problems.append(f"{name} 须为 {named} 各设一个系数,不多不少")
            if keys is None and not set(table) <= set(RANKING_INDICATORS):
                problems.append(f"{name} 的考核指标只能是:" + "、".join(RANKING_INDICATORS))
            problems += _number_problems(
                *((f"{name}.{_key(k)}", v, bound, Decimal) for k, v in table.items())
            )
        weights = self.ranking_weights
        if isinstance(weights, Mapping) and not any(
            isinstance(w, Decimal) and w > 0 for w in weights.values()
        ):
            problems.append("ranking_weights 至少一项须大于 0")
        if problems:
            raise InvalidPolicy(reason=";".join(problems))

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

    # --- a community's discretion (社区党组织在权重上的自主) ------------------------------

    def check_discretion(self, own: PointsPolicy) -> None:
        """A community's own version (``own``) of this street version: the same rules
        but for its rating and difficulty multipliers, each at most the discretion
        away from the street's, the classes of the same service categories, and
        whether its members' own check-ins need the site code."""
        fixed = [f.name for f in dataclasses.fields(self) if f.name not in _COMMUNITY_MAY_SET]
        problems = [
            f"{name} 须与街道规则相同"
            for name in fixed
            if getattr(own, name) != getattr(self, name)
        ]
        if set(own.categories) != set(self.categories):
            problems.append("服务类别须与街道规则相同(可调整其难度分类)")
        spread = self.community_discretion
        for table in ("rating", "difficulty"):
            street, mine = getattr(self, table), getattr(own, table)
            for key, base in street.items():
                if abs(mine[key] - base) > spread:
                    problems.append(
                        f"{table}.{_key(key)} 须在 {base - spread} 到 {base + spread} 之间"
                    )
        if problems:
            raise InvalidPolicy(reason=";".join(problems))

    # --- times the ledger can trust ----------------------------------------------

    def trusted_time(
        self, given: datetime | None, clock: datetime, *, own: bool, field: str
    ) -> datetime:
        """The time a check-in or check-out records.

        A member's own (``own``) is the server's clock: a time the member's device
        sends is refused when it is more than the tolerance away from the clock, and
        not recorded even within it. A community worker copying a paper sheet gives
        the time served; it may not lie in the future beyond the tolerance.
        """
        tolerance = timedelta(seconds=self.clock_tolerance_seconds)
        if given is None:
            return clock
        given = instant(given, field)
        if own and abs(given - clock) <= tolerance:
            return clock
        if not own and given <= clock + tolerance:
            return given
        refused = ClientTimeRefused if own else TimeInFuture
        raise refused(
            field=field, at=_cst(given), clock=_cst(clock), tolerance=self.clock_tolerance_seconds
        )

    def check_check_in(self, at: datetime, starts_at: datetime, ends_at: datetime) -> None:
        """A check-in falls between the early-arrival margin before the task's start
        and its end."""
        if starts_at - timedelta(minutes=self.early_arrival_minutes) <= at < ends_at:
            return
        raise OutsideTaskWindow(
            field="签到时间",
            at=_cst(at),
            rule=f"签到最早可在开始前 {self.early_arrival_minutes} 分钟,且须在结束之前",
            start=_cst(starts_at),
            end=_cst(ends_at),
        )

    def checkout_deadline(self, ends_at: datetime) -> datetime:
        """When a task's check-out window ends: the late margin after the task's end.
        A service still checked in then is closed, earning nothing."""
        return ends_at + timedelta(minutes=self.late_checkout_minutes)

    def check_check_out(self, at: datetime, starts_at: datetime, ends_at: datetime) -> None:
        """A check-out comes at most the late margin after the task's end."""
        if at <= self.checkout_deadline(ends_at):
            return
        raise OutsideTaskWindow(
            field="签退时间",
            at=_cst(at),
            rule=f"签退最晚在结束后 {self.late_checkout_minutes} 分钟",
            start=_cst(starts_at),
            end=_cst(ends_at),
        )

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
            community_id=self.community_id,
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
        """The stored (JSON) form; decimals in plain notation, as ``from_data`` reads them."""
        return {
            "version": self.version,
            "points_per_hour": _plain(self.points_per_hour),
            "categories": {c: k.value for c, k in self.categories.items()},
            "difficulty": {k.value: _plain(m) for k, m in self.difficulty.items()},
            "rating": {k.name: _plain(m) for k, m in self.rating.items()},
            "min_attendance": _plain(self.min_attendance),
            "routine_daily_cap_hours": _plain(self.routine_daily_cap_hours),
            "annual_floor_hours": _plain(self.annual_floor_hours),
            "expiry_years_after": self.expiry_years_after,
            "clock_tolerance_seconds": self.clock_tolerance_seconds,
            "early_arrival_minutes": self.early_arrival_minutes,
            "late_checkout_minutes": self.late_checkout_minutes,
            "community_discretion": _plain(self.community_discretion),
            "community_id": None if self.community_id is None else str(self.community_id),
            "site_code_required": self.site_code_required,
            "site_distance_meters": self.site_distance_meters,
            "ranking_weights": {k: _plain(w) for k, w in self.ranking_weights.items()},
        }

    @classmethod
    def from_data(cls, data: object) -> PointsPolicy:
        """A rule book from outside (JSON, as ``to_data`` writes it), checked.

        Integers (``version``, ``expiry_years_after``) are JSON integers. Every other
        number is a decimal: an integer or a string in plain decimal notation such as
        ``"1.5"``; never a float (it is inexact), a bool, an exponent, NaN or Infinity.
        Unknown fields are refused, so a misspelt one is not silently ignored.
        """
        return cls(**_parse(data))

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> PointsPolicy:
        """A version from the rule book's own history, as it was published.

        It is not judged again: bounds may tighten later, and a version once in
        force must stay readable, or every award made under it would be too.
        """
        fields = _parse(data, strict=False)
        default = cls()
        for name in _OPTIONAL:
            fields.setdefault(name, getattr(default, name))
        policy = object.__new__(cls)
        for name, value in fields.items():
            if isinstance(value, Mapping):
                value = _frozen(value)
            object.__setattr__(policy, name, value)
        return policy


def _cst(value: datetime) -> str:
    return value.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _key(key: object) -> str:
    """A key as the stored form writes it."""
    if isinstance(key, CategoryClass):
        return key.value
    return key.name if isinstance(key, Enum) else str(key)


def _shown(value: object) -> str:
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _cleaned_categories(categories: object) -> object:
    """Category names as text is kept (NFC, stripped) when they all can be and stay
    distinct; else as given, for ``validate`` to name what is wrong."""
    if not isinstance(categories, Mapping) or len(categories) > limits.MAX_CATEGORIES:
        return categories
    try:
        cleaned = {
            clean_text(name, "类别名", limits.CATEGORY_NAME): kind
            for name, kind in categories.items()
        }
    except InvalidInput:
        return categories
    return cleaned if len(cleaned) == len(categories) else categories


def _category_problems(categories: object) -> list[str]:
    if not isinstance(categories, Mapping):
        return ["categories 须为对象"]
    if not categories:
        return ["categories 至少需要一个服务类别"]
    if len(categories) > limits.MAX_CATEGORIES:
        return [f"categories 最多 {limits.MAX_CATEGORIES} 个服务类别(现有 {len(categories)} 个)"]
    problems = []
    seen: set[str] = set()
    for name, kind in categories.items():
        try:
            cleaned = clean_text(name, "类别名", limits.CATEGORY_NAME)
        except InvalidInput as error:
            problems.append(f"categories 中的 {_shown(name)}:{error.message}")
            continue
        if cleaned in seen:
            problems.append(f"categories 中的“{cleaned}”重复")
        seen.add(cleaned)
        if not isinstance(kind, CategoryClass):
            problems.append(f"categories.{cleaned} 须为 routine、skilled 或 hard")
    return problems


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _number_problems(*checks: tuple[str, object, limits.Range, type[Any]]) -> list[str]:
    problems = []
    for name, value, bound, kind in checks:
        what = "整数" if kind is int else "十进制数"
        right_type = not isinstance(value, bool) and isinstance(value, kind)
        if (
            not right_type
            or (isinstance(value, Decimal) and not value.is_finite())
            or value not in bound
        ):
            problems.append(f"{name} 须为{bound.describe()} 的{what}(现为 {_shown(value)})")
        elif isinstance(value, Decimal) and _places(value) > limits.POLICY_DECIMAL_PLACES:
            problems.append(f"{name} 最多 {limits.POLICY_DECIMAL_PLACES} 位小数")
    return problems


_COMMUNITY_MAY_SET = (
    "version",
    "community_id",
    "rating",
    "difficulty",
    "categories",
    "site_code_required",
)
"""What a community's own version may differ in from the street's (the multipliers
within the street's discretion)."""
_FIELDS = {f.name for f in dataclasses.fields(PointsPolicy)}
_OPTIONAL = {  # versions published before unit rankings, trusted times or site codes lack them
    "ranking_weights",
    "site_code_required",
    "site_distance_meters",
    "clock_tolerance_seconds",
    "early_arrival_minutes",
    "late_checkout_minutes",
    "community_discretion",
    "community_id",
}


def _parse(data: object, *, strict: bool = True) -> dict[str, Any]:
    """The constructor's arguments from the stored (JSON) form; InvalidPolicy names
    every field that is missing or of the wrong kind. Bounds are ``validate``'s.

    ``strict=False`` reads what an earlier version of ``to_data`` may have written:
    a decimal in any notation ``Decimal`` reads; unknown fields are ignored."""
    if not isinstance(data, Mapping):
        raise InvalidPolicy(reason="积分规则须为 JSON 对象")
    problems: list[str] = []
    unknown = sorted(_shown(k) for k in data if k not in _FIELDS)
    if unknown and strict:
        problems.append("未知字段:" + "、".join(unknown))
    missing = sorted(_FIELDS - _OPTIONAL - set(data))
    if missing:
        problems.append("缺少字段:" + "、".join(missing))
        raise InvalidPolicy(reason=";".join(problems))

    def integer(name: str, value: object) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{name} 须为整数(现为 {_shown(value)})")
        return value

    def decimal(name: str, value: object) -> Any:
        parsed = decimal_number(value)
        if parsed is not None and (
            not isinstance(value, str) or len(value) <= limits.POLICY_NUMBER_CHARS
        ):
            return parsed
        if isinstance(value, str) and not strict:
            with contextlib.suppress(ArithmeticError, ValueError):
                return Decimal(value)
        problems.append(f'{name} 须为十进制数:整数或如 "1.5" 的字符串(现为 {_shown(value)})')
        return value

    def table(name: str, keys: Callable[[Any], Any], values: Callable[[str, Any], Any]) -> Any:
        raw = data[name]
        if not isinstance(raw, Mapping):
            problems.append(f"{name} 须为对象(现为 {_shown(raw)})")
            return {}
        parsed = {}
        for key, value in raw.items():
            try:
                parsed[keys(key)] = values(f"{name}.{key}", value)
            except (KeyError, ValueError, TypeError):
                problems.append(f"{name} 中有未知的键 {_shown(key)}")
        return parsed

    def category_class(name: str, value: object) -> Any:
        try:
            return CategoryClass(value)
        except ValueError:
            problems.append(f"{name} 须为 routine、skilled 或 hard(现为 {_shown(value)})")
            return value

    fields = {
        "version": integer("version", data["version"]),
        "points_per_hour": decimal("points_per_hour", data["points_per_hour"]),
        "categories": table("categories", lambda k: k, category_class),
        "difficulty": table("difficulty", CategoryClass, decimal),
        "rating": table("rating", lambda k: Rating[k], decimal),
        "min_attendance": decimal("min_attendance", data["min_attendance"]),
        "routine_daily_cap_hours": decimal(
            "routine_daily_cap_hours", data["routine_daily_cap_hours"]
        ),
        "annual_floor_hours": decimal("annual_floor_hours", data["annual_floor_hours"]),
        "expiry_years_after": integer("expiry_years_after", data["expiry_years_after"]),
    }
    if "ranking_weights" in data:
        fields["ranking_weights"] = table("ranking_weights", str, decimal)
    names = (
        "clock_tolerance_seconds",
        "early_arrival_minutes",
        "late_checkout_minutes",
        "site_distance_meters",
    )
    for name in names:
        if name in data:
            fields[name] = integer(name, data[name])
    if "site_code_required" in data:
        fields["site_code_required"] = data["site_code_required"]  # ``validate`` judges it
    if "community_discretion" in data:
        fields["community_discretion"] = decimal(
            "community_discretion", data["community_discretion"]
        )
    if data.get("community_id") is not None:
        try:
            fields["community_id"] = UUID(str(data["community_id"]))
        except ValueError:
            problems.append(f"community_id 须为社区编号(现为 {_shown(data['community_id'])})")
    if problems:
        raise InvalidPolicy(reason=";".join(problems))
    return fields


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
    community_id: UUID | None = None
    """The book: None, the street's; else the community's own (with ``policy_version``)."""

    @property
    def signed_in_and_left(self) -> bool:
        """Earned nothing for too little attendance (签到即走), as against a routine
        service past the day's cap, which also earns nothing."""
        return (
            self.hours == 0
            and self.attended_minutes < self.scheduled_minutes
            and (self.note is not None and self.note.startswith(BELOW_ATTENDANCE.split("{")[0]))
        )
