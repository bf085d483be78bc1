"""年度评价: once a year a community grades each reported party member living there."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.values import Context, Grade, stable_id


class AnnualReview(LedgerAggregate):
    """The letter to the member's unit. One per member and year."""

    @staticmethod
    def create_id(member_id: UUID, year: int) -> UUID:
        return stable_id("annual-review", member_id, year)

    @event("Given")
    def __init__(
        self,
        member_id: UUID,
        year: int,
        community_id: UUID,
        unit_id: UUID | None,
        grade: Grade,
        comment: str,
        ctx: Context,
    ) -> None:
        self.member_id = member_id
        self.year = year
        self.community_id = community_id
        self.unit_id = unit_id
        self.grade = grade
        self.comment = comment
