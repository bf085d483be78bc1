"""Commands about the organisation and its people: streets, communities, units, members, reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from eventsourcing.persistence import RecordConflictError

from ledger.application.base import (
    LedgerBase,
    Receipt,
    retried,
)
from ledger.domain.account import Account
from ledger.domain.codes import (
    CodeLookup,
    NoCard,
    PhoneCode,
    code_key,
    hash_card_code,
    new_card_code,
    new_reference,
    phone_code,
    read_code,
)
from ledger.domain.errors import (
    AlreadyReviewed,
    DuplicateMember,
    InvalidInput,
    NotEligibleForReview,
    NotResident,
)
from ledger.domain.member import Member, hash_national_id, member_id_for
from ledger.domain.organisation import Community, Street, Unit
from ledger.domain.review import AnnualReview
from ledger.domain.values import (
    Context,
    Grade,
    MemberKind,
    UnitKind,
)


@dataclass(frozen=True)
class IssuedCard(Receipt):
    """The card's code, told once to whoever issued it."""

    code: str


class PeopleCommands(LedgerBase):
    """街道、社区、单位、成员与年度评价."""

    # --- organisation -----------------------------------------------------------

    def register_street(self, name: str, ctx: Context, *, id: UUID | None = None) -> Receipt:
        return self._create(Street.create(name, ctx, id=id))

    def register_community(
        self,
        street_id: UUID,
        name: str,
        ctx: Context,
        grids: Sequence[str] = (),
        *,
        id: UUID | None = None,
    ) -> Receipt:
        community = Community.create(street_id, name, ctx, grids, id=id)
        self.read_street(street_id)
        return self._create(community, created=list(community.grids))

    @retried
    def add_grid(self, community_id: UUID, name: str, ctx: Context) -> Receipt:
        community = self.get_community(community_id)
        grid_id = community.add_grid(name, ctx)
        return self._done(grid_id, community)

    def register_unit(
        self,
        name: str,
        kind: UnitKind,
        ctx: Context,
        communities: Sequence[UUID] = (),
        *,
        id: UUID | None = None,
    ) -> Receipt:
        unit = Unit.create(name, kind, ctx, id=id)
        for community_id in communities:
            self.read_community(community_id)
            unit.pair(community_id, ctx)
        return self._create(unit)

    @retried
    def pair_unit(self, unit_id: UUID, community_id: UUID, ctx: Context) -> Receipt:
        unit = self.get_unit(unit_id)
        self.read_community(community_id)
        unit.pair(community_id, ctx)
        return self._done(unit.id, unit)

    @retried
    def form_team(self, unit_id: UUID, community_id: UUID, name: str, ctx: Context) -> Receipt:
        unit = self.get_unit(unit_id)
        unit.form_team(community_id, name, ctx)
        return self._done(unit.id, unit)

    @retried
    def report_unit(self, unit_id: UUID, community_id: UUID, on: date, ctx: Context) -> Receipt:
        unit = self.get_unit(unit_id)
        unit.report(community_id, on, ctx)
        return self._done(unit.id, unit)

    # --- members ----------------------------------------------------------------

    def register_member(
        self,
        kind: MemberKind,
        name: str,
        community_id: UUID,
        ctx: Context,
        *,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
        phone: str | None = None,
        national_id: str | None = None,
        member_id: UUID | None = None,
        branch: str | None = None,
        team: str | None = None,
    ) -> Receipt:
        """Register a member and open their account in one transaction.

        With a national ID number the member's id derives from its keyed hash,
        so registering the same person twice is refused by the event store.
        """
        if kind is MemberKind.PARTY_MEMBER and unit_id is None:
            raise InvalidInput(reason="在职党员须登记所在单位")
        id_hash = hash_national_id(national_id, self.id_hash_key) if national_id else None
        member = Member.create(
            member_id_for(id_hash) if id_hash else member_id or uuid4(),
            kind,
            name,
            community_id,
            ctx,
            phone=phone,
            id_hash=id_hash,
            unit_id=unit_id,
            grid_id=grid_id,
            branch=branch,
            team=team,
        )
        self.read_community(community_id).check_grid(grid_id)
        if unit_id is not None:
            self.read_unit(unit_id)
        if id_hash is not None and self.exists(member.id):
            raise DuplicateMember(id=member.id)
        account = Account(member.id, ctx=ctx)
        try:
            return self._done(member.id, member, account)
        except RecordConflictError:
            if not self._applied_meanwhile() and self.exists(member.id):
                raise DuplicateMember(id=member.id) from None
            raise

    @retried
    def report_member(self, member_id: UUID, on: date, ctx: Context) -> Receipt:
        member = self.get_member(member_id)
        member.report(member.community_id, on, ctx)
        return self._done(member.id, member)

    @retried
    def move_member(
        self,
        member_id: UUID,
        ctx: Context,
        *,
        unit_id: UUID | None = None,
        community_id: UUID | None = None,
        grid_id: UUID | None = None,
    ) -> Receipt:
        member = self.get_member(member_id)
        if unit_id is not None:
            self.read_unit(unit_id)
            member.move_unit(unit_id, ctx)
        if community_id is not None:
            self.read_community(community_id).check_grid(grid_id)
            member.move_home(community_id, grid_id, ctx)
        return self._done(member.id, member)

    @retried
    def correct_member(
        self,
        member_id: UUID,
        reason: str,
        ctx: Context,
        *,
        name: str | None = None,
        phone: str | None = None,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
    ) -> Receipt:
        """更正 a member's registered name, phone, grid or unit (None: as it is)."""
        member = self.get_member(member_id)
        if grid_id is not None:
            self.read_community(member.community_id).check_grid(grid_id)
        if unit_id is not None:
            self.read_unit(unit_id)
        member.correct(reason, ctx, name=name, phone=phone, grid_id=grid_id, unit_id=unit_id)
        return self._done(member.id, member)

    # --- member codes (积分码) ---------------------------------------------------------

    @retried
    def issue_card(self, member_id: UUID, ctx: Context) -> IssuedCard:
        """A new card code (a lost card is replaced the same way): only its keyed
        hash is recorded, with a fresh reference for phone codes."""
        member = self.get_member(member_id)
        code = new_card_code()
        member.issue_card(hash_card_code(code, self._code_key), new_reference(), ctx)
        return IssuedCard(member.id, self._commit(member), code)

    def phone_code(self, member_id: UUID, *, now: datetime | None = None) -> PhoneCode:
        """A short-lived code for the member's phone; nothing is written."""
        reference = self.read_member(member_id).card_reference
        if reference is None:
            raise NoCard()
        return phone_code(reference, self._code_key, now or datetime.now(UTC))

    def read_code(self, code: str, *, now: datetime | None = None) -> CodeLookup:
        """What a scanned code points at, or ``UnknownCode``."""
        return read_code(code, self._code_key, now or datetime.now(UTC))

    @property
    def _code_key(self) -> bytes:
        return code_key(self.id_hash_key)

    # --- annual review ------------------------------------------------------------------

    def review_member(
        self,
        community_id: UUID,
        member_id: UUID,
        year: int,
        grade: Grade,
        comment: str,
        ctx: Context,
    ) -> Receipt:
        """年度评价: the community's grade of a reported party member living there."""
        AnnualReview.check_year(year)
        member = self.get_member(member_id)
        self.read_community(community_id)
        if member.community_id != community_id:
            raise NotResident(member_id=member_id, community_id=community_id)
        reason = None
        if member.kind is not MemberKind.PARTY_MEMBER:
            reason = "只评价在职党员"
        elif not member.reported:
            reason = "尚未向本社区报到"
        if reason:
            raise NotEligibleForReview(member_id=member_id, reason=reason)
        review = AnnualReview.create(
            member_id, year, community_id, member.unit_id, grade, comment, ctx=ctx
        )
        if self.exists(review.id):
            raise AlreadyReviewed(member_id=member_id, year=year)
        try:
            return self._done(review.id, review)
        except RecordConflictError:
            if self._applied_meanwhile():
                raise
            raise AlreadyReviewed(member_id=member_id, year=year) from None
