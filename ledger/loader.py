"""Reading aggregates: many in one round trip, from a cache kept up to date.

A command reads several aggregates (a redemption reads the request's record,
the member's account, each item and the rule book). Asking the library's
repository for each costs one query apiece, and the queries, not the
database, were most of a command's time. Here one query brings the events
of every aggregate the command needs that are newer than the cached versions.

Cached aggregates are never changed in place: a newer state replaces the
cached object, and every command works on its own copy, so a command that
fails half-way leaves nothing behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import LRUCache
from eventsourcing.persistence import Mapper, StoredEvent

from ledger.domain.errors import UnreadableRecord
from ledger.recorder import GroupCommitRecorder

log = logging.getLogger(__name__)


class AggregateLoader:
    def __init__(self, recorder: GroupCommitRecorder, mapper: Mapper[UUID], size: int) -> None:
        self._recorder = recorder
        self._mapper = mapper
        self._cache: LRUCache[UUID, Any] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def load(
        self, ids: Sequence[UUID], *, copy: bool = True, trust_cache: bool = False
    ) -> dict[UUID, Any]:
        """The current state of each aggregate (None for an id with no events).

        ``trust_cache`` skips asking the database for what is cached: for a sole
        writer loading history, whose saves would fail on any stale version.
        """
        with self._lock:
            cached = {i: self._cached(i) for i in ids}
        asked = [i for i in ids if not (trust_cache and cached[i] is not None)]
        versions = [0 if cached[i] is None else cached[i].version for i in asked]
        newer: dict[UUID, list[StoredEvent]] = {}
        stored_events = self._recorder.select_events_after(asked, versions) if asked else []
        for stored in stored_events:
            newer.setdefault(stored.originator_id, []).append(stored)
        loaded: dict[UUID, Any] = {}
        for i in ids:
            aggregate = cached[i]
            if i in newer:
                aggregate = self._rebuilt(aggregate, newer[i])
                self.remember([aggregate])
            loaded[i] = aggregate.copy() if copy and aggregate is not None else aggregate
        return loaded

    def _rebuilt(self, aggregate: Any, events: list[StoredEvent]) -> Any:
        """The aggregate with its newer events applied. An event the code cannot read
        or apply refuses the aggregate's commands (``UnreadableRecord``), not the
        ledger's: nothing is cached, and every other aggregate goes on."""
        aggregate = None if aggregate is None else aggregate.copy()
        for stored in events:
            try:
                event: Any = self._mapper.to_domain_event(stored)
                aggregate = event.mutate(aggregate)
            except Exception as error:
                log.error(
                    "unreadable event: aggregate %s version %s (%s): %r",
                    stored.originator_id,
                    stored.originator_version,
                    stored.topic,
                    error,
                )
                raise UnreadableRecord(
                    id=stored.originator_id,
                    version=stored.originator_version,
                    topic=stored.topic,
                    reason=f"{type(error).__name__}: {error}",
                ) from error
        return aggregate

    def remember(self, aggregates: Iterable[Any]) -> None:
        """Cache aggregates just saved or loaded, unless a newer state is cached already."""
        with self._lock:
            for aggregate in aggregates:
                cached = self._cached(aggregate.id)
                if cached is None or cached.version < aggregate.version:
                    self._cache.put(aggregate.id, aggregate)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def _cached(self, aggregate_id: UUID) -> Any:
        try:
            return self._cache.get(aggregate_id)
        except KeyError:
            return None
