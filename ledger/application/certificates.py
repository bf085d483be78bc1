"""志愿服务证明: issuing a certificate as an event, and checking one against the events it
lists. Both read the listed events straight from the event store (never from a cache or a
read model), so an event altered in the database changes what a check recomputes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from ledger.application.base import LedgerBase, Receipt
from ledger.domain.certificate import (
    Certificate,
    CertificateCheck,
    CertificateStatus,
    Figures,
    Place,
    Statement,
    UnknownCertificate,
    check_number,
    check_period,
    check_positions,
    new_number,
)
from ledger.domain.errors import InvalidInput
from ledger.domain.member import mask_name
from ledger.domain.text import natural_key
from ledger.domain.values import CategoryClass, Context
from ledger.domain.work import Service

EVENTS_AT = (
    "SELECT notification_id, originator_id, originator_version, topic, state "
    "FROM ledger_events WHERE notification_id = ANY(%s)"
)
SERVICE_FACTS = (
    "SELECT notification_id, originator_id, originator_version, topic, state "
    "FROM ledger_events WHERE originator_id = ANY(%s) AND (originator_version = 1 OR topic = %s)"
)
FIRST_EVENT = (
    "SELECT notification_id, originator_id, originator_version, topic, state "
    "FROM ledger_events WHERE originator_id = %s AND originator_version = 1"
)
RATED = get_topic(Service.Rated)  # type: ignore[attr-defined]
CLAIMED = get_topic(Service.Claimed)  # type: ignore[attr-defined]
REVERSED = get_topic(Service.Reversed)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class IssuedCertificate(Receipt):
    number: str
    digest: str


class CertificateCommands(LedgerBase):
    """志愿服务证明."""

    def issue_certificate(
        self, member_id: UUID, start: date, end: date, positions: list[int], ctx: Context
    ) -> IssuedCertificate:
        """A certificate of the rated services whose ``Service.Rated`` events are at
        ``positions`` (the read side finds them): each must be this member's, of a day in
        the period, and not reversed; the figures are computed here from those events."""
        start, end = check_period(start, end)
        positions = check_positions(positions)
        member = self.get_member(member_id)
        if not positions:
            raise InvalidInput(reason="证明期间内没有已评价的服务,无需出具证明")
        community = self.get_community(member.community_id)
        figures, where, problems = self._summarise(member_id, start, end, positions)
        if problems:
            raise InvalidInput(reason=";".join(problems[:3]))
        places = sorted(
            (Place(c, self.get_community(c).name, n) for c, n in where.items()),
            key=lambda p: (-p.services, natural_key(p.community)),
        )
        statement = Statement(
            number=new_number(datetime.now(UTC).year),
            member_id=member_id,
            name_masked=mask_name(member.name),
            community_id=community.id,
            community=community.name,
            start=start,
            end=end,
            figures=figures,
            positions=positions,
            places=places,
        )
        certificate = Certificate.issue(statement, ctx)
        receipt = self._create(certificate)
        return IssuedCertificate(receipt.id, receipt.position, statement.number, statement.digest())

    def issued_certificate(self, certificate_id: UUID) -> IssuedCertificate:
        """The receipt of a certificate issued before (a retried request's answer)."""
        certificate = self._get(Certificate, certificate_id, UnknownCertificate)
        position = self.group_recorder.first_notification_id(certificate_id)
        statement = certificate.statement
        return IssuedCertificate(certificate_id, position, statement.number, certificate.digest)

    def check_certificate(self, number: str) -> CertificateCheck:
        """Whether the certificate ``number`` is as the ledger issued it: its digest over
        its stated content, and its figures recomputed from the events it lists."""
        try:
            number = check_number(number)
        except UnknownCertificate:
            return CertificateCheck(number=str(number)[:40], status=CertificateStatus.UNKNOWN)
        with self.group_recorder.datastore.get_connection() as conn:
            row = conn.execute(FIRST_EVENT, (Certificate.create_id(number),)).fetchone()
        if row is None:
            return CertificateCheck(number=number, status=CertificateStatus.UNKNOWN)
        try:
            issued = self._decoded(row)
            statement: Statement = issued.statement
            recorded_digest: str = issued.digest
        except (ValueError, KeyError, TypeError, AttributeError):
            return CertificateCheck(
                number=number,
                status=CertificateStatus.ALTERED,
                problems=["证明的账本记录已无法解读"],
            )
        problems = []
        if statement.number != number or statement.digest() != recorded_digest:
            problems.append("证明的内容与其记录的内容摘要不符")
        figures, where, found = self._summarise(
            statement.member_id, statement.start, statement.end, statement.positions
        )
        problems += found
        if figures != statement.figures:
            problems.append("证明所列数字与所依据的服务事件重新计算的结果不符")
        if statement.places and where != {p.community_id: p.services for p in statement.places}:
            problems.append("证明所列的服务社区与所依据的服务事件不符")
        return CertificateCheck(
            number=number,
            status=CertificateStatus.ALTERED if problems else CertificateStatus.GENUINE,
            statement=statement,
            digest=recorded_digest,
            issued_at=issued.timestamp,
            issued_position=row["notification_id"],
            recomputed=figures,
            problems=problems,
        )

    def _decoded(self, row: dict[str, Any]) -> Any:
        return self.mapper.to_domain_event(
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
        )

    def _summarise(
        self, member_id: UUID, start: date, end: date, positions: list[int]
    ) -> tuple[Figures, dict[UUID, int], list[str]]:
        """The figures of the rated services at ``positions``, how many of them were done
        in each community, and what is wrong with any of them (not a rating, another
        member's, outside the period, reversed, unreadable)."""
        with self.group_recorder.datastore.get_connection() as conn:
            rows = {r["notification_id"]: r for r in conn.execute(EVENTS_AT, (positions,))}
            services = list({r["originator_id"] for r in rows.values() if r["topic"] == RATED})
            facts = conn.execute(SERVICE_FACTS, (services, REVERSED)).fetchall()
        claimed_by = {}
        claimed_in = {}
        reversed_ = set()
        problems: list[str] = []
        for fact in facts:
            try:
                if fact["topic"] == CLAIMED:
                    claimed = self._decoded(fact)
                    claimed_by[fact["originator_id"]] = claimed.member_id
                    claimed_in[fact["originator_id"]] = claimed.community_id
                elif fact["topic"] == REVERSED:
                    reversed_.add(fact["originator_id"])
            except (ValueError, KeyError, TypeError, AttributeError):
                problems.append(f"事件 {fact['notification_id']} 已无法解读")
        awards: list[tuple[CategoryClass, Decimal, Decimal]] = []
        where: dict[UUID, int] = {}
        for position in positions:
            row = rows.get(position)
            if row is None or row["topic"] != RATED:
                problems.append(f"事件 {position} 不是一次服务评价")
                continue
            try:
                award = self._decoded(row).award
            except (ValueError, KeyError, TypeError, AttributeError):
                problems.append(f"事件 {position} 已无法解读")
                continue
            if claimed_by.get(row["originator_id"]) != member_id:
                problems.append(f"事件 {position} 不是该成员的服务")
            elif not start <= award.day <= end:
                problems.append(f"事件 {position} 的服务日期不在证明期间内")
            elif row["originator_id"] in reversed_:
                problems.append(f"事件 {position} 的服务已被撤销")
            else:
                awards.append((award.category_class, award.hours, award.points))
                community_id = claimed_in[row["originator_id"]]
                where[community_id] = where.get(community_id, 0) + 1
        return Figures.of(awards), where, problems
