"""志愿服务证明: a certificate of a member's service over a period, issued by the ledger as
an event that states its figures, lists the events it summarises and commits to its own
canonical content by a SHA-256 digest. Anyone may check one by its number: the figures
are recomputed from the listed events and compared."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.codes import ALPHABET
from ledger.domain.errors import InvalidInput, NotFound, OutOfRange
from ledger.domain.limits import (
    CERTIFICATE_MAX_DAYS,
    CERTIFICATE_MAX_SERVICES,
    CERTIFICATE_RANDOM_LENGTH,
)
from ledger.domain.values import CategoryClass, Context, stable_id

PREFIX = "ZYFW"
NUMBER_PATTERN = re.compile(rf"{PREFIX}-\d{{4}}-[{ALPHABET}]{{{CERTIFICATE_RANDOM_LENGTH}}}")


class UnknownCertificate(NotFound):
    code = "UNKNOWN_CERTIFICATE"
    template = "找不到编号为 {number} 的志愿服务证明"


class CertificateStatus(Enum):
    GENUINE = "真实有效"
    ALTERED = "与账本记录不符"
    UNKNOWN = "查无此证明"


def new_number(year: int) -> str:
    random = "".join(secrets.choice(ALPHABET) for _ in range(CERTIFICATE_RANDOM_LENGTH))
    return f"{PREFIX}-{year:04d}-{random}"


def check_number(value: object) -> str:
    """A certificate number from outside (a URL, a form): its exact shape, or UnknownCertificate."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if len(text) > 40 or not NUMBER_PATTERN.fullmatch(text):
        raise UnknownCertificate(number=str(value)[:40])
    return text


def check_period(start: date, end: date) -> tuple[date, date]:
    if not isinstance(start, date) or not isinstance(end, date):
        raise InvalidInput(reason="证明期间须为日期")
    if end < start:
        raise InvalidInput(reason="证明期间的结束日期早于开始日期")
    days = (end - start).days + 1
    if days > CERTIFICATE_MAX_DAYS:
        raise OutOfRange(field="证明期间(天)", value=days, low=1, high=CERTIFICATE_MAX_DAYS)
    return start, end


def check_positions(positions: list[int]) -> list[int]:
    if len(positions) > CERTIFICATE_MAX_SERVICES:
        raise OutOfRange(
            field="证明所列服务数", value=len(positions), low=0, high=CERTIFICATE_MAX_SERVICES
        )
    if any(isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in positions):
        raise InvalidInput(reason="事件编号须为正整数")
    return sorted(set(positions))


@dataclass(frozen=True)
class Figures:
    """What a certificate states of the service: counts and exact sums, hours by class."""

    services: int
    hours: Decimal
    points: Decimal
    routine_hours: Decimal
    skilled_hours: Decimal
    hard_hours: Decimal

    @classmethod
    def of(cls, awards: list[tuple[CategoryClass, Decimal, Decimal]]) -> Figures:
        def hours(kind: CategoryClass | None) -> Decimal:
            return sum((h for k, h, _ in awards if kind in (None, k)), Decimal(0))

        return cls(
            services=len(awards),
            hours=hours(None),
            points=sum((p for _, _, p in awards), Decimal(0)),
            routine_hours=hours(CategoryClass.ROUTINE),
            skilled_hours=hours(CategoryClass.SKILLED),
            hard_hours=hours(CategoryClass.HARD),
        )


@dataclass(frozen=True)
class Place:
    """A community where some of a certificate's services were done, and how many."""

    community_id: UUID
    community: str
    services: int


@dataclass(frozen=True)
class Statement:
    """Everything a certificate states, and the notification ids of the ``Service.Rated``
    events it summarises. Its digest is over ``canonical()``.

    ``community`` is the member's own community, which issues the certificate;
    ``places`` are the communities where the services were done (a certificate issued
    before they were stated has none, and its canonical content is as it was)."""

    number: str
    member_id: UUID
    name_masked: str
    community_id: UUID
    community: str
    start: date
    end: date
    figures: Figures
    positions: list[int]
    places: list[Place] = field(default_factory=list)

    def canonical(self) -> bytes:
        """Sorted keys, no spaces, UTF-8; decimals, dates and ids as their exact text."""
        f = self.figures
        content = {
            "format": "volunteer-ledger-certificate/1",
            "number": self.number,
            "member_id": str(self.member_id),
            "name_masked": self.name_masked,
            "community_id": str(self.community_id),
            "community": self.community,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "services": f.services,
            "hours": str(f.hours),
            "points": str(f.points),
            "routine_hours": str(f.routine_hours),
            "skilled_hours": str(f.skilled_hours),
            "hard_hours": str(f.hard_hours),
            "positions": self.positions,
        }
        if self.places:
            content["format"] = "volunteer-ledger-certificate/2"
            content["places"] = [
                {
                    "community_id": str(p.community_id),
                    "community": p.community,
                    "services": p.services,
                }
                for p in self.places
            ]
        return json.dumps(
            content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


class Certificate(LedgerAggregate):
    """One certificate, found by its number."""

    @staticmethod
    def create_id(number: str) -> UUID:
        return stable_id("certificate", number)

    @classmethod
    def issue(cls, statement: Statement, ctx: Context) -> Certificate:
        return cls(statement, statement.digest(), ctx=ctx, id=cls.create_id(statement.number))

    @event("Issued")
    def __init__(
        self, statement: Statement, digest: str, ctx: Context, id: UUID | None = None
    ) -> None:
        self.statement = statement
        self.digest = digest


@dataclass(frozen=True)
class CertificateCheck:
    """The outcome of checking a certificate against the ledger's events."""

    number: str
    status: CertificateStatus
    statement: Statement | None = None
    digest: str | None = None
    issued_at: datetime | None = None
    issued_position: int | None = None
    recomputed: Figures | None = None
    problems: list[str] = field(default_factory=list)
