"""Value types shared by the aggregates: enums, the actor context, exact numbers and time."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import Enum
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger.domain.errors import (
    InvalidInput,
    InvalidPoints,
    InvalidQuantity,
    NaiveDatetime,
    OutOfRange,
)
from ledger.domain.limits import (
    DECIMAL_PATTERN,
    EARLIEST,
    FIRST_YEAR,
    LAST_YEAR,
    LATEST,
    MAX_DECIMAL_CHARS,
    MAX_POINTS,
    MAX_QUANTITY,
)

CST = ZoneInfo("Asia/Shanghai")
"""Periods (day, month, quarter, year) are China Standard Time."""

NAMESPACE = UUID("6f1c4d2e-8a9b-5c3d-9e7f-0a1b2c3d4e5f")
"""Namespace of the deterministic ids (uuid5) of generated and imported objects."""

ZERO = Decimal("0.0")
TENTH = Decimal("0.1")


@functools.lru_cache(maxsize=1 << 16)
def stable_id(*parts: object) -> UUID:
    """A deterministic id from a natural key: the same parts always give the same id.

    Kept for recent keys: a command derives the same ids (an account's, a
    timesheet's) several times, and a batch of imported rows many times over."""
    return uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts))


class Role(Enum):
    ADMIN = "admin"
    COMMUNITY = "community"
    UNIT = "unit"
    KIOSK = "kiosk"
    AUDITOR = "auditor"
    MEMBER = "member"
    SYSTEM = "system"


@dataclass(frozen=True)
class Context:
    """Who did it, on which device, and which request it belongs to.

    Every event carries one, so an auditor never has to guess.
    """

    actor_id: str
    role: Role
    device: str | None = None
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def system(cls, job: str) -> Context:
        return cls(actor_id=job, role=Role.SYSTEM)


class UnitKind(Enum):
    ORGAN = "机关"
    INSTITUTION = "事业单位"
    STATE_ENTERPRISE = "国有企业"
    NEW_ORGANISATION = "两新组织"
    OTHER = "其他"


class MemberKind(Enum):
    PARTY_MEMBER = "党员"
    RESIDENT = "群众"
    VOLUNTEER = "志愿者"


class CategoryClass(Enum):
    ROUTINE = "routine"
    SKILLED = "skilled"
    HARD = "hard"


class Rating(Enum):
    EXCELLENT = "很好"
    GOOD = "好"
    FAIR = "一般"


class Satisfaction(Enum):
    """回访: whether the resident was satisfied with how their need was met."""

    SATISFIED = "满意"
    BASICALLY_SATISFIED = "基本满意"
    DISSATISFIED = "不满意"


class Grade(Enum):
    OUTSTANDING = "优秀"
    COMPETENT = "称职"
    BASICALLY_COMPETENT = "基本称职"
    INCOMPETENT = "不称职"


class CauseKind(Enum):
    SERVICE = "service"
    REDEMPTION = "redemption"
    REDEMPTION_CANCELLED = "redemption_cancelled"
    REVERSAL = "reversal"
    EXPIRY = "expiry"


@dataclass(frozen=True)
class Cause:
    """Why points moved: the service, redemption, reversal or expiry run behind it."""

    kind: CauseKind
    id: UUID | None = None


@dataclass(frozen=True)
class Lot:
    """Spendable points earned in one year, issued by one community.

    Lots expire separately, oldest first, and tell each community's
    conservation of points apart.
    """

    year: int
    community_id: UUID
    amount: Decimal


# --- account names of the double entry ----------------------------------------


MEMBER_ACCOUNT_PREFIX = "member:"


def member_account(member_id: UUID) -> str:
    return f"{MEMBER_ACCOUNT_PREFIX}{member_id}"


def member_of(account: str) -> UUID | None:
    """The member whose account this is (the inverse of ``member_account``); None for
    any other account, or for a name that only looks like a member's."""
    if not account.startswith(MEMBER_ACCOUNT_PREFIX):
        return None
    try:
        return UUID(account.removeprefix(MEMBER_ACCOUNT_PREFIX))
    except ValueError:
        return None


def issuance_account(community_id: UUID) -> str:
    return f"issuance:{community_id}"


def store_account(community_id: UUID) -> str:
    return f"store:{community_id}"


EXPIRY_ACCOUNT = "expiry"


# --- exact numbers ------------------------------------------------------------


def decimal_number(value: object) -> Decimal | None:
    """The one reading of a decimal number from outside: a ``Decimal``, an ``int`` or text
    of ASCII digits with an optional sign and point (``DECIMAL_PATTERN``); None for
    anything else (" 1 ", "1_000", "1e3", "١٢", a bool)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if (
        isinstance(value, str)
        and len(value) <= MAX_DECIMAL_CHARS
        and DECIMAL_PATTERN.fullmatch(value)
    ):
        return Decimal(value)
    return None


def points(value: object, *, limit: Decimal = MAX_POINTS) -> Decimal:
    """Parse a points figure: positive, at most ``limit``, at most one decimal place."""
    amount = decimal_number(value)
    if (
        amount is None
        or not amount.is_finite()
        or amount <= 0
        or amount > limit
        or amount != amount.quantize(TENTH, rounding=ROUND_DOWN)
    ):
        raise InvalidPoints(value=value, limit=limit)
    return amount.quantize(TENTH)


def quantity(value: object, *, limit: int = MAX_QUANTITY) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise InvalidQuantity(value=value, limit=limit)
    return value


def round_points(value: Decimal) -> Decimal:
    """Points are rounded half-up to one decimal place at the moment of the award."""
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def hours_from_minutes(minutes: int) -> Decimal:
    """Whole minutes served, rounded down to a tenth of an hour."""
    return (Decimal(minutes) / 60).quantize(TENTH, rounding=ROUND_DOWN)


# --- time ---------------------------------------------------------------------


_SUPPORTED = {"low": f"{EARLIEST:%Y-%m-%d}", "high": f"{LATEST:%Y-%m-%d}"}


def instant(value: object, field: str = "时间") -> datetime:
    """An instant from outside: with its zone and within the supported range, in UTC."""
    if not isinstance(value, datetime):
        raise InvalidInput(reason=f"{field}须为带时区的时间")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(value=value.isoformat())
    try:
        supported = EARLIEST <= value < LATEST
    except OverflowError:  # year 1 or 9999 in a zone that takes it past the calendar
        supported = False
    if not supported:
        raise OutOfRange(field=field, value=value.isoformat(), **_SUPPORTED)
    return value.astimezone(UTC)


def day(value: object, field: str = "日期") -> date:
    """A calendar day from outside, within the supported range."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput(reason=f"{field}须为日期")
    if not EARLIEST.date() <= value < LATEST.date():
        raise OutOfRange(field=field, value=value.isoformat(), **_SUPPORTED)
    return value


def year(value: object, field: str = "年度") -> int:
    """A calendar year from outside, within the supported range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(reason=f"{field}须为整数")
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise OutOfRange(field=field, value=value, low=FIRST_YEAR, high=LAST_YEAR)
    return value


def local_date(value: datetime) -> date:
    """The day in China Standard Time on which an instant falls."""
    return value.astimezone(CST).date()


def now() -> datetime:
    return datetime.now(UTC)
