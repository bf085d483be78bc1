"""Residents' needs (群众点单): each need as it stands, every step it took (who and
when), and the names a reader sees beside them (community, grid, task)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.domain.organisation import Community
from ledger.domain.work import Need, NeedStatus, Task
from projections.base import ReadModel, Row, Table, event_class

NEEDS = Table(
    "need_needs",
    (
        ("need_id", "uuid"),
        ("community_id", "uuid"),
        ("grid_id", "uuid"),
        ("category", "text"),
        ("description", "text"),
        ("place", "text"),
        ("raised_by", "text"),
        ("member_id", "uuid"),
        ("raised_at", "timestamptz"),
        ("position", "bigint"),
        ("status", "text"),
        ("task_id", "uuid"),
        ("closing_note", "text"),
        ("satisfaction", "text"),
        ("satisfaction_comment", "text"),
    ),
    key=("need_id",),
    indexes=(("community_id", "position"), ("community_id", "status", "position"), ("member_id",)),
)
"""``status`` and ``satisfaction``: the domain enums' member names; ``task_id``: the
task it was last dispatched as; ``member_id``: the member who raised it for themself."""
STEPS = Table(
    "need_steps",
    (
        ("position", "bigint"),
        ("need_id", "uuid"),
        ("at", "timestamptz"),
        ("status", "text"),
        ("actor", "text"),
        ("role", "text"),
        ("note", "text"),
    ),
    key=("position",),
    indexes=(("need_id", "position"),),
)
"""One row per event of a need: the state it led to, who (the event's actor and role)
and when; ``note`` what the step said (the task dispatched, the closing note, the
resident's verdict)."""
NAMES = Table("need_names", (("id", "uuid"), ("name", "text")), key=("id",))
"""Communities, grids and tasks by name."""


class Needs(ReadModel):
    name = "needs"
    tables = (NEEDS, STEPS, NAMES)

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {
            event_class(Community, "Registered"): "on_named",
            event_class(Community, "GridAdded"): "on_grid",
            event_class(Task, "Published"): "on_task",
            event_class(Need, "Raised"): "on_raised",
            event_class(Need, "Accepted"): "on_accepted",
            event_class(Need, "Dispatched"): "on_dispatched",
            event_class(Need, "Closed"): "on_closed",
            event_class(Need, "Revisited"): "on_revisited",
        }

    def on_named(self, event: Any, id_: UUID, _: int) -> None:
        self.rows["need_names"].put({"id": id_, "name": event.name})

    def on_grid(self, event: Any, _: UUID, __: int) -> None:
        self.rows["need_names"].put({"id": event.grid_id, "name": event.name})

    def on_task(self, event: Any, task_id: UUID, _: int) -> None:
        self.rows["need_names"].put({"id": task_id, "name": event.title})

    def _step(
        self, event: Any, need_id: UUID, position: int, status: NeedStatus, note: str | None
    ) -> Row:
        self.rows["need_steps"].put(
            {
                "position": position,
                "need_id": need_id,
                "at": event.timestamp,
                "status": status.name,
                "actor": event.ctx.actor_id,
                "role": event.ctx.role.value,
                "note": note,
            }
        )
        need = self.rows["need_needs"].get(need_id)
        assert need is not None, need_id
        self.rows["need_needs"].changed(need)
        need["status"] = status.name
        return need

    def on_raised(self, event: Any, need_id: UUID, position: int) -> None:
        self.rows["need_needs"].put(
            {
                "need_id": need_id,
                "community_id": event.community_id,
                "grid_id": event.grid_id,
                "category": event.category,
                "description": event.description,
                "place": getattr(event, "place", None),
                "raised_by": event.raised_by,
                "member_id": getattr(event, "member_id", None),
                "raised_at": event.timestamp,
                "position": position,
                "status": NeedStatus.RAISED.name,
                "task_id": None,
                "closing_note": None,
                "satisfaction": None,
                "satisfaction_comment": None,
            }
        )
        self._step(event, need_id, position, NeedStatus.RAISED, None)

    def on_accepted(self, event: Any, need_id: UUID, position: int) -> None:
        self._step(event, need_id, position, NeedStatus.ACCEPTED, None)

    def on_dispatched(self, event: Any, need_id: UUID, position: int) -> None:
        task = self.rows["need_names"].get(event.task_id)
        note = f"派单任务“{task['name']}”" if task else None
        need = self._step(event, need_id, position, NeedStatus.DISPATCHED, note)
        need["task_id"] = event.task_id

    def on_closed(self, event: Any, need_id: UUID, position: int) -> None:
        need = self._step(event, need_id, position, NeedStatus.CLOSED, event.note)
        need["closing_note"] = event.note

    def on_revisited(self, event: Any, need_id: UUID, position: int) -> None:
        verdict = event.satisfaction.value
        note = f"{verdict}:{event.comment}" if event.comment else verdict
        need = self._step(event, need_id, position, NeedStatus.REVISITED, note)
        need["satisfaction"] = event.satisfaction.name
        need["satisfaction_comment"] = event.comment
