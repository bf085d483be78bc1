"""点单 / 派单 / 接单 and 服务纪实: needs, tasks, claims and the services that follow them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import (
    AlreadyClaimed,
    InvalidInput,
    InvalidTimeRange,
    InvalidTransition,
    TaskFull,
)
from ledger.domain.policy import Award
from ledger.domain.values import Context, Rating, stable_id

MAX_EVIDENCE = 20


class NeedStatus(Enum):
    OPEN = "待派单"
    DISPATCHED = "已派单"


class Need(LedgerAggregate):
    """点单: a need raised by a resident or a grid worker."""

    @event("Raised")
    def __init__(
        self,
        community_id: UUID,
        grid_id: UUID | None,
        raised_by: str,
        description: str,
        category: str | None,
        ctx: Context,
        id: UUID | None = None,
    ) -> None:
        self.community_id = community_id
        self.grid_id = grid_id
        self.raised_by = raised_by
        self.description = description
        self.category = category
        self.status = NeedStatus.OPEN
        self.task_ids: list[UUID] = []

    def dispatch(self, task_id: UUID, ctx: Context) -> None:
        self._dispatched(task_id, ctx)

    @event("Dispatched")
    def _dispatched(self, task_id: UUID, ctx: Context) -> None:
        self.status = NeedStatus.DISPATCHED
        self.task_ids.append(task_id)


class TaskStatus(Enum):
    OPEN = "招募中"
    CLOSED = "已关闭"
    CANCELLED = "已取消"


class Task(LedgerAggregate):
    """派单: a service task a community publishes, taken by members up to its capacity."""

    @event("Published")
    def __init__(
        self,
        community_id: UUID,
        grid_id: UUID | None,
        need_id: UUID | None,
        title: str,
        category: str,
        starts_at: datetime,
        ends_at: datetime,
        capacity: int,
        ctx: Context,
        id: UUID | None = None,
    ) -> None:
        self.community_id = community_id
        self.grid_id = grid_id
        self.need_id = need_id
        self.title = title
        self.category = category
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.capacity = capacity
        self.claims: list[UUID] = []
        self.status = TaskStatus.OPEN

    @staticmethod
    def check_schedule(starts_at: datetime, ends_at: datetime, capacity: int) -> None:
        if ends_at <= starts_at:
            raise InvalidTimeRange(start=starts_at.isoformat(), end=ends_at.isoformat())
        if (ends_at - starts_at).days >= 7:
            raise InvalidInput(reason="单次任务计划时长不能超过 7 天")
        if not 1 <= capacity <= 10_000:
            raise InvalidInput(reason="任务名额须为 1 到 10000 之间的整数")

    def claim(self, member_id: UUID, ctx: Context) -> None:
        """接单: a member takes one of the places."""
        if self.status is not TaskStatus.OPEN:
            raise InvalidTransition(state=self.status.value, action="认领任务")
        if member_id in self.claims:
            raise AlreadyClaimed(member_id=member_id)
        if len(self.claims) >= self.capacity:
            raise TaskFull(capacity=self.capacity)
        self._claimed(member_id, ctx)

    @event("Claimed")
    def _claimed(self, member_id: UUID, ctx: Context) -> None:
        self.claims.append(member_id)

    def cancel(self, reason: str, ctx: Context) -> None:
        """Cancelling releases the claims; services already checked out stay on record."""
        if self.status is not TaskStatus.OPEN:
            raise InvalidTransition(state=self.status.value, action="取消任务")
        self._cancelled(reason, list(self.claims), ctx)

    @event("Cancelled")
    def _cancelled(self, reason: str, released: list[UUID], ctx: Context) -> None:
        self.status = TaskStatus.CANCELLED

    def close(self, ctx: Context) -> None:
        """No more claims; the services already taken go on to be checked out and rated."""
        if self.status is not TaskStatus.OPEN:
            raise InvalidTransition(state=self.status.value, action="关闭任务")
        self._closed(ctx)

    @event("Closed")
    def _closed(self, ctx: Context) -> None:
        self.status = TaskStatus.CLOSED


class ServiceStatus(Enum):
    CLAIMED = "已认领"
    CHECKED_IN = "已签到"
    CHECKED_OUT = "已签退"
    RATED = "已评价"
    REVERSED = "已冲正"
    RELEASED = "已释放"


class Service(LedgerAggregate):
    """服务纪实: one member doing one task, from claim to rating."""

    @staticmethod
    def create_id(task_id: UUID, member_id: UUID) -> UUID:
        return stable_id("service", task_id, member_id)

    @event("Claimed")
    def __init__(
        self,
        task_id: UUID,
        member_id: UUID,
        community_id: UUID,
        category: str,
        ctx: Context,
    ) -> None:
        self.task_id = task_id
        self.member_id = member_id
        self.community_id = community_id
        self.category = category
        self.status = ServiceStatus.CLAIMED
        self.checked_in_at: datetime | None = None
        self.checked_out_at: datetime | None = None
        self.evidence: list[str] = []
        self.confirmed_by: str | None = None
        self.rating: Rating | None = None
        self.award: Award | None = None

    def _require(self, action: str, *allowed: ServiceStatus) -> None:
        if self.status not in allowed:
            raise InvalidTransition(state=self.status.value, action=action)

    @staticmethod
    def _check_evidence(evidence: list[str]) -> list[str]:
        if len(evidence) > MAX_EVIDENCE or any(not 0 < len(e) <= 200 for e in evidence):
            raise InvalidInput(reason=f"佐证材料最多 {MAX_EVIDENCE} 项,每项 1 到 200 个字符")
        return list(evidence)

    def check_in(self, at: datetime, evidence: list[str], ctx: Context) -> None:
        self._require("签到", ServiceStatus.CLAIMED)
        self._checked_in(at, self._check_evidence(evidence), ctx)

    @event("CheckedIn")
    def _checked_in(self, at: datetime, evidence: list[str], ctx: Context) -> None:
        self.status = ServiceStatus.CHECKED_IN
        self.checked_in_at = at
        self.evidence.extend(evidence)

    def check_out(self, at: datetime, evidence: list[str], ctx: Context) -> None:
        self._require("签退", ServiceStatus.CHECKED_IN)
        assert self.checked_in_at is not None
        if at <= self.checked_in_at:
            raise InvalidTimeRange(start=self.checked_in_at.isoformat(), end=at.isoformat())
        self._checked_out(at, self._check_evidence(evidence), ctx)

    @event("CheckedOut")
    def _checked_out(self, at: datetime, evidence: list[str], ctx: Context) -> None:
        self.status = ServiceStatus.CHECKED_OUT
        self.checked_out_at = at
        self.evidence.extend(evidence)

    def confirm(self, ctx: Context) -> None:
        """The community confirms the record (核实)."""
        self._require("确认", ServiceStatus.CHECKED_OUT, ServiceStatus.RATED)
        if self.confirmed_by is not None:
            raise InvalidTransition(state="已确认", action="重复确认")
        self._confirmed(ctx)

    @event("Confirmed")
    def _confirmed(self, ctx: Context) -> None:
        self.confirmed_by = ctx.actor_id

    def check_ratable(self) -> None:
        if self.status is ServiceStatus.RATED:
            raise InvalidTransition(state=self.status.value, action="重复评价")
        self._require("评价", ServiceStatus.CHECKED_OUT)

    def rate(self, rating: Rating, award: Award, ctx: Context) -> None:
        """一事一评: the rating, and the award the rule book gives for it."""
        self.check_ratable()
        self._rated(rating, award, ctx)

    @event("Rated")
    def _rated(self, rating: Rating, award: Award, ctx: Context) -> None:
        self.status = ServiceStatus.RATED
        self.rating = rating
        self.award = award

    def reverse(self, reason: str, approved_by: str, ctx: Context) -> None:
        self._require("冲正", ServiceStatus.RATED)
        if not reason.strip() or not approved_by.strip():
            raise InvalidInput(reason="冲正须写明原因和批准人")
        self._reversed(reason.strip(), approved_by.strip(), ctx)

    @event("Reversed")
    def _reversed(self, reason: str, approved_by: str, ctx: Context) -> None:
        self.status = ServiceStatus.REVERSED

    @property
    def releasable(self) -> bool:
        return self.status in (ServiceStatus.CLAIMED, ServiceStatus.CHECKED_IN)

    def release(self, ctx: Context) -> None:
        self._require("释放", ServiceStatus.CLAIMED, ServiceStatus.CHECKED_IN)
        self._released(ctx)

    @event("Released")
    def _released(self, ctx: Context) -> None:
        self.status = ServiceStatus.RELEASED
