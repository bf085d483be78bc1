"""Member totals: balance, the earned record by year and difficulty, ratings, reporting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.domain.account import Account
from ledger.domain.member import Member
from ledger.domain.rulebook import RuleBook
from ledger.domain.values import CategoryClass, Rating, member_of
from ledger.domain.work import Service
from projections.base import ReadModel, Row, Table, event_class

ZERO = Decimal(0)
CLASSES = tuple(c.value for c in CategoryClass)

MEMBER_TOTALS = Table(
    "member_totals",
    (
        ("member_id", "uuid"),
        ("name", "text"),
        ("kind", "text"),
        ("unit_id", "uuid"),
        ("community_id", "uuid"),
        ("grid_id", "uuid"),
        ("reported_on", "date"),
        ("recorded_balance", "numeric"),
        ("earned_points", "numeric"),
        ("earned_hours", "numeric"),
        ("services", "integer"),
        ("excellent", "integer"),
        ("good", "integer"),
        ("fair", "integer"),
        ("last_service_at", "timestamptz"),
    ),
    key=("member_id",),
    indexes=(("community_id", "member_id"), ("unit_id", "member_id")),
)
MEMBER_YEARS = Table(
    "member_years",
    (
        ("member_id", "uuid"),
        ("year", "integer"),
        ("services", "integer"),
        ("hours", "numeric"),
        ("points", "numeric"),
        *((f"{c}_hours", "numeric") for c in CLASSES),
        *((f"{c}_points", "numeric") for c in CLASSES),
    ),
    key=("member_id", "year"),
)
MEMBER_SERVICES = Table(
    "member_services",
    (
        ("service_id", "uuid"),
        ("member_id", "uuid"),
        ("checked_out_at", "timestamptz"),
        ("rating", "text"),
        ("year", "integer"),
        ("category_class", "text"),
        ("hours", "numeric"),
        ("points", "numeric"),
    ),
    key=("service_id",),
)
MEMBER_CODES = Table(
    "member_codes",
    (("member_id", "uuid"), ("code_hash", "text"), ("reference", "text")),
    key=("member_id",),
    indexes=(("code_hash",), ("reference",)),
)
"""Each member's current card (积分卡): the keyed hash of its code and the reference
its phone codes carry; a new card replaces the row, so an old code finds nothing."""
MEMBER_LOTS = Table(
    "member_lots",
    (("member_id", "uuid"), ("year", "integer"), ("amount", "numeric")),
    key=("member_id", "year"),
)
"""What each member holds of the points earned in each year: a reader subtracts the
years already due to expire, so a balance is what is spendable now even before the
expiry run records it."""
MEMBER_POLICY = Table(
    "member_policy",
    (
        ("id", "integer"),
        ("version", "integer"),
        ("annual_floor_hours", "numeric"),
        ("expiry_years_after", "integer"),
    ),
    key=("id",),
)
RATING_COLUMNS = {
    Rating.EXCELLENT.name: "excellent",
    Rating.GOOD.name: "good",
    Rating.FAIR.name: "fair",
}


class MemberTotals(ReadModel):
    """A service counts in a member's services and ratings only if it earned hours."""

    name = "member_totals"
    version = 4  # 3: a service that earned no hours is not counted as one; 4: lots by year
    tables = (
        MEMBER_TOTALS,
        MEMBER_YEARS,
        MEMBER_SERVICES,
        MEMBER_CODES,
        MEMBER_LOTS,
        MEMBER_POLICY,
    )

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {
            event_class(Member, "Registered"): "on_registered",
            event_class(Member, "Reported"): "on_reported",
            event_class(Member, "UnitChanged"): "on_unit_changed",
            event_class(Member, "Corrected"): "on_corrected",
            event_class(Member, "Moved"): "on_moved",
            event_class(Member, "CardIssued"): "on_card_issued",
            event_class(Service, "Claimed"): "on_claimed",
            event_class(Service, "CheckedOut"): "on_checked_out",
            event_class(Service, "Rated"): "on_rated",
            event_class(Service, "Reversed"): "on_service_reversed",
            event_class(Account, "Credited"): "on_credited",
            event_class(Account, "Debited"): "on_debited",
            event_class(Account, "Refunded"): "on_refunded",
            event_class(Account, "Reversed"): "on_account_reversed",
            event_class(Account, "Expired"): "on_debited",
            event_class(RuleBook, "Published"): "on_policy",
        }

    def _member(self, member_id: UUID | None) -> Row:
        row = self.rows["member_totals"].get(member_id)
        assert row is not None, member_id
        self.rows["member_totals"].changed(row)
        return row

    def _year(self, member_id: UUID, year: int) -> Row:
        years = self.rows["member_years"]
        row = years.get(member_id, year)
        if row is None:
            row = years.put(
                {"member_id": member_id, "year": year, "services": 0, "hours": ZERO, "points": ZERO}
                | {f"{c}_{m}": ZERO for c in CLASSES for m in ("hours", "points")}
            )
        years.changed(row)
        return row

    def on_registered(self, event: Any, member_id: UUID, _: int) -> None:
        self.rows["member_totals"].put(
            {
                "member_id": member_id,
                "name": event.name,
                "kind": event.kind.name,
                "unit_id": event.unit_id,
                "community_id": event.community_id,
                "grid_id": event.grid_id,
                "reported_on": None,
                "recorded_balance": ZERO,
                "earned_points": ZERO,
                "earned_hours": ZERO,
                "services": 0,
                "excellent": 0,
                "good": 0,
                "fair": 0,
                "last_service_at": None,
            }
        )

    def on_reported(self, event: Any, member_id: UUID, _: int) -> None:
        self._member(member_id)["reported_on"] = event.on

    def on_unit_changed(self, event: Any, member_id: UUID, _: int) -> None:
        self._member(member_id)["unit_id"] = event.unit_id

    def on_corrected(self, event: Any, member_id: UUID, _: int) -> None:
        self._member(member_id).update(
            name=event.name, unit_id=event.unit_id, grid_id=event.grid_id
        )

    def on_moved(self, event: Any, member_id: UUID, _: int) -> None:
        row = self._member(member_id)
        if row["community_id"] != event.community_id:
            row["reported_on"] = None
        row["community_id"], row["grid_id"] = event.community_id, event.grid_id

    def on_card_issued(self, event: Any, member_id: UUID, _: int) -> None:
        codes = self.rows["member_codes"]
        codes.get(member_id)  # known or not: an upsert or a new row
        codes.put(
            {"member_id": member_id, "code_hash": event.card_hash, "reference": event.reference}
        )

    def on_claimed(self, event: Any, service_id: UUID, _: int) -> None:
        self.rows["member_services"].put(
            {
                "service_id": service_id,
                "member_id": event.member_id,
                "checked_out_at": None,
                "rating": None,
                "year": None,
                "category_class": None,
                "hours": None,
                "points": None,
            }
        )

    def _service(self, service_id: UUID) -> Row:
        row = self.rows["member_services"].get(service_id)
        assert row is not None, service_id
        self.rows["member_services"].changed(row)
        return row

    def on_checked_out(self, event: Any, service_id: UUID, _: int) -> None:
        self._service(service_id)["checked_out_at"] = event.at

    def on_rated(self, event: Any, service_id: UUID, _: int) -> None:
        service, award = self._service(service_id), event.award
        cls = award.category_class.value
        service.update(
            rating=event.rating.name,
            year=award.day.year,
            category_class=cls,
            hours=award.hours,
            points=award.points,
        )
        member = self._member(service["member_id"])
        counted = award.hours > 0
        member["services"] += counted
        member[RATING_COLUMNS[event.rating.name]] += counted
        if counted and (
            member["last_service_at"] is None
            or service["checked_out_at"] > member["last_service_at"]
        ):
            member["last_service_at"] = service["checked_out_at"]
        self._add_to_year(service, +1)

    def on_service_reversed(self, _: Any, service_id: UUID, __: int) -> None:
        service = self._service(service_id)
        member = self._member(service["member_id"])
        counted = service["hours"] > 0
        member["services"] -= counted
        member[RATING_COLUMNS[service["rating"]]] -= counted
        self._add_to_year(service, -1)

    def _add_to_year(self, service: Row, sign: int) -> None:
        year = self._year(service["member_id"], service["year"])
        cls = service["category_class"]
        year["services"] += sign * (service["hours"] > 0)
        year["hours"] += sign * service["hours"]
        year["points"] += sign * service["points"]
        year[f"{cls}_hours"] += sign * service["hours"]
        year[f"{cls}_points"] += sign * service["points"]

    def _lots(self, member_id: UUID, lots: Any, sign: int) -> None:
        table = self.rows["member_lots"]
        for lot in lots:
            row = table.get(member_id, lot.year)
            if row is None:
                row = table.put({"member_id": member_id, "year": lot.year, "amount": ZERO})
            table.changed(row)
            row["amount"] += sign * lot.amount

    def on_credited(self, event: Any, _: UUID, __: int) -> None:
        member = self._member(member_of(event.to_account))
        member["recorded_balance"] += event.amount
        member["earned_points"] += event.amount
        member["earned_hours"] += event.hours
        self._lots(member["member_id"], event.lots, +1)

    def on_debited(self, event: Any, _: UUID, __: int) -> None:
        member = self._member(member_of(event.from_account))
        member["recorded_balance"] -= event.amount
        self._lots(member["member_id"], event.lots, -1)

    def on_refunded(self, event: Any, _: UUID, __: int) -> None:
        member = self._member(member_of(event.to_account))
        member["recorded_balance"] += event.amount
        self._lots(member["member_id"], event.lots, +1)

    def on_account_reversed(self, event: Any, _: UUID, __: int) -> None:
        member = self._member(member_of(event.from_account))
        member["recorded_balance"] -= event.amount
        member["earned_points"] -= event.points_revoked
        member["earned_hours"] -= event.hours_revoked
        self._lots(member["member_id"], event.lots, -1)

    def on_policy(self, event: Any, _: UUID, __: int) -> None:
        if event.policy.get("community_id") is not None:
            return  # a community's own multipliers: the street's book rules the rest
        self.rows["member_policy"].put(
            {
                "id": 1,
                "version": int(event.policy["version"]),
                "annual_floor_hours": Decimal(event.policy["annual_floor_hours"]),
                "expiry_years_after": int(event.policy["expiry_years_after"]),
            }
        )
