"""Community boards: open tasks, the hard tasks nobody takes, services awaiting
rating, the store's stock and redemptions, and service by unit in the community."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from ledger.database import CONNECTION_LIMITS
from ledger.domain.member import Member
from ledger.domain.organisation import Community
from ledger.domain.rulebook import RuleBook
from ledger.domain.store import Item, Redemption
from ledger.domain.work import Service, ServiceStatus, Task, TaskStatus
from projections.base import ReadModel, Row, Table, event_class

ZERO = Decimal(0)

TASKS = Table(
    "board_tasks",
    (
        ("task_id", "uuid"),
        ("community_id", "uuid"),
        ("grid_id", "uuid"),
        ("title", "text"),
        ("category", "text"),
        ("category_class", "text"),
        ("starts_at", "timestamptz"),
        ("ends_at", "timestamptz"),
        ("capacity", "integer"),
        ("claims", "integer"),
        ("status", "text"),
        ("place", "text"),
    ),
    key=("task_id",),
    indexes=(("community_id", "status", "starts_at"),),
)
SERVICES = Table(
    "board_services",
    (
        ("service_id", "uuid"),
        ("task_id", "uuid"),
        ("member_id", "uuid"),
        ("community_id", "uuid"),
        ("status", "text"),
        ("checked_in_at", "timestamptz"),
        ("checked_out_at", "timestamptz"),
        ("unit_id", "uuid"),
        ("day", "date"),
        ("hours", "numeric"),
        ("points", "numeric"),
        ("signed_in_and_left", "boolean"),
        ("rating", "text"),
        ("presence_verified", "boolean"),
    ),
    key=("service_id",),
    indexes=(
        ("community_id", "status"),
        ("unit_id", "day"),
        ("status", "checked_in_at"),
        ("member_id",),
        ("task_id",),
    ),
)
REFUSALS = Table(
    "board_refusals",
    (
        ("position", "bigint"),
        ("service_id", "uuid"),
        ("community_id", "uuid"),
        ("member_id", "uuid"),
        ("unit_id", "uuid"),
        ("action", "text"),
        ("at", "timestamptz"),
        ("code", "text"),
        ("reason", "text"),
    ),
    key=("position",),
    indexes=(("community_id", "at"), ("unit_id", "at")),
)
"""Check-ins and check-outs refused for their time: an anti-formalism signal."""
ITEMS = Table(
    "board_items",
    (
        ("item_id", "uuid"),
        ("community_id", "uuid"),
        ("name", "text"),
        ("price", "numeric"),
        ("stock", "integer"),
    ),
    key=("item_id",),
    indexes=(("community_id", "name"),),
)
DONATIONS = Table(
    "board_donations",
    (
        ("item_id", "uuid"),
        ("donor", "text"),
        ("community_id", "uuid"),
        ("quantity", "integer"),
    ),
    key=("item_id", "donor"),
    indexes=(("community_id",),),
)
"""What each donor gave of each of the store's goods (捐赠方, recorded on each restock)."""
STORES = Table(
    "board_stores",
    (
        ("community_id", "uuid"),
        ("redemptions", "integer"),
        ("cancelled", "integer"),
        ("points", "numeric"),
        ("goods", "integer"),
    ),
    key=("community_id",),
)
BY_UNIT = Table(
    "board_units",
    (
        ("community_id", "uuid"),
        ("unit_id", "uuid"),
        ("services", "integer"),
        ("hours", "numeric"),
        ("points", "numeric"),
    ),
    key=("community_id", "unit_id"),
)
REDEMPTIONS = Table(
    "board_redemptions",
    (
        ("redemption_id", "uuid"),
        ("community_id", "uuid"),
        ("total", "numeric"),
        ("goods", "integer"),
        ("cancelled", "boolean"),
        ("member_id", "uuid"),
        ("kiosk", "text"),
        ("position", "bigint"),
        ("balance_after", "numeric"),
        ("at", "timestamptz"),
    ),
    key=("redemption_id",),
    indexes=(("member_id", "at"), ("community_id", "kiosk", "at")),
)
REDEMPTION_LINES = Table(
    "board_redemption_lines",
    (
        ("redemption_id", "uuid"),
        ("line", "integer"),
        ("item_id", "uuid"),
        ("name", "text"),
        ("quantity", "integer"),
        ("unit_price", "numeric"),
        ("amount", "numeric"),
    ),
    key=("redemption_id", "line"),
)
MEMBERS = Table("board_members", (("member_id", "uuid"), ("unit_id", "uuid")), key=("member_id",))
CATEGORIES = Table(
    "board_categories", (("category", "text"), ("category_class", "text")), key=("category",)
)
PLACES = Table("board_places", (("id", "uuid"), ("name", "text")), key=("id",))
"""Communities' and grids' names, as the tasks and services are shown with them."""


class CommunityBoards(ReadModel):
    name = "community_boards"
    version = 6  # 3: services' days and check-in times, refused check-ins; 4: kiosks' days
    # and services left checked in (indexes); 5: places, ratings, presence, withdrawals, edits;
    # 6: the store's donors
    tables = (
        TASKS,
        SERVICES,
        REFUSALS,
        ITEMS,
        DONATIONS,
        STORES,
        BY_UNIT,
        REDEMPTIONS,
        REDEMPTION_LINES,
        MEMBERS,
        CATEGORIES,
        PLACES,
    )

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {
            event_class(RuleBook, "Published"): "on_policy",
            event_class(Member, "Registered"): "on_member",
            event_class(Member, "UnitChanged"): "on_member",
            event_class(Member, "Corrected"): "on_member",
            event_class(Community, "Registered"): "on_place",
            event_class(Community, "GridAdded"): "on_grid",
            event_class(Task, "Published"): "on_task",
            event_class(Task, "Edited"): "on_task_edited",
            event_class(Task, "Claimed"): "on_task_claimed",
            event_class(Task, "ClaimWithdrawn"): "on_claim_withdrawn",
            event_class(Task, "Cancelled"): "on_task_cancelled",
            event_class(Task, "Closed"): "on_task_closed",
            event_class(Service, "Claimed"): "on_service",
            event_class(Service, "CheckedIn"): "on_service_status",
            event_class(Service, "Withdrawn"): "on_service_status",
            event_class(Service, "Rejoined"): "on_service_status",
            event_class(Service, "CheckedOut"): "on_checked_out",
            event_class(Service, "Rated"): "on_rated",
            event_class(Service, "Reversed"): "on_reversed",
            event_class(Service, "Released"): "on_service_status",
            event_class(Service, "Lapsed"): "on_service_status",
            event_class(Service, "TimeRefused"): "on_time_refused",
            event_class(Item, "Listed"): "on_item",
            event_class(Item, "Restocked"): "on_restocked",
            event_class(Item, "Returned"): "on_stock_in",
            event_class(Item, "Taken"): "on_stock_out",
            event_class(Item, "Repriced"): "on_repriced",
            event_class(Redemption, "Redeemed"): "on_redeemed",
            event_class(Redemption, "Cancelled"): "on_redemption_cancelled",
        }

    def _row(self, table: str, *key: Any) -> Row:
        row = self.rows[table].get(*key)
        assert row is not None, (table, key)
        self.rows[table].changed(row)
        return row

    def on_policy(self, event: Any, _: UUID, __: int) -> None:
        if event.policy.get("community_id") is not None:
            return  # a community's own multipliers: the street's book rules the rest
        for category, cls in event.policy["categories"].items():
            self.rows["board_categories"].put({"category": category, "category_class": cls})

    def on_member(self, event: Any, member_id: UUID, _: int) -> None:
        self.rows["board_members"].put({"member_id": member_id, "unit_id": event.unit_id})

    def on_place(self, event: Any, community_id: UUID, _: int) -> None:
        self.rows["board_places"].put({"id": community_id, "name": event.name})

    def on_grid(self, event: Any, _: UUID, __: int) -> None:
        self.rows["board_places"].put({"id": event.grid_id, "name": event.name})

    def _category_class(self, category: str) -> str | None:
        known = self.rows["board_categories"].get(category)
        return known["category_class"] if known else None

    def on_task(self, event: Any, task_id: UUID, _: int) -> None:
        self.rows["board_tasks"].put(
            {
                "task_id": task_id,
                "community_id": event.community_id,
                "grid_id": event.grid_id,
                "title": event.title,
                "category": event.category,
                "category_class": self._category_class(event.category),
                "starts_at": event.starts_at,
                "ends_at": event.ends_at,
                "capacity": event.capacity,
                "claims": 0,
                "status": TaskStatus.OPEN.name,
                "place": getattr(event, "place", None),
            }
        )

    def on_task_edited(self, event: Any, task_id: UUID, _: int) -> None:
        self._row("board_tasks", task_id).update(
            title=event.title,
            category=event.category,
            category_class=self._category_class(event.category),
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            capacity=event.capacity,
            place=event.place,
        )

    def on_task_claimed(self, _: Any, task_id: UUID, __: int) -> None:
        self._row("board_tasks", task_id)["claims"] += 1

    def on_claim_withdrawn(self, _: Any, task_id: UUID, __: int) -> None:
        self._row("board_tasks", task_id)["claims"] -= 1

    def on_task_cancelled(self, event: Any, task_id: UUID, _: int) -> None:
        row = self._row("board_tasks", task_id)
        row["status"] = TaskStatus.CANCELLED.name
        row["claims"] -= len(event.released)

    def on_task_closed(self, _: Any, task_id: UUID, __: int) -> None:
        self._row("board_tasks", task_id)["status"] = TaskStatus.CLOSED.name

    def on_service(self, event: Any, service_id: UUID, _: int) -> None:
        self.rows["board_services"].put(
            {
                "service_id": service_id,
                "task_id": event.task_id,
                "member_id": event.member_id,
                "community_id": event.community_id,
                "status": ServiceStatus.CLAIMED.name,
                "checked_in_at": None,
                "checked_out_at": None,
                "unit_id": None,
                "day": None,
                "signed_in_and_left": None,
                "hours": None,
                "points": None,
                "rating": None,
                "presence_verified": False,
            }
        )

    def on_service_status(self, event: Any, service_id: UUID, _: int) -> None:
        status = {
            "CheckedIn": ServiceStatus.CHECKED_IN,
            "Released": ServiceStatus.RELEASED,
            "Lapsed": ServiceStatus.LAPSED,
            "Withdrawn": ServiceStatus.WITHDRAWN,
            "Rejoined": ServiceStatus.CLAIMED,
        }
        row = self._row("board_services", service_id)
        row["status"] = status[type(event).__name__].name
        if type(event).__name__ == "CheckedIn":
            row["checked_in_at"] = event.at
            self._verified(row, event)

    @staticmethod
    def _verified(row: Row, event: Any) -> None:
        """Presence is verified once a site code was taken at check-in or check-out."""
        if getattr(event, "site_step", None) is not None:
            row["presence_verified"] = True

    def on_time_refused(self, event: Any, service_id: UUID, position: int) -> None:
        service = self._row("board_services", service_id)
        member = self.rows["board_members"].get(service["member_id"])
        self.rows["board_refusals"].put(
            {
                "position": position,
                "service_id": service_id,
                "community_id": service["community_id"],
                "member_id": service["member_id"],
                "unit_id": member["unit_id"] if member else None,
                "action": event.action,
                "at": event.at,
                "code": event.code,
                "reason": event.reason,
            }
        )

    def on_checked_out(self, event: Any, service_id: UUID, _: int) -> None:
        row = self._row("board_services", service_id)
        row["status"], row["checked_out_at"] = ServiceStatus.CHECKED_OUT.name, event.at
        self._verified(row, event)

    def on_rated(self, event: Any, service_id: UUID, _: int) -> None:
        service = self._row("board_services", service_id)
        member = self.rows["board_members"].get(service["member_id"])
        service.update(
            status=ServiceStatus.RATED.name,
            rating=event.rating.name,
            unit_id=member["unit_id"] if member else None,
            day=event.award.day,
            signed_in_and_left=event.award.signed_in_and_left,
            hours=event.award.hours,
            points=event.award.points,
        )
        self._by_unit(service, +1)

    def on_reversed(self, _: Any, service_id: UUID, __: int) -> None:
        service = self._row("board_services", service_id)
        service["status"] = ServiceStatus.REVERSED.name
        self._by_unit(service, -1)

    def _by_unit(self, service: Row, sign: int) -> None:
        if service["unit_id"] is None:
            return
        rows = self.rows["board_units"]
        row = rows.get(service["community_id"], service["unit_id"]) or rows.put(
            {
                "community_id": service["community_id"],
                "unit_id": service["unit_id"],
                "services": 0,
                "hours": ZERO,
                "points": ZERO,
            }
        )
        row["services"] += sign * (service["hours"] > 0)  # real service only, as rankings
        row["hours"] += sign * service["hours"]
        row["points"] += sign * service["points"]
        rows.changed(row)

    def on_item(self, event: Any, item_id: UUID, _: int) -> None:
        self.rows["board_items"].put(
            {
                "item_id": item_id,
                "community_id": event.community_id,
                "name": event.name,
                "price": event.price,
                "stock": 0,
            }
        )

    def on_restocked(self, event: Any, item_id: UUID, position: int) -> None:
        self.on_stock_in(event, item_id, position)
        rows = self.rows["board_donations"]
        given = rows.get(item_id, event.donor)
        if given is None:
            item = self._row("board_items", item_id)
            rows.put(
                {
                    "item_id": item_id,
                    "donor": event.donor,
                    "community_id": item["community_id"],
                    "quantity": event.quantity,
                }
            )
        else:
            self._row("board_donations", item_id, event.donor)["quantity"] += event.quantity

    def on_stock_in(self, event: Any, item_id: UUID, _: int) -> None:
        self._row("board_items", item_id)["stock"] += event.quantity

    def on_stock_out(self, event: Any, item_id: UUID, _: int) -> None:
        self._row("board_items", item_id)["stock"] -= event.quantity

    def on_repriced(self, event: Any, item_id: UUID, _: int) -> None:
        self._row("board_items", item_id)["price"] = event.price

    def _store(self, community_id: UUID) -> Row:
        rows = self.rows["board_stores"]
        row = rows.get(community_id) or rows.put(
            {
                "community_id": community_id,
                "redemptions": 0,
                "cancelled": 0,
                "points": ZERO,
                "goods": 0,
            }
        )
        rows.changed(row)
        return row

    def on_redeemed(self, event: Any, redemption_id: UUID, position: int) -> None:
        goods = sum(line.quantity for line in event.lines)
        self.rows["board_redemptions"].put(
            {
                "redemption_id": redemption_id,
                "community_id": event.store_id,
                "total": event.total,
                "goods": goods,
                "cancelled": False,
                "member_id": event.member_id,
                "kiosk": event.kiosk,
                "position": position,
                "balance_after": getattr(event, "balance_after", None),
                "at": getattr(event, "at", None) or event.timestamp,
            }
        )
        for number, line in enumerate(event.lines):
            self.rows["board_redemption_lines"].put(
                {
                    "redemption_id": redemption_id,
                    "line": number,
                    "item_id": line.item_id,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "amount": line.unit_price * line.quantity,
                }
            )
        store = self._store(event.store_id)
        store["redemptions"] += 1
        store["points"] += event.total
        store["goods"] += goods

    def on_redemption_cancelled(self, _: Any, redemption_id: UUID, __: int) -> None:
        redemption = self._row("board_redemptions", redemption_id)
        redemption["cancelled"] = True
        store = self._store(redemption["community_id"])
        store["redemptions"] -= 1
        store["cancelled"] += 1
        store["points"] -= redemption["total"]
        store["goods"] -= redemption["goods"]


CHECKED_IN_PAST_END = """
SELECT s.service_id FROM board_services s JOIN board_tasks t USING (task_id)
WHERE s.status = %(checked_in)s AND s.checked_in_at < %(at)s AND t.ends_at < %(at)s
"""


def checked_in_past_end(url: str, at: datetime) -> list[UUID]:
    """Services still checked in whose task had ended by ``at``: those the scheduled
    run looks at to close (the ledger decides, by the rule book, whether their
    check-out window has ended). The ``(status, checked_in_at)`` index finds the few
    services checked in among a year's."""
    with psycopg.connect(url, autocommit=True, **CONNECTION_LIMITS) as conn:
        try:
            found = conn.execute(
                CHECKED_IN_PAST_END, {"checked_in": ServiceStatus.CHECKED_IN.name, "at": at}
            )
            return [row[0] for row in found.fetchall()]
        except psycopg.errors.UndefinedTable:
            return []  # a new database whose read side has not made its views yet
