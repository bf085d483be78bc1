"""Evidence dossiers for honours selection (评先评优): every service a member did in a
year, traceable to its events, the annual review, and the member's standing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.domain.member import Member, mask_name
from ledger.domain.organisation import Community, Unit
from ledger.domain.review import AnnualReview
from ledger.domain.work import Service, Task
from projections.base import ReadModel, Row, Table, event_class

PEOPLE = Table(
    "dossier_people",
    (
        ("member_id", "uuid"),
        ("name_masked", "text"),
        ("kind", "text"),
        ("unit_id", "uuid"),
        ("community_id", "uuid"),
        ("reported_on", "date"),
        ("years", "text"),
    ),
    key=("member_id",),
    indexes=(("unit_id",), ("community_id",)),
)
"""``years``: the years the member has a row of ``dossier_years`` for ("2025,2026")."""
YEARS = Table(
    "dossier_years",
    (
        ("member_id", "uuid"),
        ("year", "integer"),
        ("unit_id", "uuid"),
        ("community_id", "uuid"),
        ("points", "numeric"),
        ("hours", "numeric"),
    ),
    key=("member_id", "year"),
    indexes=(
        ("unit_id", "year", "points", "hours"),
        ("community_id", "year", "points", "hours"),
    ),
)
"""A member's counted points and hours of a year, filed under their present unit and
community: a standing is a count over an index range, not a sum over every peer."""
NAMES = Table("dossier_names", (("id", "uuid"), ("name", "text")), key=("id",))
TASKS = Table(
    "dossier_tasks",
    (("task_id", "uuid"), ("title", "text"), ("category", "text")),
    key=("task_id",),
)
SERVICES = Table(
    "dossier_services",
    (
        ("service_id", "uuid"),
        ("member_id", "uuid"),
        ("task_id", "uuid"),
        ("community_id", "uuid"),
        ("claimed_position", "bigint"),
        ("checked_in_at", "timestamptz"),
        ("checked_out_at", "timestamptz"),
        ("check_in_entered_by", "text"),
        ("check_out_entered_by", "text"),
        ("confirmed_by", "text"),
        ("confirmed_role", "text"),
        ("year", "integer"),
        ("day", "date"),
        ("hours", "numeric"),
        ("points", "numeric"),
        ("rating", "text"),
        ("rated_by", "text"),
        ("rated_role", "text"),
        ("policy_version", "integer"),
        ("rated_position", "bigint"),
        ("reversed_position", "bigint"),
        ("reversal_reason", "text"),
        ("corrections", "integer"),
        ("corrected_position", "bigint"),
        ("correction_reason", "text"),
        ("correction_approved_by", "text"),
    ),
    key=("service_id",),
    indexes=(("member_id", "year"),),
)
REVIEWS = Table(
    "dossier_reviews",
    (
        ("member_id", "uuid"),
        ("year", "integer"),
        ("community_id", "uuid"),
        ("grade", "text"),
        ("comment", "text"),
        ("reviewed_by", "text"),
        ("reviewed_role", "text"),
        ("position", "bigint"),
    ),
    key=("member_id", "year"),
)


class Dossiers(ReadModel):
    name = "dossiers"
    version = 5  # 2: who entered a time from a paper sheet; corrections; 3: years; 4: roles;
    # 5: task edits
    tables = (PEOPLE, NAMES, TASKS, SERVICES, REVIEWS, YEARS)

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {
            event_class(Unit, "Registered"): "on_named",
            event_class(Community, "Registered"): "on_named",
            event_class(Member, "Registered"): "on_member",
            event_class(Member, "Reported"): "on_reported",
            event_class(Member, "UnitChanged"): "on_unit_changed",
            event_class(Member, "Corrected"): "on_corrected",
            event_class(Member, "Moved"): "on_moved",
            event_class(Task, "Published"): "on_task",
            event_class(Task, "Edited"): "on_task",
            event_class(Service, "Claimed"): "on_claimed",
            event_class(Service, "CheckedIn"): "on_checked_in",
            event_class(Service, "CheckedOut"): "on_checked_out",
            event_class(Service, "Confirmed"): "on_confirmed",
            event_class(Service, "Rated"): "on_rated",
            event_class(Service, "Reversed"): "on_reversed",
            event_class(AnnualReview, "Given"): "on_review",
        }

    def _row(self, table: str, *key: Any) -> Row:
        row = self.rows[table].get(*key)
        assert row is not None, (table, key)
        self.rows[table].changed(row)
        return row

    def on_named(self, event: Any, id_: UUID, _: int) -> None:
        self.rows["dossier_names"].put({"id": id_, "name": event.name})

    def on_member(self, event: Any, member_id: UUID, _: int) -> None:
        self.rows["dossier_people"].put(
            {
                "member_id": member_id,
                "name_masked": mask_name(event.name),
                "kind": event.kind.name,
                "unit_id": event.unit_id,
                "community_id": event.community_id,
                "reported_on": None,
                "years": "",
            }
        )

    def _file_years(self, member_id: UUID) -> None:
        """File the member's years under their present unit and community."""
        person = self._row("dossier_people", member_id)
        for year in filter(None, person["years"].split(",")):
            self._row("dossier_years", member_id, int(year)).update(
                unit_id=person["unit_id"], community_id=person["community_id"]
            )

    def _count(self, service: Row, sign: int) -> None:
        """Add (or take away) a counted service's points and hours to its member's year."""
        if service["rated_position"] is None or service["reversed_position"] is not None:
            return
        member_id, year = service["member_id"], service["year"]
        years = self.rows["dossier_years"]
        row = years.get(member_id, year)
        if row is None:
            person = self._row("dossier_people", member_id)
            person["years"] = ",".join(filter(None, (person["years"], str(year))))
            row = years.put(
                {
                    "member_id": member_id,
                    "year": year,
                    "unit_id": person["unit_id"],
                    "community_id": person["community_id"],
                    "points": 0,
                    "hours": 0,
                }
            )
        years.changed(row)
        row["points"] += sign * service["points"]
        row["hours"] += sign * service["hours"]

    def on_reported(self, event: Any, member_id: UUID, _: int) -> None:
        self._row("dossier_people", member_id)["reported_on"] = event.on

    def on_unit_changed(self, event: Any, member_id: UUID, _: int) -> None:
        self._row("dossier_people", member_id)["unit_id"] = event.unit_id
        self._file_years(member_id)

    def on_corrected(self, event: Any, member_id: UUID, _: int) -> None:
        self._row("dossier_people", member_id).update(
            name_masked=mask_name(event.name), unit_id=event.unit_id
        )
        self._file_years(member_id)

    def on_moved(self, event: Any, member_id: UUID, _: int) -> None:
        row = self._row("dossier_people", member_id)
        if row["community_id"] != event.community_id:
            row["reported_on"] = None
        row["community_id"] = event.community_id
        self._file_years(member_id)

    def on_task(self, event: Any, task_id: UUID, _: int) -> None:
        self.rows["dossier_tasks"].put(
            {"task_id": task_id, "title": event.title, "category": event.category}
        )

    def on_claimed(self, event: Any, service_id: UUID, position: int) -> None:
        self.rows["dossier_services"].put(
            dict.fromkeys(SERVICES.column_names)
            | {
                "service_id": service_id,
                "member_id": event.member_id,
                "task_id": event.task_id,
                "community_id": event.community_id,
                "claimed_position": position,
                "corrections": 0,
            }
        )

    def on_checked_in(self, event: Any, service_id: UUID, _: int) -> None:
        self._row("dossier_services", service_id).update(
            checked_in_at=event.at, check_in_entered_by=getattr(event, "entered_by", None)
        )

    def on_checked_out(self, event: Any, service_id: UUID, _: int) -> None:
        self._row("dossier_services", service_id).update(
            checked_out_at=event.at, check_out_entered_by=getattr(event, "entered_by", None)
        )

    def on_confirmed(self, event: Any, service_id: UUID, _: int) -> None:
        self._row("dossier_services", service_id).update(
            confirmed_by=event.ctx.actor_id, confirmed_role=event.ctx.role.name
        )

    def on_rated(self, event: Any, service_id: UUID, position: int) -> None:
        award = event.award
        row = self._row("dossier_services", service_id)
        self._count(row, -1)  # a correction's new award replaces the old one
        if getattr(event, "correction_id", None) is not None:
            row["corrections"] += 1
            row["corrected_position"] = position
        row.update(
            year=award.day.year,
            day=award.day,
            hours=award.hours,
            points=award.points,
            rating=event.rating.name,
            rated_by=event.ctx.actor_id,
            rated_role=event.ctx.role.name,
            policy_version=award.policy_version,
            rated_position=position,
        )
        self._count(row, +1)

    def on_reversed(self, event: Any, service_id: UUID, position: int) -> None:
        row = self._row("dossier_services", service_id)
        if getattr(event, "correction_id", None) is not None:  # awarded anew next
            row.update(correction_reason=event.reason, correction_approved_by=event.approved_by)
        else:
            self._count(row, -1)
            row.update(reversed_position=position, reversal_reason=event.reason)

    def on_review(self, event: Any, _: UUID, position: int) -> None:
        self.rows["dossier_reviews"].put(
            {
                "member_id": event.member_id,
                "year": event.year,
                "community_id": event.community_id,
                "grade": event.grade.name,
                "comment": event.comment,
                "reviewed_by": event.ctx.actor_id,
                "reviewed_role": event.ctx.role.name,
                "position": position,
            }
        )
