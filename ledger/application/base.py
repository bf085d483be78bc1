"""What every command shares: reading and saving aggregates, retries, receipts, the rule book."""

from __future__ import annotations

import contextlib
import functools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    JSONTranscoder,
    RecordConflictError,
    Recording,
    StoredEvent,
    Transcoder,
)

from ledger.domain.account import Account
from ledger.domain.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    IdempotencyKeyReused,
    InvalidInput,
    LedgerError,
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
    UnreadableRecord,
)
from ledger.domain.keys import RequestKey, request_fingerprint
from ledger.domain.member import Member
from ledger.domain.organisation import Community, Street, Unit
from ledger.domain.policy import PointsPolicy
from ledger.domain.rulebook import RULE_BOOK_ID, RuleBook
from ledger.domain.store import Item, Redemption
from ledger.domain.timesheet import Timesheet
from ledger.domain.values import (
    Context,
)
from ledger.domain.work import Need, Service, Task
from ledger.loader import AggregateLoader
from ledger.recorder import GROUP_COMMIT_RECORDER_TOPIC, GroupCommitRecorder
from ledger.transcodings import LedgerTranscoder, register_ledger_transcodings

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound=Aggregate)

MAX_ATTEMPTS = 10
CACHED_AGGREGATES = 50_000


@dataclass(frozen=True)
class Receipt:
    """What a command did: the aggregate it is about and the notification id of
    its last event, for read-your-writes (``position`` None: nothing was written).
    ``created``: the ids of what it made besides (a community's grids);
    ``replayed``: a request already applied, answered as the first time."""

    id: UUID
    position: int | None
    created: tuple[UUID, ...] = field(default=(), kw_only=True)
    replayed: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class RedemptionReceipt(Receipt):
    total: Decimal
    balance: Decimal


@dataclass
class _PendingKey:
    """A request's key, waiting to be saved with the write the request makes."""

    id: UUID
    scope: str
    key: str
    command: str
    fingerprint: str
    ctx: Context
    used: bool = False


_PENDING_KEY: ContextVar[_PendingKey | None] = ContextVar("pending_request_key", default=None)


def retried(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command again when a concurrent command saved the same aggregate first."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(MAX_ATTEMPTS):
            try:
                return command(*args, **kwargs)
            except RecordConflictError:
                if _PENDING_KEY.get() is not None:
                    raise  # ``keyed`` looks for the key first, then runs it again
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise ConcurrencyConflict(attempts=MAX_ATTEMPTS)

    return wrapper


_UNKNOWN: Any = object()


@dataclass
class Decided:
    """What a batch of commands decided: the new events, encoded, and the
    aggregates as they left them."""

    events: list[StoredEvent] = field(default_factory=list)
    aggregates: list[Any] = field(default_factory=list)


class _Batch:
    """What a batch holds: the aggregates its commands changed (saved at its end),
    those read for it in advance, the ids known to have no events, and for each
    open savepoint what the changed aggregates were before it (None: not changed)."""

    __slots__ = ("absent", "changed", "read", "undo")

    def __init__(self) -> None:
        self.changed: dict[UUID, Any] = {}
        self.read: dict[UUID, Any] = {}
        self.absent: set[UUID] = set()
        self.undo: list[dict[UUID, Any]] = []

    def find(self, aggregate_id: UUID) -> Any:
        """The batch's state of an aggregate; None if it has none, _UNKNOWN if the
        batch does not know."""
        aggregate = self.changed.get(aggregate_id)
        if aggregate is None:
            aggregate = self.read.get(aggregate_id)
        if aggregate is None:
            return None if aggregate_id in self.absent else _UNKNOWN
        return aggregate

    def has(self, aggregate_id: UUID) -> bool:
        """Whether the batch knows the aggregate to exist."""
        aggregate = self.find(aggregate_id)
        return aggregate is not None and aggregate is not _UNKNOWN


def _position(recordings: list[Recording[UUID]]) -> int | None:
    return max((r.notification.id for r in recordings), default=None)


class LedgerBase(Application[UUID]):
    """What every command shares: reading, saving, retrying, the rule book."""

    env = {  # noqa: RUF012 (the library reads this class attribute)
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "20",
        "APPLICATION_RECORDER_TOPIC": GROUP_COMMIT_RECORDER_TOPIC,
    }

    def __init__(self, env: dict[str, str] | None = None, *, id_hash_key: bytes = b"") -> None:
        super().__init__(env)
        self.id_hash_key = id_hash_key
        self.group_recorder = cast(GroupCommitRecorder, self.recorder)
        self.loader = AggregateLoader(self.group_recorder, self.mapper, CACHED_AGGREGATES)
        self._batch: _Batch | None = None

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON, written faster (``LedgerTranscoder``)."""
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

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

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Run many commands and save all they did in one transaction at the end.

        The same rules apply as to single commands; a command that fails inside
        the batch leaves no trace in it. Meant for one thread loading history
        (imports, generated streets); receipts inside carry no position.
        """
        with self.deciding() as decided:
            yield
        self.write(decided)

    @contextlib.contextmanager
    def deciding(self) -> Iterator[Decided]:
        """Run many commands against aggregates held in memory, writing nothing.

        On leaving, the ``Decided`` holds their events encoded for the event store,
        in order, and the aggregates they leave behind: ``write`` stores them in one
        transaction; a process deciding for another that writes may ``remember``
        them itself.
        """
        if self._batch is not None:
            raise RuntimeError("batches do not nest")
        batch = self._batch = _Batch()
        decided = Decided()
        try:
            yield decided
        finally:
            self._batch = None
        decided.aggregates = list(batch.changed.values())
        to_stored = self.mapper.to_stored_event
        decided.events = [
            to_stored(e) for aggregate in decided.aggregates for e in aggregate.collect_events()
        ]

    def write(self, decided: Decided) -> None:
        """Store what a batch decided, in one transaction."""
        try:
            self.group_recorder.insert_events(decided.events)
        except RecordConflictError:
            self.loader.forget()  # it trusted a cache that another writer made stale
            raise
        self.loader.remember(decided.aggregates)

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a batch: if the block fails, the batch is as it was before it
        (several commands that stand or fall together)."""
        batch = self._batch
        if batch is None:
            yield
            return
        batch.undo.append({})
        try:
            yield
        except BaseException:
            for i, before in batch.undo.pop().items():
                if before is None:
                    del batch.changed[i]
                else:
                    batch.changed[i] = before
            raise
        done = batch.undo.pop()
        if batch.undo:
            for i, before in done.items():
                batch.undo[-1].setdefault(i, before)

    def preload(self, aggregate_ids: Sequence[UUID]) -> set[UUID]:
        """In a batch: read these aggregates in one round trip, and say which exist.

        Those not found are known to be absent, so the batch's commands ask the
        database nothing more about any of them (a batch is the sole writer of what
        it touches: its save fails on anything stale).
        """
        batch = self._batch
        if batch is None:
            raise RuntimeError("preload is for batches")
        wanted = [i for i in dict.fromkeys(aggregate_ids) if batch.find(i) is _UNKNOWN]
        for i, aggregate in self.loader.load(wanted, copy=False, trust_cache=True).items():
            if aggregate is None:
                batch.absent.add(i)
            else:
                batch.read[i] = aggregate
        return {i for i in aggregate_ids if batch.has(i)}

    def _load(self, ids: Sequence[UUID], *, copy: bool = True) -> dict[UUID, Any]:
        """The aggregates with these ids, read in one round trip (None: no such id)."""
        batch = self._batch
        if batch is None:
            return self.loader.load(ids, copy=copy)
        loaded: dict[UUID, Any] = {}
        missing = []
        for i in ids:
            aggregate = batch.find(i)
            if aggregate is _UNKNOWN:
                missing.append(i)
            else:
                loaded[i] = aggregate.copy() if copy and aggregate is not None else aggregate
        if missing:
            loaded.update(self.loader.load(missing, copy=copy, trust_cache=True))
        return loaded

    @staticmethod
    def _check(aggregate: Any, cls: type[A], aggregate_id: UUID, error: type[NotFound]) -> A:
        if not isinstance(aggregate, cls):  # missing, or an id of another kind
            raise error(id=aggregate_id)
        return aggregate

    def _get(self, cls: type[A], aggregate_id: UUID, error: type[NotFound]) -> A:
        return self._check(self._load([aggregate_id])[aggregate_id], cls, aggregate_id, error)

    def _read(self, cls: type[A], aggregate_id: UUID, error: type[NotFound]) -> A:
        """An aggregate the command only reads (``read_street`` …): the one held (in the
        cache, or in a batch), not a copy; the caller never changes it."""
        return self._check(
            self._load([aggregate_id], copy=False)[aggregate_id], cls, aggregate_id, error
        )

    def unreadable(self, aggregate_ids: Sequence[UUID]) -> list[UnreadableRecord]:
        """Those of these aggregates whose history the write side cannot rebuild:
        every command on them is refused (``RECORD_UNREADABLE``) until mended."""
        refused = []
        for aggregate_id in dict.fromkeys(aggregate_ids):
            try:
                self.loader.load([aggregate_id], copy=False)
            except UnreadableRecord as error:
                refused.append(error)
        return refused

    def exists(self, aggregate_id: UUID) -> bool:
        return self._load([aggregate_id], copy=False)[aggregate_id] is not None

    def _commit(self, *aggregates: Aggregate | None) -> int | None:
        if self._batch is None:
            return _position(self.save(*aggregates))
        batch = self._batch
        changed = [a for a in aggregates if a is not None and a.pending_events]
        for aggregate in changed:
            if self._created_twice(aggregate):
                raise RecordConflictError(f"aggregate {aggregate.id} exists")
        if batch.undo:
            for aggregate in changed:
                batch.undo[-1].setdefault(aggregate.id, batch.changed.get(aggregate.id))
        batch.changed.update((a.id, a) for a in changed)
        return None

    def _done(
        self, result_id: UUID, *aggregates: Aggregate | None, created: Sequence[UUID] = ()
    ) -> Receipt:
        """Save what a command did and say so; the request's key, if it came with one,
        is saved in the same transaction (last, so that its notification id is the
        receipt's position)."""
        pending = _PENDING_KEY.get()
        key = None
        if pending is not None and not pending.used:
            pending.used = True
            key = RequestKey(
                pending.scope,
                pending.key,
                pending.command,
                pending.fingerprint,
                result_id,
                list(created),
                ctx=pending.ctx,
            )
        return Receipt(result_id, self._commit(*aggregates, key), created=tuple(created))

    def _applied_meanwhile(self) -> bool:
        """After a conflict: did the same request (its key) win it? Then ``keyed``
        answers with the first result rather than the command with an error."""
        pending = _PENDING_KEY.get()
        return pending is not None and self.exists(pending.id)

    def keyed(
        self, scope: str, key: str | None, command: Callable[..., R], *args: Any, **kwargs: Any
    ) -> R:
        """Run a command at most once for ``key`` (None: no key, run it).

        ``scope`` says whose key it is (the caller's token or device, never what the
        request says). The same key with the same request gives the first receipt
        again, with ``replayed``, and moves nothing; with another request it is
        ``IdempotencyKeyReused``. A request that failed left no key: it may be sent again.
        """
        if key is None:
            return command(*args, **kwargs)
        key = RequestKey.check(key)
        name = command.__name__
        ctx = kwargs.pop("ctx")
        fingerprint = request_fingerprint(name, args, kwargs)
        key_id = RequestKey.create_id(scope, key)
        for attempt in range(MAX_ATTEMPTS):
            first = self._load([key_id])[key_id]
            if first is not None:
                first = self._check(first, RequestKey, key_id, NotFound)
                if first.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(key=key)
                position = self.group_recorder.first_notification_id(key_id)
                replayed = Receipt(
                    first.result_id, position, created=tuple(first.created), replayed=True
                )
                return cast(R, replayed)
            token = _PENDING_KEY.set(_PendingKey(key_id, scope, key, name, fingerprint, ctx))
            try:
                return command(*args, ctx=ctx, **kwargs)
            except RecordConflictError:
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
            except LedgerError:
                # A request racing under the same key may have won between the look for
                # the key and the command's own reads: its receipt is the answer.
                if key_id not in self.group_recorder.existing([key_id]):
                    raise
            finally:
                _PENDING_KEY.reset(token)
        raise ConcurrencyConflict(attempts=MAX_ATTEMPTS)

    def _created_twice(self, aggregate: Aggregate) -> bool:
        """In a batch: does this aggregate's creation clash with one made earlier in
        the batch? A clash with a stored one fails the batch's save, as outside a
        batch; commands that create by a natural key look for it first."""
        assert self._batch is not None
        earlier = self._batch.changed.get(aggregate.id)
        # A command's copy of a batched aggregate shares its pending events.
        return earlier is not None and aggregate.pending_events[0] is not earlier.pending_events[0]

    def _create(
        self,
        aggregate: A,
        error: type[AlreadyExists] = AlreadyExists,
        created: Sequence[UUID] = (),
    ) -> Receipt:
        """Save a new aggregate whose id may be deterministic: a second creation collides."""
        try:
            return self._done(aggregate.id, aggregate, created=created)
        except RecordConflictError:
            if self._applied_meanwhile() or not self.exists(aggregate.id):
                raise
            raise error(id=aggregate.id) from None

    def read_street(self, street_id: UUID) -> Street:
        return self._read(Street, street_id, UnknownStreet)

    def get_community(self, community_id: UUID) -> Community:
        return self._get(Community, community_id, UnknownCommunity)

    def read_community(self, community_id: UUID) -> Community:
        return self._read(Community, community_id, UnknownCommunity)

    def get_unit(self, unit_id: UUID) -> Unit:
        return self._get(Unit, unit_id, UnknownUnit)

    def read_unit(self, unit_id: UUID) -> Unit:
        return self._read(Unit, unit_id, UnknownUnit)

    def get_member(self, member_id: UUID) -> Member:
        return self._get(Member, member_id, UnknownMember)

    def read_member(self, member_id: UUID) -> Member:
        return self._read(Member, member_id, UnknownMember)

    def get_account(self, member_id: UUID) -> Account:
        return self._get(Account, Account.create_id(member_id), UnknownMember)

    def get_need(self, need_id: UUID) -> Need:
        return self._get(Need, need_id, UnknownNeed)

    def get_task(self, task_id: UUID) -> Task:
        return self._get(Task, task_id, UnknownTask)

    def read_task(self, task_id: UUID) -> Task:
        return self._read(Task, task_id, UnknownTask)

    def get_service(self, service_id: UUID) -> Service:
        return self._get(Service, service_id, UnknownService)

    def timesheet(self, member_id: UUID, ctx: Context) -> Timesheet:
        """The member's served times, opened on their first check-in."""
        sheet_id = Timesheet.create_id(member_id)
        sheet = self._load([sheet_id])[sheet_id]
        return sheet if isinstance(sheet, Timesheet) else Timesheet(member_id, ctx=ctx)

    def get_item(self, item_id: UUID) -> Item:
        return self._get(Item, item_id, UnknownItem)

    def get_redemption(self, redemption_id: UUID) -> Redemption:
        return self._get(Redemption, redemption_id, UnknownRedemption)

    # --- the rule book ----------------------------------------------------------

    def rule_book(self) -> RuleBook:
        """The rule book, opened with the default version 1 on first use, so that
        every version an award names is itself on record."""
        book: RuleBook | None = self._load([RULE_BOOK_ID], copy=False)[RULE_BOOK_ID]
        if book is None:
            book = RuleBook(ctx=Context.system("rule-book"))
            book.publish(PointsPolicy(), "默认积分规则", ctx=Context.system("rule-book"))
            try:
                self._commit(book)
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
        """A new version of the street's rule book, or of a community's own."""
        if policy.community_id is not None:
            self.read_community(policy.community_id)
        self.rule_book()
        book = self._get(RuleBook, RULE_BOOK_ID, NotFound)
        book.publish(policy, note, ctx)
        return self._done(book.id, book)
