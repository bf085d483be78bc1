"""年度评价: once a year a community grades each reported party member living there."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from ledger.domain import values
from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import InvalidInput
from ledger.domain.limits import FREE_TEXT
from ledger.domain.text import clean_text
from ledger.domain.values import Context, Grade, stable_id


class AnnualReview(LedgerAggregate):
    """The letter to the member's unit. One per member and year."""

    @staticmethod
    def create_id(member_id: UUID, year: int) -> UUID:
        return stable_id("annual-review", member_id, year)

    @classmethod
    def create(
        cls,
        member_id: UUID,
        year: int,
        community_id: UUID,
        unit_id: UUID | None,
        grade: Grade,
        comment: str,
        ctx: Context,
    ) -> AnnualReview:
        """The year is one the ledger supports; the comment (评语) may be empty and
        may span lines."""
        if not isinstance(grade, Grade):
            raise InvalidInput(reason="评价等级无效")
        return cls(
            member_id,
            cls.check_year(year),
            community_id,
            unit_id,
            grade,
            clean_text(comment, "评语", FREE_TEXT, required=False, multiline=True),
            ctx=ctx,
        )

    @staticmethod
    def check_year(value: int) -> int:
        return values.year(value, "评价年度")

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
