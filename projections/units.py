"""Unit rankings: what each unit's members did, by year, quarter and month.

A service counts for the unit the member belonged to when it was rated,
wherever it happened (one unit, many communities; one community, many units).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.domain.member import Member
from ledger.domain.organisation import Community, Unit
from ledger.domain.policy import PointsPolicy
from ledger.domain.rulebook import RuleBook
from ledger.domain.values import CST, CategoryClass, Rating
from ledger.domain.work import Service
from projections.base import ReadModel, Row, Table, ViewRecorder, event_class
from projections.queries.units import (
    ALL_UNITS,
    STANDING_COLUMNS,
    keep_ranking_parameters,
    keep_ranking_sql,
)

ZERO = Decimal(0)
DEFAULT_FLOOR = PointsPolicy().annual_floor_hours
"""The rule book's floor until a published version says otherwise."""
RATING_SCORE = {Rating.EXCELLENT.name: 3, Rating.GOOD.name: 2, Rating.FAIR.name: 1}
"""Average rating is on a three-point scale: 很好 3, 好 2, 一般 1."""

UNITS = Table(
    "ranking_units",
    (
        ("unit_id", "uuid"),
        ("name", "text"),
        ("kind", "text"),
        ("members", "integer"),
        ("reported", "integer"),
    ),
    key=("unit_id",),
)
PAIRS = Table(
    "ranking_pairs",
    (("unit_id", "uuid"), ("community_id", "uuid")),
    key=("unit_id", "community_id"),
    indexes=(("community_id",),),
)
UNIT_MEMBERS = Table(
    "ranking_members",
    (("member_id", "uuid"), ("unit_id", "uuid"), ("community_id", "uuid"), ("reported", "boolean")),
    key=("member_id",),
)
UNIT_SERVICES = Table(
    "ranking_services",
    (
        ("service_id", "uuid"),
        ("member_id", "uuid"),
        ("unit_id", "uuid"),
        ("day", "date"),
        ("hours", "numeric"),
        ("points", "numeric"),
        ("hard", "boolean"),
        ("rating", "text"),
    ),
    key=("service_id",),
)
UNIT_PERIODS = Table(
    "ranking_periods",
    (
        ("unit_id", "uuid"),
        ("period", "text"),
        ("services", "integer"),
        ("hours", "numeric"),
        ("points", "numeric"),
        ("hard_services", "integer"),
        ("rating_total", "integer"),
        ("served", "integer"),
        ("at_floor", "integer"),
    ),
    key=("unit_id", "period"),
    indexes=(("period",),),
)
UNIT_MEMBER_PERIODS = Table(
    "ranking_member_periods",
    (
        ("unit_id", "uuid"),
        ("period", "text"),
        ("member_id", "uuid"),
        ("services", "integer"),
        ("hours", "numeric"),
        ("points", "numeric"),
    ),
    key=("unit_id", "period", "member_id"),
)
PEOPLE_PERIODS = Table(
    "ranking_people_periods",
    (
        ("member_id", "uuid"),
        ("period", "text"),
        ("services", "integer"),
        ("hours", "numeric"),
        ("points", "numeric"),
        ("hard_services", "integer"),
        ("rating_total", "integer"),
    ),
    key=("member_id", "period"),
    indexes=(("period",),),
)
"""Every member's service by period, unit or not: what member rankings read."""
COMMUNITIES = Table(
    "ranking_communities",
    (("community_id", "uuid"), ("street_id", "uuid")),
    key=("community_id",),
)
POLICY = Table(
    "ranking_policy",
    (
        ("id", "integer"),
        ("version", "integer"),
        ("annual_floor_hours", "numeric"),
        ("weights", "jsonb"),
    ),
    key=("id",),
)
STANDINGS = Table(
    "ranking_standings",
    (("period", "text"), ("scope", "uuid"), *STANDING_COLUMNS),
    key=("period", "scope", "position"),
)
"""The composite ranking of the current year, quarter and month, kept whole for every
scope (``ALL_UNITS``: every unit; a community's id: the units paired with it) as it
changes: a page of it is read by position, not worked out over every unit."""
STANDING_SETS = Table(
    "ranking_standing_sets", (("period", "text"), ("scope", "uuid")), key=("period", "scope")
)
"""The rankings kept: any other is worked out by its statement when asked for."""


def periods(day: date) -> tuple[str, str, str]:
    """The year, quarter and month a service falls in (its CST day)."""
    return (
        f"{day.year}",
        f"{day.year}-Q{(day.month - 1) // 3 + 1}",
        f"{day.year}-{day.month:02d}",
    )


def _add(totals: Row, service: Row, sign: int) -> None:
    """A service counts in services, hard share and average rating only if it earned
    hours: signing in and leaving is no service."""
    counted = sign * (service["hours"] > 0)
    totals["services"] += counted
    totals["hours"] += sign * service["hours"]
    totals["points"] += sign * service["points"]
    totals["hard_services"] += counted * service["hard"]
    totals["rating_total"] += counted * RATING_SCORE[service["rating"]]


class UnitRankings(ReadModel):
    """Counts are kept per unit and period as events arrive, so that a ranking reads a
    row per unit: members and reports, members who served (credited hours > 0) and,
    for a year, members at the annual floor of the rule book in force."""

    name = "unit_rankings"
    version = 4  # 4: the current periods' composite rankings kept (3: members ranked)
    tables = (
        UNITS,
        PAIRS,
        UNIT_MEMBERS,
        UNIT_SERVICES,
        UNIT_PERIODS,
        UNIT_MEMBER_PERIODS,
        PEOPLE_PERIODS,
        COMMUNITIES,
        POLICY,
        STANDINGS,
        STANDING_SETS,
    )

    def __init__(self, view: ViewRecorder, *, empty: bool = False) -> None:
        super().__init__(view, empty=empty)
        self._filling = empty  # a new generation: rankings are kept once it is filled
        self._kept: tuple[str, ...] | None = None
        """The periods whose rankings this process keeps up to date (None: none yet)."""
        self._moved: set[tuple[str | None, UUID]] = set()
        """Units whose figures changed in the batch, by period (None: in every period)."""
        self._paired: set[UUID] = set()  # communities whose units changed
        self._reweighed = False  # the street's rule book changed: every ranking moves

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {
            event_class(Unit, "Registered"): "on_unit",
            event_class(Unit, "Paired"): "on_paired",
            event_class(Community, "Registered"): "on_community",
            event_class(Member, "Registered"): "on_member",
            event_class(Member, "UnitChanged"): "on_unit_changed",
            event_class(Member, "Corrected"): "on_unit_changed",
            event_class(Member, "Reported"): "on_reported",
            event_class(Member, "Moved"): "on_moved",
            event_class(Service, "Claimed"): "on_claimed",
            event_class(Service, "Rated"): "on_rated",
            event_class(Service, "Reversed"): "on_reversed",
            event_class(RuleBook, "Published"): "on_policy",
        }

    def on_unit(self, event: Any, unit_id: UUID, _: int) -> None:
        self._moved.add((None, unit_id))
        self.rows["ranking_units"].put(
            {
                "unit_id": unit_id,
                "name": event.name,
                "kind": event.kind.name,
                "members": 0,
                "reported": 0,
            }
        )

    def on_community(self, event: Any, community_id: UUID, _: int) -> None:
        self.rows["ranking_communities"].put(
            {"community_id": community_id, "street_id": event.street_id}
        )

    def on_paired(self, event: Any, unit_id: UUID, _: int) -> None:
        self._paired.add(event.community_id)
        self.rows["ranking_pairs"].put({"unit_id": unit_id, "community_id": event.community_id})

    def _member(self, member_id: UUID) -> Row:
        rows = self.rows["ranking_members"]
        row = rows.get(member_id)
        assert row is not None, member_id
        rows.changed(row)
        return row

    def _unit_counts(self, member: Row, sign: int) -> None:
        if member["unit_id"] is None:
            return
        unit = self.rows["ranking_units"].get(member["unit_id"])
        assert unit is not None
        self._moved.add((None, member["unit_id"]))
        unit["members"] += sign
        unit["reported"] += sign * member["reported"]
        self.rows["ranking_units"].changed(unit)

    def on_member(self, event: Any, member_id: UUID, _: int) -> None:
        member = self.rows["ranking_members"].put(
            {
                "member_id": member_id,
                "unit_id": event.unit_id,
                "community_id": event.community_id,
                "reported": False,
            }
        )
        self._unit_counts(member, +1)

    def on_unit_changed(self, event: Any, member_id: UUID, _: int) -> None:
        member = self._member(member_id)
        self._unit_counts(member, -1)
        member["unit_id"] = event.unit_id
        self._unit_counts(member, +1)

    def on_reported(self, _: Any, member_id: UUID, __: int) -> None:
        member = self._member(member_id)
        self._unit_counts(member, -1)
        member["reported"] = True
        self._unit_counts(member, +1)

    def on_moved(self, event: Any, member_id: UUID, _: int) -> None:
        member = self._member(member_id)
        if member["community_id"] != event.community_id:  # reports anew where they now live
            self._unit_counts(member, -1)
            member["community_id"], member["reported"] = event.community_id, False
            self._unit_counts(member, +1)

    def on_claimed(self, event: Any, service_id: UUID, _: int) -> None:
        self.rows["ranking_services"].put(
            {
                "service_id": service_id,
                "member_id": event.member_id,
                "unit_id": None,
                "day": None,
                "hours": None,
                "points": None,
                "hard": None,
                "rating": None,
            }
        )

    def on_rated(self, event: Any, service_id: UUID, _: int) -> None:
        services = self.rows["ranking_services"]
        service = services.get(service_id)
        assert service is not None
        unit_id = self._member(service["member_id"])["unit_id"]
        award = event.award
        service.update(
            unit_id=unit_id,
            day=award.day,
            hours=award.hours,
            points=award.points,
            hard=award.category_class is CategoryClass.HARD,
            rating=event.rating.name,
        )
        services.changed(service)
        self._count(service, +1)

    def on_reversed(self, _: Any, service_id: UUID, __: int) -> None:
        service = self.rows["ranking_services"].get(service_id)
        assert service is not None
        self._count(service, -1)

    def _count(self, service: Row, sign: int) -> None:
        self._count_person(service, sign)
        unit_id = service["unit_id"]
        if unit_id is None:
            return  # a resident or volunteer with no unit
        totals, members = self.rows["ranking_periods"], self.rows["ranking_member_periods"]
        policy = self.rows["ranking_policy"].get(1)
        floor = policy["annual_floor_hours"] if policy else DEFAULT_FLOOR
        for period in periods(service["day"]):
            self._moved.add((period, unit_id))
            row = totals.get(unit_id, period) or totals.put(
                {
                    "unit_id": unit_id,
                    "period": period,
                    "services": 0,
                    "hours": ZERO,
                    "points": ZERO,
                    "hard_services": 0,
                    "rating_total": 0,
                    "served": 0,
                    "at_floor": 0,
                }
            )
            member = members.get(unit_id, period, service["member_id"]) or members.put(
                {
                    "unit_id": unit_id,
                    "period": period,
                    "member_id": service["member_id"],
                    "services": 0,
                    "hours": ZERO,
                    "points": ZERO,
                }
            )
            before = member["hours"]
            member["services"] += sign * (service["hours"] > 0)
            member["hours"] += sign * service["hours"]
            member["points"] += sign * service["points"]
            members.changed(member)
            _add(row, service, sign)
            row["served"] += (member["hours"] > 0) - (before > 0)
            if len(period) == 4:
                row["at_floor"] += (member["hours"] >= floor) - (before >= floor)
            totals.changed(row)

    def _count_person(self, service: Row, sign: int) -> None:
        people = self.rows["ranking_people_periods"]
        for period in periods(service["day"]):
            row = people.get(service["member_id"], period) or people.put(
                {
                    "member_id": service["member_id"],
                    "period": period,
                    "services": 0,
                    "hours": ZERO,
                    "points": ZERO,
                    "hard_services": 0,
                    "rating_total": 0,
                }
            )
            _add(row, service, sign)
            people.changed(row)

    def on_policy(self, event: Any, _: UUID, __: int) -> None:
        if event.policy.get("community_id") is not None:
            return  # a community's own multipliers: the street's book rules the rest
        self._reweighed = True
        self.rows["ranking_policy"].put(
            {
                "id": 1,
                "version": int(event.policy["version"]),
                "annual_floor_hours": Decimal(event.policy["annual_floor_hours"]),
                "weights": json.dumps(event.policy.get("ranking_weights", {})),
            }
        )

    # The kept rankings (``STANDINGS``): each batch keeps those its events moved, in
    # its own transaction, so what is kept is always whole for the periods it names. They
    # are all kept anew when a new year, quarter or month begins (found by a process
    # starting to follow, too), when the rule book changes, and when a new generation is
    # filled.

    def _flush(self, curs: Cursor[DictRow]) -> None:
        super()._flush(curs)
        if not self._filling:
            self._keep_rankings(curs)
        self._forget_moves()

    def forget(self) -> None:
        super().forget()
        self._forget_moves()

    def filled(self) -> None:
        self._filling = False
        self._forget_moves()
        with self.view.datastore.transaction(commit=True) as curs:
            self._keep_rankings(curs)

    def idle(self) -> None:
        if not self._filling and self._kept != _current_periods():
            with self.view.datastore.transaction(commit=True) as curs:
                self._keep_rankings(curs)

    def _forget_moves(self) -> None:
        self._moved, self._paired, self._reweighed = set(), set(), False

    @functools.cached_property
    def _keeping(self) -> _Keeping:
        return _Keeping.over({table.name: self.view.physical(table) for table in self.tables})

    def _keep_rankings(self, curs: Cursor[DictRow]) -> None:
        current, sql = _current_periods(), self._keeping
        if self._kept is None:  # what is kept is as its last batch left it: whole
            before = {row["period"] for row in curs.execute(sql.kept_periods)}
            self._kept = current if before == set(current) else None
        if self._kept != current or self._reweighed:
            curs.execute(sql.forget_all)
            scopes = {ALL_UNITS} | {row["community_id"] for row in curs.execute(sql.communities)}
            kept = {(period, scope) for period in current for scope in scopes}
        else:
            kept = self._moved_rankings(curs, current)
            for ranking in kept:
                curs.execute(sql.forget, ranking)
        for period, scope in sorted(kept):
            curs.execute(sql.mark, (period, scope))
            curs.execute(sql.keep, keep_ranking_parameters(period, scope))
        self._kept = current

    def _moved_rankings(self, curs: Cursor[DictRow], current: tuple[str, ...]) -> set[Kept]:
        """The (period, scope) rankings of the current periods that the batch moved."""
        kept = {(period, community) for period in current for community in self._paired}
        units: dict[UUID, set[str]] = {}
        for period, unit_id in self._moved:
            if period is None or period in current:
                units.setdefault(unit_id, set()).update(current if period is None else {period})
        for moved in units.values():
            kept.update((period, ALL_UNITS) for period in moved)
        if units:
            for row in curs.execute(self._keeping.pairs_of, (list(units),)).fetchall():
                kept.update((period, row["community_id"]) for period in units[row["unit_id"]])
        return kept


Kept = tuple[str, UUID]
"""A kept ranking: its period and its scope."""


@dataclass(frozen=True)
class _Keeping:
    """The statements that keep rankings, over one generation's tables (made once)."""

    kept_periods: Composed
    forget_all: Composed
    communities: Composed
    pairs_of: Composed
    forget: Composed
    mark: Composed
    keep: str

    @classmethod
    def over(cls, names: dict[str, str]) -> _Keeping:
        standings, sets, pairs = (
            Identifier(names[table.name]) for table in (STANDINGS, STANDING_SETS, PAIRS)
        )
        return cls(
            kept_periods=SQL("SELECT DISTINCT period FROM {}").format(sets),
            forget_all=SQL("DELETE FROM {}; DELETE FROM {}").format(standings, sets),
            communities=SQL("SELECT DISTINCT community_id FROM {}").format(pairs),
            pairs_of=SQL("SELECT unit_id, community_id FROM {} WHERE unit_id = ANY(%s)").format(
                pairs
            ),
            forget=SQL("DELETE FROM {} WHERE period = %s AND scope = %s").format(standings),
            mark=SQL(
                "INSERT INTO {} (period, scope) VALUES (%s, %s) ON CONFLICT DO NOTHING"
            ).format(sets),
            keep=keep_ranking_sql(names.__getitem__),
        )


def _current_periods() -> tuple[str, ...]:
    """The year, quarter and month of today (China Standard Time)."""
    return periods(datetime.now(CST).date())
