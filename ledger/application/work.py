"""Commands about the work: needs, tasks, claims and services (点单、派单、接单、服务纪实)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from ledger.application.base import (
    LedgerBase,
    Receipt,
    retried,
)
from ledger.domain.errors import (
    InvalidInput,
    InvalidTimeRange,
    InvalidTransition,
    LedgerError,
    NotServingHere,
    OutsideTaskWindow,
    ServicesOverlap,
    SiteCodeRequired,
    TooFarFromSite,
    UnknownNeed,
)
from ledger.domain.policy import PointsPolicy
from ledger.domain.presence import Location, ShownCode, read_site_code, shown_code, site_code_key
from ledger.domain.values import (
    Context,
    Rating,
    Role,
    local_date,
    now,
)
from ledger.domain.work import Service, ServiceStatus, Task, TaskStatus


class WorkCommands(LedgerBase):
    """社区派单、党员接单、签到签退、一事一评."""

    # --- tasks, claims (a need's own commands: ``ledger.application.needs``) ---------

    @retried
    def publish_task(
        self,
        community_id: UUID,
        title: str,
        category: str,
        starts_at: datetime,
        ends_at: datetime,
        capacity: int,
        ctx: Context,
        *,
        grid_id: UUID | None = None,
        need_id: UUID | None = None,
        task_id: UUID | None = None,
        place: str | None = None,
        point: tuple[float, float] | None = None,
    ) -> Receipt:
        """``place``: where (free text); ``point``: its latitude and longitude, where a
        phone's location is checked against it."""
        task = Task.create(
            community_id,
            grid_id,
            need_id,
            title,
            category,
            starts_at,
            ends_at,
            capacity,
            ctx=ctx,
            id=task_id,
            place=place,
            point=point,
        )
        self.read_community(community_id).check_grid(grid_id)
        self.current_policy().category_class(task.category)
        need = self.get_need(need_id) if need_id is not None else None
        if need is not None and need.community_id != community_id:
            raise UnknownNeed(id=need_id)  # another community's need is none of this one's
        if need is not None:
            need.dispatch(task.id, ctx)
        return self._done(task.id, task, need)

    def serves_in(self, member_id: UUID, community_id: UUID) -> bool:
        """Whether a member takes (and sees) a community's tasks: where they live, or
        where their unit is paired."""
        member = self.read_member(member_id)
        unit = None if member.unit_id is None else self.read_unit(member.unit_id)
        return member.serves_in(community_id, unit)

    @retried
    def edit_task(
        self,
        task_id: UUID,
        ctx: Context,
        *,
        title: str | None = None,
        category: str | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        capacity: int | None = None,
        place: str | None = None,
    ) -> Receipt:
        """Change a task nobody has claimed yet (None: as it is)."""
        task = self.get_task(task_id)
        task.edit(
            ctx,
            title=title,
            category=category,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            place=place,
        )
        self.current_policy().category_class(task.category)
        return self._done(task.id, task)

    @retried
    def claim_task(self, task_id: UUID, member_id: UUID, ctx: Context) -> Receipt:
        """接单: the member takes a place; the service record starts with the claim
        (a member who withdrew takes up the same record again)."""
        task = self.get_task(task_id)
        if not self.serves_in(member_id, task.community_id):
            raise NotServingHere(member_id=member_id, community_id=task.community_id)
        rejoining = member_id in task.withdrawn
        task.claim(member_id, ctx)
        if rejoining:
            earlier = self.get_service(Service.create_id(task.id, member_id))
            earlier.rejoin(ctx)
            return self._done(earlier.id, task, earlier)
        service = Service(task.id, member_id, task.community_id, task.category, ctx=ctx)
        return self._done(service.id, task, service)

    @retried
    def withdraw_claim(self, service_id: UUID, ctx: Context) -> Receipt:
        """The member gives their place back, before the task starts."""
        service = self.get_service(service_id)
        task = self.get_task(service.task_id)
        service.withdraw(ctx)
        task.withdraw(service.member_id, now(), ctx)
        return self._done(service.id, task, service)

    @retried
    def cancel_task(self, task_id: UUID, reason: str, ctx: Context) -> Receipt:
        task = self.get_task(task_id)
        services = [self.get_service(Service.create_id(task.id, m)) for m in task.claims]
        task.cancel(reason, ctx)
        released = [s for s in services if s.releasable]
        timesheets = [
            self.timesheet(s.member_id, ctx)
            for s in released
            if s.status is ServiceStatus.CHECKED_IN
        ]
        for service in released:
            service.release(ctx)
        for timesheet in timesheets:
            for service in released:
                timesheet.drop(service.id, ctx)
        return self._done(task.id, task, *released, *timesheets)

    @retried
    def close_task(self, task_id: UUID, ctx: Context) -> Receipt:
        task = self.get_task(task_id)
        task.close(ctx)
        return self._done(task.id, task)

    # --- services -------------------------------------------------------------------

    @retried
    def check_in(
        self,
        service_id: UUID,
        ctx: Context,
        *,
        at: datetime | None = None,
        evidence: Sequence[str] = (),
        site_code: str | None = None,
        location: Location | None = None,
    ) -> Receipt:
        """签到. A member's own is stamped with the server's clock; a community worker
        may give the time from a paper sheet, and is named on the event. Where the
        community's rule book requires it, a member's own needs the site code."""
        service = self.get_service(service_id)
        task = self.read_task(service.task_id)
        policy = self.current_policy()
        own = ctx.role is Role.MEMBER
        clock = now()
        stamped = policy.trusted_time(at, clock, own=own, field="签到时间")
        entered_by = None if at is None or own else ctx.actor_id
        site_step = self._presence(task, own, site_code, location, clock, required=True)
        service.check_in(
            stamped,
            evidence,
            ctx,
            entered_by=entered_by,
            policy_version=policy.version,
            site_step=site_step,
            location=location,
        )
        timesheet = self.timesheet(service.member_id, ctx)
        try:
            policy.check_check_in(stamped, task.starts_at, task.ends_at)
            timesheet.start(service.id, stamped, ctx, policy.checkout_deadline(task.ends_at))
        except (OutsideTaskWindow, ServicesOverlap) as refused:
            self._record_refusal(service.id, "签到", stamped, refused, ctx)
            raise
        return self._done(service.id, service, timesheet)

    @retried
    def check_out(
        self,
        service_id: UUID,
        ctx: Context,
        *,
        at: datetime | None = None,
        evidence: Sequence[str] = (),
        site_code: str | None = None,
        location: Location | None = None,
    ) -> Receipt:
        """签退, by the same rules as 签到; a site code is checked where given (a
        member leaving early may not find the screen on), not required."""
        service = self.get_service(service_id)
        task = self.read_task(service.task_id)
        policy = self.current_policy()
        own = ctx.role is Role.MEMBER
        clock = now()
        stamped = policy.trusted_time(at, clock, own=own, field="签退时间")
        entered_by = None if at is None or own else ctx.actor_id
        site_step = self._presence(task, own, site_code, location, clock, required=False)
        service.check_out(
            stamped,
            evidence,
            ctx,
            entered_by=entered_by,
            policy_version=policy.version,
            site_step=site_step,
            location=location,
        )
        timesheet = self.timesheet(service.member_id, ctx)
        try:
            policy.check_check_out(stamped, task.starts_at, task.ends_at)
            timesheet.end(service.id, stamped, ctx)
        except (OutsideTaskWindow, ServicesOverlap) as refused:
            self._record_refusal(service.id, "签退", stamped, refused, ctx)
            raise
        return self._done(service.id, service, timesheet)

    def _presence(
        self,
        task: Task,
        own: bool,
        site_code: str | None,
        location: Location | None,
        clock: datetime,
        *,
        required: bool,
    ) -> int | None:
        """The minute of the site code given (None: none given), checked against the
        task; and the phone's location against the task's place, where both are known."""
        rules: PointsPolicy = self.rule_book().current_for(task.community_id)
        step = None
        if site_code is not None:
            step = read_site_code(site_code, task.id, self._site_key, clock)
        elif required and own and rules.site_code_required:
            raise SiteCodeRequired()
        if location is not None and task.latitude is not None and task.longitude is not None:
            distance = location.distance_to(task.latitude, task.longitude)
            if distance > rules.site_distance_meters:
                raise TooFarFromSite(distance=round(distance), limit=rules.site_distance_meters)
        return step

    def site_code(self, task_id: UUID, *, at: datetime | None = None) -> ShownCode:
        """The code the screen at a task's site shows now; nothing is written."""
        task = self.read_task(task_id)
        if task.status is TaskStatus.CANCELLED:
            raise InvalidTransition(state=task.status.value, action="出示签到码")
        return shown_code(task.id, self._site_key, at or now())

    @property
    def _site_key(self) -> bytes:
        return site_code_key(self.id_hash_key)

    @retried
    def close_lapsed_service(self, service_id: UUID, ctx: Context) -> Receipt:
        """Close a service still checked in when its check-out window has ended
        (未签退自动关闭): no award, no time held. Nothing moves before the window
        ends, nor for a service no longer checked in, so a rerun is harmless."""
        service = self.get_service(service_id)
        if service.status is not ServiceStatus.CHECKED_IN:
            return Receipt(service.id, None)
        task = self.read_task(service.task_id)
        deadline = self.current_policy().checkout_deadline(task.ends_at)
        if now() < deadline:
            return Receipt(service.id, None)
        service.lapse(deadline, ctx)
        timesheet = self.timesheet(service.member_id, ctx)
        timesheet.drop(service.id, ctx)
        return self._done(service.id, service, timesheet)

    def _record_refusal(
        self, service_id: UUID, action: str, at: datetime, refused: LedgerError, ctx: Context
    ) -> None:
        """Keep the refused attempt on the service's record (not the request's key:
        a retry of the same request is refused, and recorded, again)."""
        service = self.get_service(service_id)
        service.record_refusal(action, at, refused.code, refused.message, ctx)
        self._commit(service)

    @retried
    def confirm_service(self, service_id: UUID, ctx: Context) -> Receipt:
        service = self.get_service(service_id)
        service.confirm(ctx)
        return self._done(service.id, service)

    @retried
    def rate_service(self, service_id: UUID, rating: Rating, ctx: Context) -> Receipt:
        """一事一评: the community rates the service and the rule book awards its points."""
        service = self.get_service(service_id)
        service.check_ratable()
        task = self.read_task(service.task_id)
        account = self.get_account(service.member_id)
        policy = self.rule_book().current_for(task.community_id)
        assert service.checked_in_at is not None and service.checked_out_at is not None
        award = policy.award(
            category=task.category,
            scheduled_start=task.starts_at,
            scheduled_end=task.ends_at,
            checked_in=service.checked_in_at,
            checked_out=service.checked_out_at,
            rating=rating,
            routine_hours_already=account.routine_hours_on(local_date(service.checked_in_at)),
        )
        service.rate(rating, award, ctx)
        credited = account.credit(service.id, task.community_id, award, service.checked_in_at, ctx)
        return self._done(service.id, service, account if credited else None)

    @retried
    def reverse_service(
        self, service_id: UUID, reason: str, approved_by: str, ctx: Context
    ) -> Receipt:
        """Take back a wrong award by a compensating event; nothing is deleted."""
        service = self.get_service(service_id)
        service.reverse(reason, approved_by, ctx)
        account = self.get_account(service.member_id)
        # A correction may have left nothing on the account: its award reversed, the
        # new one earning nothing.
        moved = service.id in account.earnings and service.id not in account.reversed
        if moved:
            account.reverse(service.id, reason, approved_by, self.current_policy().version, ctx)
        return self._done(service.id, service, account if moved else None)

    @retried
    def correct_service(
        self,
        service_id: UUID,
        reason: str,
        approved_by: str,
        ctx: Context,
        *,
        rating: Rating | None = None,
        checked_in: datetime | None = None,
        checked_out: datetime | None = None,
    ) -> Receipt:
        """更正 an awarded service's times or rating, by compensating events: the old
        award is reversed and a new one awarded under the rule book version the
        service was first rated with; both name the correction and its approver."""
        reason, approved_by = Service.check_reversal(reason, approved_by)
        service = self.get_service(service_id)
        if service.status is ServiceStatus.LAPSED:
            times = (checked_in, checked_out)
            return self._mend_lapsed(service, reason, approved_by, ctx, rating, *times)
        service.check_correctable()
        assert service.award is not None and service.rating is not None
        assert service.checked_in_at is not None and service.checked_out_at is not None
        if rating is None and checked_in is None and checked_out is None:
            raise InvalidInput(reason="更正须给出新的评价或新的签到、签退时间")
        task = self.read_task(service.task_id)
        account = self.get_account(service.member_id)
        policy = self.policy(service.award.policy_version)
        clock = now()
        start, end = service.checked_in_at, service.checked_out_at
        if checked_in is not None:
            start = policy.trusted_time(checked_in, clock, own=False, field="签到时间")
        if checked_out is not None:
            end = policy.trusted_time(checked_out, clock, own=False, field="签退时间")
        if end <= start:
            raise InvalidTimeRange(start=start.isoformat(), end=end.isoformat())
        mended = (start, end) != (service.checked_in_at, service.checked_out_at)
        timesheet = None
        if mended:
            policy.check_check_in(start, task.starts_at, task.ends_at)
            policy.check_check_out(end, task.starts_at, task.ends_at)
            timesheet = self.timesheet(service.member_id, ctx)
            timesheet.amend(service.id, start, end, ctx)
        correction_id = service.next_correction_id()
        earned = service.id in account.earnings and service.id not in account.reversed
        if earned:
            account.reverse(
                service.id, reason, approved_by, policy.version, ctx, correction_id=correction_id
            )
        award = policy.award(
            category=task.category,
            scheduled_start=task.starts_at,
            scheduled_end=task.ends_at,
            checked_in=start,
            checked_out=end,
            rating=rating or service.rating,
            routine_hours_already=account.routine_hours_on(local_date(start)),
        )
        service.correct(
            correction_id,
            reason,
            approved_by,
            (start, end) if mended else None,
            rating or service.rating,
            award,
            ctx,
        )
        credited = account.credit(
            service.id,
            task.community_id,
            award,
            start,
            ctx,
            correction_id=correction_id,
            approved_by=approved_by,
        )
        moved = account if earned or credited else None
        return self._done(service.id, service, moved, timesheet)

    def _mend_lapsed(
        self,
        service: Service,
        reason: str,
        approved_by: str,
        ctx: Context,
        rating: Rating | None,
        checked_in: datetime | None,
        checked_out: datetime | None,
    ) -> Receipt:
        """A service closed unfinished gets its times from a worker (the check-out at
        least), under the same rules as any check-in and check-out, then waits for
        its rating."""
        if checked_out is None or rating is not None:
            raise InvalidInput(
                reason="未签退已关闭的服务,更正须给出签退时间,评价在更正之后照常进行"
            )
        assert service.checked_in_at is not None
        task = self.read_task(service.task_id)
        policy = self.current_policy()
        clock = now()
        start = service.checked_in_at
        if checked_in is not None:
            start = policy.trusted_time(checked_in, clock, own=False, field="签到时间")
        end = policy.trusted_time(checked_out, clock, own=False, field="签退时间")
        if end <= start:
            raise InvalidTimeRange(start=start.isoformat(), end=end.isoformat())
        policy.check_check_in(start, task.starts_at, task.ends_at)
        policy.check_check_out(end, task.starts_at, task.ends_at)
        timesheet = self.timesheet(service.member_id, ctx)
        timesheet.amend(service.id, start, end, ctx)
        service.mend_lapsed(
            service.next_correction_id(), reason, approved_by, (start, end), policy.version, ctx
        )
        return self._done(service.id, service, timesheet)
