"""点单 / 派单 / 接单 and 服务纪实: needs, tasks, claims and the services that follow them.

About 500 lines: a need, its task and the services claimed on it change together, and
their events are read together by the read models.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import (
    AlreadyClaimed,
    ClaimWithdrawalTooLate,
    InvalidInput,
    InvalidTimeRange,
    InvalidTransition,
    NeedAlreadyClosed,
    NeedNotClosed,
    SiteCodeUsed,
    TaskAlreadyClaimed,
    TaskFull,
)
from ledger.domain.limits import (
    CATEGORY_NAME,
    EVIDENCE_ITEM,
    FREE_TEXT,
    MAX_CAPACITY,
    MAX_EVIDENCE,
    MAX_TASK_DAYS,
    ORG_NAME,
    PLACE,
    TITLE,
)
from ledger.domain.policy import Award
from ledger.domain.presence import Location, check_point
from ledger.domain.text import clean_items, clean_optional, clean_text
from ledger.domain.values import CST, Context, Rating, Satisfaction, instant, stable_id


class NeedStatus(Enum):
    RAISED = "待受理"
    ACCEPTED = "已受理"
    DISPATCHED = "已派单"
    CLOSED = "已办结"
    REVISITED = "已回访"


OPEN_NEED = (NeedStatus.RAISED, NeedStatus.ACCEPTED, NeedStatus.DISPATCHED)
"""The states a need may be dispatched or closed in."""


class Need(LedgerAggregate):
    """点单: a need raised by a resident (a member for themself, or a community worker
    writing it down), accepted (受理), dispatched as tasks (派单), closed with a note
    (办结) and, last, rated by the resident (回访: were they satisfied)."""

    @classmethod
    def create(
        cls,
        community_id: UUID,
        grid_id: UUID | None,
        raised_by: str,
        description: str,
        category: str | None,
        ctx: Context,
        id: UUID | None = None,
        *,
        place: str | None = None,
        member_id: UUID | None = None,
    ) -> Need:
        """``member_id``: the member who raised it for themself (``raised_by`` is then
        their name)."""
        return cls(
            community_id,
            grid_id,
            clean_text(raised_by, "需求提出人", ORG_NAME),
            clean_text(description, "需求描述", FREE_TEXT, multiline=True),
            clean_optional(category, "服务类别", CATEGORY_NAME),
            ctx=ctx,
            id=id,
            place=clean_optional(place, "服务地点", PLACE),
            member_id=member_id,
        )

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
        place: str | None = None,
        member_id: UUID | None = None,
    ) -> None:
        self.community_id = community_id
        self.grid_id = grid_id
        self.raised_by = raised_by
        self.description = description
        self.category = category
        self.place = place
        self.member_id = member_id
        self.status = NeedStatus.RAISED
        self.task_ids: list[UUID] = []

    def _require_open(self, action: str, *allowed: NeedStatus) -> None:
        if self.status in (NeedStatus.CLOSED, NeedStatus.REVISITED):
            raise NeedAlreadyClosed(action=action)
        if self.status not in allowed:
            raise InvalidTransition(state=self.status.value, action=action)

    def accept(self, ctx: Context) -> None:
        """受理: the community takes the need on."""
        self._require_open("受理", NeedStatus.RAISED)
        self._accepted(ctx)

    @event("Accepted")
    def _accepted(self, ctx: Context) -> None:
        self.status = NeedStatus.ACCEPTED

    def dispatch(self, task_id: UUID, ctx: Context) -> None:
        """派单: a task published for the need (one need may take several)."""
        self._require_open("派单", *OPEN_NEED)
        self._dispatched(task_id, ctx)

    @event("Dispatched")
    def _dispatched(self, task_id: UUID, ctx: Context) -> None:
        self.status = NeedStatus.DISPATCHED
        self.task_ids.append(task_id)

    def close(self, note: str, ctx: Context) -> None:
        """办结, with a note saying what was done (or why nothing could be)."""
        note = clean_text(note, "办结说明", FREE_TEXT, multiline=True)
        self._require_open("办结", *OPEN_NEED)
        self._closed(note, ctx)

    @event("Closed")
    def _closed(self, note: str, ctx: Context) -> None:
        self.status = NeedStatus.CLOSED

    def revisit(self, satisfaction: Satisfaction, comment: str | None, ctx: Context) -> None:
        """回访: the resident says whether they were satisfied, on their phone or to the
        community worker who records it (and is named on the event)."""
        if not isinstance(satisfaction, Satisfaction):
            raise InvalidInput(reason="满意度须为满意、基本满意或不满意")
        comment = clean_text(comment or "", "评价意见", FREE_TEXT, required=False, multiline=True)
        if self.status is NeedStatus.REVISITED:
            raise InvalidTransition(state=self.status.value, action="再次评价")
        if self.status is not NeedStatus.CLOSED:
            raise NeedNotClosed()
        self._revisited(satisfaction, comment or None, ctx)

    @event("Revisited")
    def _revisited(self, satisfaction: Satisfaction, comment: str | None, ctx: Context) -> None:
        self.status = NeedStatus.REVISITED


class TaskStatus(Enum):
    OPEN = "招募中"
    CLOSED = "已关闭"
    CANCELLED = "已取消"


class Task(LedgerAggregate):
    """派单: a service task a community publishes, taken by members up to its capacity."""

    @classmethod
    def create(
        cls,
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
        *,
        place: str | None = None,
        point: tuple[object, object] | None = None,
    ) -> Task:
        """``point``: the place's latitude and longitude, where a phone's location
        is checked against it."""
        starts_at, ends_at = instant(starts_at, "开始时间"), instant(ends_at, "结束时间")
        cls.check_schedule(starts_at, ends_at, capacity)
        latitude, longitude = check_point(*point) if point is not None else (None, None)
        return cls(
            community_id,
            grid_id,
            need_id,
            clean_text(title, "任务标题", TITLE),
            clean_text(category, "服务类别", CATEGORY_NAME),
            starts_at,
            ends_at,
            capacity,
            ctx=ctx,
            id=id,
            place=clean_optional(place, "服务地点", PLACE),
            latitude=latitude,
            longitude=longitude,
        )

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
        place: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
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
        self.withdrawn: list[UUID] = []
        """Members who gave their place back: their service records exist already."""
        self.status = TaskStatus.OPEN
        self.place = place
        self.latitude = latitude
        self.longitude = longitude

    def edit(
        self,
        ctx: Context,
        *,
        title: str | None = None,
        category: str | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        capacity: int | None = None,
        place: str | None = None,
    ) -> None:
        """Change what was published (None: as it is), only while nobody has claimed:
        a member signs up for what they read."""
        if self.status is not TaskStatus.OPEN:
            raise InvalidTransition(state=self.status.value, action="修改任务")
        if self.claims:
            raise TaskAlreadyClaimed()
        start = self.starts_at if starts_at is None else instant(starts_at, "开始时间")
        end = self.ends_at if ends_at is None else instant(ends_at, "结束时间")
        capacity = self.capacity if capacity is None else capacity
        self.check_schedule(start, end, capacity)
        self._edited(
            self.title if title is None else clean_text(title, "任务标题", TITLE),
            self.category if category is None else clean_text(category, "服务类别", CATEGORY_NAME),
            start,
            end,
            capacity,
            self.place if place is None else clean_optional(place, "服务地点", PLACE),
            ctx,
        )

    @event("Edited")
    def _edited(
        self,
        title: str,
        category: str,
        starts_at: datetime,
        ends_at: datetime,
        capacity: int,
        place: str | None,
        ctx: Context,
    ) -> None:
        self.title, self.category, self.capacity, self.place = title, category, capacity, place
        self.starts_at, self.ends_at = starts_at, ends_at

    @staticmethod
    def check_schedule(starts_at: datetime, ends_at: datetime, capacity: int) -> None:
        if ends_at <= starts_at:
            raise InvalidTimeRange(start=starts_at.isoformat(), end=ends_at.isoformat())
        if (ends_at - starts_at).days >= MAX_TASK_DAYS:
            raise InvalidInput(reason=f"单次任务计划时长须短于 {MAX_TASK_DAYS} 天")
        if (
            isinstance(capacity, bool)
            or not isinstance(capacity, int)
            or not 1 <= capacity <= MAX_CAPACITY
        ):
            raise InvalidInput(reason=f"任务名额须为 1 到 {MAX_CAPACITY} 之间的整数")

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
        if member_id in self.withdrawn:
            self.withdrawn.remove(member_id)

    def withdraw(self, member_id: UUID, at: datetime, ctx: Context) -> None:
        """A member gives their place back, before the task starts (a task closed to
        new claims still goes ahead; a cancelled one has released every claim)."""
        if at >= self.starts_at:
            raise ClaimWithdrawalTooLate(
                start=self.starts_at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
            )
        self._claim_withdrawn(member_id, ctx)

    @event("ClaimWithdrawn")
    def _claim_withdrawn(self, member_id: UUID, ctx: Context) -> None:
        self.claims.remove(member_id)
        self.withdrawn.append(member_id)

    def cancel(self, reason: str, ctx: Context) -> None:
        """Cancelling releases the claims; services already checked out stay on record."""
        reason = clean_text(reason, "取消原因", FREE_TEXT, multiline=True)
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
    LAPSED = "未签退已关闭"
    WITHDRAWN = "已退出"


LAPSE_REASON = "未签退自动关闭"
"""Why a service still checked in when its check-out window ended was closed."""


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
        self.corrections: list[UUID] = []
        self.site_step: int | None = None
        """The minute of the last site code the service took (each is taken once)."""

    def _require(self, action: str, *allowed: ServiceStatus) -> None:
        if self.status not in allowed:
            raise InvalidTransition(state=self.status.value, action=action)

    @staticmethod
    def _check_evidence(evidence: Sequence[str]) -> list[str]:
        return clean_items(evidence, "佐证材料", MAX_EVIDENCE, EVIDENCE_ITEM)

    def check_in(
        self,
        at: datetime,
        evidence: Sequence[str],
        ctx: Context,
        *,
        entered_by: str | None = None,
        policy_version: int | None = None,
        site_step: int | None = None,
        location: Location | None = None,
    ) -> None:
        """``entered_by`` names the worker who copied the time from a paper sheet
        (None: the server's clock); ``policy_version`` the rule book that judged it;
        ``site_step`` the minute of the site code that proved presence, ``location``
        where the phone said it was."""
        at, evidence = instant(at, "签到时间"), self._check_evidence(evidence)
        self._require("签到", ServiceStatus.CLAIMED)
        self._check_site_step(site_step)
        self._checked_in(
            at, evidence, ctx, entered_by, policy_version, site_step, *_located(location)
        )

    def _check_site_step(self, site_step: int | None) -> None:
        """A code from the screen works once per service: check-out needs a newer one."""
        if site_step is not None and self.site_step is not None and site_step <= self.site_step:
            raise SiteCodeUsed()

    @event("CheckedIn")
    def _checked_in(
        self,
        at: datetime,
        evidence: list[str],
        ctx: Context,
        entered_by: str | None = None,
        policy_version: int | None = None,
        site_step: int | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        accuracy: float | None = None,
    ) -> None:
        self.status = ServiceStatus.CHECKED_IN
        self.checked_in_at = at
        self.evidence.extend(evidence)
        if site_step is not None:
            self.site_step = site_step

    def check_out(
        self,
        at: datetime,
        evidence: Sequence[str],
        ctx: Context,
        *,
        entered_by: str | None = None,
        policy_version: int | None = None,
        site_step: int | None = None,
        location: Location | None = None,
    ) -> None:
        at, evidence = instant(at, "签退时间"), self._check_evidence(evidence)
        self._require("签退", ServiceStatus.CHECKED_IN)
        assert self.checked_in_at is not None
        if at <= self.checked_in_at:
            raise InvalidTimeRange(start=self.checked_in_at.isoformat(), end=at.isoformat())
        self._check_site_step(site_step)
        self._checked_out(
            at, evidence, ctx, entered_by, policy_version, site_step, *_located(location)
        )

    @event("CheckedOut")
    def _checked_out(
        self,
        at: datetime,
        evidence: list[str],
        ctx: Context,
        entered_by: str | None = None,
        policy_version: int | None = None,
        site_step: int | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        accuracy: float | None = None,
    ) -> None:
        self.status = ServiceStatus.CHECKED_OUT
        self.checked_out_at = at
        self.evidence.extend(evidence)
        if site_step is not None:
            self.site_step = site_step

    def record_refusal(
        self, action: str, at: datetime, code: str, reason: str, ctx: Context
    ) -> None:
        """A check-in or check-out refused for its time (out of the task's window, or
        overlapping another service) stays on record: attempts are signals too."""
        self._time_refused(action, at, code, reason, ctx)

    @event("TimeRefused")
    def _time_refused(
        self, action: str, at: datetime, code: str, reason: str, ctx: Context
    ) -> None:
        pass

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
    def _rated(
        self,
        rating: Rating,
        award: Award,
        ctx: Context,
        correction_id: UUID | None = None,
        approved_by: str | None = None,
    ) -> None:
        """``correction_id``: the award replaces an earlier one, by a correction that
        ``approved_by`` approved."""
        self.status = ServiceStatus.RATED
        self.rating = rating
        self.award = award
        if correction_id is not None:
            self.corrections.append(correction_id)

    def check_correctable(self) -> None:
        self._require("更正", ServiceStatus.RATED)

    def next_correction_id(self) -> UUID:
        return stable_id("correction", self.id, len(self.corrections))

    def correct(
        self,
        correction_id: UUID,
        reason: str,
        approved_by: str,
        times: tuple[datetime, datetime] | None,
        rating: Rating,
        award: Award,
        ctx: Context,
    ) -> None:
        """更正: an awarded service's times or rating were wrong. The award is
        reversed, the mended times recorded (entered by the actor), and the service
        rated again; the reversal and the new rating both name the correction."""
        self.check_correctable()
        self._reversed(reason, approved_by, ctx, correction_id)
        if times is not None:
            policy_version = award.policy_version
            self._checked_in(times[0], [], ctx, ctx.actor_id, policy_version)
            self._checked_out(times[1], [], ctx, ctx.actor_id, policy_version)
        self._rated(rating, award, ctx, correction_id, approved_by)

    @staticmethod
    def check_reversal(reason: str, approved_by: str) -> tuple[str, str]:
        """A reversal names why (free text) and who approved it, both required."""
        return (
            clean_text(reason, "冲正原因", FREE_TEXT, multiline=True),
            clean_text(approved_by, "冲正批准人", ORG_NAME),
        )

    def reverse(self, reason: str, approved_by: str, ctx: Context) -> None:
        reason, approved_by = self.check_reversal(reason, approved_by)
        self._require("冲正", ServiceStatus.RATED)
        self._reversed(reason, approved_by, ctx)

    @event("Reversed")
    def _reversed(
        self, reason: str, approved_by: str, ctx: Context, correction_id: UUID | None = None
    ) -> None:
        self.status = ServiceStatus.REVERSED

    def lapse(self, window_ended_at: datetime, ctx: Context) -> None:
        """Close a service left checked in past its check-out window: it counts
        nothing and holds no time; a worker's correction may still give it times."""
        self._require("自动关闭", ServiceStatus.CHECKED_IN)
        self._lapsed(window_ended_at, LAPSE_REASON, ctx)

    @event("Lapsed")
    def _lapsed(self, window_ended_at: datetime, reason: str, ctx: Context) -> None:
        self.status = ServiceStatus.LAPSED

    def mend_lapsed(
        self,
        correction_id: UUID,
        reason: str,
        approved_by: str,
        times: tuple[datetime, datetime],
        policy_version: int,
        ctx: Context,
    ) -> None:
        """更正 a service closed unfinished: the worker gives its times (entered by
        the actor) and it waits for its rating as any checked-out service."""
        self._require("更正", ServiceStatus.LAPSED)
        self._mended(correction_id, reason, approved_by, ctx)
        self._checked_in(times[0], [], ctx, ctx.actor_id, policy_version)
        self._checked_out(times[1], [], ctx, ctx.actor_id, policy_version)

    @event("Mended")
    def _mended(self, correction_id: UUID, reason: str, approved_by: str, ctx: Context) -> None:
        self.corrections.append(correction_id)

    def withdraw(self, ctx: Context) -> None:
        """The member gives the place back before the task starts (the task checks when)."""
        self._require("退出", ServiceStatus.CLAIMED)
        self._withdrawn(ctx)

    @event("Withdrawn")
    def _withdrawn(self, ctx: Context) -> None:
        self.status = ServiceStatus.WITHDRAWN

    def rejoin(self, ctx: Context) -> None:
        """A member who withdrew signs up for the same task again: the same record."""
        self._require("再次认领", ServiceStatus.WITHDRAWN)
        self._rejoined(ctx)

    @event("Rejoined")
    def _rejoined(self, ctx: Context) -> None:
        self.status = ServiceStatus.CLAIMED

    @property
    def releasable(self) -> bool:
        return self.status in (ServiceStatus.CLAIMED, ServiceStatus.CHECKED_IN)

    def release(self, ctx: Context) -> None:
        self._require("释放", ServiceStatus.CLAIMED, ServiceStatus.CHECKED_IN)
        self._released(ctx)

    @event("Released")
    def _released(self, ctx: Context) -> None:
        self.status = ServiceStatus.RELEASED


def _located(location: Location | None) -> tuple[float | None, float | None, float | None]:
    if location is None:
        return None, None, None
    return location.latitude, location.longitude, location.accuracy
