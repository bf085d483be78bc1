"""Answers of read-model queries, kept until the read models move on.

A unit ranking reads every unit of the scope, and answering a GraphQL query of
a few hundred fields costs milliseconds of CPU: both cost far more than serving
a kept answer. The read models change only when the runner commits a batch,
which it announces with NOTIFY; every announcement empties the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import asyncpg
from cachetools import TTLCache

from ledger.database import is_outage
from projections import queries
from projections.runner import VIEWS_CHANNEL

log = logging.getLogger("api")

MAX_ENTRIES = 512
MAX_AGE_SECONDS = 30.0
"""A bound on staleness should a NOTIFY be lost (say the listening connection broke)."""
MISSING = object()
CONNECT_TIMEOUT_SECONDS = 3.0
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 10.0
LISTENER_PING_SECONDS = 15.0


class ResultCache:
    """The least recently used answers go first; every answer ages out after
    ``max_age``, and every NOTIFY empties the cache."""

    def __init__(self, size: int = MAX_ENTRIES, max_age: float = MAX_AGE_SECONDS) -> None:
        self.version = 0
        self.changed_at = 0
        """The primary's WAL position at the last change the cache was told of: an
        answer read from a standby is kept only if the standby had replayed that far."""
        self._entries: TTLCache[Hashable, Any] = TTLCache(maxsize=size, ttl=max_age)

    def invalidate(self, wal: int = 0) -> None:
        """The read models moved (by WAL position ``wal`` of the primary): forget all."""
        self.version += 1
        self._entries.clear()
        self.changed_at = max(self.changed_at, wal)

    def notified(self, _conn: object, _pid: object, _channel: object, payload: object) -> None:
        """The listener of the read models' NOTIFY: "<position> <primary's WAL position>"."""
        self.invalidate(int(str(payload).split()[-1]))

    def lookup(self, key: Hashable) -> Any:
        """The kept answer, or ``MISSING``."""
        return self._entries.get(key, MISSING)

    def store(self, key: Hashable, value: Any, version: int) -> None:
        """Keep ``value`` if nothing moved since ``version`` was read."""
        if version == self.version:
            self._entries[key] = value

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        value = self.lookup(key)
        if value is MISSING:
            version = self.version
            value = await compute()
            self.store(key, value, version)
        return value


async def follow_views(uri: str, cache: ResultCache) -> None:
    """Empty the kept answers on every NOTIFY of the read models, over a LISTEN
    connection that is made again, with backoff, whenever it is lost."""
    delay = RECONNECT_FIRST_SECONDS
    while True:
        try:
            conn = await asyncpg.connect(uri, timeout=CONNECT_TIMEOUT_SECONDS)
        except Exception as error:
            if not is_outage(error):
                raise
            log.warning("views listener: database unavailable, retrying in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            continue
        delay = RECONNECT_FIRST_SECONDS
        lost = asyncio.Event()
        conn.add_termination_listener(functools.partial(_set, lost))
        try:
            await conn.add_listener(VIEWS_CHANNEL, cache.notified)
            # What moved while nobody listened:
            cache.invalidate(wal=await queries.written_wal(conn, CONNECT_TIMEOUT_SECONDS))
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), LISTENER_PING_SECONDS)
                if not lost.is_set():
                    await queries.ping(conn, timeout=CONNECT_TIMEOUT_SECONDS)
        except Exception as error:
            if not is_outage(error):
                raise
            log.warning("views listener lost: %r", error)
        finally:
            conn.terminate()


def _set(event: asyncio.Event, *_: object) -> None:
    event.set()
