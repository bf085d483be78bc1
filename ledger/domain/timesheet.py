"""A member's served times (考勤): no two of a member's services overlap in time.

One small aggregate per member, saved with each check-in and check-out, so that two
check-ins racing for the same member are decided by its version, as every invariant is.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import ServicesOverlap
from ledger.domain.values import CST, Context, stable_id

Span = tuple[datetime, datetime | None]
"""A service's check-in and check-out (None: still checked in)."""


def _shown(value: datetime | None) -> str:
    return "(尚未签退)" if value is None else value.astimezone(CST).strftime("%Y-%m-%d %H:%M")


class Timesheet(LedgerAggregate):
    @staticmethod
    def create_id(member_id: UUID) -> UUID:
        return stable_id("timesheet", member_id)

    @event("Opened")
    def __init__(self, member_id: UUID, ctx: Context) -> None:
        self.member_id = member_id
        self.spans: dict[UUID, Span] = {}

    def _refuse(self, other: UUID) -> ServicesOverlap:
        start, end = self.spans[other]
        return ServicesOverlap(other=other, start=_shown(start), end=_shown(end))

    def check_start(self, service_id: UUID, at: datetime) -> None:
        """A check-in may not fall inside another service, nor after the start of one
        still checked in."""
        for other, (start, end) in self.spans.items():
            if other != service_id and start <= at and (end is None or at < end):
                raise self._refuse(other)

    def check_end(self, service_id: UUID, at: datetime) -> None:
        """The whole service, check-in to check-out, may not overlap another."""
        begun = self.spans[service_id][0]
        for other, (start, end) in self.spans.items():
            if other != service_id and start < at and (end is None or begun < end):
                raise self._refuse(other)

    def start(self, service_id: UUID, at: datetime, ctx: Context) -> None:
        self.check_start(service_id, at)
        self._started(service_id, at, ctx)

    @event("Started")
    def _started(self, service_id: UUID, at: datetime, ctx: Context) -> None:
        self.spans[service_id] = (at, None)

    def end(self, service_id: UUID, at: datetime, ctx: Context) -> None:
        self.check_end(service_id, at)
        self._ended(service_id, at, ctx)

    @event("Ended")
    def _ended(self, service_id: UUID, at: datetime, ctx: Context) -> None:
        self.spans[service_id] = (self.spans[service_id][0], at)

    def amend(self, service_id: UUID, start: datetime, end: datetime, ctx: Context) -> None:
        """Corrected times replace the service's, under the same rule."""
        for other, (begun, ended) in self.spans.items():
            if other != service_id and begun < end and (ended is None or start < ended):
                raise self._refuse(other)
        self._amended(service_id, start, end, ctx)

    @event("Amended")
    def _amended(self, service_id: UUID, start: datetime, end: datetime, ctx: Context) -> None:
        self.spans[service_id] = (start, end)

    def drop(self, service_id: UUID, ctx: Context) -> None:
        """A service released before it was done no longer holds its time."""
        if service_id in self.spans:
            self._dropped(service_id, ctx)

    @event("Dropped")
    def _dropped(self, service_id: UUID, ctx: Context) -> None:
        del self.spans[service_id]
