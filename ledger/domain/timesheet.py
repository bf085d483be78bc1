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
        self.closes: dict[UUID, datetime] = {}
        """When each service's check-out window ends (those checked in since it is kept)."""

    def _until(self, service_id: UUID) -> datetime | None:
        """Until when a service holds the member's time: its check-out; while it is still
        checked in, the end of its check-out window (None: not known, it holds on). A
        service left checked in past its window blocks nothing, even before the
        scheduled run records it closed: this is the one place that rule lives."""
        end = self.spans[service_id][1]
        return end if end is not None else self.closes.get(service_id)

    def _refuse(self, other: UUID) -> ServicesOverlap:
        start, end = self.spans[other]
        return ServicesOverlap(other=other, start=_shown(start), end=_shown(end))

    def check_start(self, service_id: UUID, at: datetime) -> None:
        """A check-in may not fall inside another service, nor after the start of one
        still checked in."""
        for other, (start, _) in self.spans.items():
            end = self._until(other)
            if other != service_id and start <= at and (end is None or at < end):
                raise self._refuse(other)

    def check_end(self, service_id: UUID, at: datetime) -> None:
        """The whole service, check-in to check-out, may not overlap another."""
        begun = self.spans[service_id][0]
        for other, (start, _) in self.spans.items():
            end = self._until(other)
            if other != service_id and start < at and (end is None or begun < end):
                raise self._refuse(other)

    def start(
        self, service_id: UUID, at: datetime, ctx: Context, closes_at: datetime | None = None
    ) -> None:
        """``closes_at``: when the service's check-out window ends."""
        self.check_start(service_id, at)
        self._started(service_id, at, ctx, closes_at)

    @event("Started")
    def _started(
        self, service_id: UUID, at: datetime, ctx: Context, closes_at: datetime | None = None
    ) -> None:
        # closes_at: None in events stored before it was recorded.
        self.spans[service_id] = (at, None)
        if closes_at is not None:
            self.closes[service_id] = closes_at

    def end(self, service_id: UUID, at: datetime, ctx: Context) -> None:
        self.check_end(service_id, at)
        self._ended(service_id, at, ctx)

    @event("Ended")
    def _ended(self, service_id: UUID, at: datetime, ctx: Context) -> None:
        self.spans[service_id] = (self.spans[service_id][0], at)

    def amend(self, service_id: UUID, start: datetime, end: datetime, ctx: Context) -> None:
        """Corrected times replace the service's, under the same rule."""
        for other, (begun, _) in self.spans.items():
            ended = self._until(other)
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
        self.closes.pop(service_id, None)
