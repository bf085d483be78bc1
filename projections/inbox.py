"""The member's inbox (消息): what the ledger's events mean to one member, in Chinese
with names and China Standard Time, written once when the event is applied.

A task published for a community (or one grid of it) is one row for the community,
read by each member living there (not a row per resident); everything else is the
member's own: their claim taken, their task cancelled, their service rated with the
points it earned (or reversed), their need's progress. A task or a claim recorded after
the task ended (an import of past records) invites nobody and tells nobody."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.domain.member import Member
from ledger.domain.organisation import Community
from ledger.domain.values import CST
from ledger.domain.work import Need, Service, Task
from projections.base import ReadModel, Row, Table, event_class

MEMBERS = Table(
    "inbox_members",
    (
        ("member_id", "uuid"),
        ("community_id", "uuid"),
        ("grid_id", "uuid"),
        ("since", "bigint"),
    ),
    key=("member_id",),
)
"""Where each member lives (whose tasks they hear of), and from which position on."""
NAMES = Table("inbox_names", (("id", "uuid"), ("name", "text")), key=("id",))
"""Communities and grids by name."""
TASKS = Table(
    "inbox_tasks",
    (
        ("task_id", "uuid"),
        ("title", "text"),
        ("starts_at", "timestamptz"),
        ("ends_at", "timestamptz"),
    ),
    key=("task_id",),
)
SERVICES = Table(
    "inbox_services",
    (("service_id", "uuid"), ("task_id", "uuid"), ("member_id", "uuid")),
    key=("service_id",),
)
NEEDS = Table(
    "inbox_needs",
    (("need_id", "uuid"), ("member_id", "uuid"), ("description", "text")),
    key=("need_id",),
)
"""Needs a member raised for themself (only those have someone to tell)."""
MESSAGES = Table(
    "inbox_messages",
    (
        ("member_id", "uuid"),
        ("position", "bigint"),
        ("at", "timestamptz"),
        ("title", "text"),
        ("body", "text"),
    ),
    key=("member_id", "position"),
)
BROADCASTS = Table(
    "inbox_broadcasts",
    (
        ("position", "bigint"),
        ("community_id", "uuid"),
        ("grid_id", "uuid"),
        ("at", "timestamptz"),
        ("title", "text"),
        ("body", "text"),
    ),
    key=("position",),
    indexes=(("community_id", "position"),),
)
"""Tasks published: for the whole community (``grid_id`` null) or one grid of it."""

SHORT = 20
"""Characters of a need's description quoted in a message."""


def shown(value: datetime) -> str:
    return value.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def span(start: datetime, end: datetime) -> str:
    """``2026-06-01 09:00 至 11:00``, the end's day given only when it differs."""
    start, end = start.astimezone(CST), end.astimezone(CST)
    until = end.strftime("%H:%M") if end.date() == start.date() else shown(end)
    return f"{shown(start)} 至 {until}"


def quoted(text: str) -> str:
    return f"“{text}”" if len(text) <= SHORT else f"“{text[:SHORT]}…”"


class Inbox(ReadModel):
    name = "inbox"
    tables = (MEMBERS, NAMES, TASKS, SERVICES, NEEDS, MESSAGES, BROADCASTS)

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {
            event_class(Community, "Registered"): "on_named",
            event_class(Community, "GridAdded"): "on_grid",
            event_class(Member, "Registered"): "on_member",
            event_class(Member, "Moved"): "on_member_moved",
            event_class(Member, "Corrected"): "on_member_moved",
            event_class(Task, "Published"): "on_task",
            event_class(Task, "Cancelled"): "on_task_cancelled",
            event_class(Service, "Claimed"): "on_claimed",
            event_class(Service, "Rated"): "on_rated",
            event_class(Service, "Reversed"): "on_reversed",
            event_class(Need, "Raised"): "on_need",
            event_class(Need, "Accepted"): "on_need_accepted",
            event_class(Need, "Dispatched"): "on_need_dispatched",
            event_class(Need, "Closed"): "on_need_closed",
        }

    def _row(self, table: str, *key: Any) -> Row:
        row = self.rows[table].get(*key)
        assert row is not None, (table, key)
        return row

    def _tell(self, member_id: UUID, event: Any, position: int, title: str, body: str) -> None:
        self.rows["inbox_messages"].put(
            {
                "member_id": member_id,
                "position": position,
                "at": event.timestamp,
                "title": title,
                "body": body,
            }
        )

    def _name(self, id_: UUID | None) -> str:
        row = None if id_ is None else self.rows["inbox_names"].get(id_)
        return "" if row is None else str(row["name"])

    # --- who and where --------------------------------------------------------------

    def on_named(self, event: Any, id_: UUID, _: int) -> None:
        self.rows["inbox_names"].put({"id": id_, "name": event.name})

    def on_grid(self, event: Any, _: UUID, __: int) -> None:
        self.rows["inbox_names"].put({"id": event.grid_id, "name": event.name})

    def on_member(self, event: Any, member_id: UUID, position: int) -> None:
        self.rows["inbox_members"].put(
            {
                "member_id": member_id,
                "community_id": event.community_id,
                "grid_id": event.grid_id,
                "since": position,
            }
        )

    def on_member_moved(self, event: Any, member_id: UUID, _: int) -> None:
        row = self._row("inbox_members", member_id)
        row["community_id"] = getattr(event, "community_id", row["community_id"])
        row["grid_id"] = event.grid_id
        self.rows["inbox_members"].changed(row)

    # --- tasks and services ------------------------------------------------------------

    def on_task(self, event: Any, task_id: UUID, position: int) -> None:
        self.rows["inbox_tasks"].put(
            {
                "task_id": task_id,
                "title": event.title,
                "starts_at": event.starts_at,
                "ends_at": event.ends_at,
            }
        )
        if event.ends_at <= event.timestamp:
            return  # a past task recorded (an import): no invitation to anyone
        where = self._name(event.community_id) + self._name(event.grid_id)
        self.rows["inbox_broadcasts"].put(
            {
                "position": position,
                "community_id": event.community_id,
                "grid_id": event.grid_id,
                "at": event.timestamp,
                "title": f"新任务:{event.title}",
                "body": f"{where}发布了任务“{event.title}”({event.category}),"
                f"时间 {span(event.starts_at, event.ends_at)},共 {event.capacity} 个名额,"
                "欢迎报名。",
            }
        )

    def on_task_cancelled(self, event: Any, task_id: UUID, position: int) -> None:
        task = self._row("inbox_tasks", task_id)
        for member_id in event.released:
            self._tell(
                member_id,
                event,
                position,
                "任务已取消",
                f"您报名的任务“{task['title']}”({span(task['starts_at'], task['ends_at'])})"
                f"已取消,原因:{event.reason}",
            )

    def on_claimed(self, event: Any, service_id: UUID, position: int) -> None:
        self.rows["inbox_services"].put(
            {"service_id": service_id, "task_id": event.task_id, "member_id": event.member_id}
        )
        task = self._row("inbox_tasks", event.task_id)
        if task["ends_at"] <= event.timestamp:
            return  # a past service recorded: nothing to come to
        self._tell(
            event.member_id,
            event,
            position,
            "报名成功",
            f"您已报名任务“{task['title']}”,时间 {span(task['starts_at'], task['ends_at'])},"
            "请按时到场签到。",
        )

    def on_rated(self, event: Any, service_id: UUID, position: int) -> None:
        service = self._row("inbox_services", service_id)
        task = self._row("inbox_tasks", service["task_id"])
        award = event.award
        corrected = getattr(event, "correction_id", None) is not None
        self._tell(
            service["member_id"],
            event,
            position,
            "服务评价已更正" if corrected else "服务已评价",
            f"您在任务“{task['title']}”中的服务获评“{event.rating.value}”,"
            f"计 {award.hours} 小时,获得 {award.points} 积分。",
        )

    def on_reversed(self, event: Any, service_id: UUID, position: int) -> None:
        service = self._row("inbox_services", service_id)
        task = self._row("inbox_tasks", service["task_id"])
        self._tell(
            service["member_id"],
            event,
            position,
            "服务积分已冲正",
            f"您在任务“{task['title']}”中的服务所得积分已冲正,原因:{event.reason}",
        )

    # --- needs ----------------------------------------------------------------------------

    def on_need(self, event: Any, need_id: UUID, _: int) -> None:
        member_id = getattr(event, "member_id", None)
        if member_id is not None:
            self.rows["inbox_needs"].put(
                {"need_id": need_id, "member_id": member_id, "description": event.description}
            )

    def _need_news(self, need_id: UUID, event: Any, position: int, title: str, news: str) -> None:
        need = self.rows["inbox_needs"].get(need_id)
        if need is not None:
            said = f"您提出的需求{quoted(need['description'])}{news}"
            self._tell(need["member_id"], event, position, title, said)

    def on_need_accepted(self, event: Any, need_id: UUID, position: int) -> None:
        self._need_news(need_id, event, position, "需求已受理", "已由社区受理,请等候安排。")

    def on_need_dispatched(self, event: Any, need_id: UUID, position: int) -> None:
        task = self.rows["inbox_tasks"].get(event.task_id)
        title = f"“{task['title']}”" if task else ""
        news = f"已派单为任务{title},社区将安排志愿者服务。"
        self._need_news(need_id, event, position, "需求已派单", news)

    def on_need_closed(self, event: Any, need_id: UUID, position: int) -> None:
        self._need_news(
            need_id,
            event,
            position,
            "需求已办结",
            f"已办结:{event.note}。请在“我的需求”中评价是否满意。",
        )
