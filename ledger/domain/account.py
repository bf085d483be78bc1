"""积分账户: one per member, the spendable balance and, apart from it, the earned record.

Every movement names both sides (double entry). The member's side is this
aggregate; the other side is a system account (a community's issuance, a
store's redemption sink, the expiry sink) that carries no invariant and so is
not an aggregate: the projections prove that all accounts sum to zero.

Every movement carries ``value_at``, the moment it belongs to, beside ``timestamp``,
the moment it was recorded: an award (and the reversal of it) belongs to the moment
its service began (the check-in, whose day in China Standard Time is the award's
day: the day every period counts the service on and the year its lot is earned in);
a redemption or its cancellation to the moment it was made; an expiry to the moment
it was judged as of. Every "as of" and "in the period" read follows ``value_at``.

About 380 lines: the account's invariants (lots by year and community, the earned
record, expiry, reversal with shortfall) are one aggregate's and stay in one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import InsufficientPoints, InvalidInput, InvalidTransition
from ledger.domain.policy import Award, PointsPolicy
from ledger.domain.values import (
    CST,
    EXPIRY_ACCOUNT,
    ZERO,
    CategoryClass,
    Cause,
    CauseKind,
    Context,
    Lot,
    instant,
    issuance_account,
    local_date,
    member_account,
    now,
    stable_id,
    store_account,
)
from ledger.domain.work import Service

LotKey = tuple[int, UUID]


@dataclass(frozen=True)
class Earning:
    """What one service put on the account, kept so it can be reversed exactly."""

    community_id: UUID
    points: Decimal
    hours: Decimal
    day: date
    category_class: CategoryClass
    value_at: datetime


def legacy_value_at(state: dict[str, Any]) -> datetime:
    """The value date of a movement recorded before movements carried one (version 1).

    An award knew only its service's day: it belongs to that day, no later than it was
    recorded (never before its service began). An expiry belongs to its ``as_of``. A
    reversal, and the new award of a correction, belong to when they were recorded:
    a version 1 reversal cannot name the moment of the award it took back, so the
    corrected award counts from the correction, as the reversal does.
    """
    recorded: datetime = state["timestamp"]
    as_of: datetime | None = state.get("as_of")
    if as_of is not None:
        return as_of
    if "day" in state and state.get("correction_id") is None:
        next_day = datetime.combine(state["day"] + timedelta(days=1), time(), CST)
        return min(recorded, next_day - timedelta(microseconds=1))
    return recorded


class Account(LedgerAggregate):
    class Event(LedgerAggregate.Event):
        """An account's events. Version 2: every movement carries ``value_at``."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            if "amount" in state:  # a movement (the opening moves nothing)
                state["value_at"] = legacy_value_at(state)

    @staticmethod
    def create_id(member_id: UUID) -> UUID:
        return stable_id("account", member_id)

    @event("Opened")
    def __init__(self, member_id: UUID, ctx: Context) -> None:
        self.member_id = member_id
        self.balance = ZERO
        self.earned_points = ZERO
        self.earned_hours = ZERO
        self.lots: dict[LotKey, Decimal] = {}
        self.routine_hours: dict[date, Decimal] = {}
        self.earnings: dict[UUID, Earning] = {}
        self.reversed: set[UUID] = set()

    @property
    def name(self) -> str:
        return member_account(self.member_id)

    def routine_hours_on(self, day: date) -> Decimal:
        return self.routine_hours.get(day, ZERO)

    def _draw(self, amount: Decimal, first: LotKey | None = None) -> list[Lot]:
        """Which lots ``amount`` comes out of: ``first`` if given, then oldest first."""
        order = sorted(self.lots, key=lambda k: (k[0], str(k[1])))
        if first is not None and first in self.lots:
            order.remove(first)
            order.insert(0, first)
        drawn: list[Lot] = []
        left = amount
        for year, community_id in order:
            if left <= 0:
                break
            take = min(left, self.lots[(year, community_id)])
            if take > 0:
                drawn.append(Lot(year, community_id, take))
                left -= take
        return drawn

    def _apply_lots(self, lots: list[Lot], sign: int) -> None:
        for lot in lots:
            key = (lot.year, lot.community_id)
            self.lots[key] = self.lots.get(key, ZERO) + sign * lot.amount
            if self.lots[key] == 0:
                del self.lots[key]

    # --- credit for a rated service -------------------------------------------

    def credit(
        self,
        service_id: UUID,
        community_id: UUID,
        award: Award,
        value_at: datetime,
        ctx: Context,
        *,
        correction_id: UUID | None = None,
        approved_by: str | None = None,
    ) -> bool:
        """Put a service's award on the account; False if it earned nothing. A
        corrected award (``correction_id``) follows the reversal of the earlier one.
        ``value_at``: when the service began (its check-in), on the award's day."""
        if service_id in self.earnings and service_id not in self.reversed:
            raise InvalidTransition(state="已计分", action="重复计分")
        value_at = instant(value_at, "服务时间")
        if local_date(value_at) != award.day:  # the lot's year is the value date's
            raise InvalidInput(reason="计分的发生时间须在其服务当天(北京时间)")
        if award.points <= 0 and award.hours <= 0:
            return False
        self._credited(
            community_id=community_id,
            amount=award.points,
            hours=award.hours,
            day=award.day,
            category_class=award.category_class,
            from_account=issuance_account(community_id),
            to_account=self.name,
            cause=Cause(CauseKind.SERVICE, service_id),
            policy_version=award.policy_version,
            lots=[Lot(award.day.year, community_id, award.points)] if award.points > 0 else [],
            ctx=ctx,
            value_at=value_at,
            correction_id=correction_id,
            approved_by=approved_by,
        )
        return True

    @event("Credited")
    def _credited(
        self,
        community_id: UUID,
        amount: Decimal,
        hours: Decimal,
        day: date,
        category_class: CategoryClass,
        from_account: str,
        to_account: str,
        cause: Cause,
        policy_version: int,
        lots: list[Lot],
        ctx: Context,
        value_at: datetime,
        correction_id: UUID | None = None,
        approved_by: str | None = None,
    ) -> None:
        assert cause.id is not None
        self.reversed.discard(cause.id)
        self.balance += amount
        self.earned_points += amount
        self.earned_hours += hours
        self._apply_lots(lots, +1)
        if category_class is CategoryClass.ROUTINE:
            self.routine_hours[day] = self.routine_hours_on(day) + hours
        self.earnings[cause.id] = Earning(
            community_id, amount, hours, day, category_class, value_at
        )

    # --- redemption at a store ------------------------------------------------

    def check_funds(self, amount: Decimal) -> None:
        if amount > self.balance:
            raise InsufficientPoints(required=amount, available=self.balance)

    def debit(
        self,
        amount: Decimal,
        redemption_id: UUID,
        store_id: UUID,
        policy_version: int,
        ctx: Context,
    ) -> list[Lot]:
        self.check_funds(amount)
        lots = self._draw(amount)
        self._debited(
            amount=amount,
            from_account=self.name,
            to_account=store_account(store_id),
            cause=Cause(CauseKind.REDEMPTION, redemption_id),
            policy_version=policy_version,
            lots=lots,
            ctx=ctx,
            value_at=now(),
        )
        return lots

    @event("Debited")
    def _debited(
        self,
        amount: Decimal,
        from_account: str,
        to_account: str,
        cause: Cause,
        policy_version: int,
        lots: list[Lot],
        ctx: Context,
        value_at: datetime,
    ) -> None:
        self.balance -= amount
        self._apply_lots(lots, -1)

    def refund(
        self,
        amount: Decimal,
        lots: list[Lot],
        redemption_id: UUID,
        store_id: UUID,
        policy_version: int,
        ctx: Context,
    ) -> None:
        """A cancelled redemption puts the points back into the lots they came from."""
        self._refunded(
            amount=amount,
            from_account=store_account(store_id),
            to_account=self.name,
            cause=Cause(CauseKind.REDEMPTION_CANCELLED, redemption_id),
            policy_version=policy_version,
            lots=lots,
            ctx=ctx,
            value_at=now(),
        )

    @event("Refunded")
    def _refunded(
        self,
        amount: Decimal,
        from_account: str,
        to_account: str,
        cause: Cause,
        policy_version: int,
        lots: list[Lot],
        ctx: Context,
        value_at: datetime,
    ) -> None:
        self.balance += amount
        self._apply_lots(lots, +1)

    # --- reversal of a wrong award --------------------------------------------

    def reverse(
        self,
        service_id: UUID,
        reason: str,
        approved_by: str,
        policy_version: int,
        ctx: Context,
        *,
        correction_id: UUID | None = None,
    ) -> None:
        """Take back what a service earned (``correction_id``: to award it anew); the
        reversal belongs to the moment of the award it takes back.

        The earned record loses the whole award. The spendable balance never goes
        below zero: what was already spent is recorded as ``shortfall``.
        """
        reason, approved_by = Service.check_reversal(reason, approved_by)
        earning = self.earnings.get(service_id)
        if earning is None or service_id in self.reversed:
            raise InvalidTransition(state="无可冲正的积分", action="冲正")
        collected = min(earning.points, self.balance)
        lots = self._draw(collected, first=(earning.day.year, earning.community_id))
        self._reversed(
            amount=collected,
            shortfall=earning.points - collected,
            points_revoked=earning.points,
            hours_revoked=earning.hours,
            reason=reason,
            approved_by=approved_by,
            from_account=self.name,
            to_account=issuance_account(earning.community_id),
            cause=Cause(CauseKind.REVERSAL, service_id),
            policy_version=policy_version,
            lots=lots,
            ctx=ctx,
            value_at=earning.value_at,
            correction_id=correction_id,
        )

    @event("Reversed")
    def _reversed(
        self,
        amount: Decimal,
        shortfall: Decimal,
        points_revoked: Decimal,
        hours_revoked: Decimal,
        reason: str,
        approved_by: str,
        from_account: str,
        to_account: str,
        cause: Cause,
        policy_version: int,
        lots: list[Lot],
        ctx: Context,
        value_at: datetime,
        correction_id: UUID | None = None,
    ) -> None:
        assert cause.id is not None
        earning = self.earnings[cause.id]
        self.balance -= amount
        self.earned_points -= points_revoked
        self.earned_hours -= hours_revoked
        self._apply_lots(lots, -1)
        if earning.category_class is CategoryClass.ROUTINE:
            self.routine_hours[earning.day] = self.routine_hours_on(earning.day) - hours_revoked
        self.reversed.add(cause.id)

    # --- expiry ---------------------------------------------------------------

    def due_lots(self, as_of: datetime, policy: PointsPolicy) -> list[Lot]:
        """Lots whose points expired by ``as_of`` under the rule book (CST years)."""
        year_now = as_of.astimezone(CST).year
        return [
            Lot(year, community_id, amount)
            for (year, community_id), amount in sorted(
                self.lots.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))
            )
            if policy.expires_after_year(year) < year_now and amount > 0
        ]

    def expire(self, as_of: datetime, policy: PointsPolicy, ctx: Context) -> bool:
        """Expire every due lot; False when nothing was due (so a rerun moves nothing)."""
        as_of = instant(as_of, "过期计算时间")
        lots = self.due_lots(as_of, policy)
        if not lots:
            return False
        self._expired(
            amount=sum((lot.amount for lot in lots), ZERO),
            as_of=as_of,
            from_account=self.name,
            to_account=EXPIRY_ACCOUNT,
            cause=Cause(CauseKind.EXPIRY),
            policy_version=policy.version,
            lots=lots,
            ctx=ctx,
            value_at=as_of,
        )
        return True

    @event("Expired")
    def _expired(
        self,
        amount: Decimal,
        as_of: datetime,
        from_account: str,
        to_account: str,
        cause: Cause,
        policy_version: int,
        lots: list[Lot],
        ctx: Context,
        value_at: datetime,
    ) -> None:
        self.balance -= amount
        self._apply_lots(lots, -1)
