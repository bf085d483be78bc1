"""The ledger application: every command of the write side.

Each command loads the aggregates it needs, calls their methods (which check
the invariants) and saves all of them in one transaction. Optimistic
concurrency (originator id + version) decides races: a command that lost one
is run again from the start, a bounded number of times.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, RecordConflictError, Recording

from ledger.domain.account import Account
from ledger.domain.errors import (
    AlreadyExists,
    AlreadyReviewed,
    ConcurrencyConflict,
    DuplicateMember,
    IdempotencyKeyReused,
    InvalidInput,
    ItemNotInStore,
    LedgerError,
    NotEligibleForReview,
    NotFound,
    UnknownCommunity,
    UnknownItem,
    UnknownMember,
    UnknownNeed,
    UnknownRedemption,
    UnknownService,
    UnknownStreet,
    UnknownTask,
    UnknownUnit,
)
from ledger.domain.member import Member, hash_national_id, mask_phone, member_id_for
from ledger.domain.organisation import Community, Street, Unit, check_name
from ledger.domain.policy import PointsPolicy
from ledger.domain.review import AnnualReview
from ledger.domain.rulebook import RULE_BOOK_ID, RuleBook
from ledger.domain.store import MAX_LINES, Item, Redemption, RedemptionLine, request_fingerprint
from ledger.domain.values import (
    Context,
    Grade,
    MemberKind,
    Rating,
    UnitKind,
    aware,
    local_date,
    now,
    points,
    quantity,
)
from ledger.domain.work import Need, Service, Task
from ledger.loader import AggregateLoader
from ledger.recorder import GROUP_COMMIT_RECORDER_TOPIC, GroupCommitRecorder
from ledger.transcodings import register_ledger_transcodings

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound=Aggregate)

MAX_ATTEMPTS = 10
CACHED_AGGREGATES = 50_000


@dataclass(frozen=True)
class Receipt:
    """What a command did: the aggregate it is about and the notification id of
    its last event, for read-your-writes (``position`` None: nothing was written)."""

    id: UUID
    position: int | None


@dataclass(frozen=True)
class RedemptionReceipt(Receipt):
    total: Decimal
    balance: Decimal
    replayed: bool


def retried(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command again when a concurrent command saved the same aggregate first."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(MAX_ATTEMPTS):
            try:
                return command(*args, **kwargs)
            except RecordConflictError:
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise ConcurrencyConflict(attempts=MAX_ATTEMPTS)

    return wrapper


def _position(recordings: list[Recording[UUID]]) -> int | None:
    return max((r.notification.id for r in recordings), default=None)


class Ledger(Application[UUID]):
    """志愿服务积分账本: the write side."""

    name = "Ledger"
    env = {  # noqa: RUF012 (the library reads this class attribute)
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "20",
        "APPLICATION_RECORDER_TOPIC": GROUP_COMMIT_RECORDER_TOPIC,
    }

    def __init__(self, env: dict[str, str] | None = None, *, id_hash_key: bytes = b"") -> None:
        super().__init__(env)
        self.id_hash_key = id_hash_key
        self.loader = AggregateLoader(
            cast(GroupCommitRecorder, self.recorder), self.mapper, CACHED_AGGREGATES
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    # --- plumbing ---------------------------------------------------------------

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save aggregates' new events in one transaction.

        The library's ``save`` also accepts bare events and checks each object
        against runtime protocols, which cost more CPU than the write itself;
        here only aggregates are ever saved, and snapshots are not taken.
        """
        processing = ProcessingEvent[UUID]()
        for aggregate in objs:
            if aggregate is not None:
                processing.events.extend(aggregate.collect_events())
                processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self.loader.remember(processing.aggregates.values())
        self._notify(recordings)
        return recordings

    @staticmethod
    def _check(aggregate: Any, cls: type[A], aggregate_id: UUID, error: type[NotFound]) -> A:
        if not isinstance(aggregate, cls):  # missing, or an id of another kind
            raise error(id=aggregate_id)
        return aggregate

    def _get(self, cls: type[A], aggregate_id: UUID, error: type[NotFound]) -> A:
        return self._check(self.loader.load([aggregate_id])[aggregate_id], cls, aggregate_id, error)

    def _exists(self, aggregate_id: UUID) -> bool:
        return self.loader.load([aggregate_id], copy=False)[aggregate_id] is not None

    def _commit(self, *aggregates: Aggregate | None) -> int | None:
        return _position(self.save(*aggregates))

    def _create(self, aggregate: A, error: type[AlreadyExists] = AlreadyExists) -> Receipt:
        """Save a new aggregate whose id may be deterministic: a second creation collides."""
        try:
            return Receipt(aggregate.id, self._commit(aggregate))
        except RecordConflictError:
            if self._exists(aggregate.id):
                raise error(id=aggregate.id) from None
            raise

    def get_street(self, street_id: UUID) -> Street:
        return self._get(Street, street_id, UnknownStreet)

    def get_community(self, community_id: UUID) -> Community:
        return self._get(Community, community_id, UnknownCommunity)

    def get_unit(self, unit_id: UUID) -> Unit:
        return self._get(Unit, unit_id, UnknownUnit)

    def get_member(self, member_id: UUID) -> Member:
        return self._get(Member, member_id, UnknownMember)

    def get_account(self, member_id: UUID) -> Account:
        return self._get(Account, Account.create_id(member_id), UnknownMember)

    def get_need(self, need_id: UUID) -> Need:
        return self._get(Need, need_id, UnknownNeed)

    def get_task(self, task_id: UUID) -> Task:
        return self._get(Task, task_id, UnknownTask)

    def get_service(self, service_id: UUID) -> Service:
        return self._get(Service, service_id, UnknownService)

    def get_item(self, item_id: UUID) -> Item:
        return self._get(Item, item_id, UnknownItem)

    def get_redemption(self, redemption_id: UUID) -> Redemption:
        return self._get(Redemption, redemption_id, UnknownRedemption)

    # --- the rule book ----------------------------------------------------------

    def rule_book(self) -> RuleBook:
        """The rule book, opened with the default version 1 on first use, so that
        every version an award names is itself on record."""
        book: RuleBook | None = self.loader.load([RULE_BOOK_ID], copy=False)[RULE_BOOK_ID]
        if book is None:
            book = RuleBook(ctx=Context.system("rule-book"))
            book.publish(PointsPolicy(), "默认积分规则", ctx=Context.system("rule-book"))
            try:
                self.save(book)
            except RecordConflictError:
                return self.rule_book()
        return book

    def current_policy(self) -> PointsPolicy:
        return self.rule_book().current

    def policy(self, version: int) -> PointsPolicy:
        try:
            return self.rule_book().versions[version]
        except KeyError:
            raise InvalidInput(reason=f"没有第 {version} 版积分规则") from None

    @retried
    def publish_policy(self, policy: PointsPolicy, note: str, ctx: Context) -> Receipt:
        self.rule_book()
        book = self._get(RuleBook, RULE_BOOK_ID, NotFound)
        book.publish(policy, note, ctx)
        return Receipt(book.id, self._commit(book))

    # --- organisation -----------------------------------------------------------

    def register_street(self, name: str, ctx: Context) -> Receipt:
        return self._create(Street(check_name(name, "街道"), ctx=ctx))

    def register_community(
        self, street_id: UUID, name: str, ctx: Context, grids: Sequence[str] = ()
    ) -> Receipt:
        self.get_street(street_id)
        community = Community(street_id, check_name(name, "社区"), ctx=ctx)
        for grid in grids:
            community.add_grid(grid, ctx)
        return self._create(community)

    @retried
    def add_grid(self, community_id: UUID, name: str, ctx: Context) -> Receipt:
        community = self.get_community(community_id)
        grid_id = community.add_grid(name, ctx)
        return Receipt(grid_id, self._commit(community))

    def register_unit(
        self, name: str, kind: UnitKind, ctx: Context, communities: Sequence[UUID] = ()
    ) -> Receipt:
        unit = Unit(check_name(name, "单位"), kind, ctx=ctx)
        for community_id in communities:
            self.get_community(community_id)
            unit.pair(community_id, ctx)
        return self._create(unit)

    @retried
    def pair_unit(self, unit_id: UUID, community_id: UUID, ctx: Context) -> Receipt:
        unit = self.get_unit(unit_id)
        self.get_community(community_id)
        unit.pair(community_id, ctx)
        return Receipt(unit.id, self._commit(unit))

    @retried
    def report_unit(self, unit_id: UUID, community_id: UUID, on: date, ctx: Context) -> Receipt:
        unit = self.get_unit(unit_id)
        unit.report(community_id, on, ctx)
        return Receipt(unit.id, self._commit(unit))

    # --- members ----------------------------------------------------------------

    def register_member(
        self,
        kind: MemberKind,
        name: str,
        community_id: UUID,
        ctx: Context,
        *,
        grid_id: UUID | None = None,
        unit_id: UUID | None = None,
        phone: str | None = None,
        national_id: str | None = None,
        member_id: UUID | None = None,
    ) -> Receipt:
        """Register a member and open their account in one transaction.

        With a national ID number the member's id derives from its keyed hash,
        so registering the same person twice is refused by the event store.
        """
        self.get_community(community_id).check_grid(grid_id)
        if unit_id is not None:
            self.get_unit(unit_id)
        if kind is MemberKind.PARTY_MEMBER and unit_id is None:
            raise InvalidInput(reason="在职党员须登记所在单位")
        id_hash = hash_national_id(national_id, self.id_hash_key) if national_id else None
        if id_hash is not None:
            member_id = member_id_for(id_hash)
        member = Member(
            id=member_id or uuid4(),
            kind=kind,
            name=check_name(name, "成员"),
            phone_masked=mask_phone(phone) if phone else None,
            id_hash=id_hash,
            unit_id=unit_id,
            community_id=community_id,
            grid_id=grid_id,
            ctx=ctx,
        )
        account = Account(member.id, ctx=ctx)
        try:
            return Receipt(member.id, self._commit(member, account))
        except RecordConflictError:
            if self._exists(member.id):
                raise DuplicateMember(id=member.id) from None
            raise

    @retried
    def report_member(self, member_id: UUID, on: date, ctx: Context) -> Receipt:
        member = self.get_member(member_id)
        member.report(member.community_id, on, ctx)
        return Receipt(member.id, self._commit(member))

    @retried
    def move_member(
        self,
        member_id: UUID,
        ctx: Context,
        *,
        unit_id: UUID | None = None,
        community_id: UUID | None = None,
        grid_id: UUID | None = None,
    ) -> Receipt:
        member = self.get_member(member_id)
        if unit_id is not None:
            self.get_unit(unit_id)
            member.move_unit(unit_id, ctx)
        if community_id is not None:
            self.get_community(community_id).check_grid(grid_id)
            member.move_home(community_id, grid_id, ctx)
        return Receipt(member.id, self._commit(member))

    # --- needs, tasks, claims -----------------------------------------------------

    def raise_need(
        self,
        community_id: UUID,
        raised_by: str,
        description: str,
        ctx: Context,
        *,
        grid_id: UUID | None = None,
        category: str | None = None,
    ) -> Receipt:
        self.get_community(community_id).check_grid(grid_id)
        if category is not None:
            self.current_policy().category_class(category)
        if not 0 < len(description.strip()) <= 2000:
            raise InvalidInput(reason="需求描述须为 1 到 2000 个字符")
        need = Need(community_id, grid_id, raised_by, description.strip(), category, ctx=ctx)
        return self._create(need)

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
    ) -> Receipt:
        self.get_community(community_id).check_grid(grid_id)
        self.current_policy().category_class(category)
        starts_at, ends_at = aware(starts_at), aware(ends_at)
        Task.check_schedule(starts_at, ends_at, capacity)
        need = self.get_need(need_id) if need_id is not None else None
        if need is not None and need.community_id != community_id:
            raise InvalidInput(reason="需求与任务不属于同一社区")
        task = Task(
            community_id,
            grid_id,
            need_id,
            check_name(title, "任务"),
            category,
            starts_at,
            ends_at,
            capacity,
            ctx=ctx,
        )
        if need is not None:
            need.dispatch(task.id, ctx)
        return Receipt(task.id, self._commit(task, need))

    @retried
    def claim_task(self, task_id: UUID, member_id: UUID, ctx: Context) -> Receipt:
        """接单: the member takes a place; the service record starts with the claim."""
        task = self.get_task(task_id)
        self.get_member(member_id)
        task.claim(member_id, ctx)
        service = Service(task.id, member_id, task.community_id, task.category, ctx=ctx)
        return Receipt(service.id, self._commit(task, service))

    @retried
    def cancel_task(self, task_id: UUID, reason: str, ctx: Context) -> Receipt:
        task = self.get_task(task_id)
        if not reason.strip():
            raise InvalidInput(reason="取消任务须写明原因")
        services = [self.get_service(Service.create_id(task.id, m)) for m in task.claims]
        task.cancel(reason.strip(), ctx)
        released = [s for s in services if s.releasable]
        for service in released:
            service.release(ctx)
        return Receipt(task.id, self._commit(task, *released))

    @retried
    def close_task(self, task_id: UUID, ctx: Context) -> Receipt:
        task = self.get_task(task_id)
        task.close(ctx)
        return Receipt(task.id, self._commit(task))

    # --- services -------------------------------------------------------------------

    @retried
    def check_in(
        self,
        service_id: UUID,
        ctx: Context,
        *,
        at: datetime | None = None,
        evidence: Sequence[str] = (),
    ) -> Receipt:
        service = self.get_service(service_id)
        service.check_in(aware(at or now()), list(evidence), ctx)
        return Receipt(service.id, self._commit(service))

    @retried
    def check_out(
        self,
        service_id: UUID,
        ctx: Context,
        *,
        at: datetime | None = None,
        evidence: Sequence[str] = (),
    ) -> Receipt:
        service = self.get_service(service_id)
        service.check_out(aware(at or now()), list(evidence), ctx)
        return Receipt(service.id, self._commit(service))

    @retried
    def confirm_service(self, service_id: UUID, ctx: Context) -> Receipt:
        service = self.get_service(service_id)
        service.confirm(ctx)
        return Receipt(service.id, self._commit(service))

    @retried
    def rate_service(self, service_id: UUID, rating: Rating, ctx: Context) -> Receipt:
        """一事一评: the community rates the service and the rule book awards its points."""
        service = self.get_service(service_id)
        service.check_ratable()
        task = self.get_task(service.task_id)
        account = self.get_account(service.member_id)
        policy = self.current_policy()
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
        credited = account.credit(service.id, task.community_id, award, ctx)
        return Receipt(service.id, self._commit(service, account if credited else None))

    @retried
    def reverse_service(
        self, service_id: UUID, reason: str, approved_by: str, ctx: Context
    ) -> Receipt:
        """Take back a wrong award by a compensating event; nothing is deleted."""
        service = self.get_service(service_id)
        service.reverse(reason, approved_by, ctx)
        account = self.get_account(service.member_id)
        moved = service.id in account.earnings
        if moved:
            account.reverse(
                service.id,
                reason.strip(),
                approved_by.strip(),
                self.current_policy().version,
                ctx,
            )
        return Receipt(service.id, self._commit(service, account if moved else None))

    # --- the points store -------------------------------------------------------------

    def list_item(self, store_id: UUID, name: str, price: object, ctx: Context) -> Receipt:
        self.get_community(store_id)
        return self._create(Item(store_id, check_name(name, "商品"), points(price), ctx=ctx))

    @retried
    def restock_item(self, item_id: UUID, count: int, donor: str, ctx: Context) -> Receipt:
        item = self.get_item(item_id)
        item.restock(quantity(count), donor, ctx)
        return Receipt(item.id, self._commit(item))

    @retried
    def reprice_item(self, item_id: UUID, price: object, ctx: Context) -> Receipt:
        item = self.get_item(item_id)
        item.reprice(points(price), ctx)
        return Receipt(item.id, self._commit(item))

    @retried
    def redeem(
        self,
        kiosk: str,
        key: str,
        member_id: UUID,
        store_id: UUID,
        lines: Sequence[tuple[UUID, int]],
        ctx: Context,
    ) -> RedemptionReceipt:
        """兑换 at a kiosk: debit the account and the stock in one transaction.

        The same key with the same request returns the first result and moves
        nothing; the same key with a different request is refused.
        """
        if not kiosk.strip() or not 0 < len(key) <= 200:
            raise InvalidInput(reason="兑换须提供终端编号和 1 到 200 个字符的请求编号")
        requested = [(item_id, quantity(count)) for item_id, count in lines]
        if not 0 < len(requested) <= MAX_LINES:
            raise InvalidInput(reason=f"一次兑换须有 1 到 {MAX_LINES} 种商品")
        if len({item_id for item_id, _ in requested}) != len(requested):
            raise InvalidInput(reason="同一商品请合并为一行")
        fingerprint = request_fingerprint(member_id, requested)
        redemption_id = Redemption.create_id(kiosk, key)
        account_id = Account.create_id(member_id)
        item_ids = [item_id for item_id, _ in requested]
        # One round trip for everything the request needs to be decided.
        loaded = self.loader.load([redemption_id, account_id, RULE_BOOK_ID, *item_ids])
        account = self._check(loaded[account_id], Account, member_id, UnknownMember)
        first = loaded[redemption_id]
        if first is not None:
            first = self._check(first, Redemption, redemption_id, UnknownRedemption)
            if first.fingerprint != fingerprint:
                raise IdempotencyKeyReused(key=key)
            return RedemptionReceipt(
                first.id, self._position_of(first.id), first.total, account.balance, replayed=True
            )
        items = [self._check(loaded[i], Item, i, UnknownItem) for i in item_ids]
        order = []
        for item, (_, count) in zip(items, requested, strict=True):
            if item.community_id != store_id:
                raise ItemNotInStore(item_id=item.id)
            order.append(RedemptionLine(item.id, item.name, count, item.price))
        total = sum((line.amount for line in order), Decimal(0))
        book = loaded[RULE_BOOK_ID]
        policy = book.current if book is not None else self.current_policy()
        account.expire(now(), policy.expiry_years_after, policy.version, ctx)
        lots = account.debit(total, redemption_id, store_id, policy.version, ctx)
        for item, line in zip(items, order, strict=True):
            item.take(line.quantity, redemption_id, ctx)
        redemption = Redemption(
            kiosk, key, fingerprint, member_id, store_id, order, total, lots, ctx=ctx
        )
        # The redemption's own event goes last, so its notification id is the
        # receipt's position, which a replay of the request can find again.
        position = self._commit(account, *items, redemption)
        return RedemptionReceipt(redemption_id, position, total, account.balance, replayed=False)

    @retried
    def cancel_redemption(self, redemption_id: UUID, reason: str, ctx: Context) -> Receipt:
        """Refund the points and put the goods back on the shelf."""
        redemption = self.get_redemption(redemption_id)
        redemption.cancel(reason, ctx)
        account = self.get_account(redemption.member_id)
        account.refund(
            redemption.total,
            redemption.lots,
            redemption.id,
            redemption.store_id,
            self.current_policy().version,
            ctx,
        )
        items = [self.get_item(line.item_id) for line in redemption.lines]
        for item, line in zip(items, redemption.lines, strict=True):
            item.give_back(line.quantity, redemption.id, ctx)
        return Receipt(redemption.id, self._commit(redemption, account, *items))

    def _position_of(self, aggregate_id: UUID) -> int | None:
        """The notification id of an aggregate's creation."""
        recorder = self.recorder
        with recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            row = conn.execute(
                recorder.first_notification_statement,  # type: ignore[attr-defined]
                (aggregate_id,),
            ).fetchone()
        return None if row is None else int(row["notification_id"])

    # --- expiry -----------------------------------------------------------------------

    @retried
    def expire_account(self, member_id: UUID, as_of: datetime, ctx: Context) -> Receipt:
        account = self.get_account(member_id)
        policy = self.current_policy()
        account.expire(aware(as_of), policy.expiry_years_after, policy.version, ctx)
        return Receipt(account.id, self._commit(account))

    def expire_points(self, as_of: datetime, ctx: Context) -> int:
        """Expire every account's due points; running it again moves nothing.
        Returns how many accounts had points expire."""
        expired = 0
        for member_id in self._account_holders():
            if self.expire_account(member_id, as_of, ctx).position is not None:
                expired += 1
        return expired

    def _account_holders(self) -> list[UUID]:
        topic = "ledger.domain.account:Account.Opened"
        holders: list[UUID] = []
        start = 1
        while True:
            batch = self.recorder.select_notifications(start, 1000, topics=[topic])
            if not batch:
                return holders
            holders.extend(cast(Any, self.mapper.to_domain_event(n)).member_id for n in batch)
            start = batch[-1].id + 1

    # --- annual review ------------------------------------------------------------------

    def review_member(
        self,
        community_id: UUID,
        member_id: UUID,
        year: int,
        grade: Grade,
        comment: str,
        ctx: Context,
    ) -> Receipt:
        """年度评价: the community's grade of a reported party member living there."""
        member = self.get_member(member_id)
        self.get_community(community_id)
        reason = None
        if member.kind is not MemberKind.PARTY_MEMBER:
            reason = "只评价在职党员"
        elif member.community_id != community_id:
            reason = "不居住在本社区"
        elif not member.reported:
            reason = "尚未向本社区报到"
        if reason:
            raise NotEligibleForReview(member_id=member_id, reason=reason)
        if not 1900 < year < 3000 or len(comment) > 2000:
            raise InvalidInput(reason="年度或评语无效")
        review = AnnualReview(
            member_id, year, community_id, member.unit_id, grade, comment.strip(), ctx=ctx
        )
        try:
            return Receipt(review.id, self._commit(review))
        except RecordConflictError:
            raise AlreadyReviewed(member_id=member_id, year=year) from None


__all__ = ["Ledger", "LedgerError", "Receipt", "RedemptionReceipt"]
